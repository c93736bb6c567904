/* One unit of the worker's work: a consumed status event or retry record, from consumption until
 * its offset may be stored. This file holds the job's data and what can be said about a job on
 * its own: parsing its event, the fields of its log lines, its history of failed attempts, and
 * the retry record or dead letter that carries it to Kafka. Where a job waits (the dispatcher's
 * list, due-time heap and per-interview slots) is the dispatcher's business. */
#ifndef RW_JOB_H
#define RW_JOB_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "consumer.h"
#include "delivery.h"
#include "ib/common.h"
#include "ib/log.h"
#include "ib/heap.h"
#include "ib/payload.h"
#include "ib/tenants.h"
#include "metrics.h"
#include "producer.h"
#include "retryrec.h"
#include "sender.h"

/* A dead letter larger than this is written without the source value (it stays at the source
 * offset): librdkafka's default message.max.bytes is 1,000,000 and the broker's 1,048,588, and
 * a record that can never be produced would be retried forever and hold its partition's
 * offset back. */
#define RW_DEAD_LETTER_MAX_BYTES 900000

typedef enum {
    RW_JOB_NEW = 0,
    RW_JOB_WAIT_DUE,     /* a retry record held until its due time (heap) */
    RW_JOB_QUEUED,       /* behind the interview's in-flight PUT */
    RW_JOB_SENDING,      /* in the sender */
    RW_JOB_PRODUCING,    /* retry record or dead letter waiting for Kafka's acknowledgement */
    RW_JOB_PRODUCE_AGAIN /* producing failed; tried again at due (heap) */
} rw_job_state_t;

/* What is being produced for the job. */
typedef enum { RW_ACT_NONE = 0, RW_ACT_RETRY, RW_ACT_DLQ, RW_ACT_REPARTITION } rw_job_action_t;

/* Headers of a record moved to TOPIC_STATUS_REPARTITION: where it was consumed (decimal
 * partition and offset). Dead letters and retry records of its job name that position. */
#define RW_HDR_SOURCE_TOPIC     "ib_source_topic"
#define RW_HDR_SOURCE_PARTITION "ib_source_partition"
#define RW_HDR_SOURCE_OFFSET    "ib_source_offset"

typedef struct rw_job {
    LIST_ENTRY(rw_job) all;  /* the dispatcher's list of every job */
    ib_heap_node_t due_node; /* in the dispatcher's heap, ordered by due_wall */
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
    json_t *event; /* event_text parsed, only when needed (rw_job_event) */
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
    rw_job_state_t state;
    rw_job_action_t action;
    char *dlq_reason;
    rw_dlq_class_t dlq_class;
    long long retry_due_wall; /* RW_ACT_RETRY: the record's due time */
    /* RW_ACT_REPARTITION: the record's partition and headers (owned); its value is raw */
    int32_t fwd_partition;
    rd_kafka_headers_t *fwd_headers;
    rw_ticket_t *ticket;
    int doomed;
    rw_send_t send;
} rw_job_t;

/* A new job for msg consumed from src (msg borrowed: only its position is kept), its origin the
 * message itself on origin_topic (copied; a copy that fails is tolerated and logged as "?").
 * NULL when out of memory. */
rw_job_t *rw_job_new(rw_topic_t src, const rd_kafka_message_t *msg,
                     const char *origin_topic) IB_WUR;
/* Frees the job's data; accepts NULL. The caller has taken it out of every list, heap and slot
 * and cancelled its ticket. */
void rw_job_free(rw_job_t *job);

/* Keeps a copy of msg's value and key (best effort) for the dead letter of an invalid message. */
void rw_job_keep_raw(rw_job_t *job, const rd_kafka_message_t *msg);
/* Makes the job the move of msg (consumed from TOPIC_STATUS, named origin_topic) to partition of
 * the repartition topic: keeps a copy of its value, its headers with the RW_HDR_SOURCE_* ones
 * set to msg's position (any such header msg had is replaced), and id (copied) as its
 * interview_id and key. IB_ERR when out of memory (the job is then unchanged but for what it
 * keeps, freed with it). */
ib_rc_t rw_job_set_forward(rw_job_t *job, const rd_kafka_message_t *msg, const char *origin_topic,
                           const char *id, int32_t partition) IB_WUR;
/* A job consumed from the repartition topic: takes its origin from msg's RW_HDR_SOURCE_*
 * headers when they are all present and well-formed (else it stays msg's own position). */
void rw_job_origin_from_headers(rw_job_t *job, const rd_kafka_message_t *msg);
/* The job's status event as a tree (borrowed), parsed on first use; NULL without one or when out
 * of memory. */
json_t *rw_job_event(rw_job_t *job);
/* New object of the job's log fields (topic, partition, offset, interview_id, tenant, status,
 * attempt), or NULL when out of memory. */
json_t *rw_job_fields(const rw_job_t *job);
/* The same log fields as rw_job_fields, in the same order, into kv[RW_JOB_KV] (borrowing the
 * job's strings: valid while the job is), for ib_log_kv; the number written. */
#define RW_JOB_KV 7
size_t rw_job_kv(const rw_job_t *job, ib_log_kv_t kv[RW_JOB_KV]);
/* Records one failed attempt (r: its results) in the job's history; logs when out of memory. */
void rw_job_history_add(rw_job_t *job, const rw_delivery_t *r, long long now_wall);
/* "HTTP 503" or the error of the job's last recorded failure (at most 150 characters of it), or
 * "no attempt", into buf. */
void rw_job_last_failure(const rw_job_t *job, char *buf, size_t size);

/* What the worker keeps of a valid status event. */
typedef struct {
    char *interview_id; /* malloc'd */
    ib_status_t status;
    long long occurred_ms;
    unsigned coercions;
    /* malloc'd compact JSON of ib_status_event_t.fixes (what was repaired or left out), NULL when
     * nothing was; fix_counts: how many of each ib_fix_kind_t */
    char *fixes;
    unsigned fix_counts[IB_FIX_KIND_COUNT];
    char *body; /* malloc'd: Workable's payload, compact; NULL unless asked for */
    size_t body_len;
} rw_status_parse_t;

/* ib_status_event_parse of exactly len bytes, and the payload's bytes when want_body; the trees
 * live and die in the thread's jansson arena. IB_ERR with the reason in errstr (*sp zeroed). */
ib_rc_t rw_status_parse(const void *buf, size_t len, int want_body, rw_status_parse_t *sp,
                        char *errstr, size_t errstr_size) IB_WUR;
void rw_status_parse_clear(rw_status_parse_t *sp);
/* Fills the job's event, status and payload body from a status event's bytes (len) and their
 * parse (sp: the body and the id are taken). The event's tree is built again only when a retry
 * record or a dead letter needs it (rw_job_event): most jobs never do. IB_ERR with errstr when
 * out of memory or when the event's interview_id differs from the job's. */
ib_rc_t rw_job_set_event(rw_job_t *job, const void *buf, size_t len, rw_status_parse_t *sp,
                         char *errstr, size_t errstr_size) IB_WUR;

/* Writes a declined status in the body as the job's tenant's word (declined_status), when that
 * is not "declined". IB_ERR when out of memory (the body is then unchanged). */
ib_rc_t rw_job_apply_tenant_word(rw_job_t *job) IB_WUR;

/* Fills the job from a retry record (r: interview_id, callback_url, history and source topic
 * are taken), including its event; the tenant is looked up in tenants (NULL when gone). IB_ERR
 * with errstr when the record's event is not a valid status event. */
ib_rc_t rw_job_from_retry_rec(rw_job_t *job, rw_retry_rec_t *r, const ib_tenants_t *tenants,
                              char *errstr, size_t errstr_size) IB_WUR;
/* The retry record's value for the job, due at job->retry_due_wall: new malloc'd string, NULL
 * when out of memory. The job needs a tenant and a valid event. */
char *rw_job_retry_value(rw_job_t *job, long long now_wall) IB_WUR;
/* The dead letter's value for the job (job->dlq_reason), without the source value when it would
 * exceed RW_DEAD_LETTER_MAX_BYTES: new malloc'd string, NULL when out of memory. */
char *rw_job_dead_letter_value(rw_job_t *job, long long now_wall) IB_WUR;
/* The partial record's value for the job (a dead letter of kind "partial",
 * schemas/callbacks.dlq.schema.json): the status event as consumed (value), what was repaired or
 * left out (fixes: the compact JSON of rw_status_parse_t.fixes) and the job's interview, tenant,
 * status and occurred_at. New malloc'd string, NULL when out of memory. */
char *rw_job_partial_value(const rw_job_t *job, const char *fixes, long long now_wall) IB_WUR;
/* The key a retry record or dead letter of the job is produced with (borrowed, never NULL). */
const char *rw_job_key(const rw_job_t *job);

#endif
