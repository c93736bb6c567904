/* Kafka side of the worker: one group consumer over TOPIC_REQUESTED and TOPIC_STATUS (range
 * assignor, so partition p of both lands on the same member), the per-partition gate and
 * backoff state, offset storage, and the dead-letter producer.
 *
 * Everything here runs on the consumer thread (the rebalance callback is served by
 * rw_consumer_poll); only rw_metrics_t is read by other threads. */
#ifndef RW_CONSUMER_H
#define RW_CONSUMER_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ib/common.h"
#include "join.h"
#include "metrics.h"

typedef enum {
    RW_ST_RUNNING = 0, /* status partition flows */
    RW_ST_GATED,       /* paused until requested partition p reaches req_target */
    RW_ST_BACKOFF      /* paused and rewound to retry_offset until resume_at_ms */
} rw_st_state_t;

/* State of partition number p of both topics. */
typedef struct {
    /* interviews.requested p */
    int req_assigned;
    int req_ready;      /* caught up once since assignment (readiness) */
    int64_t req_target; /* high watermark to reach; -1 unknown (then EOF decides) */
    int64_t req_next;   /* last consumed offset + 1 (or EOF offset); -1 nothing yet */
    /* interviews.status p */
    int st_assigned;
    rw_st_state_t st_state;
    int64_t st_rewound_to;  /* offset the paused partition was sought back to; -1 none */
    int64_t retry_offset;   /* offset of the message whose attempts are counted; -1 none */
    unsigned attempt;       /* failed attempts of retry_offset so far */
    long long resume_at_ms; /* RW_ST_BACKOFF: monotonic due time */
} rw_part_t;

typedef struct {
    rd_kafka_t *rk;       /* group consumer */
    rd_kafka_t *producer; /* dead letters (acks=all) */
    const rw_config_t *cfg;
    rw_join_t *join;
    rw_metrics_t *m;
    rw_part_t *parts; /* indexed by partition number */
    size_t nparts;
} rw_consumer_t;

/* Creates the consumer (subscribed) and the producer. cfg, join and m are borrowed and must
 * outlive c. IB_ERR with the reason in errstr. */
ib_rc_t rw_consumer_init(rw_consumer_t *c, const rw_config_t *cfg, rw_join_t *join, rw_metrics_t *m,
                         char *errstr, size_t errstr_size) IB_WUR;
/* Commits stored offsets, closes the consumer (leaves the group) and frees everything. Safe on
 * a zeroed or half-initialised struct. */
void rw_consumer_close(rw_consumer_t *c);

/* Serves the dead-letter producer's events, then waits up to timeout_ms for a consumer message
 * (rebalances are handled inside). New message or NULL; destroy with rd_kafka_message_destroy. */
rd_kafka_message_t *rw_consumer_poll(rw_consumer_t *c, int timeout_ms);
/* Resumes partitions whose backoff is due and refreshes the gauges. Returns the ms until the
 * next due backoff (capped at max_wait_ms). */
int rw_consumer_tick(rw_consumer_t *c, int max_wait_ms);

int rw_consumer_is_requested(const rw_consumer_t *c, const rd_kafka_message_t *msg);
int rw_consumer_is_status(const rw_consumer_t *c, const rd_kafka_message_t *msg);

/* A requested message at offset was consumed (or EOF reached at offset, eof=1): advances the
 * partition's position and opens the status gate once caught up. */
void rw_consumer_requested_seen(rw_consumer_t *c, int32_t p, int64_t offset, int eof);

/* 1 when the status message at (p, offset) may be handled now. 0 when its partition is paused
 * (a message fetched before the pause): it is then rewound so it comes again. */
int rw_consumer_status_admit(rw_consumer_t *c, int32_t p, int64_t offset);

/* The status message at (p, offset) met an unknown interview: re-reads requested p's high
 * watermark. Returns IB_AGAIN when requested p is behind (status p is then gated and rewound to
 * offset); IB_OK when the interview is really unknown (errstr "" when requested p is caught up,
 * else why this worker cannot know it); IB_ERR when the check failed (errstr says why). */
ib_rc_t rw_consumer_recheck_requested(rw_consumer_t *c, int32_t p, int64_t offset, char *errstr,
                                      size_t errstr_size) IB_WUR;

/* Attempts counted for the status message at (p, offset), including the one about to start. */
unsigned rw_consumer_attempt(rw_consumer_t *c, int32_t p, int64_t offset);
/* The message at (p, offset) failed: pause p, rewind to offset, resume after delay_ms. */
void rw_consumer_backoff(rw_consumer_t *c, int32_t p, int64_t offset, long delay_ms);
/* The message at (p, offset) is done (delivered or dead letter acknowledged): store offset+1. */
void rw_consumer_done(rw_consumer_t *c, int32_t p, int64_t offset);

/* Produces a dead letter for msg and waits for its delivery report (bounded by the producer's
 * message.timeout.ms). key_id (may be NULL) replaces the message key. IB_OK once Kafka has it. */
ib_rc_t rw_consumer_dead_letter(rw_consumer_t *c, const rd_kafka_message_t *msg, const char *key_id,
                                const char *reason, char *errstr, size_t errstr_size) IB_WUR;

#endif
