#include "consumer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadletter.h"
#include "ib/kafka.h"
#include "ib/log.h"

#define WATERMARK_TIMEOUT_MS 5000
#define SEEK_TIMEOUT_MS      2000
#define DLQ_TIMEOUT_MS       10000 /* message.timeout.ms of dead letters */

/* Sentinel for "no offset". */
#define NO_OFFSET ((int64_t)-1)

/* Logs "msg" or "msg: detail" with the partition's coordinates. */
static void log_part(ib_log_level_t level, const char *topic, int32_t p, int64_t offset,
                     const char *msg, const char *detail)
{
    if (!ib_log_enabled(level))
        return;
    json_t *f = json_pack("{s:s,s:i,s:I}", "topic", topic, "partition", (int)p, "offset",
                          (json_int_t)offset);
    if (detail != NULL)
        ib_log_fields(level, f, "%s: %s", msg, detail);
    else
        ib_log_fields(level, f, "%s", msg);
    json_decref(f);
}

static rw_part_t *part(rw_consumer_t *c, int32_t p)
{
    if (p < 0 || (size_t)p >= c->nparts)
        return NULL;
    return &c->parts[p];
}

static void part_reset_requested(rw_part_t *pt)
{
    pt->req_assigned = 0;
    pt->req_ready = 0;
    pt->req_target = NO_OFFSET;
    pt->req_next = NO_OFFSET;
}

static void part_reset_status(rw_part_t *pt)
{
    pt->st_assigned = 0;
    pt->st_state = RW_ST_RUNNING;
    pt->st_rewound_to = NO_OFFSET;
    pt->retry_offset = NO_OFFSET;
    pt->attempt = 0;
    pt->resume_at_ms = 0;
}

static ib_rc_t ensure_parts(rw_consumer_t *c, size_t n)
{
    if (n <= c->nparts)
        return IB_OK;
    rw_part_t *np = realloc(c->parts, n * sizeof(*np));
    if (np == NULL)
        return IB_ERR;
    for (size_t i = c->nparts; i < n; i++) {
        part_reset_requested(&np[i]);
        part_reset_status(&np[i]);
    }
    c->parts = np;
    c->nparts = n;
    return IB_OK;
}

static int requested_caught_up(const rw_part_t *pt)
{
    return pt->req_target >= 0 && pt->req_next >= pt->req_target;
}

/* Pauses (pause=1) or resumes status partition p. */
static void set_paused(rw_consumer_t *c, int32_t p, int pause)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, c->cfg->topic_status, p);
    rd_kafka_resp_err_t err =
        pause ? rd_kafka_pause_partitions(c->rk, l) : rd_kafka_resume_partitions(c->rk, l);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        err = l->elems[0].err;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        log_part(IB_LOG_WARN, c->cfg->topic_status, p, -1, pause ? "pause failed" : "resume failed",
                 rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(l);
}

/* Rewinds the (paused) status partition p to offset, so the message there comes again on
 * resume: pausing alone would resume after the last message handed to us. */
static void rewind_to(rw_consumer_t *c, int32_t p, int64_t offset)
{
    rw_part_t *pt = part(c, p);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, c->cfg->topic_status, p)->offset = offset;
    rd_kafka_error_t *error = rd_kafka_seek_partitions(c->rk, l, SEEK_TIMEOUT_MS);
    if (error != NULL) {
        /* On a timeout the seek still happens; the fetcher's version barrier drops anything
         * fetched before it. */
        log_part(IB_LOG_WARN, c->cfg->topic_status, p, offset, "seek",
                 rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (l->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_part(IB_LOG_WARN, c->cfg->topic_status, p, offset, "seek",
                 rd_kafka_err2str(l->elems[0].err));
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (pt != NULL)
        pt->st_rewound_to = offset;
}

static void open_gate_if_caught_up(rw_consumer_t *c, int32_t p)
{
    rw_part_t *pt = part(c, p);
    if (pt == NULL || !requested_caught_up(pt))
        return;
    if (!pt->req_ready) {
        pt->req_ready = 1;
        log_part(IB_LOG_INFO, c->cfg->topic_requested, p, pt->req_next,
                 "requested partition caught up", NULL);
    }
    if (pt->st_assigned && pt->st_state == RW_ST_GATED) {
        pt->st_state = RW_ST_RUNNING;
        pt->st_rewound_to = NO_OFFSET;
        set_paused(c, p, 0);
    }
}

static void update_gauges(rw_consumer_t *c)
{
    int assigned = 0;
    int ready = 1;
    unsigned long long paused = 0;
    for (size_t i = 0; i < c->nparts; i++) {
        const rw_part_t *pt = &c->parts[i];
        assigned += pt->st_assigned + pt->req_assigned;
        if (pt->req_assigned && !pt->req_ready)
            ready = 0;
        if (pt->st_assigned && pt->st_state != RW_ST_RUNNING)
            paused++;
    }
    atomic_store(&c->m->assigned, assigned);
    atomic_store(&c->m->ready, assigned > 0 && ready);
    atomic_store(&c->m->paused_partitions, paused);
    atomic_store(&c->m->join_entries, (unsigned long long)rw_join_count(c->join));
    atomic_store(&c->m->join_bytes, (unsigned long long)rw_join_bytes(c->join));
}

static void on_assign(rw_consumer_t *c, rd_kafka_topic_partition_list_t *parts)
{
    int32_t max_p = -1;
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].partition > max_p)
            max_p = parts->elems[i].partition;
    if (max_p >= 0 && ensure_parts(c, (size_t)max_p + 1) != IB_OK) {
        IB_ERROR("out of memory on assignment; taking no partitions");
        return;
    }

    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        rw_part_t *pt = &c->parts[tp->partition];
        if (strcmp(tp->topic, c->cfg->topic_requested) == 0) {
            /* The join lives only in memory: rebuild it from the start of the partition. */
            int64_t lo = 0;
            int64_t hi = 0;
            part_reset_requested(pt);
            pt->req_assigned = 1;
            tp->offset = RD_KAFKA_OFFSET_BEGINNING;
            rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
                c->rk, tp->topic, tp->partition, &lo, &hi, WATERMARK_TIMEOUT_MS);
            if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                pt->req_target = hi;
                if (hi <= lo)
                    pt->req_next = hi; /* empty: caught up already */
            } else {
                /* Unknown target: the partition EOF event will open the gate. */
                log_part(IB_LOG_WARN, tp->topic, tp->partition, -1,
                         "high watermark query failed; waiting for EOF", rd_kafka_err2str(err));
            }
        } else if (strcmp(tp->topic, c->cfg->topic_status) == 0) {
            part_reset_status(pt);
            pt->st_assigned = 1;
            tp->offset = RD_KAFKA_OFFSET_INVALID; /* committed offset, else auto.offset.reset */
        }
    }

    rd_kafka_resp_err_t err = rd_kafka_assign(c->rk, parts);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        IB_ERROR("assign failed: %s", rd_kafka_err2str(err));
        return;
    }

    rd_kafka_topic_partition_list_t *gate = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        rw_part_t *pt = &c->parts[tp->partition];
        if (strcmp(tp->topic, c->cfg->topic_requested) == 0) {
            log_part(IB_LOG_INFO, tp->topic, tp->partition, pt->req_target,
                     "assigned from the beginning; offset is the catch-up target", NULL);
            open_gate_if_caught_up(c, tp->partition);
            continue;
        }
        if (strcmp(tp->topic, c->cfg->topic_status) != 0)
            continue;
        if (!pt->req_assigned) {
            /* Only when the topics' partition counts differ: nothing to wait for here. */
            log_part(IB_LOG_WARN, tp->topic, tp->partition, -1,
                     "status partition assigned without its requested partition; "
                     "are the partition counts equal?",
                     NULL);
            continue;
        }
        if (!pt->req_ready) {
            pt->st_state = RW_ST_GATED;
            rd_kafka_topic_partition_list_add(gate, tp->topic, tp->partition);
        }
    }
    if (gate->cnt > 0) {
        err = rd_kafka_pause_partitions(c->rk, gate);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
            IB_ERROR("pausing gated status partitions failed: %s", rd_kafka_err2str(err));
    }
    rd_kafka_topic_partition_list_destroy(gate);
}

static void on_revoke(rw_consumer_t *c, rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        rw_part_t *pt = part(c, tp->partition);
        if (pt == NULL)
            continue;
        if (strcmp(tp->topic, c->cfg->topic_requested) == 0) {
            size_t n = rw_join_remove_partition(c->join, tp->partition);
            part_reset_requested(pt);
            json_t *f = json_pack("{s:s,s:i,s:I}", "topic", tp->topic, "partition",
                                  (int)tp->partition, "dropped", (json_int_t)n);
            ib_log_fields(IB_LOG_INFO, f, "revoked; join entries dropped");
            json_decref(f);
        } else if (strcmp(tp->topic, c->cfg->topic_status) == 0) {
            /* A message in backoff was never stored: the next owner gets it again. */
            part_reset_status(pt);
        }
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(c->rk, NULL);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        IB_ERROR("unassign failed: %s", rd_kafka_err2str(err));
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    rw_consumer_t *c = opaque;
    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        IB_INFO("rebalance: %d partitions assigned", parts->cnt);
        on_assign(c, parts);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        IB_INFO("rebalance: %d partitions revoked", parts->cnt);
        on_revoke(c, parts);
    } else {
        IB_ERROR("rebalance error: %s", rd_kafka_err2str(err));
        on_revoke(c, parts);
    }
    update_gauges(c);
}

typedef struct {
    int done;
    rd_kafka_resp_err_t err;
} dlq_wait_t;

static void on_dlq_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    dlq_wait_t *w = msg->_private;
    (void)rk;
    (void)opaque;
    if (w != NULL) {
        w->err = msg->err;
        w->done = 1;
    }
}

static rd_kafka_t *new_consumer(const rw_config_t *cfg, rw_consumer_t *c, char *errstr,
                                size_t errstr_size)
{
    char why[512];
    rd_kafka_conf_t *conf =
        ib_kafka_conf_new(cfg->kafka_bootstrap, "results-worker", errstr, errstr_size);
    if (conf == NULL)
        return NULL;
    static const char *const props[][2] = {
        {"enable.auto.offset.store", "false"}, /* stored only after the work is durable */
        {"enable.auto.commit", "true"},
        {"auto.offset.reset", "earliest"}, /* a status partition never committed: from the start */
        {"partition.assignment.strategy", "range"}, /* co-partitioned requested/status */
        {"enable.partition.eof", "true"},           /* catch-up signal of requested partitions */
    };
    if (ib_kafka_conf_set(conf, "group.id", cfg->group_id, why, sizeof(why)) != IB_OK)
        goto fail;
    for (size_t i = 0; i < IB_ARRAY_LEN(props); i++)
        if (ib_kafka_conf_set(conf, props[i][0], props[i][1], why, sizeof(why)) != IB_OK)
            goto fail;
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
    if (rk == NULL)
        goto fail;
    return rk; /* conf now owned by rk */
fail:
    snprintf(errstr, errstr_size, "kafka consumer: %s", why);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

static rd_kafka_t *new_producer(const rw_config_t *cfg, char *errstr, size_t errstr_size)
{
    char why[512];
    char timeout[16];
    rd_kafka_conf_t *conf =
        ib_kafka_conf_new(cfg->kafka_bootstrap, "results-worker-dlq", errstr, errstr_size);
    if (conf == NULL)
        return NULL;
    snprintf(timeout, sizeof(timeout), "%d", DLQ_TIMEOUT_MS);
    /* Not idempotent: 2.0.2's idempotent producer can raise fatal errors under broker faults,
     * and a duplicated dead letter is harmless (same ce_id). */
    if (ib_kafka_conf_set(conf, "acks", "all", why, sizeof(why)) != IB_OK ||
        ib_kafka_conf_set(conf, "message.timeout.ms", timeout, why, sizeof(why)) != IB_OK ||
        ib_kafka_conf_set(conf, "linger.ms", "0", why, sizeof(why)) != IB_OK)
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, on_dlq_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    if (rk == NULL)
        goto fail;
    return rk;
fail:
    snprintf(errstr, errstr_size, "kafka producer: %s", why);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

ib_rc_t rw_consumer_init(rw_consumer_t *c, const rw_config_t *cfg, rw_join_t *join, rw_metrics_t *m,
                         char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *topics = NULL;
    ib_rc_t rc = IB_ERR;

    memset(c, 0, sizeof(*c));
    c->cfg = cfg;
    c->join = join;
    c->m = m;
    c->producer = new_producer(cfg, errstr, errstr_size);
    if (c->producer == NULL)
        goto done;
    c->rk = new_consumer(cfg, c, errstr, errstr_size);
    if (c->rk == NULL)
        goto done;
    rd_kafka_poll_set_consumer(c->rk);
    topics = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(topics, cfg->topic_requested, RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(topics, cfg->topic_status, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, topics);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(errstr, errstr_size, "subscribe: %s", rd_kafka_err2str(err));
        goto done;
    }
    rc = IB_OK;
done:
    if (topics != NULL)
        rd_kafka_topic_partition_list_destroy(topics);
    return rc;
}

void rw_consumer_close(rw_consumer_t *c)
{
    if (c->producer != NULL) {
        if (rd_kafka_flush(c->producer, DLQ_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
            IB_WARN("dead-letter producer: %d messages not flushed",
                    rd_kafka_outq_len(c->producer));
        rd_kafka_destroy(c->producer);
        c->producer = NULL;
    }
    if (c->rk != NULL) {
        rd_kafka_resp_err_t err = rd_kafka_commit(c->rk, NULL, 0);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
            IB_WARN("final commit: %s", rd_kafka_err2str(err));
        else
            IB_INFO("final commit: %s", err == RD_KAFKA_RESP_ERR__NO_OFFSET
                                            ? "nothing to commit"
                                            : "stored offsets committed");
        err = rd_kafka_consumer_close(c->rk);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
            IB_WARN("consumer close: %s", rd_kafka_err2str(err));
        rd_kafka_destroy(c->rk);
        c->rk = NULL;
    }
    free(c->parts);
    c->parts = NULL;
    c->nparts = 0;
}

rd_kafka_message_t *rw_consumer_poll(rw_consumer_t *c, int timeout_ms)
{
    rd_kafka_poll(c->producer, 0);
    return rd_kafka_consumer_poll(c->rk, timeout_ms);
}

int rw_consumer_tick(rw_consumer_t *c, int max_wait_ms)
{
    long long now = ib_now_ms();
    long long wait = max_wait_ms;
    for (size_t i = 0; i < c->nparts; i++) {
        rw_part_t *pt = &c->parts[i];
        if (!pt->st_assigned || pt->st_state != RW_ST_BACKOFF)
            continue;
        if (pt->resume_at_ms <= now) {
            pt->st_state = RW_ST_RUNNING;
            pt->st_rewound_to = NO_OFFSET;
            set_paused(c, (int32_t)i, 0);
        } else if (pt->resume_at_ms - now < wait) {
            wait = pt->resume_at_ms - now;
        }
    }
    update_gauges(c);
    return (int)wait;
}

int rw_consumer_is_requested(const rw_consumer_t *c, const rd_kafka_message_t *msg)
{
    return msg->rkt != NULL && strcmp(rd_kafka_topic_name(msg->rkt), c->cfg->topic_requested) == 0;
}

int rw_consumer_is_status(const rw_consumer_t *c, const rd_kafka_message_t *msg)
{
    return msg->rkt != NULL && strcmp(rd_kafka_topic_name(msg->rkt), c->cfg->topic_status) == 0;
}

void rw_consumer_requested_seen(rw_consumer_t *c, int32_t p, int64_t offset, int eof)
{
    rw_part_t *pt = part(c, p);
    if (pt == NULL || !pt->req_assigned)
        return;
    int64_t next = eof ? offset : offset + 1;
    if (next > pt->req_next)
        pt->req_next = next;
    /* EOF: the end as of now, which is at or past any target taken before. */
    if (eof && (pt->req_target < 0 || pt->req_target > next))
        pt->req_target = next;
    open_gate_if_caught_up(c, p);
}

int rw_consumer_status_admit(rw_consumer_t *c, int32_t p, int64_t offset)
{
    rw_part_t *pt = part(c, p);
    if (pt == NULL || !pt->st_assigned)
        return 0;
    if (pt->st_state == RW_ST_RUNNING)
        return 1;
    /* Fetched before the pause took effect. Rewind to the earliest such message unless the
     * partition already sits at or before it. */
    if (pt->st_rewound_to < 0 || offset < pt->st_rewound_to)
        rewind_to(c, p, offset);
    return 0;
}

ib_rc_t rw_consumer_recheck_requested(rw_consumer_t *c, int32_t p, int64_t offset, char *errstr,
                                      size_t errstr_size)
{
    rw_part_t *pt = part(c, p);
    int64_t lo = 0;
    int64_t hi = 0;
    errstr[0] = '\0';
    if (pt == NULL || !pt->req_assigned) {
        /* Only with unequal partition counts: nothing here can ever know it. */
        snprintf(errstr, errstr_size, "%s partition %d is not assigned to this worker",
                 c->cfg->topic_requested, (int)p);
        return IB_OK;
    }
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(c->rk, c->cfg->topic_requested, p,
                                                               &lo, &hi, WATERMARK_TIMEOUT_MS);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(errstr, errstr_size, "high watermark of %s [%d]: %s", c->cfg->topic_requested,
                 (int)p, rd_kafka_err2str(err));
        return IB_ERR;
    }
    if (pt->req_next >= hi)
        return IB_OK;
    /* Behind: wait for requested p to reach hi, then see this status message again. */
    pt->req_target = hi;
    pt->st_state = RW_ST_GATED;
    set_paused(c, p, 1);
    rewind_to(c, p, offset);
    return IB_AGAIN;
}

unsigned rw_consumer_attempt(rw_consumer_t *c, int32_t p, int64_t offset)
{
    rw_part_t *pt = part(c, p);
    if (pt == NULL)
        return 1;
    if (pt->retry_offset != offset) {
        pt->retry_offset = offset;
        pt->attempt = 0;
    }
    return pt->attempt + 1;
}

void rw_consumer_backoff(rw_consumer_t *c, int32_t p, int64_t offset, long delay_ms)
{
    rw_part_t *pt = part(c, p);
    if (pt == NULL || !pt->st_assigned)
        return;
    if (pt->retry_offset != offset) {
        pt->retry_offset = offset;
        pt->attempt = 0;
    }
    pt->attempt++;
    pt->st_state = RW_ST_BACKOFF;
    pt->resume_at_ms = ib_now_ms() + delay_ms;
    set_paused(c, p, 1);
    rewind_to(c, p, offset);
}

void rw_consumer_done(rw_consumer_t *c, int32_t p, int64_t offset)
{
    rw_part_t *pt = part(c, p);
    if (pt != NULL && pt->retry_offset == offset) {
        pt->retry_offset = NO_OFFSET;
        pt->attempt = 0;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, c->cfg->topic_status, p)->offset = offset + 1;
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, l);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        err = l->elems[0].err;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        /* Typically revoked meanwhile: the next owner handles the message again. */
        log_part(IB_LOG_WARN, c->cfg->topic_status, p, offset, "offset store failed",
                 rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(l);
}

ib_rc_t rw_consumer_dead_letter(rw_consumer_t *c, const rd_kafka_message_t *msg, const char *key_id,
                                const char *reason, char *errstr, size_t errstr_size)
{
    const char *topic = rd_kafka_topic_name(msg->rkt);
    char ce_id[320];
    dlq_wait_t w = {0, RD_KAFKA_RESP_ERR_NO_ERROR};
    rd_kafka_headers_t *hdrs = NULL;
    ib_rc_t rc = IB_ERR;
    const void *key = key_id != NULL ? (const void *)key_id : msg->key;
    size_t key_len = key_id != NULL ? strlen(key_id) : msg->key_len;

    char *value = rw_dead_letter_value(reason, topic, msg->partition, msg->offset, msg->key,
                                       msg->key_len, msg->payload, msg->len, ib_wall_ms());
    if (value == NULL) {
        snprintf(errstr, errstr_size, "out of memory building the dead letter");
        goto done;
    }
    /* Same source position, same ce_id: a re-sent dead letter can be deduplicated. */
    snprintf(ce_id, sizeof(ce_id), "dlq:%s:%d:%" PRId64, topic, (int)msg->partition, msg->offset);
    hdrs = ib_ce_headers_new(ce_id, "/interview-bridge/results-worker",
                             "interview.callback.dead_lettered", NULL);
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            c->producer, RD_KAFKA_V_TOPIC(c->cfg->topic_dlq), RD_KAFKA_V_KEY(key, key_len),
            RD_KAFKA_V_VALUE(value, strlen(value)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(&w), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            hdrs = NULL; /* now owned by the message */
            break;
        }
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            snprintf(errstr, errstr_size, "produce to %s: %s", c->cfg->topic_dlq,
                     rd_kafka_err2str(err));
            goto done;
        }
        rd_kafka_poll(c->producer, 100);
    }
    /* Bounded: message.timeout.ms fails the message with a delivery report. */
    while (!w.done)
        rd_kafka_poll(c->producer, 100);
    if (w.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(errstr, errstr_size, "dead letter to %s not acknowledged: %s", c->cfg->topic_dlq,
                 rd_kafka_err2str(w.err));
        goto done;
    }
    atomic_fetch_add(&c->m->dead_letters, 1);
    rc = IB_OK;
done:
    if (hdrs != NULL)
        rd_kafka_headers_destroy(hdrs);
    free(value);
    return rc;
}
