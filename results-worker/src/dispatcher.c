#include "dispatcher.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "consumer.h"
#include "flow.h"
#include "ib/log.h"
#include "intake.h"
#include "join.h"
#include "producer.h"
#include "sender.h"

#define LOOP_MAX_WAIT_MS 200
#define POLL_BATCH       500
#define METRICS_EVERY_MS 1000
#define FLUSH_TIMEOUT_MS 15000
#define EXPIRE_EVERY_MS  1000
#define EXPIRE_BATCH     10000 /* finished interviews erased per pass at most */
#define STALE_EVERY_MS   60000 /* the walk of the whole join for INTERVIEW_KEEP_OPEN (at most) */

struct rw_dispatcher {
    const rw_config_t *cfg;
    const ib_tenants_t *tenants;
    rw_metrics_t *m;
    rw_join_t *join;
    rw_consumer_t consumer;
    int consumer_open;
    rw_producer_t *producer;
    rw_sender_t *sender;
    rw_flow_t flow;
    int wake[2];
    pthread_t thread;
    int thread_started;
    atomic_int stop;
    atomic_int failed;
    long long next_metrics;
    long long next_expire;
    long long next_stale;
    long stale_every; /* the INTERVIEW_KEEP_OPEN walk's period */
};

/* Partitions are being revoked: their work is dropped, unstored; the next owner redoes it. */
static void on_revoke(const rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    rw_dispatcher_t *d = opaque;
    size_t n = rw_flow_revoke(&d->flow, parts);
    if (n > 0)
        IB_INFO("revocation: %zu messages in progress dropped (their offsets were not stored)", n);
}

/* -- the loop ---------------------------------------------------------------------------------*/

static void breaker_gauge(const char *host, rw_breaker_state_t st, void *arg)
{
    rw_dispatcher_t *d = arg;
    const char *labels[] = {host};
    ib_series_set(ib_metric_series(d->m->breaker, labels), (double)st);
}

static void update_metrics(rw_dispatcher_t *d)
{
    long long now = ib_wall_ms();
    rw_consumer_update_metrics(&d->consumer);
    rw_join_stats_t js;
    rw_join_stats(d->join, &js);
    ib_series_set(d->m->join_evicted, (double)js.evicted);
    ib_series_set(d->m->join_refused, (double)js.refused);
    rw_sender_each_host(d->sender, ib_now_ms(), breaker_gauge, d);
    ib_series_set(d->m->inflight, (double)rw_sender_inflight(d->sender));
    ib_series_set(d->m->queued, (double)rw_sender_queued(d->sender));
    long long oldest_first = 0;
    size_t backlog = rw_flow_backlog(&d->flow, &oldest_first);
    ib_series_set(d->m->retry_backlog, (double)backlog);
    ib_series_set(d->m->retry_oldest_age, oldest_first > 0 && oldest_first < now
                                              ? (double)(now - oldest_first) / 1000.0
                                              : 0.0);
    if (backlog > 0) {
        long long due = rw_flow_next_due(&d->flow);
        ib_series_set(d->m->retry_next_due, (double)due / 1000.0);
        ib_series_set(d->m->retry_oldest_due, due < now ? (double)(now - due) / 1000.0 : 0.0);
    } else {
        ib_series_set(d->m->retry_next_due, 0);
        ib_series_set(d->m->retry_oldest_due, 0);
    }
}

static void handle_error(rw_dispatcher_t *d, const rd_kafka_message_t *msg)
{
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        rw_topic_t t = rw_consumer_topic(&d->consumer, msg);
        if (t == RW_T_REQUESTED || t == RW_T_STATE)
            rw_consumer_source_seen(&d->consumer, t, msg->partition, msg->offset, 1);
        else
            rw_consumer_history_seen(&d->consumer, t, msg->partition, msg->offset, 1);
        return;
    }
    if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[256];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(d->consumer.rk, why, sizeof(why));
        IB_ERROR("fatal consumer error %s: %s", rd_kafka_err2name(orig), why);
        atomic_store(&d->failed, 1);
        return;
    }
    json_t *f = json_pack("{s:s,s:i}", "error", rd_kafka_err2name(msg->err), "partition",
                          (int)msg->partition);
    ib_log_fields(IB_LOG_WARN, f, "consumer: %s", rd_kafka_message_errstr(msg));
    json_decref(f);
}

static void drain_wake(rw_dispatcher_t *d)
{
    char buf[256];
    while (read(d->wake[0], buf, sizeof(buf)) > 0) {
    }
}

/* The keep times, once every assigned partition is rebuilt (a scanned state may still make a
 * finished interview newer). 1 when a full batch went: more may be due at once. */
static int keep_times(rw_dispatcher_t *d)
{
    long long now = ib_now_ms();
    int full = 0;
    d->next_expire = now + EXPIRE_EVERY_MS;
    if (!rw_consumer_all_live(&d->consumer))
        return 0;
    full = rw_flow_expire(&d->flow, ib_wall_ms(), EXPIRE_BATCH) == EXPIRE_BATCH;
    if (now >= d->next_stale) {
        (void)rw_flow_expire_open(&d->flow, ib_wall_ms(), EXPIRE_BATCH);
        d->next_stale = now + d->stale_every;
    }
    return full;
}

static int loop_wait(rw_dispatcher_t *d, int more)
{
    if (more)
        return 0;
    int wait = rw_consumer_tick(&d->consumer, LOOP_MAX_WAIT_MS);
    if (rw_flow_next_due(&d->flow) > 0) {
        long long until = rw_flow_next_due(&d->flow) - ib_wall_ms();
        if (until < wait)
            wait = until < 0 ? 0 : (int)until;
    }
    return wait;
}

static void *run(void *arg)
{
    rw_dispatcher_t *d = arg;
    int more = 0;
    IB_INFO("worker loop started (group %s; topics %s, %s, %s, %s, %s)", d->cfg->group_id,
            d->cfg->topic_requested, d->cfg->topic_status, d->cfg->topic_retry,
            d->cfg->topic_status_repartition, d->cfg->topic_state);
    while (!atomic_load(&d->stop) && !atomic_load(&d->failed)) {
        /* A round's log lines (one per delivery attempt) leave in a few writes after it. */
        ib_log_batch_begin();
        rw_sender_run(d->sender, loop_wait(d, more), d->wake[0]);
        drain_wake(d);
        rw_producer_poll(d->producer, 0);
        more = 0;
        for (int i = 0; i < POLL_BATCH && !atomic_load(&d->stop); i++) {
            rd_kafka_message_t *msg = rw_consumer_poll(&d->consumer, 0);
            if (msg == NULL)
                break;
            if (i == POLL_BATCH - 1)
                more = 1;
            if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                handle_error(d, msg);
            } else {
                switch (rw_consumer_topic(&d->consumer, msg)) {
                case RW_T_REQUESTED:
                    rw_intake_requested(&d->flow, msg);
                    break;
                case RW_T_STATUS:
                    rw_intake_status(&d->flow, msg);
                    break;
                case RW_T_RETRY:
                    rw_intake_retry(&d->flow, msg);
                    break;
                case RW_T_REPARTITION:
                    rw_intake_repartition(&d->flow, msg);
                    break;
                case RW_T_STATE:
                    rw_intake_state(&d->flow, msg);
                    break;
                case RW_T_NONE:
                    break;
                }
            }
            rd_kafka_message_destroy(msg);
        }
        rw_flow_run_due(&d->flow);
        if (ib_now_ms() >= d->next_expire && keep_times(d))
            more = 1;
        if (ib_now_ms() >= d->next_metrics) {
            update_metrics(d);
            d->next_metrics = ib_now_ms() + METRICS_EVERY_MS;
        }
        ib_log_batch_end();
    }

    /* Shutdown: finish or hand off what is in flight, then make the handed-off work durable. */
    d->flow.stopping = 1;
    long long deadline = ib_now_ms() + d->cfg->shutdown_grace_ms;
    size_t left = rw_sender_inflight(d->sender) + rw_sender_queued(d->sender);
    IB_INFO("stopping: %zu callbacks in flight or queued; up to %ld ms to finish", left,
            d->cfg->shutdown_grace_ms);
    while (rw_sender_inflight(d->sender) + rw_sender_queued(d->sender) > 0 &&
           ib_now_ms() < deadline) {
        rw_sender_run(d->sender, 100, d->wake[0]);
        drain_wake(d);
        rw_producer_poll(d->producer, 0);
    }
    rw_sender_abort(d->sender, NULL, NULL);
    /* States waiting behind in-flight ones were handed off by send_job; failed produces get one
     * more try now. */
    rw_flow_produce_pending(&d->flow);
    if (rw_producer_flush(d->producer, FLUSH_TIMEOUT_MS) != IB_OK)
        IB_WARN("stopping: some retry records or dead letters were not acknowledged; their "
                "messages stay unstored and are handled again");
    rw_producer_poll(d->producer, 0);
    if (atomic_load(&d->failed))
        kill(getpid(), SIGTERM); /* wake main's signal wait: exit non-zero, get restarted */
    return NULL;
}

rw_dispatcher_t *rw_dispatcher_new(const rw_config_t *cfg, const ib_tenants_t *tenants,
                                   rw_metrics_t *m, char *errstr, size_t errstr_size)
{
    rw_dispatcher_t *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    d->cfg = cfg;
    /* Once a minute, or a quarter of INTERVIEW_KEEP_OPEN when that is shorter (tests). */
    d->stale_every = cfg->keep_open_ms / 4;
    if (d->stale_every > STALE_EVERY_MS)
        d->stale_every = STALE_EVERY_MS;
    if (d->stale_every < EXPIRE_EVERY_MS)
        d->stale_every = EXPIRE_EVERY_MS;
    d->tenants = tenants;
    d->m = m;
    d->wake[0] = d->wake[1] = -1;
    atomic_init(&d->stop, 0);
    atomic_init(&d->failed, 0);
    if (tenants->count > UINT16_MAX) {
        snprintf(errstr, errstr_size, "TENANTS_FILE: more than %u tenants", UINT16_MAX);
        goto fail;
    }
    if (pipe(d->wake) != 0 || fcntl(d->wake[0], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(d->wake[1], F_SETFL, O_NONBLOCK) != 0) {
        snprintf(errstr, errstr_size, "pipe: %s", strerror(errno));
        goto fail;
    }
    d->join = rw_join_new_bounded((size_t)cfg->join_max_interviews);
    if (d->join == NULL || rw_flow_init(&d->flow) != IB_OK) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    d->flow.cfg = cfg;
    d->flow.tenants = tenants;
    d->flow.m = m;
    d->flow.join = d->join;
    d->flow.consumer = &d->consumer;
    rw_sender_opts_t so;
    memset(&so, 0, sizeof(so));
    so.delivery.timeout_ms = cfg->callback_timeout_ms;
    so.delivery.connect_timeout_ms =
        cfg->callback_timeout_ms < 10000 ? cfg->callback_timeout_ms : 10000;
    so.delivery.allow_http = cfg->allow_insecure_callbacks;
    so.delivery.allowed = &cfg->allowed_subnets;
    so.delivery.ca_file = cfg->callback_ca_file;
    so.max_inflight = (unsigned)cfg->max_inflight;
    so.per_host = (unsigned)cfg->per_host;
    so.breaker.threshold = (unsigned)cfg->breaker_threshold;
    so.breaker.cooldown_ms = cfg->breaker_cooldown_ms;
    so.dns_ttl_ms = 30000;
    d->sender = rw_sender_new(&so, rw_flow_on_send_done, &d->flow, errstr, errstr_size);
    if (d->sender == NULL)
        goto fail;
    d->flow.sender = d->sender;
    d->producer =
        rw_producer_new(cfg->kafka_bootstrap, rw_flow_on_produced, &d->flow, errstr, errstr_size);
    if (d->producer == NULL)
        goto fail;
    d->flow.producer = d->producer;
    rw_producer_wake_fd(d->producer, d->wake[1]);
    /* Requested, retry, repartition and state are co-partitioned (range assignor); the status
     * topic may have any partition count: its events are moved to their interview's partition. */
    int n_req = rw_producer_partitions(d->producer, cfg->topic_requested, 5000);
    int n_retry = rw_producer_partitions(d->producer, cfg->topic_retry, 5000);
    int n_rep = rw_producer_partitions(d->producer, cfg->topic_status_repartition, 5000);
    int n_state = rw_producer_partitions(d->producer, cfg->topic_state, 5000);
    if (n_req > 0 && (n_rep < 0 || n_state < 0)) {
        snprintf(errstr, errstr_size,
                 "topic %s not found: create it with as many partitions as %s (%d)",
                 n_rep < 0 ? cfg->topic_status_repartition : cfg->topic_state, cfg->topic_requested,
                 n_req);
        goto fail;
    }
    if (n_req > 0 && ((n_retry > 0 && n_retry != n_req) || n_rep != n_req || n_state != n_req)) {
        snprintf(errstr, errstr_size,
                 "partition counts differ: %s %d, %s %d, %s %d, %s %d; they must be equal "
                 "(co-partitioned join, retry, repartition and state)",
                 cfg->topic_requested, n_req, cfg->topic_retry, n_retry,
                 cfg->topic_status_repartition, n_rep, cfg->topic_state, n_state);
        goto fail;
    }
    if (rw_consumer_init(&d->consumer, cfg, d->join, m, on_revoke, d, errstr, errstr_size) !=
        IB_OK) {
        rw_consumer_close(&d->consumer);
        goto fail;
    }
    rw_consumer_wake_fd(&d->consumer, d->wake[1]);
    d->consumer_open = 1;
    return d;
fail:
    rw_dispatcher_free(d);
    return NULL;
}

ib_rc_t rw_dispatcher_start(rw_dispatcher_t *d, char *errstr, size_t errstr_size)
{
    int err = pthread_create(&d->thread, NULL, run, d);
    if (err != 0) {
        snprintf(errstr, errstr_size, "pthread_create: %s", strerror(err));
        return IB_ERR;
    }
    d->thread_started = 1;
    return IB_OK;
}

ib_rc_t rw_dispatcher_stop(rw_dispatcher_t *d)
{
    atomic_store(&d->stop, 1);
    if (d->wake[1] >= 0) {
        ssize_t w = write(d->wake[1], "s", 1);
        (void)w;
    }
    if (d->thread_started) {
        pthread_join(d->thread, NULL);
        d->thread_started = 0;
    }
    if (d->consumer_open) {
        /* Leaving the group revokes: on_revoke drops what is still waiting (unstored). */
        rw_consumer_close(&d->consumer);
        d->consumer_open = 0;
    }
    return atomic_load(&d->failed) ? IB_ERR : IB_OK;
}

void rw_dispatcher_free(rw_dispatcher_t *d)
{
    if (d == NULL)
        return;
    ib_rc_t rc = rw_dispatcher_stop(d);
    (void)rc;
    /* Whatever is left (not stored) is simply forgotten: Kafka has it. */
    rw_job_t *job;
    LIST_FOREACH(job, &d->flow.jobs, all)
    job->doomed = 1;
    if (d->sender != NULL)
        rw_sender_abort(d->sender, NULL, NULL);
    rw_flow_clear(&d->flow);
    rw_sender_free(d->sender);
    rw_producer_free(d->producer, 5000);
    rw_join_free(d->join);
    if (d->wake[0] >= 0)
        close(d->wake[0]);
    if (d->wake[1] >= 0)
        close(d->wake[1]);
    free(d);
}
