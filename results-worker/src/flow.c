#include "flow.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "ib/json.h"
#include "ib/log.h"
#include "outcome.h"
#include "retryrec.h"
#include "state.h"

/* Ids are bounded at the boundary (status events, retry records), so the copy in
 * rw_flow_on_send_done is never truncated: a truncated key would miss the interview's slot and
 * strand the state waiting in it. */
_Static_assert(RW_RETRY_MAX_ID_LEN <= RW_JOIN_MAX_ID_LEN, "retry record ids fit the slot keys");

#define REPRODUCE_DELAY_MS 1000
#define SLOTS_MIN          1024

/* rw_job_t.doomed: why the job is to go unsent. Revoked: its offset is not stored (the next owner
 * redoes it); erased: its offset completes (nothing is left to do for it). */
#define DOOM_REVOKED 1
#define DOOM_ERASED  2

/* The interview's in-flight PUT and the newest state waiting behind it. */
typedef struct slot {
    rw_job_t *inflight;
    rw_job_t *queued;
    size_t id_len; /* the map compares and rehashes keys on every probe and deletion shift */
    char id[];
} slot_t;

static rw_job_t *due_job(ib_heap_node_t *n)
{
    return IB_CONTAINER_OF(n, rw_job_t, due_node);
}

static int due_less(const ib_heap_node_t *a, const ib_heap_node_t *b)
{
    return IB_CONST_CONTAINER_OF(a, rw_job_t, due_node)->due_wall <
           IB_CONST_CONTAINER_OF(b, rw_job_t, due_node)->due_wall;
}

/* -- interview slots --------------------------------------------------------------------------*/

static const void *slot_key(const void *item, size_t *len)
{
    const slot_t *s = item;
    *len = s->id_len;
    return s->id;
}

static slot_t *slot_find(rw_flow_t *f, const char *id)
{
    return ib_map_get(f->slots, id, strlen(id));
}

static slot_t *slot_get(rw_flow_t *f, const char *id)
{
    slot_t *s = slot_find(f, id);
    if (s != NULL)
        return s;
    size_t len = strlen(id);
    s = calloc(1, sizeof(*s) + len + 1);
    if (s == NULL)
        return NULL;
    memcpy(s->id, id, len + 1);
    s->id_len = len;
    if (ib_map_put(f->slots, s, NULL) != IB_OK) {
        free(s);
        return NULL;
    }
    return s;
}

static void slot_drop_if_empty(rw_flow_t *f, slot_t *s)
{
    if (s->inflight != NULL || s->queued != NULL)
        return;
    if (ib_map_remove(f->slots, s->id, s->id_len) == s)
        free(s);
}

static int slot_drop(void *item, void *arg)
{
    (void)arg;
    free(item);
    return 1;
}

/* -- jobs -------------------------------------------------------------------------------------*/

static rw_job_t *job_new(rw_flow_t *f, rw_topic_t src, const rd_kafka_message_t *msg)
{
    /* A moved event's origin is taken from its headers (rw_job_origin_from_headers); without
     * them it is the repartition record itself. */
    rw_job_t *job = rw_job_new(src, msg,
                               src == RW_T_REPARTITION ? f->cfg->topic_status_repartition
                                                       : f->cfg->topic_status);
    if (job == NULL)
        return NULL;
    LIST_INSERT_HEAD(&f->jobs, job, all);
    f->njobs++;
    return job;
}

/* Takes the job out of its slot, the heap and the list, cancels its ticket and frees it. */
static void job_free(rw_flow_t *f, rw_job_t *job)
{
    if (job == NULL)
        return;
    if (job->interview_id != NULL) {
        slot_t *s = slot_find(f, job->interview_id);
        if (s != NULL) {
            if (s->inflight == job)
                s->inflight = NULL;
            if (s->queued == job)
                s->queued = NULL;
            slot_drop_if_empty(f, s);
        }
    }
    if (job->state == RW_JOB_WAIT_DUE)
        rw_consumer_hold(f->consumer, job->src, job->partition, job->gen, 0);
    ib_heap_remove(&f->due, &job->due_node);
    rw_ticket_cancel(job->ticket);
    LIST_REMOVE(job, all);
    f->njobs--;
    rw_job_free(job);
}

/* The job is done: its offset may be stored once everything before it is done too. */
static void job_finish(rw_flow_t *f, rw_job_t *job)
{
    rw_consumer_done(f->consumer, job->src, job->partition, job->offset, job->gen);
    job_free(f, job);
}

static void job_superseded(rw_flow_t *f, rw_job_t *job, const char *why)
{
    ib_series_add(f->m->superseded, 1);
    if (ib_log_enabled(IB_LOG_INFO)) {
        json_t *fields = rw_job_fields(job);
        ib_log_fields(IB_LOG_INFO, fields, "not sent: %s", why);
        json_decref(fields);
    }
    job_finish(f, job);
}

/* -- producing retry records and dead letters -------------------------------------------------*/

static void produce_later(rw_flow_t *f, rw_job_t *job, const char *why)
{
    json_t *fields = rw_job_fields(job);
    ib_log_fields(IB_LOG_ERROR, fields, "%s to Kafka failed (%s); trying again in %d ms",
                  job->action == RW_ACT_DLQ           ? "dead letter"
                  : job->action == RW_ACT_REPARTITION ? "repartitioned status event"
                                                      : "retry record",
                  why, REPRODUCE_DELAY_MS);
    json_decref(fields);
    job->ticket = NULL;
    job->state = RW_JOB_PRODUCE_AGAIN;
    job->due_wall = ib_wall_ms() + REPRODUCE_DELAY_MS;
    if (ib_heap_push(&f->due, &job->due_node) != IB_OK)
        job_free(f, job); /* out of memory: not stored, so the message comes again later */
}

/* The Kafka key of a record on the dead-letter topic: the job's key, else (an unreadable record
 * that came without a key) its origin, as the compacted topic refuses records without a key. */
static const char *dlq_key(const rw_job_t *job, char *buf, size_t size)
{
    const char *key = rw_job_key(job);
    if (key[0] != '\0')
        return key;
    snprintf(buf, size, "%s/%d/%" PRId64, job->origin_topic != NULL ? job->origin_topic : "?",
             (int)job->origin_partition, job->origin_offset);
    return buf;
}

static void produce_dlq(rw_flow_t *f, rw_job_t *job)
{
    char keybuf[320];
    char why[256];
    char ce_id[400];
    char *dl = rw_job_dead_letter_value(job, ib_wall_ms());
    if (dl == NULL) {
        produce_later(f, job, "out of memory");
        return;
    }
    snprintf(ce_id, sizeof(ce_id), "dlq:%s:%d:%" PRId64 ":%u", job->origin_topic,
             (int)job->origin_partition, job->origin_offset, job->attempts);
    job->state = RW_JOB_PRODUCING;
    job->ticket = rw_producer_send(f->producer, f->cfg->topic_dlq, RD_KAFKA_PARTITION_UA,
                                   dlq_key(job, keybuf, sizeof(keybuf)), dl, strlen(dl), ce_id,
                                   "interview.callback.dead_lettered", job, why, sizeof(why));
    free(dl);
    if (job->ticket == NULL)
        produce_later(f, job, why);
}

void rw_flow_dead_letter(rw_flow_t *f, rw_job_t *job, rw_dlq_class_t cls, const char *reason)
{
    free(job->dlq_reason);
    job->dlq_reason = strdup(reason);
    job->dlq_class = cls;
    job->action = RW_ACT_DLQ;
    json_t *fields = rw_job_fields(job);
    if (fields != NULL)
        json_object_set_new(fields, "dlq_reason_class", json_string(rw_dlq_class_name(cls)));
    ib_log_fields(IB_LOG_WARN, fields, "to the dead-letter topic: %s", reason);
    json_decref(fields);
    if (job->dlq_reason == NULL) {
        produce_later(f, job, "out of memory");
        return;
    }
    produce_dlq(f, job);
}

static void produce_retry(rw_flow_t *f, rw_job_t *job)
{
    char why[256];
    char ce_id[400];
    char *value = rw_job_retry_value(job, ib_wall_ms());
    if (value == NULL) {
        produce_later(f, job, "out of memory");
        return;
    }
    snprintf(ce_id, sizeof(ce_id), "retry:%s:%d:%" PRId64 ":%u", job->origin_topic,
             (int)job->origin_partition, job->origin_offset, job->attempts);
    job->state = RW_JOB_PRODUCING;
    /* Partition p like the status event: the owner of status p reads it back. */
    job->ticket =
        rw_producer_send(f->producer, f->cfg->topic_retry, job->partition, job->interview_id, value,
                         strlen(value), ce_id, "interview.callback.retry", job, why, sizeof(why));
    free(value);
    if (job->ticket == NULL)
        produce_later(f, job, why);
}

static void produce_forward(rw_flow_t *f, rw_job_t *job)
{
    char why[256];
    job->state = RW_JOB_PRODUCING;
    job->ticket = rw_producer_forward(f->producer, f->cfg->topic_status_repartition,
                                      job->fwd_partition, job->interview_id, job->raw, job->raw_len,
                                      job->fwd_headers, job, why, sizeof(why));
    if (job->ticket == NULL)
        produce_later(f, job, why);
}

void rw_flow_repartition(rw_flow_t *f, rw_job_t *job)
{
    if (ib_log_enabled(IB_LOG_DEBUG)) {
        json_t *fields = rw_job_fields(job);
        if (fields != NULL)
            json_object_set_new(fields, "to_partition", json_integer(job->fwd_partition));
        ib_log_fields(IB_LOG_DEBUG, fields, "status event moved to its interview's partition of %s",
                      f->cfg->topic_status_repartition);
        json_decref(fields);
    }
    produce_forward(f, job);
}

static void produce_again(rw_flow_t *f, rw_job_t *job)
{
    if (job->action == RW_ACT_DLQ)
        produce_dlq(f, job);
    else if (job->action == RW_ACT_REPARTITION)
        produce_forward(f, job);
    else
        produce_retry(f, job);
}

/* The owner of every partial record's ticket: no job waits for it. */
static char partial_owner;

void rw_flow_partial(rw_flow_t *f, const rw_job_t *job, const char *fixes,
                     const unsigned counts[IB_FIX_KIND_COUNT])
{
    char why[256];
    char ce_id[400];
    char keybuf[320];
    for (int k = 0; k < IB_FIX_KIND_COUNT; k++)
        if (counts[k] > 0)
            ib_series_add(f->m->fixes[k], counts[k]);
    json_t *fields = rw_job_fields(job);
    json_t *list = ib_json_parse(fixes, strlen(fixes), IB_JSON_MAX_DEPTH, why, sizeof(why));
    if (fields != NULL && list != NULL)
        json_object_set_new(fields, "fixes", list);
    else
        json_decref(list);
    ib_log_fields(IB_LOG_WARN, fields,
                  "status event with fields repaired or left out; the rest goes on, a partial "
                  "record to the dead-letter topic");
    json_decref(fields);
    char *value = rw_job_partial_value(job, fixes, ib_wall_ms());
    if (value == NULL) {
        ib_series_add(f->m->produce_errors, 1);
        IB_ERROR("out of memory: partial record of %s not written", rw_job_key(job));
        return;
    }
    snprintf(ce_id, sizeof(ce_id), "partial:%s:%d:%" PRId64, job->origin_topic,
             (int)job->origin_partition, job->origin_offset);
    if (rw_producer_send(f->producer, f->cfg->topic_dlq, RD_KAFKA_PARTITION_UA,
                         dlq_key(job, keybuf, sizeof(keybuf)), value, strlen(value), ce_id,
                         "interview.callback.partial", &partial_owner, why, sizeof(why)) == NULL) {
        ib_series_add(f->m->produce_errors, 1);
        IB_ERROR("partial record of %s to Kafka failed: %s", rw_job_key(job), why);
    }
    free(value);
}

/* -- the changelog ------------------------------------------------------------------------------*/

/* Owners of changelog records and of the keep time's tombstones: nobody waits for them. */
static char state_owner;
static char expire_owner;

void rw_flow_write_state(rw_flow_t *f, const char *id, ib_status_t status, long long occurred_ms,
                         const void *event, size_t len)
{
    char why[256];
    char ce_id[RW_JOIN_MAX_ID_LEN + 64];
    rw_join_view_t view;
    size_t vlen = 0;
    if (event == NULL || !rw_join_get(f->join, id, &view) || view.tenant >= f->tenants->count)
        return;
    /* Both callers read event with ib_json_parse first (rw_status_parse). */
    char *value = rw_state_value_parsed(event, len, f->tenants->tenants[view.tenant].id,
                                        view.callback_url, &vlen);
    if (value == NULL) {
        ib_series_add(f->m->state_write_errors, 1);
        IB_ERROR("changelog record of %s not written: out of memory", id);
        return;
    }
    rw_state_ce_id(ce_id, sizeof(ce_id), id, status, occurred_ms);
    if (rw_producer_send(f->producer, f->cfg->topic_state, view.partition, id, value, vlen, ce_id,
                         "interview.state", &state_owner, why, sizeof(why)) == NULL) {
        ib_series_add(f->m->state_write_errors, 1);
        IB_ERROR("changelog record of %s not written: %s", id, why);
    }
    free(value);
}

typedef struct {
    rw_flow_t *f;
    size_t failed;
} expire_arg_t;

static void expire_one(const char *id, int32_t partition, void *arg)
{
    char why[256];
    expire_arg_t *a = arg;
    rw_flow_t *f = a->f;
    (void)rw_flow_erase(f, id, strlen(id));
    if (rw_producer_tombstone(f->producer, f->cfg->topic_state, partition, id, &expire_owner, why,
                              sizeof(why)) == NULL ||
        rw_producer_tombstone(f->producer, f->cfg->topic_requested, partition, id, &expire_owner,
                              why, sizeof(why)) == NULL)
        a->failed++;
    ib_series_add(f->m->expired, 1);
    if (ib_log_enabled(IB_LOG_DEBUG)) {
        json_t *fields = json_pack("{s:s,s:i}", "interview_id", id, "partition", (int)partition);
        ib_log_fields(IB_LOG_DEBUG, fields, "finished interview past its keep time: erased");
        json_decref(fields);
    }
}

static void log_expired(rw_flow_t *f, const char *what, size_t n, long keep_ms, size_t failed)
{
    json_t *fields =
        json_pack("{s:I,s:I}", "erased", (json_int_t)n, "keep_ms", (json_int_t)keep_ms);
    ib_log_fields(failed > 0 ? IB_LOG_WARN : IB_LOG_INFO, fields, "%s erased from %s and %s%s",
                  what, f->cfg->topic_state, f->cfg->topic_requested,
                  failed > 0 ? " (some tombstones were refused; they are not retried before "
                               "the next restart)"
                             : "");
    json_decref(fields);
}

size_t rw_flow_expire(rw_flow_t *f, long long now_wall, size_t max)
{
    expire_arg_t a = {f, 0};
    size_t n = rw_join_expire(f->join, now_wall - f->cfg->keep_finished_ms, max, expire_one, &a);
    if (n > 0)
        log_expired(f, "finished interviews past INTERVIEW_KEEP_FINISHED", n,
                    f->cfg->keep_finished_ms, a.failed);
    return n;
}

size_t rw_flow_expire_open(rw_flow_t *f, long long now_wall, size_t max)
{
    expire_arg_t a = {f, 0};
    size_t n = rw_join_expire_open(f->join, now_wall - f->cfg->keep_open_ms, max, expire_one, &a);
    if (n > 0)
        log_expired(f, "pending interviews past INTERVIEW_KEEP_OPEN", n, f->cfg->keep_open_ms,
                    a.failed);
    return n;
}

void rw_flow_on_produced(void *owner, rd_kafka_resp_err_t err, void *opaque)
{
    rw_flow_t *f = opaque;
    if (owner == &state_owner || owner == &expire_owner) {
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            ib_series_add(f->m->state_write_errors, 1);
            IB_ERROR("%s to Kafka failed: %s",
                     owner == &state_owner ? "changelog record" : "keep-time tombstone",
                     rd_kafka_err2str(err));
        } else if (owner == &state_owner) {
            ib_series_add(f->m->state_written, 1);
        }
        return;
    }
    if (owner == &partial_owner) {
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            ib_series_add(f->m->produce_errors, 1);
            IB_ERROR("partial record to Kafka failed: %s", rd_kafka_err2str(err));
        } else {
            ib_series_add(f->m->partial_records, 1);
        }
        return;
    }
    rw_job_t *job = owner;
    job->ticket = NULL;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ib_series_add(f->m->produce_errors, 1);
        if (job->action == RW_ACT_REPARTITION && err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
            /* Never fits (the repartition topic's max.message.bytes is below the status
             * topic's): trying again would hold the status partition's offset forever. */
            char reason[256];
            snprintf(
                reason, sizeof(reason), "status event too large to move to partition %d of %s: %s",
                (int)job->fwd_partition, f->cfg->topic_status_repartition, rd_kafka_err2str(err));
            rw_flow_dead_letter(f, job, RW_DLQ_INVALID_EVENT, reason);
            return;
        }
        produce_later(f, job, rd_kafka_err2str(err));
        return;
    }
    if (job->action == RW_ACT_DLQ)
        ib_series_add(f->m->dead_letters[job->dlq_class], 1);
    else if (job->action == RW_ACT_REPARTITION)
        ib_series_add(f->m->repartitioned, 1);
    else
        ib_series_add(f->m->retries_produced, 1);
    job_finish(f, job);
}

/* -- carrying out decisions -------------------------------------------------------------------*/

static void policy(const rw_flow_t *f, rw_policy_t *p)
{
    p->schedule = &f->cfg->retry_schedule;
    p->max_age_ms = f->cfg->retry_max_age_ms;
    p->unit = rw_backoff_unit();
    p->defer_unit = rw_backoff_unit();
}

static void carry_out(rw_flow_t *f, rw_job_t *job, const rw_decision_t *dec)
{
    job->attempts = dec->attempts;
    job->first_attempt_wall = dec->first_attempt_wall;
    switch (dec->verdict) {
    case RW_DECIDE_FINISH:
        job_finish(f, job);
        break;
    case RW_DECIDE_RETRY:
        job->action = RW_ACT_RETRY;
        job->retry_due_wall = dec->due_wall;
        produce_retry(f, job);
        break;
    case RW_DECIDE_DEAD_LETTER:
        rw_flow_dead_letter(f, job, dec->dlq_class, dec->reason);
        break;
    case RW_DECIDE_SUPERSEDED:
        job_superseded(f, job, dec->reason);
        break;
    }
}

/* Shutdown or an aborted attempt: the job goes to the retry topic (due now, no attempt
 * counted), or to the dead-letter topic when it is too old for another attempt. */
static void hand_off(rw_flow_t *f, rw_job_t *job)
{
    rw_attempt_result_t r;
    rw_policy_t p;
    rw_decision_t dec;
    memset(&r, 0, sizeof(r));
    r.outcome = RW_OUTCOME_ABORTED;
    policy(f, &p);
    rw_decide(job, &r, ib_wall_ms(), &p, &dec);
    carry_out(f, job, &dec);
}

/* -- sending ----------------------------------------------------------------------------------*/

static void send_job(rw_flow_t *f, rw_job_t *job)
{
    if (f->stopping) {
        hand_off(f, job);
        return;
    }
    if (job->first_attempt_wall == 0)
        job->first_attempt_wall = ib_wall_ms();
    memset(&job->send, 0, sizeof(job->send));
    job->send.owner = job;
    job->send.d.interview_id = job->interview_id;
    job->send.d.url = job->callback_url;
    job->send.d.token = job->tenant->workable_token;
    job->send.d.body = job->body;
    job->send.d.body_len = job->body_len;
    job->send.d.attempt = job->attempts + 1;
    job->state = RW_JOB_SENDING;
    rw_sender_submit(f->sender, &job->send);
}

/* A state that passed the ordering gate: send it now, or wait behind the interview's PUT. */
static void enqueue(rw_flow_t *f, rw_job_t *job)
{
    slot_t *s = slot_get(f, job->interview_id);
    if (s == NULL) {
        /* Out of memory: not stored, look at it again. */
        rw_consumer_backoff(f->consumer, job->src, job->partition, job->offset, 1000);
        job_free(f, job);
        return;
    }
    if (s->inflight == NULL) {
        s->inflight = job;
        send_job(f, job);
        return;
    }
    rw_job_t *ahead = s->queued != NULL ? s->queued : s->inflight;
    if (ib_status_compare(ahead->status, ahead->occurred_ms, job->status, job->occurred_ms) <= 0) {
        job_superseded(f, job, "the same or a newer state is already on its way");
        return;
    }
    if (s->queued != NULL) {
        rw_job_t *old = s->queued;
        s->queued = NULL;
        job_superseded(f, old, "replaced by a newer state while waiting");
    }
    s->queued = job;
    job->state = RW_JOB_QUEUED;
}

/* Logs and counts a state that breaks the lifecycle, then finishes the job unsent. */
static void lifecycle_refused(rw_flow_t *f, rw_job_t *job, const char *why)
{
    ib_series_add(f->m->lifecycle_refused, 1);
    json_t *fields = rw_job_fields(job);
    ib_log_fields(IB_LOG_WARN, fields, "not sent: %s", why);
    json_decref(fields);
    job_finish(f, job);
}

/* The ordering gate: is this state still worth sending? */
void rw_flow_admit(rw_flow_t *f, rw_job_t *job)
{
    ib_status_t latest;
    long long latest_ms;
    int known = rw_join_latest(f->join, job->interview_id, &latest, &latest_ms);
    rw_order_t o = rw_join_order(f->join, job->interview_id, job->status, job->occurred_ms, 1);
    if (o == RW_ORDER_NEWER)
        rw_flow_write_state(f, job->interview_id, job->status, job->occurred_ms, job->event_text,
                            job->event_len);
    if (o == RW_ORDER_OLDER && known && ib_status_terminal(latest) &&
        ib_status_terminal(job->status) && latest != job->status) {
        lifecycle_refused(f, job, "the interview already finished in another state");
        return;
    }
    if (job->status == IB_STATUS_PENDING && o != RW_ORDER_OLDER) {
        /* Recorded by the join (it orders what comes next) but never PUT. */
        if (ib_log_enabled(IB_LOG_INFO)) {
            json_t *fields = rw_job_fields(job);
            ib_log_fields(IB_LOG_INFO, fields,
                          "not sent: pending is the starting state, not a change (served on GET)");
            json_decref(fields);
        }
        job_finish(f, job);
        return;
    }
    if (o == RW_ORDER_OLDER) {
        job_superseded(f, job, "a newer state of this interview is known");
        return;
    }
    enqueue(f, job);
}

static void log_attempt(const rw_job_t *job, const rw_send_t *x)
{
    const rw_delivery_t *r = &x->d;
    rw_outcome_t outcome = r->outcome;
    static const struct {
        ib_log_level_t level;
        const char *msg;
    } what[RW_OUTCOME_COUNT] = {
        [RW_OUTCOME_SUCCESS] = {IB_LOG_INFO, "callback delivered"},
        [RW_OUTCOME_TRANSIENT] = {IB_LOG_WARN, "callback failed (transient)"},
        [RW_OUTCOME_PERMANENT] = {IB_LOG_ERROR, "callback failed permanently"},
        [RW_OUTCOME_DEFERRED] = {IB_LOG_INFO, "host's circuit breaker is open; deferred"},
        [RW_OUTCOME_ABORTED] = {IB_LOG_INFO, "in-flight callback handed to the retry topic"},
    };
    if (!ib_log_enabled(what[outcome].level))
        return;
    /* One line per attempt: written directly, no jansson object. */
    ib_log_kv_t kv[RW_JOB_KV + 5];
    size_t n = rw_job_kv(job, kv);
    int failed = outcome != RW_OUTCOME_SUCCESS;
    kv[n++] = IB_KV_STR("outcome", rw_outcome_name(outcome));
    kv[n++] = IB_KV_INT("http_status", r->http_status);
    kv[n++] = IB_KV_INT("elapsed_ms", r->elapsed_ms);
    kv[n++] = IB_KV_STR("error", failed && r->error[0] != '\0' ? r->error : NULL);
    kv[n++] = IB_KV_STR("response_excerpt", failed && r->excerpt[0] != '\0' ? r->excerpt : NULL);
    ib_log_kv(what[outcome].level, kv, n, "%s", what[outcome].msg);
}

void rw_flow_on_send_done(rw_send_t *x, void *opaque)
{
    rw_flow_t *f = opaque;
    rw_job_t *job = x->owner;
    const rw_delivery_t *r = &x->d;
    slot_t *s = slot_find(f, job->interview_id);
    char id[RW_JOIN_MAX_ID_LEN + 1];
    char what[256];
    rw_attempt_result_t res;
    rw_policy_t p;
    rw_decision_t dec;

    /* The job may be freed below, and with it (when empty) the slot: look it up again then. */
    snprintf(id, sizeof(id), "%s", job->interview_id);
    ib_series_add(f->m->deliveries[r->outcome], 1);
    if (s != NULL && s->inflight == job)
        s->inflight = NULL;
    if (job->doomed == DOOM_ERASED) {
        job_finish(f, job);
        return;
    }
    if (job->doomed) {
        job_free(f, job);
        return;
    }
    log_attempt(job, x);
    if (r->outcome == RW_OUTCOME_SUCCESS) {
        ib_series_observe(f->m->attempts, (double)(job->attempts + 1));
        ib_series_observe(f->m->put_seconds, (double)r->elapsed_ms / 1000.0);
        if (job->first_seen_wall > 0)
            ib_series_observe(f->m->latency,
                              (double)(ib_wall_ms() - job->first_seen_wall) / 1000.0);
    }
    rw_delivery_describe(r, what, sizeof(what));
    memset(&res, 0, sizeof(res));
    res.outcome = r->outcome;
    res.http_status = r->http_status;
    res.retry_after_ms = r->retry_after_ms;
    res.refused = r->refused[0] != '\0';
    res.what = what;
    res.breaker_wait_ms = r->outcome == RW_OUTCOME_DEFERRED ? x->retry_at - ib_now_ms() : 0;
    res.newer_waiting = s != NULL && s->queued != NULL;
    policy(f, &p);
    long long now = ib_wall_ms();
    rw_decide(job, &res, now, &p, &dec);
    if (dec.counted) {
        job->attempts = dec.attempts;
        rw_job_history_add(job, r, now);
    }
    carry_out(f, job, &dec);
    s = slot_find(f, id);
    if (s != NULL && s->inflight == NULL && s->queued != NULL) {
        rw_job_t *next = s->queued;
        s->queued = NULL;
        s->inflight = next;
        send_job(f, next);
    }
    if (s != NULL)
        slot_drop_if_empty(f, s);
}

/* -- the flow's lifetime and its heap ---------------------------------------------------------*/

ib_rc_t rw_flow_init(rw_flow_t *f)
{
    LIST_INIT(&f->jobs);
    f->njobs = 0;
    f->stopping = 0;
    ib_heap_init(&f->due, due_less);
    f->slots = ib_map_new(slot_key, SLOTS_MIN);
    return f->slots != NULL ? IB_OK : IB_ERR;
}

void rw_flow_clear(rw_flow_t *f)
{
    while (!LIST_EMPTY(&f->jobs))
        job_free(f, LIST_FIRST(&f->jobs));
    ib_heap_clear(&f->due);
    if (f->slots != NULL)
        ib_map_remove_if(f->slots, slot_drop, NULL);
    ib_map_free(f->slots);
    f->slots = NULL;
}

rw_job_t *rw_flow_job_new(rw_flow_t *f, rw_topic_t src, const rd_kafka_message_t *msg)
{
    return job_new(f, src, msg);
}

void rw_flow_job_free(rw_flow_t *f, rw_job_t *job)
{
    job_free(f, job);
}

ib_rc_t rw_flow_admit_at_due(rw_flow_t *f, rw_job_t *job)
{
    if (job->due_wall <= ib_wall_ms()) {
        rw_flow_admit(f, job);
        return IB_OK;
    }
    if (ib_heap_push(&f->due, &job->due_node) != IB_OK)
        return IB_ERR;
    job->state = RW_JOB_WAIT_DUE;
    rw_consumer_hold(f->consumer, job->src, job->partition, job->gen, 1);
    return IB_OK;
}

void rw_flow_run_due(rw_flow_t *f)
{
    long long now = ib_wall_ms();
    ib_heap_node_t *n;
    while ((n = ib_heap_top(&f->due)) != NULL && due_job(n)->due_wall <= now) {
        rw_job_t *job = due_job(n);
        ib_heap_remove(&f->due, n);
        if (job->state == RW_JOB_PRODUCE_AGAIN) {
            produce_again(f, job);
        } else {
            if (job->state == RW_JOB_WAIT_DUE) {
                job->state = RW_JOB_NEW;
                rw_consumer_hold(f->consumer, job->src, job->partition, job->gen, 0);
            }
            rw_flow_admit(f, job);
        }
    }
}

long long rw_flow_next_due(const rw_flow_t *f)
{
    const ib_heap_node_t *n = ib_heap_top(&f->due);
    return n != NULL ? IB_CONST_CONTAINER_OF(n, rw_job_t, due_node)->due_wall : 0;
}

size_t rw_flow_backlog(const rw_flow_t *f, long long *oldest_first_attempt)
{
    /* The heap is ordered by due time, not age: one linear pass (once per metrics period). */
    long long oldest = 0;
    for (size_t i = 0; i < ib_heap_len(&f->due); i++) {
        long long first = due_job(ib_heap_at(&f->due, i))->first_attempt_wall;
        if (first > 0 && (oldest == 0 || first < oldest))
            oldest = first;
    }
    *oldest_first_attempt = oldest;
    return ib_heap_len(&f->due);
}

void rw_flow_produce_pending(rw_flow_t *f)
{
    for (size_t i = 0; i < ib_heap_len(&f->due);) {
        rw_job_t *job = due_job(ib_heap_at(&f->due, i));
        if (job->state == RW_JOB_PRODUCE_AGAIN) {
            ib_heap_remove(&f->due, &job->due_node);
            produce_again(f, job);
            i = 0;
        } else {
            i++;
        }
    }
}

static int erased_pred(void *owner, void *arg)
{
    (void)arg;
    return ((rw_job_t *)owner)->doomed == DOOM_ERASED;
}

size_t rw_flow_erase(rw_flow_t *f, const char *id, size_t id_len)
{
    char key[RW_JOIN_MAX_ID_LEN + 1];
    size_t n = 0;
    int sending = 0;
    rw_job_t *job;
    rw_job_t *next;

    if (id_len == 0 || id_len > RW_JOIN_MAX_ID_LEN || memchr(id, '\0', id_len) != NULL)
        return 0;
    memcpy(key, id, id_len);
    key[id_len] = '\0';
    LIST_FOREACH(job, &f->jobs, all)
    {
        /* NEW: being built by the intake right now; PRODUCING: Kafka has it already. */
        if (job->interview_id == NULL || job->doomed || job->state == RW_JOB_NEW ||
            job->state == RW_JOB_PRODUCING || strcmp(job->interview_id, key) != 0)
            continue;
        job->doomed = DOOM_ERASED;
        sending |= job->state == RW_JOB_SENDING;
        n++;
    }
    if (n == 0)
        return 0;
    /* Done callbacks run before this returns: rw_flow_on_send_done finishes them. */
    if (sending)
        rw_sender_abort(f->sender, erased_pred, NULL);
    for (job = LIST_FIRST(&f->jobs); job != NULL; job = next) {
        next = LIST_NEXT(job, all);
        if (job->doomed != DOOM_ERASED)
            continue;
        json_t *fields = rw_job_fields(job);
        ib_log_fields(IB_LOG_INFO, fields, "not sent: the interview was erased");
        json_decref(fields);
        job_finish(f, job);
    }
    ib_series_add(f->m->erased_jobs, (double)n);
    return n;
}

static int doomed_pred(void *owner, void *arg)
{
    (void)arg;
    return ((rw_job_t *)owner)->doomed;
}

size_t rw_flow_revoke(rw_flow_t *f, const rd_kafka_topic_partition_list_t *parts)
{
    size_t n = 0;
    rw_job_t *job;
    rw_job_t *next;
    LIST_FOREACH(job, &f->jobs, all)
    {
        for (int i = 0; i < parts->cnt; i++) {
            if (parts->elems[i].partition == job->partition &&
                rw_consumer_topic_is(f->consumer, parts->elems[i].topic, job->src)) {
                job->doomed = DOOM_REVOKED;
                n++;
                break;
            }
        }
    }
    if (n == 0)
        return 0;
    rw_sender_abort(f->sender, doomed_pred, NULL);
    for (job = LIST_FIRST(&f->jobs); job != NULL; job = next) {
        next = LIST_NEXT(job, all);
        if (job->doomed)
            job_free(f, job);
    }
    return n;
}
