#include "consumer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ib/common.h"
#include "ib/kafka.h"
#include "ib/log.h"

#define QUERY_TIMEOUT_MS 5000
#define SEEK_TIMEOUT_MS  2000
#define NO_OFFSET        ((int64_t)-1)

static const char *topic_name(const rw_consumer_t *c, rw_topic_t t)
{
    switch (t) {
    case RW_T_REQUESTED:
        return c->cfg->topic_requested;
    case RW_T_STATUS:
        return c->cfg->topic_status;
    case RW_T_RETRY:
        return c->cfg->topic_retry;
    case RW_T_REPARTITION:
        return c->cfg->topic_status_repartition;
    case RW_T_STATE:
        return c->cfg->topic_state;
    case RW_T_NONE:
        break;
    }
    return "?";
}

static rw_topic_t topic_of(const rw_consumer_t *c, const char *name)
{
    for (int t = 0; t < RW_TOPICS; t++)
        if (strcmp(name, topic_name(c, (rw_topic_t)t)) == 0)
            return (rw_topic_t)t;
    return RW_T_NONE;
}

static void log_tp(ib_log_level_t level, const char *topic, int32_t p, int64_t offset,
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

static rw_tp_t *tp_get(const rw_consumer_t *c, rw_topic_t t, int32_t p)
{
    if (t == RW_T_NONE || p < 0 || (size_t)p >= c->nparts)
        return NULL;
    return &c->tps[t][p];
}

/* The record of element i of an assignment list, its topic in *t; NULL for a topic or partition
 * we do not track. */
static rw_tp_t *elem_tp(const rw_consumer_t *c, const rd_kafka_topic_partition_list_t *parts, int i,
                        rw_topic_t *t)
{
    *t = topic_of(c, parts->elems[i].topic);
    return tp_get(c, *t, parts->elems[i].partition);
}

static void tp_reset(rw_tp_t *tp)
{
    unsigned gen = tp->gen + 1;
    rw_tracker_reset(&tp->track);
    memset(tp, 0, sizeof(*tp));
    tp->gen = gen == 0 ? 1 : gen;
    tp->rewound_to = NO_OFFSET;
    tp->target = NO_OFFSET;
    tp->next = NO_OFFSET;
    tp->scan_end = NO_OFFSET;
    tp->live_from = NO_OFFSET;
}

static ib_rc_t ensure_parts(rw_consumer_t *c, size_t n)
{
    if (n <= c->nparts)
        return IB_OK;
    for (int t = 0; t < RW_TOPICS; t++) {
        rw_tp_t *np = realloc(c->tps[t], n * sizeof(*np));
        if (np == NULL)
            return IB_ERR;
        c->tps[t] = np;
        for (size_t i = c->nparts; i < n; i++) {
            memset(&np[i], 0, sizeof(np[i]));
            tp_reset(&np[i]);
        }
    }
    c->nparts = n;
    return IB_OK;
}

static void set_paused(rw_consumer_t *c, rw_topic_t t, int32_t p, int pause)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic_name(c, t), p);
    rd_kafka_resp_err_t err =
        pause ? rd_kafka_pause_partitions(c->rk, l) : rd_kafka_resume_partitions(c->rk, l);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        err = l->elems[0].err;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        log_tp(IB_LOG_WARN, topic_name(c, t), p, -1, pause ? "pause failed" : "resume failed",
               rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(l);
}

/* Seeks (t, p) to offset. On a paused partition the message there comes again on resume:
 * pausing alone would resume after the last message handed to us. */
static void seek_to(rw_consumer_t *c, rw_topic_t t, int32_t p, int64_t offset)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic_name(c, t), p)->offset = offset;
    rd_kafka_error_t *error = rd_kafka_seek_partitions(c->rk, l, SEEK_TIMEOUT_MS);
    if (error != NULL) {
        /* On a timeout the seek still happens; the fetcher's version barrier drops anything
         * fetched before it. */
        log_tp(IB_LOG_WARN, topic_name(c, t), p, offset, "seek", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (l->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_tp(IB_LOG_WARN, topic_name(c, t), p, offset, "seek", rd_kafka_err2str(l->elems[0].err));
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void pause_add(rw_consumer_t *c, rw_topic_t t, int32_t p, unsigned reason)
{
    rw_tp_t *tp = tp_get(c, t, p);
    if (tp == NULL || !tp->assigned)
        return;
    unsigned before = tp->pause;
    tp->pause |= reason;
    if (before == 0)
        set_paused(c, t, p, 1);
}

static void pause_clear(rw_consumer_t *c, rw_topic_t t, int32_t p, unsigned reason)
{
    rw_tp_t *tp = tp_get(c, t, p);
    if (tp == NULL || !tp->assigned || (tp->pause & reason) == 0)
        return;
    tp->pause &= ~reason;
    if (tp->pause == 0) {
        tp->rewound_to = NO_OFFSET;
        set_paused(c, t, p, 0);
    }
}

/* Opens or closes the gates of partition p from the state of its topics. */
static void update_gates(rw_consumer_t *c, int32_t p)
{
    rw_tp_t *rq = tp_get(c, RW_T_REQUESTED, p);
    rw_tp_t *st = tp_get(c, RW_T_STATUS, p);
    rw_tp_t *rp = tp_get(c, RW_T_REPARTITION, p);
    rw_tp_t *rt = tp_get(c, RW_T_RETRY, p);
    rw_tp_t *sv = tp_get(c, RW_T_STATE, p);
    if (rq == NULL)
        return;
    int join_ready = (!rq->assigned || rq->ready) && (sv == NULL || !sv->assigned || sv->ready);
    static const rw_topic_t joined[] = {RW_T_STATUS, RW_T_REPARTITION};
    for (size_t i = 0; i < IB_ARRAY_LEN(joined); i++) {
        const rw_tp_t *tp = tp_get(c, joined[i], p);
        if (tp == NULL || !tp->assigned)
            continue;
        if (join_ready)
            pause_clear(c, joined[i], p, RW_PAUSE_GATE);
        else
            pause_add(c, joined[i], p, RW_PAUSE_GATE);
    }
    if (rt != NULL && rt->assigned) {
        if (join_ready && (st == NULL || !st->assigned || st->live) &&
            (rp == NULL || !rp->assigned || rp->live))
            pause_clear(c, RW_T_RETRY, p, RW_PAUSE_GATE);
        else
            pause_add(c, RW_T_RETRY, p, RW_PAUSE_GATE);
    }
}

/* The scan of (t, p) (status or repartition) reached next_pos (the offset after the last one
 * handed to us). */
static void go_live(rw_consumer_t *c, rw_topic_t t, int32_t p, int64_t next_pos)
{
    rw_tp_t *st = tp_get(c, t, p);
    if (st == NULL || st->live)
        return;
    st->live = 1;
    char detail[96];
    snprintf(detail, sizeof(detail), "latest states rebuilt up to %" PRId64 "; live from %" PRId64,
             st->scan_end, st->live_from);
    log_tp(IB_LOG_INFO, topic_name(c, t), p, next_pos,
           t == RW_T_STATUS ? "status partition scanned" : "repartition partition scanned", detail);
    if (st->live_from >= 0 && st->live_from < next_pos)
        seek_to(c, t, p, st->live_from);
    update_gates(c, p);
}

/* Partition count of topic from the cluster's metadata, -1 when unknown. */
static int32_t partition_count(rw_consumer_t *c, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, topic, NULL);
    int32_t n = -1;
    if (rkt == NULL)
        return -1;
    rd_kafka_resp_err_t err = rd_kafka_metadata(c->rk, 0, rkt, &md, QUERY_TIMEOUT_MS);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1)
        err = md->topics[0].err;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].partition_cnt > 0)
        n = md->topics[0].partition_cnt;
    else
        log_tp(IB_LOG_WARN, topic, -1, -1, "partition count unknown", rd_kafka_err2str(err));
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}

static int64_t committed_offset(rw_consumer_t *c, const char *topic, int32_t p)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, p);
    int64_t off = NO_OFFSET;
    rd_kafka_resp_err_t err = rd_kafka_committed(c->rk, l, QUERY_TIMEOUT_MS);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && l->elems[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        off = l->elems[0].offset; /* RD_KAFKA_OFFSET_INVALID (-1001) when none */
    else
        log_tp(IB_LOG_WARN, topic, p, -1, "committed offset query failed",
               rd_kafka_err2str(err != RD_KAFKA_RESP_ERR_NO_ERROR ? err : l->elems[0].err));
    rd_kafka_topic_partition_list_destroy(l);
    return off;
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
    /* The owner of an interview is murmur2(id) mod this count: refreshed on every assignment
     * (partitions may have been added), kept when the query fails. */
    int32_t n_req = partition_count(c, c->cfg->topic_requested);
    if (n_req > 0)
        c->n_requested = n_req;
    for (int i = 0; i < parts->cnt; i++) {
        rw_topic_t t;
        rw_tp_t *tp = elem_tp(c, parts, i, &t);
        if (tp == NULL)
            continue;
        rd_kafka_topic_partition_t *tpl = &parts->elems[i];
        tp_reset(tp);
        tp->assigned = 1;
        int64_t lo = 0;
        int64_t hi = 0;
        rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
            c->rk, tpl->topic, tpl->partition, &lo, &hi, QUERY_TIMEOUT_MS);
        if (t == RW_T_REQUESTED || t == RW_T_STATE) {
            /* The join lives only in memory: rebuild it from the start of the partition. */
            tpl->offset = RD_KAFKA_OFFSET_BEGINNING;
            if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                tp->target = hi;
                if (hi <= lo) {
                    tp->next = hi;
                    tp->ready = 1;
                }
            } else {
                log_tp(IB_LOG_WARN, tpl->topic, tpl->partition, -1,
                       "high watermark query failed; waiting for EOF", rd_kafka_err2str(err));
            }
        } else if (t == RW_T_STATUS || t == RW_T_REPARTITION) {
            int64_t committed = committed_offset(c, tpl->topic, tpl->partition);
            if (err != RD_KAFKA_RESP_ERR_NO_ERROR || hi <= lo) {
                /* Empty (nothing to learn), or the watermark query failed: sending without
                 * the rebuilt order is preferred to not sending; the warning says so. */
                if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
                    log_tp(IB_LOG_WARN, tpl->topic, tpl->partition, committed,
                           "high watermark query failed: live without the order scan",
                           rd_kafka_err2str(err));
                tp->live = 1;
                tpl->offset = committed >= 0 ? committed : RD_KAFKA_OFFSET_INVALID;
            } else {
                /* Scan even without a committed offset: work may have been delivered and its
                 * offset stored but not yet committed when the last owner died. */
                tp->live = 0;
                tp->scan_end = hi;
                tp->live_from = committed >= 0 ? committed : lo;
                tpl->offset = RD_KAFKA_OFFSET_BEGINNING;
            }
        } else if (t == RW_T_RETRY) {
            tpl->offset = RD_KAFKA_OFFSET_INVALID; /* committed, else earliest */
        }
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(c->rk, parts);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        IB_ERROR("assign failed: %s", rd_kafka_err2str(err));
        return;
    }
    for (int i = 0; i < parts->cnt; i++) {
        rw_topic_t t;
        const rw_tp_t *tp = elem_tp(c, parts, i, &t);
        if (tp == NULL)
            continue;
        const rd_kafka_topic_partition_t *tpl = &parts->elems[i];
        if (t == RW_T_REQUESTED || t == RW_T_STATE)
            log_tp(IB_LOG_INFO, tpl->topic, tpl->partition, tp->target,
                   "assigned from the beginning; offset is the catch-up target", NULL);
        else if ((t == RW_T_STATUS || t == RW_T_REPARTITION) && !tp->live)
            log_tp(IB_LOG_INFO, tpl->topic, tpl->partition, tp->scan_end,
                   "assigned: scanning from the beginning to rebuild the order; offset is the "
                   "scan end",
                   NULL);
        const rw_tp_t *rq = tp_get(c, RW_T_REQUESTED, tpl->partition);
        /* Status partitions may outnumber requested ones: their events are moved. */
        if (t != RW_T_REQUESTED && t != RW_T_STATUS && rq != NULL && !rq->assigned)
            log_tp(IB_LOG_WARN, tpl->topic, tpl->partition, -1,
                   "assigned without its requested partition; are the partition counts equal?",
                   NULL);
    }
    /* Gate everything that must wait, before the first fetch is handed to us. */
    for (int32_t p = 0; p <= max_p; p++)
        update_gates(c, p);
}

static void on_revoke(rw_consumer_t *c, rd_kafka_topic_partition_list_t *parts)
{
    if (c->on_revoke != NULL)
        c->on_revoke(parts, c->opaque);
    /* Offsets stored for finished work are committed before the next owner starts. */
    rw_consumer_commit(c);
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tpl = &parts->elems[i];
        rw_topic_t t = topic_of(c, tpl->topic);
        rw_tp_t *tp = tp_get(c, t, tpl->partition);
        if (tp == NULL)
            continue;
        if (t == RW_T_REQUESTED) {
            size_t n = rw_join_remove_partition(c->join, tpl->partition);
            json_t *f = json_pack("{s:s,s:i,s:I}", "topic", tpl->topic, "partition",
                                  (int)tpl->partition, "dropped", (json_int_t)n);
            ib_log_fields(IB_LOG_INFO, f, "revoked; join entries dropped");
            json_decref(f);
        }
        tp_reset(tp);
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
    } else {
        if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
            IB_INFO("rebalance: %d partitions revoked", parts->cnt);
        else
            IB_ERROR("rebalance error: %s", rd_kafka_err2str(err));
        on_revoke(c, parts);
    }
    rw_consumer_update_metrics(c);
}

ib_rc_t rw_consumer_init(rw_consumer_t *c, const rw_config_t *cfg, rw_join_t *join, rw_metrics_t *m,
                         rw_revoke_fn *revoke_cb, void *opaque, char *errstr, size_t errstr_size)
{
    char why[512];
    rd_kafka_topic_partition_list_t *topics = NULL;
    rd_kafka_conf_t *conf = NULL;
    ib_rc_t rc = IB_ERR;
    static const char *const props[][2] = {
        {"enable.auto.offset.store", "false"}, /* stored only after the work is durable */
        {"enable.auto.commit", "true"},
        {"auto.commit.interval.ms", "1000"}, /* less to redo after a crash */
        {"auto.offset.reset", "earliest"},
        {"partition.assignment.strategy", "range"}, /* co-partitioned topics */
        {"enable.partition.eof", "true"},           /* catch-up signal */
    };
    static const char *const defaults[][2] = {
        {"queued.max.messages.kbytes", "16384"},
        {"queued.min.messages", "20000"},
    };

    memset(c, 0, sizeof(*c));
    c->n_requested = -1;
    c->cfg = cfg;
    c->join = join;
    c->m = m;
    c->on_revoke = revoke_cb;
    c->opaque = opaque;
    conf = ib_kafka_conf_new(cfg->kafka_bootstrap, "results-worker", errstr, errstr_size);
    if (conf == NULL)
        goto done;
    if (ib_kafka_conf_set(conf, "group.id", cfg->group_id, why, sizeof(why)) != IB_OK)
        goto conf_fail;
    for (size_t i = 0; i < IB_ARRAY_LEN(props); i++)
        if (ib_kafka_conf_set(conf, props[i][0], props[i][1], why, sizeof(why)) != IB_OK)
            goto conf_fail;
    /* Bound the read-ahead: librdkafka's 64 MiB default is mostly freed-but-resident heap after
     * the join's catch-up. When the queue is over either bound librdkafka backs the fetch off
     * (up to about a second before fetch.queue.backoff.ms, 2.2), so each bound should hold more
     * than a second of messages at full speed (16 MiB and 20000: ~2 s at 10,000/s of 1 KiB).
     * fetch.max.bytes follows the byte bound (librdkafka clamps it unless set). KAFKA_* overrides
     * all of them. */
    for (size_t i = 0; i < IB_ARRAY_LEN(defaults); i++)
        if (ib_kafka_conf_default(conf, defaults[i][0], defaults[i][1], why, sizeof(why)) != IB_OK)
            goto conf_fail;
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, c);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
    if (c->rk == NULL)
        goto conf_fail;
    conf = NULL; /* now owned by rk */
    rd_kafka_poll_set_consumer(c->rk);
    c->queue = rd_kafka_queue_get_consumer(c->rk);
    topics = rd_kafka_topic_partition_list_new(RW_TOPICS);
    for (int t = 0; t < RW_TOPICS; t++)
        rd_kafka_topic_partition_list_add(topics, topic_name(c, (rw_topic_t)t),
                                          RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, topics);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(errstr, errstr_size, "subscribe: %s", rd_kafka_err2str(err));
        goto done;
    }
    rc = IB_OK;
    goto done;
conf_fail:
    snprintf(errstr, errstr_size, "kafka consumer: %s", why);
done:
    if (conf != NULL)
        rd_kafka_conf_destroy(conf);
    if (topics != NULL)
        rd_kafka_topic_partition_list_destroy(topics);
    return rc;
}

void rw_consumer_commit(rw_consumer_t *c)
{
    rd_kafka_resp_err_t err = rd_kafka_commit(c->rk, NULL, 0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        IB_WARN("commit: %s", rd_kafka_err2str(err));
}

void rw_consumer_close(rw_consumer_t *c)
{
    if (c->rk != NULL) {
        rw_consumer_commit(c);
        if (c->queue != NULL) {
            rd_kafka_queue_io_event_enable(c->queue, -1, NULL, 0);
            rd_kafka_queue_destroy(c->queue);
            c->queue = NULL;
        }
        rd_kafka_resp_err_t err = rd_kafka_consumer_close(c->rk);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
            IB_WARN("consumer close: %s", rd_kafka_err2str(err));
        else
            IB_INFO("consumer closed: stored offsets committed, group left");
        rd_kafka_destroy(c->rk);
        c->rk = NULL;
    }
    for (int t = 0; t < RW_TOPICS; t++) {
        for (size_t i = 0; i < c->nparts && c->tps[t] != NULL; i++)
            rw_tracker_reset(&c->tps[t][i].track);
        free(c->tps[t]);
        c->tps[t] = NULL;
    }
    c->nparts = 0;
}

void rw_consumer_wake_fd(rw_consumer_t *c, int fd)
{
    rd_kafka_queue_io_event_enable(c->queue, fd, "c", 1);
}

rd_kafka_message_t *rw_consumer_poll(rw_consumer_t *c, int timeout_ms)
{
    return rd_kafka_consumer_poll(c->rk, timeout_ms);
}

rw_topic_t rw_consumer_topic(const rw_consumer_t *c, const rd_kafka_message_t *msg)
{
    if (msg->rkt == NULL)
        return RW_T_NONE;
    return topic_of(c, rd_kafka_topic_name(msg->rkt));
}

static int all_sources_ready(const rw_consumer_t *c)
{
    for (size_t i = 0; i < c->nparts; i++) {
        const rw_tp_t *rq = &c->tps[RW_T_REQUESTED][i];
        const rw_tp_t *sv = &c->tps[RW_T_STATE][i];
        if ((rq->assigned && !rq->ready) || (sv->assigned && !sv->ready))
            return 0;
    }
    return 1;
}

int rw_consumer_all_live(const rw_consumer_t *c)
{
    if (!all_sources_ready(c))
        return 0;
    for (size_t i = 0; i < c->nparts; i++) {
        const rw_tp_t *st = &c->tps[RW_T_STATUS][i];
        const rw_tp_t *rp = &c->tps[RW_T_REPARTITION][i];
        if ((st->assigned && !st->live) || (rp->assigned && !rp->live))
            return 0;
    }
    return 1;
}

void rw_consumer_source_seen(rw_consumer_t *c, rw_topic_t t, int32_t p, int64_t offset, int eof)
{
    if (t != RW_T_REQUESTED && t != RW_T_STATE)
        return;
    rw_tp_t *tp = tp_get(c, t, p);
    if (tp == NULL || !tp->assigned)
        return;
    int64_t next = eof ? offset : offset + 1;
    if (next > tp->next)
        tp->next = next;
    /* EOF: the end as of now, at or past any target taken before. */
    if (eof && (tp->target < 0 || tp->target > next))
        tp->target = next;
    if (!tp->ready && tp->target >= 0 && tp->next >= tp->target) {
        tp->ready = 1;
        log_tp(IB_LOG_INFO, topic_name(c, t), p, tp->next,
               t == RW_T_STATE ? "state partition caught up" : "requested partition caught up",
               NULL);
        update_gates(c, p);
        if (all_sources_ready(c))
            ib_release_free_memory(); /* the catch-up's fetch buffers: freed, but resident */
    }
}

rw_admit_t rw_consumer_admit(rw_consumer_t *c, rw_topic_t t, int32_t p, int64_t offset)
{
    rw_tp_t *tp = tp_get(c, t, p);
    if (tp == NULL || !tp->assigned)
        return RW_ADMIT_SKIP;
    if (tp->pause != 0) {
        /* Fetched before the pause took effect: rewind to the earliest such message. */
        if (tp->rewound_to < 0 || offset < tp->rewound_to) {
            seek_to(c, t, p, offset);
            tp->rewound_to = offset;
        }
        return RW_ADMIT_SKIP;
    }
    if ((t == RW_T_STATUS || t == RW_T_REPARTITION) && !tp->live) {
        if (offset < tp->scan_end)
            return RW_ADMIT_HISTORY;
        go_live(c, t, p, offset + 1); /* the end was a gap: seek back and start live */
        return RW_ADMIT_SKIP;
    }
    return RW_ADMIT_LIVE;
}

void rw_consumer_history_seen(rw_consumer_t *c, rw_topic_t t, int32_t p, int64_t offset, int eof)
{
    if (t != RW_T_STATUS && t != RW_T_REPARTITION)
        return;
    rw_tp_t *st = tp_get(c, t, p);
    if (st == NULL || !st->assigned || st->live)
        return;
    int64_t next_pos = eof ? offset : offset + 1;
    if (next_pos >= st->scan_end)
        go_live(c, t, p, next_pos);
}

/* Pauses (t, p) when WORKER_MAX_PENDING of its tracked messages are active (not held for a due
 * time) or too many are held; resumes it when both are down to half. */
static void update_full(rw_consumer_t *c, rw_topic_t t, int32_t p, rw_tp_t *tp)
{
    size_t pending = rw_tracker_pending(&tp->track);
    size_t held = tp->held < pending ? tp->held : pending;
    long active = (long)(pending - held);
    long held_max = c->cfg->max_pending * RW_HELD_PER_PENDING;
    if (active >= c->cfg->max_pending || (long)held >= held_max)
        pause_add(c, t, p, RW_PAUSE_FULL);
    else if ((tp->pause & RW_PAUSE_FULL) && active < c->cfg->max_pending / 2 &&
             (long)held < held_max / 2)
        pause_clear(c, t, p, RW_PAUSE_FULL);
}

ib_rc_t rw_consumer_track(rw_consumer_t *c, rw_topic_t t, int32_t p, int64_t offset, unsigned *gen)
{
    rw_tp_t *tp = tp_get(c, t, p);
    if (tp == NULL || !tp->assigned)
        return IB_ERR;
    if (rw_tracker_add(&tp->track, offset) != IB_OK) {
        /* Out of memory (or a repeat): look at it again shortly. */
        rw_consumer_backoff(c, t, p, offset, 1000);
        return IB_ERR;
    }
    *gen = tp->gen;
    update_full(c, t, p, tp);
    return IB_OK;
}

void rw_consumer_hold(rw_consumer_t *c, rw_topic_t t, int32_t p, unsigned gen, int held)
{
    rw_tp_t *tp = tp_get(c, t, p);
    if (tp == NULL || !tp->assigned || tp->gen != gen)
        return;
    if (held)
        tp->held++;
    else if (tp->held > 0)
        tp->held--;
    update_full(c, t, p, tp);
}

unsigned rw_consumer_gen(const rw_consumer_t *c, rw_topic_t t, int32_t p)
{
    const rw_tp_t *tp = tp_get(c, t, p);
    return tp != NULL && tp->assigned ? tp->gen : 0;
}

void rw_consumer_done(rw_consumer_t *c, rw_topic_t t, int32_t p, int64_t offset, unsigned gen)
{
    rw_tp_t *tp = tp_get(c, t, p);
    if (tp == NULL || !tp->assigned || tp->gen != gen)
        return;
    int64_t store = rw_tracker_done(&tp->track, offset);
    if (store >= 0) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, topic_name(c, t), p)->offset = store;
        rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, l);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            err = l->elems[0].err;
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
            log_tp(IB_LOG_WARN, topic_name(c, t), p, store, "offset store failed",
                   rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(l);
    }
    update_full(c, t, p, tp);
}

ib_rc_t rw_consumer_recheck_requested(rw_consumer_t *c, rw_topic_t t, int32_t p, int64_t offset,
                                      char *errstr, size_t errstr_size)
{
    rw_tp_t *rq = tp_get(c, RW_T_REQUESTED, p);
    int64_t lo = 0;
    int64_t hi = 0;
    errstr[0] = '\0';
    if (rq == NULL || !rq->assigned) {
        snprintf(errstr, errstr_size, "%s partition %d is not assigned to this worker",
                 c->cfg->topic_requested, (int)p);
        return IB_OK;
    }
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(c->rk, c->cfg->topic_requested, p,
                                                               &lo, &hi, QUERY_TIMEOUT_MS);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(errstr, errstr_size, "high watermark of %s [%d]: %s", c->cfg->topic_requested,
                 (int)p, rd_kafka_err2str(err));
        return IB_ERR;
    }
    if (rq->next >= hi)
        return IB_OK;
    /* Behind: wait for requested p to reach hi, then see this message again. */
    rq->target = hi;
    rq->ready = 0;
    update_gates(c, p);
    rw_tp_t *st = tp_get(c, t, p);
    seek_to(c, t, p, offset);
    if (st != NULL)
        st->rewound_to = offset;
    return IB_AGAIN;
}

int32_t rw_consumer_requested_count(rw_consumer_t *c)
{
    if (c->n_requested <= 0)
        c->n_requested = partition_count(c, c->cfg->topic_requested);
    return c->n_requested;
}

int rw_consumer_requested_local(const rw_consumer_t *c, int32_t p)
{
    const rw_tp_t *rq = tp_get(c, RW_T_REQUESTED, p);
    return rq != NULL && rq->assigned;
}

int rw_consumer_first_repartition(rw_consumer_t *c, int32_t p)
{
    rw_tp_t *st = tp_get(c, RW_T_STATUS, p);
    if (st == NULL || st->repartitioned)
        return 0;
    st->repartitioned = 1;
    return 1;
}

void rw_consumer_backoff(rw_consumer_t *c, rw_topic_t t, int32_t p, int64_t offset, long delay_ms)
{
    rw_tp_t *tp = tp_get(c, t, p);
    if (tp == NULL || !tp->assigned)
        return;
    tp->resume_at = ib_now_ms() + delay_ms;
    pause_add(c, t, p, RW_PAUSE_BACKOFF);
    if (tp->rewound_to < 0 || offset < tp->rewound_to) {
        seek_to(c, t, p, offset);
        tp->rewound_to = offset;
    }
}

int rw_consumer_tick(rw_consumer_t *c, int max_wait_ms)
{
    long long now = ib_now_ms();
    long long wait = max_wait_ms;
    for (int t = 0; t < RW_TOPICS; t++) {
        for (size_t i = 0; i < c->nparts; i++) {
            rw_tp_t *tp = &c->tps[t][i];
            if (!tp->assigned || (tp->pause & RW_PAUSE_BACKOFF) == 0)
                continue;
            if (tp->resume_at <= now)
                pause_clear(c, (rw_topic_t)t, (int32_t)i, RW_PAUSE_BACKOFF);
            else if (tp->resume_at - now < wait)
                wait = tp->resume_at - now;
        }
    }
    return (int)wait;
}

size_t rw_consumer_pending(const rw_consumer_t *c)
{
    size_t n = 0;
    for (int t = 0; t < RW_TOPICS; t++)
        for (size_t i = 0; i < c->nparts && t != RW_T_REQUESTED && t != RW_T_STATE; i++)
            n += rw_tracker_pending(&c->tps[t][i].track);
    return n;
}

void rw_consumer_update_metrics(rw_consumer_t *c)
{
    int assigned = 0;
    int ready = 1;
    double paused = 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    for (int t = 0; t < RW_TOPICS; t++) {
        for (size_t i = 0; i < c->nparts; i++) {
            const rw_tp_t *tp = &c->tps[t][i];
            if (!tp->assigned)
                continue;
            assigned++;
            if (((t == RW_T_REQUESTED || t == RW_T_STATE) && !tp->ready) ||
                ((t == RW_T_STATUS || t == RW_T_REPARTITION) && !tp->live))
                ready = 0;
            if (tp->pause != 0)
                paused++;
            rd_kafka_topic_partition_list_add(l, topic_name(c, (rw_topic_t)t), (int32_t)i);
        }
    }
    if (l->cnt > 0 && rd_kafka_position(c->rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < l->cnt; i++) {
            int64_t lo = 0;
            int64_t hi = 0;
            const rd_kafka_topic_partition_t *e = &l->elems[i];
            if (rd_kafka_get_watermark_offsets(c->rk, e->topic, e->partition, &lo, &hi) !=
                    RD_KAFKA_RESP_ERR_NO_ERROR ||
                hi < 0)
                continue;
            char ps[16];
            snprintf(ps, sizeof(ps), "%d", (int)e->partition);
            const char *labels[] = {e->topic, ps};
            int64_t pos = e->offset >= 0 ? e->offset : lo;
            ib_series_set(ib_metric_series(c->m->lag, labels), (double)(hi > pos ? hi - pos : 0));
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    atomic_store(&c->m->assigned, assigned);
    atomic_store(&c->m->ready, assigned > 0 && ready);
    ib_series_set(c->m->paused, paused);
    ib_series_set(c->m->join_entries, (double)rw_join_count(c->join));
    ib_series_set(c->m->join_bytes, (double)rw_join_bytes(c->join));
    ib_series_set(c->m->pending_jobs, (double)rw_consumer_pending(c));
}

int rw_consumer_topic_is(const rw_consumer_t *c, const char *topic, rw_topic_t t)
{
    return topic_of(c, topic) == t;
}
