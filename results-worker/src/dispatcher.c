#include "dispatcher.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backoff.h"
#include "consumer.h"
#include "deadletter.h"
#include "ib/json.h"
#include "ib/log.h"
#include "ib/payload.h"
#include "join.h"
#include "producer.h"
#include "retryrec.h"
#include "sender.h"

#define LOOP_MAX_WAIT_MS   200
#define POLL_BATCH         500
#define METRICS_EVERY_MS   1000
#define REPRODUCE_DELAY_MS 1000
#define FLUSH_TIMEOUT_MS   15000
#define NO_HEAP            SIZE_MAX
/* A dead letter larger than this is written without the source value (it stays at the source
 * offset): librdkafka's default message.max.bytes is 1,000,000 and the broker's 1,048,588, and
 * a record that can never be produced would be retried forever and hold its partition's
 * offset back. */
#define DEAD_LETTER_MAX_BYTES 900000

typedef enum {
    JOB_NEW = 0,
    JOB_WAIT_DUE,     /* a retry record held until its due time (heap) */
    JOB_QUEUED,       /* behind the interview's in-flight PUT */
    JOB_SENDING,      /* in the sender */
    JOB_PRODUCING,    /* retry record or dead letter waiting for Kafka's acknowledgement */
    JOB_PRODUCE_AGAIN /* producing failed; tried again at due (heap) */
} job_state_t;

typedef enum { ACT_NONE = 0, ACT_RETRY, ACT_DLQ } job_action_t;

/* One consumed status event or retry record, from consumption until its offset may be stored. */
typedef struct rw_job {
    struct rw_job *all_prev;
    struct rw_job *all_next;
    rw_topic_t src;
    int32_t partition;
    int64_t offset;
    unsigned gen;
    /* The status event this is about (origin: its position on TOPIC_STATUS). */
    char *origin_topic;
    int32_t origin_partition;
    int64_t origin_offset;
    char *interview_id; /* may be NULL for an invalid message */
    const ib_tenant_t *tenant;
    char *callback_url;
    char *event_text; /* the valid status event's bytes, or NULL (no valid event) */
    size_t event_len;
    json_t *event; /* event_text parsed, only when needed (job_event) */
    void *raw;     /* the message as consumed, for dead letters of invalid messages */
    size_t raw_len;
    char *raw_key;
    ib_status_t status;
    long long occurred_ms;
    char *body;
    size_t body_len;
    unsigned attempts; /* failed attempts so far */
    long long first_attempt_wall;
    long long first_seen_wall;
    long long due_wall;
    json_t *history;
    long long history_dropped;
    job_state_t state;
    job_action_t action;
    char *dlq_reason;
    rw_dlq_class_t dlq_class;
    long long retry_due_wall; /* ACT_RETRY: the record's due time */
    size_t heap_idx;
    rw_ticket_t *ticket;
    int doomed;
    rw_send_t send;
} rw_job_t;

/* The interview's in-flight PUT and the newest state waiting behind it. */
typedef struct slot {
    struct slot *next;
    rw_job_t *inflight;
    rw_job_t *queued;
    char id[];
} slot_t;

struct rw_dispatcher {
    const rw_config_t *cfg;
    const ib_tenants_t *tenants;
    rw_metrics_t *m;
    rw_join_t *join;
    rw_consumer_t consumer;
    int consumer_open;
    rw_producer_t *producer;
    rw_sender_t *sender;
    int wake[2];
    pthread_t thread;
    int thread_started;
    atomic_int stop;
    atomic_int failed;
    int stopping;
    rw_job_t *jobs;
    size_t njobs;
    rw_job_t **heap;
    size_t heap_len;
    size_t heap_cap;
    slot_t **slots;
    size_t slot_cap;
    size_t slot_count;
    long long next_metrics;
};

/* The job's status event as a tree (borrowed), parsed on first use; NULL without one or when out
 * of memory. */
static json_t *job_event(rw_job_t *job)
{
    char why[128];
    if (job->event == NULL && job->event_text != NULL)
        job->event =
            ib_json_parse(job->event_text, job->event_len, IB_JSON_MAX_DEPTH, why, sizeof(why));
    return job->event;
}

/* -- logging ----------------------------------------------------------------------------------*/

static json_t *job_fields(const rw_job_t *job)
{
    json_t *f = json_pack("{s:s,s:i,s:I}", "topic",
                          job->src == RW_T_RETRY ? "retry"
                          : job->origin_topic    ? job->origin_topic
                                                 : "?",
                          "partition", (int)job->partition, "offset", (json_int_t)job->offset);
    if (f == NULL)
        return NULL;
    if (job->interview_id != NULL)
        json_object_set_new(f, "interview_id", json_string(job->interview_id));
    if (job->tenant != NULL)
        json_object_set_new(f, "tenant", json_string(job->tenant->id));
    if (job->event_text != NULL)
        json_object_set_new(f, "status", json_string(ib_status_name(job->status)));
    json_object_set_new(f, "attempt", json_integer(job->attempts + 1));
    return f;
}

/* -- heap of due times ------------------------------------------------------------------------*/

static void heap_swap(rw_dispatcher_t *d, size_t a, size_t b)
{
    rw_job_t *t = d->heap[a];
    d->heap[a] = d->heap[b];
    d->heap[b] = t;
    d->heap[a]->heap_idx = a;
    d->heap[b]->heap_idx = b;
}

static void heap_up(rw_dispatcher_t *d, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (d->heap[parent]->due_wall <= d->heap[i]->due_wall)
            break;
        heap_swap(d, i, parent);
        i = parent;
    }
}

static void heap_down(rw_dispatcher_t *d, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1;
        size_t r = l + 1;
        size_t m = i;
        if (l < d->heap_len && d->heap[l]->due_wall < d->heap[m]->due_wall)
            m = l;
        if (r < d->heap_len && d->heap[r]->due_wall < d->heap[m]->due_wall)
            m = r;
        if (m == i)
            return;
        heap_swap(d, i, m);
        i = m;
    }
}

static ib_rc_t heap_push(rw_dispatcher_t *d, rw_job_t *job)
{
    if (d->heap_len == d->heap_cap) {
        size_t cap = d->heap_cap == 0 ? 256 : d->heap_cap * 2;
        rw_job_t **h = realloc(d->heap, cap * sizeof(*h));
        if (h == NULL)
            return IB_ERR;
        d->heap = h;
        d->heap_cap = cap;
    }
    job->heap_idx = d->heap_len;
    d->heap[d->heap_len++] = job;
    heap_up(d, job->heap_idx);
    return IB_OK;
}

static void heap_remove(rw_dispatcher_t *d, rw_job_t *job)
{
    size_t i = job->heap_idx;
    if (i == NO_HEAP)
        return;
    job->heap_idx = NO_HEAP;
    d->heap_len--;
    if (i == d->heap_len)
        return;
    d->heap[i] = d->heap[d->heap_len];
    d->heap[i]->heap_idx = i;
    heap_down(d, i);
    heap_up(d, i);
}

/* -- interview slots --------------------------------------------------------------------------*/

static size_t slot_hash(const char *id, size_t cap)
{
    uint32_t h = 2166136261u;
    for (; *id != '\0'; id++) {
        h ^= (unsigned char)*id;
        h *= 16777619u;
    }
    return h & (cap - 1);
}

static slot_t *slot_find(rw_dispatcher_t *d, const char *id)
{
    if (d->slot_cap == 0)
        return NULL;
    for (slot_t *s = d->slots[slot_hash(id, d->slot_cap)]; s != NULL; s = s->next)
        if (strcmp(s->id, id) == 0)
            return s;
    return NULL;
}

static slot_t *slot_get(rw_dispatcher_t *d, const char *id)
{
    slot_t *s = slot_find(d, id);
    if (s != NULL)
        return s;
    if (d->slot_count + 1 > d->slot_cap) {
        size_t cap = d->slot_cap == 0 ? 1024 : d->slot_cap * 2;
        slot_t **b = calloc(cap, sizeof(*b));
        if (b == NULL)
            return NULL;
        for (size_t i = 0; i < d->slot_cap; i++) {
            slot_t *e = d->slots[i];
            while (e != NULL) {
                slot_t *n = e->next;
                size_t k = slot_hash(e->id, cap);
                e->next = b[k];
                b[k] = e;
                e = n;
            }
        }
        free(d->slots);
        d->slots = b;
        d->slot_cap = cap;
    }
    size_t len = strlen(id);
    s = calloc(1, sizeof(*s) + len + 1);
    if (s == NULL)
        return NULL;
    memcpy(s->id, id, len + 1);
    size_t k = slot_hash(id, d->slot_cap);
    s->next = d->slots[k];
    d->slots[k] = s;
    d->slot_count++;
    return s;
}

static void slot_drop_if_empty(rw_dispatcher_t *d, slot_t *s)
{
    if (s->inflight != NULL || s->queued != NULL)
        return;
    size_t k = slot_hash(s->id, d->slot_cap);
    slot_t **pp = &d->slots[k];
    while (*pp != NULL && *pp != s)
        pp = &(*pp)->next;
    if (*pp == s) {
        *pp = s->next;
        d->slot_count--;
        free(s);
    }
}

/* -- jobs -------------------------------------------------------------------------------------*/

static rw_job_t *job_new(rw_dispatcher_t *d, rw_topic_t src, const rd_kafka_message_t *msg)
{
    rw_job_t *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return NULL;
    job->src = src;
    job->partition = msg->partition;
    job->offset = msg->offset;
    job->heap_idx = NO_HEAP;
    job->origin_partition = msg->partition;
    job->origin_offset = msg->offset;
    job->origin_topic = strdup(d->cfg->topic_status);
    job->all_next = d->jobs;
    if (d->jobs != NULL)
        d->jobs->all_prev = job;
    d->jobs = job;
    d->njobs++;
    return job; /* origin_topic NULL (out of memory) is tolerated: logged as "?" */
}

static void job_free(rw_dispatcher_t *d, rw_job_t *job)
{
    if (job == NULL)
        return;
    if (job->interview_id != NULL) {
        slot_t *s = slot_find(d, job->interview_id);
        if (s != NULL) {
            if (s->inflight == job)
                s->inflight = NULL;
            if (s->queued == job)
                s->queued = NULL;
            slot_drop_if_empty(d, s);
        }
    }
    heap_remove(d, job);
    rw_ticket_cancel(job->ticket);
    if (job->all_prev != NULL)
        job->all_prev->all_next = job->all_next;
    else
        d->jobs = job->all_next;
    if (job->all_next != NULL)
        job->all_next->all_prev = job->all_prev;
    d->njobs--;
    free(job->origin_topic);
    free(job->interview_id);
    free(job->callback_url);
    json_decref(job->event);
    free(job->event_text);
    free(job->raw);
    free(job->raw_key);
    free(job->body);
    json_decref(job->history);
    free(job->dlq_reason);
    free(job);
}

/* The job is done: its offset may be stored once everything before it is done too. */
static void job_finish(rw_dispatcher_t *d, rw_job_t *job)
{
    rw_consumer_done(&d->consumer, job->src, job->partition, job->offset, job->gen);
    job_free(d, job);
}

static void job_superseded(rw_dispatcher_t *d, rw_job_t *job, const char *why)
{
    ib_series_add(d->m->superseded, 1);
    if (ib_log_enabled(IB_LOG_INFO)) {
        json_t *f = job_fields(job);
        ib_log_fields(IB_LOG_INFO, f, "not sent: %s", why);
        json_decref(f);
    }
    job_finish(d, job);
}

static void job_keep_raw(rw_job_t *job, const rd_kafka_message_t *msg)
{
    if (msg->payload != NULL && msg->len > 0) {
        job->raw = malloc(msg->len);
        if (job->raw != NULL) {
            memcpy(job->raw, msg->payload, msg->len);
            job->raw_len = msg->len;
        }
    }
    if (msg->key != NULL && msg->key_len > 0) {
        job->raw_key = malloc(msg->key_len + 1);
        if (job->raw_key != NULL) {
            memcpy(job->raw_key, msg->key, msg->key_len);
            job->raw_key[msg->key_len] = '\0';
        }
    }
}

/* -- producing retry records and dead letters -------------------------------------------------*/

static void produce_later(rw_dispatcher_t *d, rw_job_t *job, const char *why)
{
    json_t *f = job_fields(job);
    ib_log_fields(IB_LOG_ERROR, f, "%s to Kafka failed (%s); trying again in %d ms",
                  job->action == ACT_DLQ ? "dead letter" : "retry record", why, REPRODUCE_DELAY_MS);
    json_decref(f);
    job->ticket = NULL;
    job->state = JOB_PRODUCE_AGAIN;
    job->due_wall = ib_wall_ms() + REPRODUCE_DELAY_MS;
    if (heap_push(d, job) != IB_OK)
        job_free(d, job); /* out of memory: not stored, so the message comes again later */
}

static json_t *failure_fields(const rw_job_t *job)
{
    char when[40];
    json_t *x = json_object();
    if (x == NULL)
        return NULL;
    if (job->interview_id != NULL)
        json_object_set_new(x, "interview_id", json_string(job->interview_id));
    if (job->tenant != NULL)
        json_object_set_new(x, "tenant", json_string(job->tenant->id));
    if (job->callback_url != NULL)
        json_object_set_new(x, "callback_url", json_string(job->callback_url));
    if (job->event_text != NULL) {
        json_object_set_new(x, "status", json_string(ib_status_name(job->status)));
        ib_format_rfc3339(job->occurred_ms, when, sizeof(when));
        json_object_set_new(x, "occurred_at", json_string(when));
    }
    json_object_set_new(x, "attempts", json_integer(job->attempts));
    if (job->first_attempt_wall > 0) {
        ib_format_rfc3339(job->first_attempt_wall, when, sizeof(when));
        json_object_set_new(x, "first_attempt_at", json_string(when));
    }
    json_object_set_new(x, "history", job->history ? json_incref(job->history) : json_array());
    if (job->history_dropped > 0)
        json_object_set_new(x, "history_dropped", json_integer(job->history_dropped));
    return x;
}

static void produce_dlq(rw_dispatcher_t *d, rw_job_t *job)
{
    char why[256];
    char ce_id[400];
    char *event_text = NULL;
    const void *value = job->raw;
    size_t value_len = job->raw_len;
    if (job->event_text != NULL) {
        const json_t *event = job_event(job);
        event_text = event != NULL ? json_dumps(event, JSON_COMPACT) : NULL;
        value = event_text;
        value_len = event_text != NULL ? strlen(event_text) : 0;
    }
    const char *key = job->interview_id != NULL ? job->interview_id
                      : job->raw_key != NULL    ? job->raw_key
                                                : "";
    json_t *extra = failure_fields(job);
    char *dl = rw_dead_letter_value_ex(job->dlq_reason, job->origin_topic, job->origin_partition,
                                       job->origin_offset, key, strlen(key), value, value_len,
                                       ib_wall_ms(), extra);
    if (dl != NULL && strlen(dl) > DEAD_LETTER_MAX_BYTES && extra != NULL) {
        free(dl);
        json_object_set_new(extra, "value_omitted_bytes", json_integer((json_int_t)value_len));
        dl = rw_dead_letter_value_ex(job->dlq_reason, job->origin_topic, job->origin_partition,
                                     job->origin_offset, key, strlen(key), NULL, 0, ib_wall_ms(),
                                     extra);
    }
    json_decref(extra);
    free(event_text);
    if (dl == NULL) {
        produce_later(d, job, "out of memory");
        return;
    }
    snprintf(ce_id, sizeof(ce_id), "dlq:%s:%d:%" PRId64 ":%u", job->origin_topic,
             (int)job->origin_partition, job->origin_offset, job->attempts);
    job->state = JOB_PRODUCING;
    job->ticket =
        rw_producer_send(d->producer, d->cfg->topic_dlq, RD_KAFKA_PARTITION_UA, key, dl, strlen(dl),
                         ce_id, "interview.callback.dead_lettered", job, why, sizeof(why));
    free(dl);
    if (job->ticket == NULL)
        produce_later(d, job, why);
}

static void dead_letter(rw_dispatcher_t *d, rw_job_t *job, rw_dlq_class_t cls, const char *reason)
{
    free(job->dlq_reason);
    job->dlq_reason = strdup(reason);
    job->dlq_class = cls;
    job->action = ACT_DLQ;
    json_t *f = job_fields(job);
    if (f != NULL)
        json_object_set_new(f, "dlq_reason_class", json_string(rw_dlq_class_name(cls)));
    ib_log_fields(IB_LOG_WARN, f, "to the dead-letter topic: %s", reason);
    json_decref(f);
    if (job->dlq_reason == NULL) {
        produce_later(d, job, "out of memory");
        return;
    }
    produce_dlq(d, job);
}

static void produce_retry(rw_dispatcher_t *d, rw_job_t *job)
{
    char why[256];
    char ce_id[400];
    rw_retry_rec_t r;
    memset(&r, 0, sizeof(r));
    r.interview_id = job->interview_id;
    r.tenant = job->tenant->id;
    r.callback_url = job->callback_url;
    r.event = job_event(job);
    if (r.event == NULL) {
        produce_later(d, job, "out of memory");
        return;
    }
    r.status = job->status;
    r.occurred_ms = job->occurred_ms;
    r.attempts = job->attempts;
    r.due_ms = job->retry_due_wall;
    r.first_attempt_ms = job->first_attempt_wall > 0 ? job->first_attempt_wall : ib_wall_ms();
    r.first_seen_ms = job->first_seen_wall;
    r.history = job->history;
    r.history_dropped = job->history_dropped;
    r.source_topic = job->origin_topic;
    r.source_partition = job->origin_partition;
    r.source_offset = job->origin_offset;
    char *value = rw_retry_rec_encode(&r); /* r borrows everything: no clear */
    if (value == NULL) {
        produce_later(d, job, "out of memory");
        return;
    }
    snprintf(ce_id, sizeof(ce_id), "retry:%s:%d:%" PRId64 ":%u", job->origin_topic,
             (int)job->origin_partition, job->origin_offset, job->attempts);
    job->state = JOB_PRODUCING;
    /* Partition p like the status event: the owner of status p reads it back. */
    job->ticket =
        rw_producer_send(d->producer, d->cfg->topic_retry, job->partition, job->interview_id, value,
                         strlen(value), ce_id, "interview.callback.retry", job, why, sizeof(why));
    free(value);
    if (job->ticket == NULL)
        produce_later(d, job, why);
}

static void on_produced(void *owner, rd_kafka_resp_err_t err, void *opaque)
{
    rw_dispatcher_t *d = opaque;
    rw_job_t *job = owner;
    job->ticket = NULL;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ib_series_add(d->m->produce_errors, 1);
        produce_later(d, job, rd_kafka_err2str(err));
        return;
    }
    if (job->action == ACT_DLQ)
        ib_series_add(d->m->dead_letters[job->dlq_class], 1);
    else
        ib_series_add(d->m->retries_produced, 1);
    job_finish(d, job);
}

/* Transient failure or breaker deferral: the next attempt goes through the retry topic, or the
 * dead-letter topic once RETRY_MAX_AGE would be passed. */
static void schedule_retry(rw_dispatcher_t *d, rw_job_t *job, long long not_before_wall,
                           long retry_after_ms)
{
    long long now = ib_wall_ms();
    long delay = rw_retry_delay(&d->cfg->retry_schedule, job->attempts > 0 ? job->attempts : 1,
                                rw_backoff_unit(), retry_after_ms);
    long long due = now + delay;
    if (due < not_before_wall)
        due = not_before_wall;
    if (job->first_attempt_wall == 0)
        job->first_attempt_wall = now;
    if (due > job->first_attempt_wall + d->cfg->retry_max_age_ms) {
        char reason[400];
        char first[40];
        const char *last = "no attempt";
        size_t n = job->history != NULL ? json_array_size(job->history) : 0;
        char lastbuf[200];
        if (n > 0) {
            json_t *h = json_array_get(job->history, n - 1);
            json_t *st = json_object_get(h, "http_status");
            if (json_is_integer(st))
                snprintf(lastbuf, sizeof(lastbuf), "HTTP %lld", (long long)json_integer_value(st));
            else
                snprintf(lastbuf, sizeof(lastbuf), "%.150s",
                         ib_json_str(h, "error") ? ib_json_str(h, "error") : "?");
            last = lastbuf;
        }
        ib_format_rfc3339(job->first_attempt_wall, first, sizeof(first));
        snprintf(reason, sizeof(reason),
                 "retries exhausted: RETRY_MAX_AGE (%ld ms) since the first attempt at %s; %u "
                 "attempts, last: %s",
                 d->cfg->retry_max_age_ms, first, job->attempts, last);
        dead_letter(d, job, RW_DLQ_EXHAUSTED, reason);
        return;
    }
    job->action = ACT_RETRY;
    job->retry_due_wall = due;
    produce_retry(d, job);
}

/* -- sending ----------------------------------------------------------------------------------*/

static void send_job(rw_dispatcher_t *d, rw_job_t *job)
{
    if (d->stopping) {
        /* Shutdown: hand it over, due now, no attempt counted. */
        schedule_retry(d, job, 0, 0);
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
    job->state = JOB_SENDING;
    rw_sender_submit(d->sender, &job->send);
}

/* A state that passed the ordering gate: send it now, or wait behind the interview's PUT. */
static void enqueue(rw_dispatcher_t *d, rw_job_t *job)
{
    slot_t *s = slot_get(d, job->interview_id);
    if (s == NULL) {
        /* Out of memory: not stored, look at it again. */
        rw_consumer_backoff(&d->consumer, job->src, job->partition, job->offset, 1000);
        job_free(d, job);
        return;
    }
    if (s->inflight == NULL) {
        s->inflight = job;
        send_job(d, job);
        return;
    }
    rw_job_t *ahead = s->queued != NULL ? s->queued : s->inflight;
    if (ib_status_compare(ahead->status, ahead->occurred_ms, job->status, job->occurred_ms) <= 0) {
        job_superseded(d, job, "the same or a newer state is already on its way");
        return;
    }
    if (s->queued != NULL) {
        rw_job_t *old = s->queued;
        s->queued = NULL;
        job_superseded(d, old, "replaced by a newer state while waiting");
    }
    s->queued = job;
    job->state = JOB_QUEUED;
}

/* The ordering gate: is this state still worth sending? */
static void admit(rw_dispatcher_t *d, rw_job_t *job)
{
    rw_order_t o = rw_join_order(d->join, job->interview_id, job->status, job->occurred_ms, 1);
    if (o == RW_ORDER_OLDER) {
        job_superseded(d, job, "a newer state of this interview is known");
        return;
    }
    enqueue(d, job);
}

static void history_add(rw_job_t *job, const rw_delivery_t *r)
{
    rw_retry_rec_t tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.history = job->history;
    tmp.history_dropped = job->history_dropped;
    char err[256];
    rw_delivery_describe(r, err, sizeof(err));
    if (rw_retry_rec_add_history(&tmp, ib_wall_ms(), job->attempts,
                                 r->refused[0] ? 0 : r->http_status, err, r->excerpt) != IB_OK)
        IB_WARN("out of memory recording a failure in the history");
    job->history = tmp.history;
    job->history_dropped = tmp.history_dropped;
}

static void on_send_done(rw_send_t *x, void *opaque)
{
    rw_dispatcher_t *d = opaque;
    rw_job_t *job = x->owner;
    const rw_delivery_t *r = &x->d;
    slot_t *s = slot_find(d, job->interview_id);
    rw_outcome_t outcome = r->outcome;
    char id[RW_JOIN_MAX_ID_LEN + 1];

    /* The job may be freed below, and with it (when empty) the slot: look it up again then. */
    snprintf(id, sizeof(id), "%s", job->interview_id);
    ib_series_add(d->m->deliveries[outcome], 1);
    if (s != NULL && s->inflight == job)
        s->inflight = NULL;
    if (job->doomed) {
        job_free(d, job);
        return;
    }
    json_t *f = job_fields(job);
    if (f != NULL) {
        json_object_set_new(f, "outcome", json_string(rw_outcome_name(outcome)));
        json_object_set_new(f, "http_status", json_integer(r->http_status));
        json_object_set_new(f, "elapsed_ms", json_integer(r->elapsed_ms));
        if (outcome != RW_OUTCOME_SUCCESS && r->error[0] != '\0')
            json_object_set_new(f, "error", json_string(r->error));
        if (outcome != RW_OUTCOME_SUCCESS && r->excerpt[0] != '\0')
            json_object_set_new(f, "response_excerpt", json_string(r->excerpt));
    }
    switch (outcome) {
    case RW_OUTCOME_SUCCESS:
        ib_log_fields(IB_LOG_INFO, f, "callback delivered");
        ib_series_observe(d->m->attempts, (double)(job->attempts + 1));
        ib_series_observe(d->m->put_seconds, (double)r->elapsed_ms / 1000.0);
        if (job->first_seen_wall > 0)
            ib_series_observe(d->m->latency,
                              (double)(ib_wall_ms() - job->first_seen_wall) / 1000.0);
        job_finish(d, job);
        break;
    case RW_OUTCOME_PERMANENT: {
        char reason[400];
        char what[256];
        job->attempts++;
        history_add(job, r);
        rw_delivery_describe(r, what, sizeof(what));
        ib_log_fields(IB_LOG_ERROR, f, "callback failed permanently");
        snprintf(reason, sizeof(reason), "%s: %s",
                 r->refused[0] ? "callback refused" : "permanent callback failure", what);
        dead_letter(d, job, r->refused[0] ? RW_DLQ_CALLBACK_REFUSED : RW_DLQ_PERMANENT_HTTP,
                    reason);
        break;
    }
    case RW_OUTCOME_TRANSIENT:
        job->attempts++;
        history_add(job, r);
        ib_log_fields(IB_LOG_WARN, f, "callback failed (transient)");
        if (s != NULL && s->queued != NULL)
            job_superseded(d, job, "a newer state is waiting to be sent");
        else
            schedule_retry(d, job, 0, r->retry_after_ms);
        break;
    case RW_OUTCOME_DEFERRED: {
        long long wait = x->retry_at - ib_now_ms();
        long long not_before = ib_wall_ms() + (wait > 0 ? wait : 0) +
                               (long long)(rw_backoff_unit() * (double)(wait > 0 ? wait : 0) * 0.2);
        ib_log_fields(IB_LOG_INFO, f, "host's circuit breaker is open; deferred");
        if (s != NULL && s->queued != NULL)
            job_superseded(d, job, "a newer state is waiting to be sent");
        else
            schedule_retry(d, job, not_before, 0);
        break;
    }
    case RW_OUTCOME_ABORTED:
        ib_log_fields(IB_LOG_INFO, f, "in-flight callback handed to the retry topic");
        schedule_retry(d, job, 0, 0);
        break;
    }
    json_decref(f);
    s = slot_find(d, id);
    if (s != NULL && s->inflight == NULL && s->queued != NULL) {
        rw_job_t *next = s->queued;
        s->queued = NULL;
        s->inflight = next;
        send_job(d, next);
    }
    if (s != NULL)
        slot_drop_if_empty(d, s);
}

/* -- Kafka messages ---------------------------------------------------------------------------*/

static void handle_requested(rw_dispatcher_t *d, const rd_kafka_message_t *msg)
{
    char why[256];
    char id[RW_JOIN_MAX_ID_LEN + 1];
    rw_join_state_t state = RW_JOIN_OK;

    ib_series_add(d->m->requested_events, 1);
    if (rw_join_ingest(d->join, d->tenants, d->cfg->allow_insecure_callbacks, msg->partition,
                       msg->key, msg->key_len, msg->payload, msg->len, &state, id, why,
                       sizeof(why)) != IB_OK) {
        /* Not dead-lettered: this topic is re-read from the start on every assignment, so a
         * dead letter would repeat on each restart. A status event for it is dead-lettered. */
        ib_series_add(d->m->requested_invalid, 1);
        json_t *f = json_pack("{s:s,s:i,s:I}", "topic", d->cfg->topic_requested, "partition",
                              (int)msg->partition, "offset", (json_int_t)msg->offset);
        if (f != NULL && id[0] != '\0')
            json_object_set_new(f, "interview_id", json_string(id));
        ib_log_fields(IB_LOG_WARN, f, "invalid requested event skipped: %s", why);
        json_decref(f);
    }
    rw_consumer_requested_seen(&d->consumer, msg->partition, msg->offset, 0);
}

/* What the dispatcher keeps of a valid status event. */
typedef struct {
    char *interview_id; /* malloc'd */
    ib_status_t status;
    long long occurred_ms;
    unsigned coercions;
    char *body; /* malloc'd: Workable's payload, compact; NULL unless asked for */
    size_t body_len;
} status_parse_t;

static void status_parse_clear(status_parse_t *sp)
{
    free(sp->interview_id);
    free(sp->body);
    memset(sp, 0, sizeof(*sp));
}

/* ib_status_event_parse of exactly len bytes, and the payload's bytes when want_body; the trees
 * live and die in the thread's jansson arena. IB_ERR with the reason in errstr (*sp zeroed). */
static ib_rc_t status_parse(const void *buf, size_t len, int want_body, status_parse_t *sp,
                            char *errstr, size_t errstr_size)
{
    ib_status_event_t ev;
    ib_rc_t rc = IB_ERR;
    memset(sp, 0, sizeof(*sp));
    ib_json_arena_begin();
    if (ib_status_event_parse(buf, len, &ev, errstr, errstr_size) != IB_OK)
        goto done; /* ev is zeroed */
    sp->interview_id = ev.interview_id;
    ev.interview_id = NULL; /* now owned by sp */
    sp->status = ev.status;
    sp->occurred_ms = ev.occurred_ms;
    sp->coercions = ev.coercions;
    if (want_body) {
        sp->body = ib_json_dump_malloc(ev.payload, 0, &sp->body_len);
        if (sp->body == NULL) {
            snprintf(errstr, errstr_size, "out of memory");
            status_parse_clear(sp);
            goto clear;
        }
    }
    rc = IB_OK;
clear:
    ib_status_event_clear(&ev);
done:
    ib_json_arena_end();
    return rc;
}

/* Fills the job's event, status and payload body from a status event's bytes (len) and their
 * parse (sp: the body and the id are taken). The event's tree is built again only when a retry
 * record or a dead letter needs it (job_event): most jobs never do. */
static ib_rc_t job_set_event(rw_job_t *job, const void *buf, size_t len, status_parse_t *sp,
                             char *errstr, size_t errstr_size)
{
    job->event_text = malloc(len + 1);
    if (job->event_text == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return IB_ERR;
    }
    memcpy(job->event_text, buf, len);
    job->event_text[len] = '\0';
    job->event_len = len;
    if (job->interview_id == NULL) {
        job->interview_id = sp->interview_id;
        sp->interview_id = NULL;
    } else if (strcmp(job->interview_id, sp->interview_id) != 0) {
        snprintf(errstr, errstr_size, "event interview_id differs from the record's");
        return IB_ERR;
    }
    job->body = sp->body;
    job->body_len = sp->body_len;
    sp->body = NULL;
    job->status = sp->status;
    job->occurred_ms = sp->occurred_ms;
    return IB_OK;
}

static void handle_status(rw_dispatcher_t *d, const rd_kafka_message_t *msg)
{
    char why[256];
    char reason[400];
    rw_admit_t a = rw_consumer_admit(&d->consumer, RW_T_STATUS, msg->partition, msg->offset);
    if (a == RW_ADMIT_SKIP)
        return;
    if (a == RW_ADMIT_HISTORY) {
        status_parse_t sp;
        if (msg->payload != NULL &&
            status_parse(msg->payload, msg->len, 0, &sp, why, sizeof(why)) == IB_OK) {
            (void)rw_join_order(d->join, sp.interview_id, sp.status, sp.occurred_ms, 1);
            status_parse_clear(&sp);
        }
        rw_consumer_history_seen(&d->consumer, msg->partition, msg->offset, 0);
        return;
    }

    /* Live: an unknown interview may mean requested p is behind; check before tracking. */
    status_parse_t ev;
    rw_join_view_t view;
    int parsed = msg->payload != NULL && msg->len > 0 &&
                 status_parse(msg->payload, msg->len, 1, &ev, why, sizeof(why)) == IB_OK;
    if (!parsed && (msg->payload == NULL || msg->len == 0))
        snprintf(why, sizeof(why), "empty value");
    if (parsed && !rw_join_get(d->join, ev.interview_id, &view)) {
        char check[256];
        ib_rc_t rc = rw_consumer_recheck_requested(&d->consumer, msg->partition, msg->offset, check,
                                                   sizeof(check));
        if (rc == IB_AGAIN || rc == IB_ERR) {
            json_t *f = json_pack("{s:s,s:i,s:I,s:s}", "topic", d->cfg->topic_status, "partition",
                                  (int)msg->partition, "offset", (json_int_t)msg->offset,
                                  "interview_id", ev.interview_id);
            if (rc == IB_AGAIN) {
                ib_log_fields(IB_LOG_INFO, f, "interview not known yet; waiting for %s",
                              d->cfg->topic_requested);
            } else {
                ib_log_fields(IB_LOG_WARN, f, "cannot check the join (%s); will retry", check);
                rw_consumer_backoff(&d->consumer, RW_T_STATUS, msg->partition, msg->offset, 1000);
            }
            json_decref(f);
            status_parse_clear(&ev);
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
    if (rw_consumer_track(&d->consumer, RW_T_STATUS, msg->partition, msg->offset, &gen) != IB_OK) {
        if (parsed)
            status_parse_clear(&ev);
        return;
    }
    ib_series_add(d->m->status_events, 1);
    rw_job_t *job = job_new(d, RW_T_STATUS, msg);
    if (job == NULL) {
        if (parsed)
            status_parse_clear(&ev);
        rw_consumer_done(&d->consumer, RW_T_STATUS, msg->partition, msg->offset, gen);
        IB_ERROR("out of memory: status event at offset %" PRId64 " dropped", msg->offset);
        return;
    }
    job->gen = gen;
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(msg, &tstype);
    job->first_seen_wall = ts > 0 ? ts : ib_wall_ms();
    if (!parsed) {
        job_keep_raw(job, msg);
        snprintf(reason, sizeof(reason), "invalid status event: %s", why);
        dead_letter(d, job, RW_DLQ_INVALID_EVENT, reason);
        return;
    }
    unsigned coercions = ev.coercions;
    ib_rc_t set = job_set_event(job, msg->payload, msg->len, &ev, why, sizeof(why));
    status_parse_clear(&ev);
    if (set != IB_OK) {
        job_keep_raw(job, msg);
        snprintf(reason, sizeof(reason), "invalid status event: %s", why);
        dead_letter(d, job, RW_DLQ_INVALID_EVENT, reason);
        return;
    }
    ib_series_add(d->m->coercions, coercions);
    if (reason[0] != '\0') {
        dead_letter(d, job, RW_DLQ_UNKNOWN_INTERVIEW, reason);
        return;
    }
    rw_join_get(d->join, job->interview_id, &view);
    if (view.tenant >= d->tenants->count) {
        dead_letter(d, job, RW_DLQ_CALLBACK_REFUSED, "tenant no longer configured");
        return;
    }
    job->tenant = &d->tenants->tenants[view.tenant];
    job->callback_url = strdup(view.callback_url);
    if (view.state != RW_JOIN_OK || job->callback_url == NULL) {
        snprintf(reason, sizeof(reason), "callback refused: %s",
                 job->callback_url == NULL ? "out of memory" : rw_join_state_reason(view.state));
        dead_letter(d, job, RW_DLQ_CALLBACK_REFUSED, reason);
        return;
    }
    admit(d, job);
}

static void handle_retry(rw_dispatcher_t *d, const rd_kafka_message_t *msg)
{
    char why[256];
    char reason[400];
    rw_retry_rec_t r;
    unsigned gen = 0;

    if (rw_consumer_admit(&d->consumer, RW_T_RETRY, msg->partition, msg->offset) != RW_ADMIT_LIVE)
        return;
    if (rw_consumer_track(&d->consumer, RW_T_RETRY, msg->partition, msg->offset, &gen) != IB_OK)
        return;
    rw_job_t *job = job_new(d, RW_T_RETRY, msg);
    if (job == NULL) {
        rw_consumer_done(&d->consumer, RW_T_RETRY, msg->partition, msg->offset, gen);
        IB_ERROR("out of memory: retry record at offset %" PRId64 " dropped", msg->offset);
        return;
    }
    job->gen = gen;
    if (rw_retry_rec_decode(msg->payload, msg->len, &r, why, sizeof(why)) != IB_OK) {
        job_keep_raw(job, msg);
        free(job->origin_topic);
        job->origin_topic = strdup(d->cfg->topic_retry);
        dead_letter(d, job, RW_DLQ_INVALID_EVENT, why);
        return;
    }
    job->interview_id = r.interview_id;
    r.interview_id = NULL;
    job->callback_url = r.callback_url;
    r.callback_url = NULL;
    job->attempts = r.attempts;
    job->first_attempt_wall = r.first_attempt_ms;
    job->first_seen_wall = r.first_seen_ms;
    job->history = r.history;
    r.history = NULL;
    job->history_dropped = r.history_dropped;
    job->due_wall = r.due_ms;
    if (r.source_topic != NULL && r.source_partition >= 0 && r.source_offset >= 0) {
        free(job->origin_topic);
        job->origin_topic = r.source_topic;
        r.source_topic = NULL;
        job->origin_partition = r.source_partition;
        job->origin_offset = r.source_offset;
    }
    char *text = json_dumps(r.event, JSON_COMPACT);
    status_parse_t sp;
    ib_rc_t ok = IB_ERR;
    if (text == NULL) {
        snprintf(why, sizeof(why), "out of memory");
    } else if (status_parse(text, strlen(text), 1, &sp, why, sizeof(why)) == IB_OK) {
        ok = job_set_event(job, text, strlen(text), &sp, why, sizeof(why));
        status_parse_clear(&sp);
    }
    free(text);
    job->tenant = ib_tenants_find(d->tenants, r.tenant);
    if (ok != IB_OK) {
        snprintf(reason, sizeof(reason), "invalid status event in retry record: %s", why);
        rw_retry_rec_clear(&r);
        dead_letter(d, job, RW_DLQ_INVALID_EVENT, reason);
        return;
    }
    if (job->tenant == NULL) {
        snprintf(reason, sizeof(reason), "tenant '%.64s' no longer configured", r.tenant);
        rw_retry_rec_clear(&r);
        dead_letter(d, job, RW_DLQ_CALLBACK_REFUSED, reason);
        return;
    }
    rw_retry_rec_clear(&r);
    rw_join_state_t st =
        rw_callback_url_check(job->tenant, job->callback_url, d->cfg->allow_insecure_callbacks);
    if (st != RW_JOIN_OK) {
        snprintf(reason, sizeof(reason), "callback refused: %s", rw_join_state_reason(st));
        dead_letter(d, job, RW_DLQ_CALLBACK_REFUSED, reason);
        return;
    }
    if (job->due_wall <= ib_wall_ms()) {
        admit(d, job);
        return;
    }
    job->state = JOB_WAIT_DUE;
    if (heap_push(d, job) != IB_OK) {
        rw_consumer_backoff(&d->consumer, RW_T_RETRY, msg->partition, msg->offset, 1000);
        job_free(d, job);
    }
}

static void run_due(rw_dispatcher_t *d)
{
    long long now = ib_wall_ms();
    while (d->heap_len > 0 && d->heap[0]->due_wall <= now) {
        rw_job_t *job = d->heap[0];
        heap_remove(d, job);
        if (job->state == JOB_PRODUCE_AGAIN) {
            if (job->action == ACT_DLQ)
                produce_dlq(d, job);
            else
                produce_retry(d, job);
        } else {
            admit(d, job);
        }
    }
}

static int doomed_pred(void *owner, void *arg)
{
    (void)arg;
    return ((rw_job_t *)owner)->doomed;
}

/* Partitions are being revoked: their work is dropped, unstored; the next owner redoes it. */
static void on_revoke(const rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    rw_dispatcher_t *d = opaque;
    size_t n = 0;
    for (rw_job_t *job = d->jobs; job != NULL; job = job->all_next) {
        for (int i = 0; i < parts->cnt; i++) {
            if (parts->elems[i].partition == job->partition &&
                rw_consumer_topic_is(&d->consumer, parts->elems[i].topic, job->src)) {
                job->doomed = 1;
                n++;
                break;
            }
        }
    }
    if (n == 0)
        return;
    rw_sender_abort(d->sender, doomed_pred, NULL);
    rw_job_t *job = d->jobs;
    while (job != NULL) {
        rw_job_t *next = job->all_next;
        if (job->doomed)
            job_free(d, job);
        job = next;
    }
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
    rw_sender_each_host(d->sender, ib_now_ms(), breaker_gauge, d);
    ib_series_set(d->m->inflight, (double)rw_sender_inflight(d->sender));
    ib_series_set(d->m->queued, (double)rw_sender_queued(d->sender));
    ib_series_set(d->m->retry_backlog, (double)d->heap_len);
    /* The heap is ordered by due time, not age: one linear pass per metrics period. */
    long long oldest_first = 0;
    for (size_t i = 0; i < d->heap_len; i++) {
        long long first = d->heap[i]->first_attempt_wall;
        if (first > 0 && (oldest_first == 0 || first < oldest_first))
            oldest_first = first;
    }
    ib_series_set(d->m->retry_oldest_age, oldest_first > 0 && oldest_first < now
                                              ? (double)(now - oldest_first) / 1000.0
                                              : 0.0);
    if (d->heap_len > 0) {
        long long due = d->heap[0]->due_wall;
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
        if (t == RW_T_REQUESTED)
            rw_consumer_requested_seen(&d->consumer, msg->partition, msg->offset, 1);
        else if (t == RW_T_STATUS)
            rw_consumer_history_seen(&d->consumer, msg->partition, msg->offset, 1);
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

static int loop_wait(rw_dispatcher_t *d, int more)
{
    if (more)
        return 0;
    int wait = rw_consumer_tick(&d->consumer, LOOP_MAX_WAIT_MS);
    if (d->heap_len > 0) {
        long long until = d->heap[0]->due_wall - ib_wall_ms();
        if (until < wait)
            wait = until < 0 ? 0 : (int)until;
    }
    return wait;
}

static void *run(void *arg)
{
    rw_dispatcher_t *d = arg;
    int more = 0;
    IB_INFO("worker loop started (group %s; topics %s, %s, %s)", d->cfg->group_id,
            d->cfg->topic_requested, d->cfg->topic_status, d->cfg->topic_retry);
    while (!atomic_load(&d->stop) && !atomic_load(&d->failed)) {
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
                    handle_requested(d, msg);
                    break;
                case RW_T_STATUS:
                    handle_status(d, msg);
                    break;
                case RW_T_RETRY:
                    handle_retry(d, msg);
                    break;
                case RW_T_NONE:
                    break;
                }
            }
            rd_kafka_message_destroy(msg);
        }
        run_due(d);
        if (ib_now_ms() >= d->next_metrics) {
            update_metrics(d);
            d->next_metrics = ib_now_ms() + METRICS_EVERY_MS;
        }
    }

    /* Shutdown: finish or hand off what is in flight, then make the handed-off work durable. */
    d->stopping = 1;
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
    for (size_t i = 0; i < d->heap_len;) {
        rw_job_t *job = d->heap[i];
        if (job->state == JOB_PRODUCE_AGAIN) {
            heap_remove(d, job);
            if (job->action == ACT_DLQ)
                produce_dlq(d, job);
            else
                produce_retry(d, job);
            i = 0;
        } else {
            i++;
        }
    }
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
    d->join = rw_join_new();
    if (d->join == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    rw_sender_opts_t so;
    memset(&so, 0, sizeof(so));
    so.delivery.timeout_ms = cfg->callback_timeout_ms;
    so.delivery.connect_timeout_ms =
        cfg->callback_timeout_ms < 10000 ? cfg->callback_timeout_ms : 10000;
    so.delivery.allow_http = cfg->allow_insecure_callbacks;
    so.max_inflight = (unsigned)cfg->max_inflight;
    so.per_host = (unsigned)cfg->per_host;
    so.breaker.threshold = (unsigned)cfg->breaker_threshold;
    so.breaker.cooldown_ms = cfg->breaker_cooldown_ms;
    so.dns_ttl_ms = 30000;
    d->sender = rw_sender_new(&so, on_send_done, d, errstr, errstr_size);
    if (d->sender == NULL)
        goto fail;
    d->producer = rw_producer_new(cfg->kafka_bootstrap, on_produced, d, errstr, errstr_size);
    if (d->producer == NULL)
        goto fail;
    rw_producer_wake_fd(d->producer, d->wake[1]);
    int n_status = rw_producer_partitions(d->producer, cfg->topic_status, 5000);
    int n_retry = rw_producer_partitions(d->producer, cfg->topic_retry, 5000);
    int n_req = rw_producer_partitions(d->producer, cfg->topic_requested, 5000);
    if (n_status > 0 &&
        ((n_retry > 0 && n_retry != n_status) || (n_req > 0 && n_req != n_status))) {
        snprintf(errstr, errstr_size,
                 "partition counts differ: %s %d, %s %d, %s %d; they must be equal "
                 "(co-partitioned join and retry)",
                 cfg->topic_requested, n_req, cfg->topic_status, n_status, cfg->topic_retry,
                 n_retry);
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
    for (rw_job_t *job = d->jobs; job != NULL; job = job->all_next)
        job->doomed = 1;
    if (d->sender != NULL)
        rw_sender_abort(d->sender, NULL, NULL);
    while (d->jobs != NULL)
        job_free(d, d->jobs);
    rw_sender_free(d->sender);
    rw_producer_free(d->producer, 5000);
    rw_join_free(d->join);
    free(d->heap);
    for (size_t i = 0; i < d->slot_cap; i++) {
        slot_t *s = d->slots[i];
        while (s != NULL) {
            slot_t *n = s->next;
            free(s);
            s = n;
        }
    }
    free(d->slots);
    if (d->wake[0] >= 0)
        close(d->wake[0]);
    if (d->wake[1] >= 0)
        close(d->wake[1]);
    free(d);
}
