#include "dispatcher.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backoff.h"
#include "consumer.h"
#include "delivery.h"
#include "ib/log.h"
#include "ib/payload.h"
#include "join.h"

#define POLL_MAX_MS 200

struct rw_dispatcher {
    const rw_config_t *cfg;
    const ib_tenants_t *tenants;
    rw_metrics_t *m;
    rw_join_t *join;
    rw_deliverer_t *deliverer;
    rw_consumer_t consumer;
    int consumer_open;
    pthread_t thread;
    int thread_started;
    atomic_int stop;
    atomic_int failed;
};

/* {"topic","partition","offset", "interview_id"?, "attempt"?} for log lines. New reference. */
static json_t *msg_fields(const rd_kafka_message_t *msg, const char *interview_id, unsigned attempt)
{
    json_t *f = json_pack("{s:s,s:i,s:I}", "topic", rd_kafka_topic_name(msg->rkt), "partition",
                          (int)msg->partition, "offset", (json_int_t)msg->offset);
    if (f != NULL && interview_id != NULL && interview_id[0] != '\0')
        json_object_set_new(f, "interview_id", json_string(interview_id));
    if (f != NULL && attempt > 0)
        json_object_set_new(f, "attempt", json_integer(attempt));
    return f;
}

static void handle_requested(rw_dispatcher_t *d, const rd_kafka_message_t *msg)
{
    char why[256];
    char id[RW_JOIN_MAX_ID_LEN + 1];
    rw_join_state_t state = RW_JOIN_OK;

    atomic_fetch_add(&d->m->requested_events, 1);
    if (rw_join_ingest(d->join, d->tenants, d->cfg->allow_insecure_callbacks, msg->partition,
                       msg->key, msg->key_len, msg->payload, msg->len, &state, id, why,
                       sizeof(why)) != IB_OK) {
        /* Not dead-lettered: this topic is re-read from the start on every assignment, so a
         * dead letter would repeat on each restart. A status event for it is dead-lettered. */
        atomic_fetch_add(&d->m->requested_invalid, 1);
        json_t *f = msg_fields(msg, id, 0);
        ib_log_fields(IB_LOG_WARN, f, "invalid requested event skipped: %s", why);
        json_decref(f);
    } else if (state != RW_JOIN_OK && ib_log_enabled(IB_LOG_WARN)) {
        json_t *f = msg_fields(msg, id, 0);
        ib_log_fields(IB_LOG_WARN, f, "requested event kept as undeliverable: %s",
                      rw_join_state_reason(state));
        json_decref(f);
    }
    rw_consumer_requested_seen(&d->consumer, msg->partition, msg->offset, 0);
}

/* Dead-letters msg and stores its offset once Kafka has the dead letter; on failure rewinds
 * and retries later like a failed PUT. */
static void dead_letter(rw_dispatcher_t *d, const rd_kafka_message_t *msg, const char *id,
                        const char *reason)
{
    char why[256];
    unsigned attempt = rw_consumer_attempt(&d->consumer, msg->partition, msg->offset);
    json_t *f = msg_fields(msg, id, attempt);
    if (rw_consumer_dead_letter(&d->consumer, msg, id, reason, why, sizeof(why)) == IB_OK) {
        ib_log_fields(IB_LOG_WARN, f, "dead-lettered to %s: %s", d->cfg->topic_dlq, reason);
        rw_consumer_done(&d->consumer, msg->partition, msg->offset);
    } else {
        long delay = rw_backoff_ms(attempt, rw_backoff_unit(), 0);
        json_object_set_new(f, "retry_in_ms", json_integer(delay));
        ib_log_fields(IB_LOG_ERROR, f, "dead letter failed (%s); will retry: %s", why, reason);
        rw_consumer_backoff(&d->consumer, msg->partition, msg->offset, delay);
    }
    json_decref(f);
}

static void deliver(rw_dispatcher_t *d, const rd_kafka_message_t *msg, const ib_status_event_t *ev,
                    const rw_join_view_t *view)
{
    const ib_tenant_t *t = &d->tenants->tenants[view->tenant];
    char *body = json_dumps(ev->payload, JSON_COMPACT);
    unsigned attempt = rw_consumer_attempt(&d->consumer, msg->partition, msg->offset);
    rw_delivery_t job;

    if (body == NULL) {
        json_t *f = msg_fields(msg, ev->interview_id, attempt);
        ib_log_fields(IB_LOG_ERROR, f, "out of memory serialising the payload; will retry");
        json_decref(f);
        rw_consumer_backoff(&d->consumer, msg->partition, msg->offset,
                            rw_backoff_ms(attempt, rw_backoff_unit(), 0));
        return;
    }
    memset(&job, 0, sizeof(job));
    job.interview_id = ev->interview_id;
    job.url = view->callback_url;
    job.token = t->workable_token;
    job.body = body;
    job.body_len = strlen(body);
    job.attempt = attempt;

    rw_outcome_t outcome = rw_deliverer_perform(d->deliverer, &job);
    atomic_fetch_add(&d->m->deliveries[outcome], 1);

    json_t *f = msg_fields(msg, ev->interview_id, attempt);
    json_object_set_new(f, "tenant", json_string(t->id));
    json_object_set_new(f, "status", json_string(ib_status_name(ev->status)));
    json_object_set_new(f, "outcome", json_string(rw_outcome_name(outcome)));
    json_object_set_new(f, "http_status", json_integer(job.http_status));
    json_object_set_new(f, "elapsed_ms", json_integer(job.elapsed_ms));
    if (outcome == RW_OUTCOME_SUCCESS) {
        ib_log_fields(IB_LOG_INFO, f, "callback delivered");
        rw_consumer_done(&d->consumer, msg->partition, msg->offset);
    } else {
        long delay = rw_backoff_ms(attempt, rw_backoff_unit(), job.retry_after_ms);
        json_object_set_new(f, "retry_in_ms", json_integer(delay));
        if (job.error[0] != '\0')
            json_object_set_new(f, "error", json_string(job.error));
        if (job.excerpt[0] != '\0')
            json_object_set_new(f, "response_excerpt", json_string(job.excerpt));
        /* This slice retries permanent failures in place too (nothing is lost); the DLQ issue
         * sends them to the dead-letter topic instead. */
        ib_log_fields(outcome == RW_OUTCOME_PERMANENT ? IB_LOG_ERROR : IB_LOG_WARN, f,
                      "callback failed (%s); retrying in place",
                      outcome == RW_OUTCOME_PERMANENT ? "permanent" : "transient");
        rw_consumer_backoff(&d->consumer, msg->partition, msg->offset, delay);
    }
    json_decref(f);
    free(body);
}

static void handle_status(rw_dispatcher_t *d, const rd_kafka_message_t *msg)
{
    char why[256];
    ib_status_event_t ev;
    rw_join_view_t view;

    if (!rw_consumer_status_admit(&d->consumer, msg->partition, msg->offset))
        return;
    atomic_fetch_add(&d->m->status_events, 1);
    memset(&ev, 0, sizeof(ev));
    if (msg->payload == NULL || msg->len == 0) {
        dead_letter(d, msg, NULL, "invalid status event: empty value");
        return;
    }
    if (ib_status_event_parse(msg->payload, msg->len, &ev, why, sizeof(why)) != IB_OK) {
        char reason[300];
        snprintf(reason, sizeof(reason), "invalid status event: %s", why);
        dead_letter(d, msg, NULL, reason);
        return;
    }
    if (!rw_join_get(d->join, ev.interview_id, &view)) {
        ib_rc_t rc = rw_consumer_recheck_requested(&d->consumer, msg->partition, msg->offset, why,
                                                   sizeof(why));
        json_t *f = msg_fields(msg, ev.interview_id, 0);
        if (rc == IB_AGAIN) {
            ib_log_fields(IB_LOG_INFO, f, "interview not known yet; waiting for %s to catch up",
                          d->cfg->topic_requested);
        } else if (rc == IB_OK) {
            char reason[300];
            snprintf(reason, sizeof(reason), "unknown interview_id: %s",
                     why[0] != '\0' ? why : "no interviews.requested event");
            dead_letter(d, msg, ev.interview_id, reason);
        } else {
            unsigned attempt = rw_consumer_attempt(&d->consumer, msg->partition, msg->offset);
            ib_log_fields(IB_LOG_WARN, f, "cannot check the join (%s); will retry", why);
            rw_consumer_backoff(&d->consumer, msg->partition, msg->offset,
                                rw_backoff_ms(attempt, rw_backoff_unit(), 0));
        }
        json_decref(f);
        ib_status_event_clear(&ev);
        return;
    }
    if (view.state != RW_JOIN_OK) {
        dead_letter(d, msg, ev.interview_id, rw_join_state_reason(view.state));
        ib_status_event_clear(&ev);
        return;
    }
    if (view.tenant >= d->tenants->count) {
        dead_letter(d, msg, ev.interview_id, "tenant no longer configured");
        ib_status_event_clear(&ev);
        return;
    }
    deliver(d, msg, &ev, &view);
    ib_status_event_clear(&ev);
}

static void handle_error(rw_dispatcher_t *d, const rd_kafka_message_t *msg)
{
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (rw_consumer_is_requested(&d->consumer, msg))
            rw_consumer_requested_seen(&d->consumer, msg->partition, msg->offset, 1);
        return;
    }
    if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[256];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(d->consumer.rk, why, sizeof(why));
        IB_ERROR("fatal consumer error %s: %s", rd_kafka_err2name(orig), why);
        atomic_store(&d->failed, 1);
        return;
    }
    /* Broker down, unknown topic, ...: librdkafka keeps retrying; so do we. */
    json_t *f = json_pack("{s:s,s:i}", "error", rd_kafka_err2name(msg->err), "partition",
                          (int)msg->partition);
    ib_log_fields(IB_LOG_WARN, f, "consumer: %s", rd_kafka_message_errstr(msg));
    json_decref(f);
}

static void *run(void *arg)
{
    rw_dispatcher_t *d = arg;
    IB_INFO("consumer started (group %s; topics %s, %s)", d->cfg->group_id, d->cfg->topic_requested,
            d->cfg->topic_status);
    while (!atomic_load(&d->stop) && !atomic_load(&d->failed)) {
        int wait = rw_consumer_tick(&d->consumer, POLL_MAX_MS);
        rd_kafka_message_t *msg = rw_consumer_poll(&d->consumer, wait);
        if (msg == NULL)
            continue;
        if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR)
            handle_error(d, msg);
        else if (rw_consumer_is_requested(&d->consumer, msg))
            handle_requested(d, msg);
        else if (rw_consumer_is_status(&d->consumer, msg))
            handle_status(d, msg);
        rd_kafka_message_destroy(msg);
    }
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
    d->tenants = tenants;
    d->m = m;
    atomic_init(&d->stop, 0);
    atomic_init(&d->failed, 0);
    if (tenants->count > UINT16_MAX) {
        snprintf(errstr, errstr_size, "TENANTS_FILE: more than %u tenants", UINT16_MAX);
        goto fail;
    }
    d->join = rw_join_new();
    if (d->join == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    rw_delivery_opts_t opts = {
        .timeout_ms = cfg->callback_timeout_ms,
        .connect_timeout_ms = cfg->callback_timeout_ms < 10000 ? cfg->callback_timeout_ms : 10000,
        .allow_http = cfg->allow_insecure_callbacks,
    };
    d->deliverer = rw_deliverer_new(&opts, errstr, errstr_size);
    if (d->deliverer == NULL)
        goto fail;
    if (rw_consumer_init(&d->consumer, cfg, d->join, m, errstr, errstr_size) != IB_OK) {
        rw_consumer_close(&d->consumer);
        goto fail;
    }
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
    if (d->thread_started) {
        pthread_join(d->thread, NULL);
        d->thread_started = 0;
    }
    if (d->consumer_open) {
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
    rw_deliverer_free(d->deliverer);
    rw_join_free(d->join);
    free(d);
}
