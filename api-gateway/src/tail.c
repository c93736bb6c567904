#include "tail.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ib/kafka.h"
#include "ib/log.h"

#define METADATA_TIMEOUT_MS 5000
#define CONSUME_WAIT_MS     200
#define RETRY_DELAY_MS      1000
#define WARN_INTERVAL_MS    10000
#define TAIL_QUEUED_KBYTES  "4096"
#define TAIL_FETCH_WAIT_MS  "100"
#define TAIL_FETCH_MIN      "1048576"

typedef struct {
    char *name;
    gw_tail_fn *fn;
    void *opaque;
    rd_kafka_topic_t *rkt;
    int32_t partition_count;
    int64_t *start_high;         /* high watermark per partition when reading started */
    int *done;                   /* 1 once that partition reached start_high or EOF */
    _Atomic long long *next_off; /* next offset to read, per partition (for the lag) */
} tail_topic_t;

struct gw_tail {
    char *bootstrap;
    tail_topic_t topics[GW_TAIL_MAX_TOPICS];
    size_t ntopics;

    rd_kafka_t *rk;
    rd_kafka_queue_t *rkqu;
    pthread_t thread;
    int thread_started;
    atomic_int stop;
    atomic_int started; /* partitions known and consumption started (arrays readable) */
    atomic_int caught_up;
    _Atomic unsigned long long records;
};

gw_tail_t *gw_tail_new(const char *bootstrap, const gw_tail_topic_t *topics, size_t n)
{
    if (n == 0 || n > GW_TAIL_MAX_TOPICS)
        return NULL;
    gw_tail_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->bootstrap = strdup(bootstrap);
    if (t->bootstrap == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        t->topics[i].name = strdup(topics[i].topic);
        t->topics[i].fn = topics[i].fn;
        t->topics[i].opaque = topics[i].opaque;
        t->ntopics = i + 1;
        if (t->topics[i].name == NULL)
            goto fail;
    }
    return t;
fail:
    gw_tail_destroy(t);
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void free_partitions(tail_topic_t *tt)
{
    free(tt->start_high);
    free(tt->done);
    free((void *)(uintptr_t)tt->next_off); /* NOLINT: _Atomic elements, plain storage */
    tt->start_high = NULL;
    tt->done = NULL;
    tt->next_off = NULL;
    tt->partition_count = 0;
}

/* Partition count and high watermarks of one topic. IB_AGAIN while the broker or the topic is
 * not there yet. */
static ib_rc_t load_partitions(gw_tail_t *t, tail_topic_t *tt, char *why, size_t why_size)
{
    const struct rd_kafka_metadata *md = NULL;
    ib_rc_t rc = IB_AGAIN;

    rd_kafka_resp_err_t err = rd_kafka_metadata(t->rk, 0, tt->rkt, &md, METADATA_TIMEOUT_MS);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(why, why_size, "metadata: %s", rd_kafka_err2str(err));
        goto out;
    }
    if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR ||
        md->topics[0].partition_cnt <= 0) {
        snprintf(why, why_size, "topic %s: %s", tt->name,
                 md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "not found");
        goto out;
    }
    int32_t n = md->topics[0].partition_cnt;
    tt->start_high = calloc((size_t)n, sizeof(*tt->start_high));
    tt->done = calloc((size_t)n, sizeof(*tt->done));
    tt->next_off = calloc((size_t)n, sizeof(*tt->next_off));
    if (tt->start_high == NULL || tt->done == NULL || tt->next_off == NULL) {
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    for (int32_t p = 0; p < n; p++) {
        int64_t low = 0;
        int64_t high = 0;
        err =
            rd_kafka_query_watermark_offsets(t->rk, tt->name, p, &low, &high, METADATA_TIMEOUT_MS);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(why, why_size, "%s watermarks of partition %d: %s", tt->name, (int)p,
                     rd_kafka_err2str(err));
            goto out;
        }
        tt->start_high[p] = high;
        tt->done[p] = high <= low;
        atomic_init(&tt->next_off[p], low);
    }
    tt->partition_count = n;
    rc = IB_OK;
out:
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    if (rc != IB_OK)
        free_partitions(tt);
    return rc;
}

static void stop_consuming(gw_tail_t *t)
{
    for (size_t i = 0; i < t->ntopics; i++)
        for (int32_t p = 0; p < t->topics[i].partition_count; p++)
            rd_kafka_consume_stop(t->topics[i].rkt, p);
}

/* Loads every topic's partitions, then starts them all from the beginning. */
static ib_rc_t begin_consuming(gw_tail_t *t, char *why, size_t why_size)
{
    for (size_t i = 0; i < t->ntopics; i++) {
        if (load_partitions(t, &t->topics[i], why, why_size) != IB_OK)
            goto fail;
    }
    for (size_t i = 0; i < t->ntopics; i++) {
        tail_topic_t *tt = &t->topics[i];
        for (int32_t p = 0; p < tt->partition_count; p++) {
            if (rd_kafka_consume_start_queue(tt->rkt, p, RD_KAFKA_OFFSET_BEGINNING, t->rkqu) ==
                -1) {
                snprintf(why, why_size, "%s: consume_start partition %d: %s", tt->name, (int)p,
                         rd_kafka_err2str(rd_kafka_last_error()));
                for (int32_t q = 0; q < p; q++)
                    rd_kafka_consume_stop(tt->rkt, q);
                tt->partition_count = 0; /* not started: not stopped below */
                goto fail;
            }
        }
    }
    atomic_store(&t->started, 1);
    return IB_OK;
fail:
    stop_consuming(t);
    for (size_t i = 0; i < t->ntopics; i++)
        free_partitions(&t->topics[i]);
    return IB_AGAIN;
}

static void check_caught_up(gw_tail_t *t)
{
    if (atomic_load(&t->caught_up) || !atomic_load(&t->started))
        return;
    for (size_t i = 0; i < t->ntopics; i++)
        for (int32_t p = 0; p < t->topics[i].partition_count; p++)
            if (!t->topics[i].done[p])
                return;
    atomic_store(&t->caught_up, 1);
    IB_INFO("views caught up: %llu records applied", (unsigned long long)atomic_load(&t->records));
}

static tail_topic_t *topic_of(gw_tail_t *t, const rd_kafka_message_t *m)
{
    for (size_t i = 0; i < t->ntopics; i++)
        if (t->topics[i].rkt == m->rkt)
            return &t->topics[i];
    return NULL;
}

static void handle_message(gw_tail_t *t, const rd_kafka_message_t *m)
{
    tail_topic_t *tt = topic_of(t, m);
    int32_t p = m->partition;

    if (tt == NULL || p < 0 || p >= tt->partition_count)
        return; /* a partition added after start: not read (see README) */
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        tt->done[p] = 1;
        atomic_store(&tt->next_off[p], m->offset);
        return;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        IB_WARN("view consumer: %s [%d]: %s", tt->name, (int)p, rd_kafka_message_errstr(m));
        return;
    }
    tt->fn(tt->opaque, m);
    atomic_fetch_add(&t->records, 1);
    atomic_store(&tt->next_off[p], m->offset + 1);
    if (m->offset + 1 >= tt->start_high[p])
        tt->done[p] = 1;
}

static void *tail_main(void *arg)
{
    gw_tail_t *t = arg;
    char why[512];
    long long last_warn_ms = 0;

    while (!atomic_load(&t->stop)) {
        if (!atomic_load(&t->started)) {
            why[0] = '\0';
            if (begin_consuming(t, why, sizeof(why)) != IB_OK) {
                long long now = ib_now_ms();
                if (now - last_warn_ms >= WARN_INTERVAL_MS) {
                    IB_WARN("views not loading yet (retrying): %s", why);
                    last_warn_ms = now;
                }
                sleep_ms(RETRY_DELAY_MS);
                continue;
            }
            IB_INFO("view consumer reading %zu topic(s) from the beginning", t->ntopics);
            check_caught_up(t);
        }
        rd_kafka_poll(t->rk, 0); /* error callbacks */
        rd_kafka_message_t *m = rd_kafka_consume_queue(t->rkqu, CONSUME_WAIT_MS);
        if (m != NULL) {
            handle_message(t, m);
            rd_kafka_message_destroy(m);
        }
        check_caught_up(t);
    }
    if (atomic_load(&t->started))
        stop_consuming(t);
    return NULL;
}

ib_rc_t gw_tail_start(gw_tail_t *t, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = NULL;

    conf =
        ib_kafka_conf_new(t->bootstrap, "interview-bridge-api-gateway-views", errstr, errstr_size);
    if (conf == NULL)
        goto fail;
    if (ib_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, errstr_size) != IB_OK)
        goto fail;
    /* librdkafka pre-fetches up to 64 MiB per partition by default (the legacy consumer's queues
     * are per partition): resident memory the views never need, the tail applies records far
     * faster than they come. KAFKA_QUEUED_MAX_MESSAGES_KBYTES still overrides it. */
    if (ib_kafka_conf_default(conf, "queued.max.messages.kbytes", TAIL_QUEUED_KBYTES, errstr,
                              errstr_size) != IB_OK)
        goto fail;
    /* With librdkafka's defaults (fetch.min.bytes 1) the broker answers this consumer's fetch as
     * soon as one record arrives: under load, a fetch round trip per produce batch of our own,
     * which cost the broker about as much again as the produce. The views may lag up to 100 ms
     * (read-your-writes comes from the delivery report, not from here); during catch-up fetches
     * fill up at once. Measured: broker CPU per POST -40 % (BENCHMARKS.md). */
    if (ib_kafka_conf_default(conf, "fetch.wait.max.ms", TAIL_FETCH_WAIT_MS, errstr, errstr_size) !=
            IB_OK ||
        ib_kafka_conf_default(conf, "fetch.min.bytes", TAIL_FETCH_MIN, errstr, errstr_size) !=
            IB_OK)
        goto fail;
    /* No group.id: offsets are never committed; every start reads every topic from the start. */
    t->rk = ib_kafka_new(RD_KAFKA_CONSUMER, conf, "view consumer", errstr, errstr_size);
    conf = NULL; /* stolen by ib_kafka_new */
    if (t->rk == NULL)
        goto fail;
    t->rkqu = rd_kafka_queue_new(t->rk);
    if (t->rkqu == NULL) {
        snprintf(errstr, errstr_size, "view consumer: cannot create a queue");
        goto fail;
    }
    for (size_t i = 0; i < t->ntopics; i++) {
        t->topics[i].rkt = rd_kafka_topic_new(t->rk, t->topics[i].name, NULL);
        if (t->topics[i].rkt == NULL) {
            snprintf(errstr, errstr_size, "%s: %s", t->topics[i].name,
                     rd_kafka_err2str(rd_kafka_last_error()));
            goto fail;
        }
    }
    if (pthread_create(&t->thread, NULL, tail_main, t) != 0) {
        snprintf(errstr, errstr_size, "view consumer: cannot start its thread");
        goto fail;
    }
    t->thread_started = 1;
    return IB_OK;
fail:
    if (conf != NULL)
        rd_kafka_conf_destroy(conf);
    return IB_ERR;
}

void gw_tail_destroy(gw_tail_t *t)
{
    if (t == NULL)
        return;
    if (t->thread_started) {
        atomic_store(&t->stop, 1);
        pthread_join(t->thread, NULL);
    }
    for (size_t i = 0; i < t->ntopics; i++) {
        if (t->topics[i].rkt != NULL)
            rd_kafka_topic_destroy(t->topics[i].rkt);
        free_partitions(&t->topics[i]);
        free(t->topics[i].name);
    }
    if (t->rkqu != NULL)
        rd_kafka_queue_destroy(t->rkqu);
    if (t->rk != NULL)
        rd_kafka_destroy(t->rk);
    free(t->bootstrap);
    free(t);
}

int gw_tail_caught_up(const gw_tail_t *t)
{
    return atomic_load(&t->caught_up);
}

unsigned long long gw_tail_records(const gw_tail_t *t)
{
    return atomic_load(&t->records);
}

long long gw_tail_lag(gw_tail_t *t, size_t i)
{
    if (i >= t->ntopics || !atomic_load(&t->started))
        return -1;
    tail_topic_t *tt = &t->topics[i];
    long long lag = 0;
    for (int32_t p = 0; p < tt->partition_count; p++) {
        int64_t low = 0;
        int64_t high = -1;
        /* Cached from the latest fetch response: never blocks. */
        if (rd_kafka_get_watermark_offsets(t->rk, tt->name, p, &low, &high) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            high < tt->start_high[p])
            high = tt->start_high[p];
        long long next = atomic_load(&tt->next_off[p]);
        if (high > next)
            lag += high - next;
    }
    return lag;
}
