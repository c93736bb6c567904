#include "producer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ib/kafka.h"
#include "ib/log.h"
#ifdef GW_TESTING
#include "producer_testing.h"
#endif

#define POLL_WAIT_MS   100
#define STATS_INTERVAL "2000"
#define PURGE_FLUSH_MS 5000
/* No linger: a POST waits for its record's acknowledgement, and at Workable's rates (a few per
 * second) any linger is added to every answer. Under load records still travel in batches: the
 * idempotent producer keeps at most 5 requests in flight per broker, and what arrives meanwhile
 * waits in the partitions' queues and leaves in the next request. KAFKA_LINGER_MS overrides it. */
#define LINGER_MS "0"

struct gw_producer {
    char *bootstrap;
    long timeout_ms;

    /* rk is replaced after a fatal error: senders hold the read lock, the poll thread takes the
     * write lock to swap it. Only the poll thread (and destroy, after joining it) writes rk. */
    pthread_rwlock_t lock;
    rd_kafka_t *rk;

    atomic_int brokers_up; /* from the statistics: some broker connection is UP */
    atomic_uint rebuilds;
    atomic_int stop;
    pthread_t thread;
    int thread_started;
};

/* The per-message opaque: who to tell about the delivery. */
typedef struct {
    gw_delivery_fn *cb;
    void *opaque;
} delivery_t;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *conf_opaque)
{
    (void)rk;
    (void)conf_opaque;
    delivery_t *d = msg->_private;
    if (d == NULL)
        return;
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR)
        IB_WARN("delivery failed: %s", rd_kafka_err2str(msg->err));
    d->cb(d->opaque, msg->err == RD_KAFKA_RESP_ERR_NO_ERROR ? IB_OK : IB_ERR,
          rd_kafka_err2str(msg->err));
    free(d);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    gw_producer_t *p = opaque;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && rk == p->rk)
        atomic_store(&p->brokers_up, 0);
    if (err == RD_KAFKA_RESP_ERR__FATAL)
        IB_ERROR("producer fatal error: %s", reason); /* the poll thread rebuilds */
    else
        IB_WARN("producer: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* Statistics are the one non-blocking way librdkafka 2.0.2 tells us a broker connection is up. */
static int on_stats(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
    gw_producer_t *p = opaque;
    const char *key;
    json_t *broker;
    int up = 0;
    json_t *root = json_loadb(json, json_len, 0, NULL);

    json_object_foreach(json_object_get(root, "brokers"), key, broker)
    {
        const char *state = json_string_value(json_object_get(broker, "state"));
        json_int_t nodeid = json_integer_value(json_object_get(broker, "nodeid"));
        if (nodeid >= 0 && state != NULL && strcmp(state, "UP") == 0)
            up = 1;
    }
    json_decref(root);
    if (rk == p->rk)
        atomic_store(&p->brokers_up, up);
    return 0; /* librdkafka frees json */
}

static rd_kafka_t *build_rk(gw_producer_t *p, char *errstr, size_t errstr_size)
{
    char timeout[32];
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;

    snprintf(timeout, sizeof(timeout), "%ld", p->timeout_ms);
    conf = ib_kafka_conf_new(p->bootstrap, "interview-bridge-api-gateway", errstr, errstr_size);
    if (conf == NULL)
        goto out;
    if (ib_kafka_conf_set(conf, "enable.idempotence", "true", errstr, errstr_size) != IB_OK ||
        ib_kafka_conf_set(conf, "acks", "all", errstr, errstr_size) != IB_OK ||
        ib_kafka_conf_set(conf, "message.timeout.ms", timeout, errstr, errstr_size) != IB_OK ||
        ib_kafka_conf_default(conf, "linger.ms", LINGER_MS, errstr, errstr_size) != IB_OK ||
        /* The Java client's partitioner, so keys land where the platform's would. */
        ib_kafka_conf_set(conf, "partitioner", "murmur2_random", errstr, errstr_size) != IB_OK ||
        ib_kafka_conf_set(conf, "statistics.interval.ms", STATS_INTERVAL, errstr, errstr_size) !=
            IB_OK)
        goto out;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    rd_kafka_conf_set_opaque(conf, p);
    rk = ib_kafka_new(RD_KAFKA_PRODUCER, conf, "producer", errstr, errstr_size);
    conf = NULL; /* stolen by ib_kafka_new */
out:
    if (conf != NULL)
        rd_kafka_conf_destroy(conf);
    return rk;
}

/* Fails every message still queued or in flight in rk (their callbacks get IB_ERR), then
 * destroys it. A purged in-flight message may still be written: consumers dedupe by ce_id. */
static void retire_rk(rd_kafka_t *rk)
{
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    if (rd_kafka_flush(rk, PURGE_FLUSH_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
        IB_WARN("producer: %d delivery reports still outstanding at destroy",
                rd_kafka_outq_len(rk));
    rd_kafka_destroy(rk);
}

/* After rd_kafka_fatal_error() the instance is unusable: swap in a new one. */
static void rebuild(gw_producer_t *p, const char *reason)
{
    char errstr[512];
    rd_kafka_t *fresh = build_rk(p, errstr, sizeof(errstr));

    if (fresh == NULL) {
        IB_ERROR("producer rebuild failed, retrying: %s", errstr);
        return;
    }
    pthread_rwlock_wrlock(&p->lock);
    rd_kafka_t *old = p->rk;
    p->rk = fresh;
    atomic_store(&p->brokers_up, 0);
    pthread_rwlock_unlock(&p->lock);
    atomic_fetch_add(&p->rebuilds, 1);
    IB_WARN("producer rebuilt after fatal error: %s", reason);
    retire_rk(old);
}

static void *poll_main(void *arg)
{
    gw_producer_t *p = arg;
    char reason[512];

    while (!atomic_load(&p->stop)) {
        rd_kafka_poll(p->rk, POLL_WAIT_MS);
        if (rd_kafka_fatal_error(p->rk, reason, sizeof(reason)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rebuild(p, reason);
            if (rd_kafka_fatal_error(p->rk, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                struct timespec ts = {1, 0};
                nanosleep(&ts, NULL);
            }
        }
    }
    return NULL;
}

gw_producer_t *gw_producer_new(const char *bootstrap, long timeout_ms, char *errstr,
                               size_t errstr_size)
{
    gw_producer_t *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (pthread_rwlock_init(&p->lock, NULL) != 0) {
        free(p);
        snprintf(errstr, errstr_size, "producer: rwlock");
        return NULL;
    }
    p->timeout_ms = timeout_ms;
    p->bootstrap = strdup(bootstrap);
    if (p->bootstrap == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    p->rk = build_rk(p, errstr, errstr_size);
    if (p->rk == NULL)
        goto fail;
    if (pthread_create(&p->thread, NULL, poll_main, p) != 0) {
        snprintf(errstr, errstr_size, "producer: cannot start the poll thread");
        goto fail;
    }
    p->thread_started = 1;
    return p;
fail:
    gw_producer_destroy(p);
    return NULL;
}

ib_rc_t gw_producer_send(gw_producer_t *p, const char *topic, const char *key, void *value,
                         size_t len, rd_kafka_headers_t *hdrs, gw_delivery_fn *cb, void *opaque,
                         char *errstr, size_t errstr_size)
{
    rd_kafka_resp_err_t err;
    delivery_t *d = malloc(sizeof(*d));

    if (d == NULL) {
        rd_kafka_headers_destroy(hdrs);
        snprintf(errstr, errstr_size, "out of memory");
        return IB_ERR;
    }
    d->cb = cb;
    d->opaque = opaque;
    pthread_rwlock_rdlock(&p->lock);
    err = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                            RD_KAFKA_V_VALUE(value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
    pthread_rwlock_unlock(&p->lock);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        return IB_OK; /* NOLINT(clang-analyzer-unix.Malloc): d is owned by the message now */
    free(d);
    rd_kafka_headers_destroy(hdrs);
    snprintf(errstr, errstr_size, "%s", rd_kafka_err2str(err));
    return err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? IB_AGAIN : IB_ERR;
}

int gw_producer_healthy(gw_producer_t *p)
{
    pthread_rwlock_rdlock(&p->lock);
    int ok = rd_kafka_fatal_error(p->rk, NULL, 0) == RD_KAFKA_RESP_ERR_NO_ERROR;
    pthread_rwlock_unlock(&p->lock);
    return ok && atomic_load(&p->brokers_up);
}

unsigned gw_producer_rebuilds(gw_producer_t *p)
{
    return atomic_load(&p->rebuilds);
}

ib_rc_t gw_producer_flush(gw_producer_t *p, int timeout_ms)
{
    pthread_rwlock_rdlock(&p->lock);
    rd_kafka_resp_err_t err = rd_kafka_flush(p->rk, timeout_ms);
    pthread_rwlock_unlock(&p->lock);
    return err == RD_KAFKA_RESP_ERR_NO_ERROR ? IB_OK : IB_AGAIN;
}

#ifdef GW_TESTING
/* Compiled only into the unit tests' copy of this file (tests/unit/api-gateway/CMakeLists.txt):
 * production binaries carry no fault injection. */
ib_rc_t gw_producer_test_conf_get(gw_producer_t *p, const char *name, char *buf, size_t size)
{
    size_t n = size;
    pthread_rwlock_rdlock(&p->lock);
    rd_kafka_conf_res_t res = rd_kafka_conf_get(rd_kafka_conf(p->rk), name, buf, &n);
    pthread_rwlock_unlock(&p->lock);
    return res == RD_KAFKA_CONF_OK ? IB_OK : IB_ERR;
}

ib_rc_t gw_producer_test_fatal(gw_producer_t *p)
{
    pthread_rwlock_rdlock(&p->lock);
    rd_kafka_resp_err_t err = rd_kafka_test_fatal_error(
        p->rk, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "injected by a test");
    pthread_rwlock_unlock(&p->lock);
    return err == RD_KAFKA_RESP_ERR_NO_ERROR ? IB_OK : IB_ERR;
}
#endif

void gw_producer_destroy(gw_producer_t *p)
{
    if (p == NULL)
        return;
    if (p->thread_started) {
        atomic_store(&p->stop, 1);
        pthread_join(p->thread, NULL);
    }
    if (p->rk != NULL)
        retire_rk(p->rk);
    pthread_rwlock_destroy(&p->lock);
    free(p->bootstrap);
    free(p);
}
