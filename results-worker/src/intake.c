#include "intake.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ib/json.h"
#include "ib/log.h"
#include "retryrec.h"
#include "route.h"
#include "state.h"

/* A tombstone (NULL value; an empty value is a value) keyed by an erased interview's id: its
 * pending work goes (rw_flow_erase); forget_join: its join entry too. Logged and counted; never a
 * job, so never delivered nor dead-lettered. */
static void erased(rw_flow_t *f, const char *topic, const rd_kafka_message_t *msg, int forget_join)
{
    int known = forget_join && rw_join_remove(f->join, msg->key, msg->key_len);
    size_t dropped = rw_flow_erase(f, msg->key, msg->key_len);
    ib_series_add(f->m->tombstones, 1);
    /* Debug: every assignment reads the requested topic's tombstones again (a tenant's erasure
     * is thousands per partition until delete.retention.ms); the counter tells. */
    if (!ib_log_enabled(IB_LOG_DEBUG))
        return;
    json_t *fields = json_pack("{s:s,s:i,s:I,s:b,s:I}", "topic", topic, "partition",
                               (int)msg->partition, "offset", (json_int_t)msg->offset, "joined",
                               known, "dropped", (json_int_t)dropped);
    if (fields != NULL && msg->key != NULL)
        json_object_set_new(fields, "interview_id", json_stringn(msg->key, msg->key_len));
    ib_log_fields(IB_LOG_DEBUG, fields, "tombstone: interview erased");
    json_decref(fields);
}

/* Logs a record of a join source (requested, state) that could not be read: what, why, and the
 * interview id when one was read. */
static void skipped(const char *topic, const rd_kafka_message_t *msg, const char *id,
                    const char *what, const char *why)
{
    json_t *fields = json_pack("{s:s,s:i,s:I}", "topic", topic, "partition", (int)msg->partition,
                               "offset", (json_int_t)msg->offset);
    if (fields != NULL && id[0] != '\0')
        json_object_set_new(fields, "interview_id", json_string(id));
    ib_log_fields(IB_LOG_WARN, fields, "%s skipped: %s", what, why);
    json_decref(fields);
}

void rw_intake_requested(rw_flow_t *f, const rd_kafka_message_t *msg)
{
    char why[256];
    char id[RW_JOIN_MAX_ID_LEN + 1];
    rw_join_state_t state = RW_JOIN_OK;

    ib_series_add(f->m->requested_events, 1);
    if (msg->payload == NULL) {
        erased(f, f->cfg->topic_requested, msg, 1);
        rw_consumer_source_seen(f->consumer, RW_T_REQUESTED, msg->partition, msg->offset, 0);
        return;
    }
    /* IB_AGAIN: refused at the join's bound, counted and logged (rate-limited) by the join. */
    if (rw_join_ingest(f->join, f->tenants, f->cfg->allow_insecure_callbacks, msg->partition,
                       msg->key, msg->key_len, msg->payload, msg->len, &state, id, why,
                       sizeof(why)) == IB_ERR) {
        /* Not dead-lettered: this topic is re-read from the start on every assignment, so a
         * dead letter would repeat on each restart. A status event for it is dead-lettered. */
        ib_series_add(f->m->requested_invalid, 1);
        skipped(f->cfg->topic_requested, msg, id, "invalid requested event", why);
    }
    rw_consumer_source_seen(f->consumer, RW_T_REQUESTED, msg->partition, msg->offset, 0);
}

/* 1 when a changelog record names (in its ce_id) exactly the state the join holds for its
 * interview: mostly this worker's own record read back, which teaches nothing, so its value is
 * not parsed. A record of another state, of an unknown interview or without a readable ce_id
 * goes through the whole reading (rw_intake_state). */
static int already_known(rw_flow_t *f, const rd_kafka_message_t *msg)
{
    rd_kafka_headers_t *hdrs = NULL;
    const void *v = NULL;
    size_t size = 0;
    char key[RW_JOIN_MAX_ID_LEN + 1];
    ib_status_t st;
    ib_status_t latest;
    long long ms = 0;
    long long latest_ms = 0;
    if (msg->key == NULL || msg->key_len == 0 || msg->key_len > RW_JOIN_MAX_ID_LEN ||
        memchr(msg->key, '\0', msg->key_len) != NULL ||
        rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || hdrs == NULL ||
        rd_kafka_header_get_last(hdrs, "ce_id", &v, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rw_state_ce_id_read(v, size, msg->key, msg->key_len, &st, &ms) != IB_OK)
        return 0;
    memcpy(key, msg->key, msg->key_len);
    key[msg->key_len] = '\0';
    return rw_join_latest(f->join, key, &latest, &latest_ms) && latest == st && latest_ms == ms;
}

void rw_intake_state(rw_flow_t *f, const rd_kafka_message_t *msg)
{
    char why[256];
    char id[RW_JOIN_MAX_ID_LEN + 1];
    rw_join_state_t state = RW_JOIN_OK;
    rw_status_parse_t sp;

    if (msg->payload == NULL) {
        /* Erased (scripts/erase), or its keep time passed (rw_flow_expire: already gone). */
        erased(f, f->cfg->topic_state, msg, 1);
        rw_consumer_source_seen(f->consumer, RW_T_STATE, msg->partition, msg->offset, 0);
        return;
    }
    ib_series_add(f->m->state_records, 1);
    if (already_known(f, msg)) {
        rw_consumer_source_seen(f->consumer, RW_T_STATE, msg->partition, msg->offset, 0);
        return;
    }
    id[0] = '\0';
    ib_rc_t rc = rw_status_parse(msg->payload, msg->len, 0, &sp, why, sizeof(why));
    if (rc == IB_OK) {
        /* Mostly this worker's own records read back: nothing new to learn. */
        rw_order_t o = rw_join_order(f->join, sp.interview_id, sp.status, sp.occurred_ms, 0);
        if (o == RW_ORDER_UNKNOWN || o == RW_ORDER_NEWER) {
            rc = rw_join_ingest(f->join, f->tenants, f->cfg->allow_insecure_callbacks,
                                msg->partition, msg->key, msg->key_len, msg->payload, msg->len,
                                &state, id, why, sizeof(why));
            if (rc == IB_OK)
                (void)rw_join_order(f->join, sp.interview_id, sp.status, sp.occurred_ms, 1);
        }
        rw_status_parse_clear(&sp);
    }
    if (rc == IB_ERR) {
        /* Only the worker writes this topic; a record it cannot read (a tenant since removed
         * from the tenants file, a hand-made record) is skipped like an invalid requested
         * event: a status event for it is dead-lettered. */
        skipped(f->cfg->topic_state, msg, id, "changelog record", why);
    }
    rw_consumer_source_seen(f->consumer, RW_T_STATE, msg->partition, msg->offset, 0);
}

/* A scanned record of status or repartition p: teaches the join the interview's latest state. */
static void history(rw_flow_t *f, rw_topic_t t, const rd_kafka_message_t *msg)
{
    char why[256];
    rw_status_parse_t sp;
    if (msg->payload != NULL &&
        rw_status_parse(msg->payload, msg->len, 0, &sp, why, sizeof(why)) == IB_OK) {
        /* Newer than the changelog (read before the scan began): its record was lost or never
         * written; write it now. */
        if (rw_join_order(f->join, sp.interview_id, sp.status, sp.occurred_ms, 1) == RW_ORDER_NEWER)
            rw_flow_write_state(f, sp.interview_id, sp.status, sp.occurred_ms, msg->payload,
                                msg->len);
        rw_status_parse_clear(&sp);
    }
    rw_consumer_history_seen(f->consumer, t, msg->partition, msg->offset, 0);
}

/* A live status record whose interview belongs to another partition is moved to that
 * partition of the repartition topic, its offset stored once Kafka acknowledged the move.
 * Returns 1 when the record was taken care of here (moved, or to be looked at again), 0 when
 * it is this partition's own (or has no readable id: dead-lettered here as invalid). */
static int moved(rw_flow_t *f, const rd_kafka_message_t *msg, const char *parsed_id)
{
    char id[RW_JOIN_MAX_ID_LEN + 1];
    int32_t owner = -1;
    int32_t n = rw_consumer_requested_count(f->consumer);
    if (n <= 0) {
        /* No owner can be computed without the partition count: look again shortly. */
        rw_consumer_backoff(f->consumer, RW_T_STATUS, msg->partition, msg->offset, 1000);
        return 1;
    }
    int local = rw_consumer_requested_local(f->consumer, msg->partition);
    rw_route_t r;
    if (parsed_id != NULL) {
        /* Read already by the whole event's parse: the same id rw_route_status would read. */
        snprintf(id, sizeof(id), "%s", parsed_id);
        r = rw_route_of_id(id, msg->partition, n, local, &owner);
    } else {
        r = rw_route_status(msg->payload, msg->len, msg->partition, n, local, id, &owner);
    }
    if (r != RW_ROUTE_REPARTITION)
        return 0;
    unsigned gen = 0;
    if (rw_consumer_track(f->consumer, RW_T_STATUS, msg->partition, msg->offset, &gen) != IB_OK)
        return 1;
    rw_job_t *job = rw_flow_job_new(f, RW_T_STATUS, msg);
    if (job == NULL || rw_job_set_forward(job, msg, f->cfg->topic_status, id, owner) != IB_OK) {
        rw_flow_job_free(f, job);
        rw_consumer_done(f->consumer, RW_T_STATUS, msg->partition, msg->offset, gen);
        IB_ERROR("out of memory: status event at offset %" PRId64 " dropped", msg->offset);
        return 1;
    }
    job->gen = gen;
    if (rw_consumer_first_repartition(f->consumer, msg->partition)) {
        json_t *fields =
            json_pack("{s:s,s:i,s:I,s:s,s:i}", "topic", f->cfg->topic_status, "partition",
                      (int)msg->partition, "offset", (json_int_t)msg->offset, "interview_id", id,
                      "to_partition", (int)owner);
        ib_log_fields(IB_LOG_INFO, fields,
                      "status events for interviews requested on other partitions: moving them "
                      "to %s (logged once per assignment)",
                      f->cfg->topic_status_repartition);
        json_decref(fields);
    }
    rw_flow_repartition(f, job);
    return 1;
}

/* A status event's parse, done once for the route and the job. */
typedef struct {
    int ok; /* ev holds the parse (owned) */
    rw_status_parse_t ev;
    char why[256]; /* when not ok */
} parsed_t;

static void parse_status(const rd_kafka_message_t *msg, parsed_t *ps)
{
    memset(ps, 0, sizeof(*ps));
    ps->ok = msg->payload != NULL && msg->len > 0 &&
             rw_status_parse(msg->payload, msg->len, 1, &ps->ev, ps->why, sizeof(ps->why)) == IB_OK;
    if (!ps->ok && (msg->payload == NULL || msg->len == 0))
        snprintf(ps->why, sizeof(ps->why), "empty value");
}

/* A live record of status p (its own) or repartition p: a job, joined with its interview's
 * callback, admitted or dead-lettered. ps: the record's parse (taken). */
static void live(rw_flow_t *f, rw_topic_t t, const rd_kafka_message_t *msg, parsed_t *ps)
{
    char why[256];
    char reason[400];
    const char *topic = t == RW_T_STATUS ? f->cfg->topic_status : f->cfg->topic_status_repartition;

    if (msg->payload == NULL) {
        /* Erased, not invalid: its offset is stored like any other. */
        if (ps->ok)
            rw_status_parse_clear(&ps->ev);
        unsigned tgen = 0;
        if (rw_consumer_track(f->consumer, t, msg->partition, msg->offset, &tgen) != IB_OK)
            return;
        erased(f, topic, msg, 0);
        rw_consumer_done(f->consumer, t, msg->partition, msg->offset, tgen);
        return;
    }

    /* An unknown interview may mean requested p is behind; check before tracking. */
    rw_status_parse_t ev = ps->ev;
    rw_join_view_t view;
    int parsed = ps->ok;
    snprintf(why, sizeof(why), "%s", ps->why);
    memset(&ps->ev, 0, sizeof(ps->ev));
    ps->ok = 0; /* taken */
    rw_join_absence_t gone = parsed ? rw_join_absence(f->join, ev.interview_id) : RW_JOIN_NEVER;
    if (gone != RW_JOIN_NEVER) {
        /* Evicted (finished) or refused at the join's bound: no URL and no ordering, never sent. */
        snprintf(reason, sizeof(reason), "%s", rw_join_absence_reason(gone));
        view.state = RW_JOIN_OK;
        view.callback_url = NULL;
    } else if (parsed && !rw_join_get(f->join, ev.interview_id, &view)) {
        char check[256];
        ib_rc_t rc = rw_consumer_recheck_requested(f->consumer, t, msg->partition, msg->offset,
                                                   check, sizeof(check));
        if (rc == IB_AGAIN || rc == IB_ERR) {
            json_t *fields =
                json_pack("{s:s,s:i,s:I,s:s}", "topic", topic, "partition", (int)msg->partition,
                          "offset", (json_int_t)msg->offset, "interview_id", ev.interview_id);
            if (rc == IB_AGAIN) {
                ib_log_fields(IB_LOG_INFO, fields, "interview not known yet; waiting for %s",
                              f->cfg->topic_requested);
            } else {
                ib_log_fields(IB_LOG_WARN, fields, "cannot check the join (%s); will retry", check);
                rw_consumer_backoff(f->consumer, t, msg->partition, msg->offset, 1000);
            }
            json_decref(fields);
            rw_status_parse_clear(&ev);
            return;
        }
        snprintf(reason, sizeof(reason), "unknown interview_id: %s",
                 check[0] != '\0' ? check : "no interviews.requested event for it");
        view.state = RW_JOIN_OK;
        view.callback_url = NULL;
    } else {
        reason[0] = '\0';
    }

    unsigned gen = 0;
    if (rw_consumer_track(f->consumer, t, msg->partition, msg->offset, &gen) != IB_OK) {
        if (parsed)
            rw_status_parse_clear(&ev);
        return;
    }
    ib_series_add(f->m->status_events, 1);
    rw_job_t *job = rw_flow_job_new(f, t, msg);
    if (job == NULL) {
        if (parsed)
            rw_status_parse_clear(&ev);
        rw_consumer_done(f->consumer, t, msg->partition, msg->offset, gen);
        IB_ERROR("out of memory: status event at offset %" PRId64 " dropped", msg->offset);
        return;
    }
    job->gen = gen;
    if (t == RW_T_REPARTITION)
        rw_job_origin_from_headers(job, msg);
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(msg, &tstype);
    job->first_seen_wall = ts > 0 ? ts : ib_wall_ms();
    if (!parsed) {
        rw_job_keep_raw(job, msg);
        snprintf(reason, sizeof(reason), "invalid status event: %s", why);
        rw_flow_dead_letter(f, job, RW_DLQ_INVALID_EVENT, reason);
        return;
    }
    unsigned coercions = ev.coercions;
    unsigned fix_counts[IB_FIX_KIND_COUNT];
    memcpy(fix_counts, ev.fix_counts, sizeof(fix_counts));
    char *fixes = ev.fixes; /* what was repaired or left out, recorded once the job is admitted */
    ev.fixes = NULL;
    ib_rc_t set = rw_job_set_event(job, msg->payload, msg->len, &ev, why, sizeof(why));
    rw_status_parse_clear(&ev);
    if (set != IB_OK) {
        free(fixes);
        rw_job_keep_raw(job, msg);
        snprintf(reason, sizeof(reason), "invalid status event: %s", why);
        rw_flow_dead_letter(f, job, RW_DLQ_INVALID_EVENT, reason);
        return;
    }
    ib_series_add(f->m->coercions, coercions);
    if (reason[0] != '\0') {
        free(fixes);
        rw_flow_dead_letter(f, job, RW_DLQ_UNKNOWN_INTERVIEW, reason);
        return;
    }
    rw_join_get(f->join, job->interview_id, &view);
    if (view.tenant >= f->tenants->count) {
        free(fixes);
        rw_flow_dead_letter(f, job, RW_DLQ_CALLBACK_REFUSED, "tenant no longer configured");
        return;
    }
    job->tenant = &f->tenants->tenants[view.tenant];
    job->callback_url = strdup(view.callback_url);
    if (view.state != RW_JOIN_OK || job->callback_url == NULL) {
        free(fixes);
        snprintf(reason, sizeof(reason), "callback refused: %s",
                 job->callback_url == NULL ? "out of memory" : rw_join_state_reason(view.state));
        rw_flow_dead_letter(f, job, RW_DLQ_CALLBACK_REFUSED, reason);
        return;
    }
    if (rw_job_apply_tenant_word(job) != IB_OK) {
        free(fixes);
        rw_flow_dead_letter(f, job, RW_DLQ_INVALID_EVENT, "out of memory");
        return;
    }
    if (fixes != NULL)
        rw_flow_partial(f, job, fixes, fix_counts);
    free(fixes);
    rw_flow_admit(f, job);
}

void rw_intake_status(rw_flow_t *f, const rd_kafka_message_t *msg)
{
    rw_admit_t a = rw_consumer_admit(f->consumer, RW_T_STATUS, msg->partition, msg->offset);
    if (a == RW_ADMIT_SKIP)
        return;
    if (a == RW_ADMIT_HISTORY) {
        history(f, RW_T_STATUS, msg);
        return;
    }
    parsed_t ps;
    parse_status(msg, &ps);
    if (moved(f, msg, ps.ok ? ps.ev.interview_id : NULL)) {
        if (ps.ok)
            rw_status_parse_clear(&ps.ev);
        return;
    }
    live(f, RW_T_STATUS, msg, &ps);
}

void rw_intake_repartition(rw_flow_t *f, const rd_kafka_message_t *msg)
{
    rw_admit_t a = rw_consumer_admit(f->consumer, RW_T_REPARTITION, msg->partition, msg->offset);
    if (a == RW_ADMIT_SKIP)
        return;
    if (a == RW_ADMIT_HISTORY) {
        history(f, RW_T_REPARTITION, msg);
        return;
    }
    parsed_t ps;
    parse_status(msg, &ps);
    live(f, RW_T_REPARTITION, msg, &ps);
}

void rw_intake_retry(rw_flow_t *f, const rd_kafka_message_t *msg)
{
    char why[256];
    char reason[400];
    rw_retry_rec_t r;
    unsigned gen = 0;

    if (rw_consumer_admit(f->consumer, RW_T_RETRY, msg->partition, msg->offset) != RW_ADMIT_LIVE)
        return;
    if (rw_consumer_track(f->consumer, RW_T_RETRY, msg->partition, msg->offset, &gen) != IB_OK)
        return;
    if (msg->payload == NULL) {
        erased(f, f->cfg->topic_retry, msg, 0);
        rw_consumer_done(f->consumer, RW_T_RETRY, msg->partition, msg->offset, gen);
        return;
    }
    rw_job_t *job = rw_flow_job_new(f, RW_T_RETRY, msg);
    if (job == NULL) {
        rw_consumer_done(f->consumer, RW_T_RETRY, msg->partition, msg->offset, gen);
        IB_ERROR("out of memory: retry record at offset %" PRId64 " dropped", msg->offset);
        return;
    }
    job->gen = gen;
    if (rw_retry_rec_decode(msg->payload, msg->len, &r, why, sizeof(why)) != IB_OK) {
        rw_job_keep_raw(job, msg);
        free(job->origin_topic);
        job->origin_topic = strdup(f->cfg->topic_retry);
        rw_flow_dead_letter(f, job, RW_DLQ_INVALID_EVENT, why);
        return;
    }
    ib_rc_t ok = rw_job_from_retry_rec(job, &r, f->tenants, why, sizeof(why));
    if (ok != IB_OK) {
        snprintf(reason, sizeof(reason), "invalid status event in retry record: %s", why);
        rw_retry_rec_clear(&r);
        rw_flow_dead_letter(f, job, RW_DLQ_INVALID_EVENT, reason);
        return;
    }
    if (job->tenant == NULL) {
        snprintf(reason, sizeof(reason), "tenant '%.64s' no longer configured", r.tenant);
        rw_retry_rec_clear(&r);
        rw_flow_dead_letter(f, job, RW_DLQ_CALLBACK_REFUSED, reason);
        return;
    }
    rw_retry_rec_clear(&r);
    if (rw_job_apply_tenant_word(job) != IB_OK) {
        rw_flow_dead_letter(f, job, RW_DLQ_INVALID_EVENT, "out of memory");
        return;
    }
    rw_join_state_t st =
        rw_callback_url_check(job->tenant, job->callback_url, f->cfg->allow_insecure_callbacks);
    if (st != RW_JOIN_OK) {
        snprintf(reason, sizeof(reason), "callback refused: %s", rw_join_state_reason(st));
        rw_flow_dead_letter(f, job, RW_DLQ_CALLBACK_REFUSED, reason);
        return;
    }
    if (rw_flow_admit_at_due(f, job) != IB_OK) {
        rw_consumer_backoff(f->consumer, RW_T_RETRY, msg->partition, msg->offset, 1000);
        rw_flow_job_free(f, job);
    }
}
