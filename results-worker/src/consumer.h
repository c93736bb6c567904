/* Kafka side of the worker: one group consumer over TOPIC_REQUESTED, TOPIC_STATUS,
 * TOPIC_RETRY, TOPIC_STATUS_REPARTITION and TOPIC_STATE with the range assignor, so partition p of
 * requested, retry, repartition and state lands on the same member (their partition counts must
 * be equal; the
 * status topic's may differ: an event found on a partition that is not its interview's is
 * moved to the repartition topic, route.h). Per partition it keeps the catch-up gates, the
 * pause/seek state and the offset tracker.
 *
 * Assignment of partition p:
 *  - requested p and state p (the changelog: each interview's tenant, callback URL and latest
 *    state) are read from the beginning into the join; status p, repartition p and retry p wait
 *    (paused) until both reached the high watermarks taken at assignment. Neither is ever
 *    committed.
 *  - status p and repartition p are first *scanned*, each on its own, from the beginning up to
 *    their high watermarks at assignment: each event only advances the interview's latest
 *    known state (join.h rw_join_order), nothing is sent. Then each is sought back to its
 *    committed offset (or the log start) and read *live*. So after any restart every state
 *    that could have been delivered before is known before anything is sent again, and states
 *    already superseded are not sent at all.
 *  - retry p waits until status p and repartition p are live, then is read from its committed
 *    offset.
 *
 * Everything runs on the worker thread; the rebalance callback is served by rw_consumer_poll. */
#ifndef RW_CONSUMER_H
#define RW_CONSUMER_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ib/common.h"
#include "join.h"
#include "metrics.h"
#include "tracker.h"

typedef enum {
    RW_T_REQUESTED = 0,
    RW_T_STATUS = 1,
    RW_T_RETRY = 2,
    RW_T_REPARTITION = 3, /* status events moved to their interview's partition */
    RW_T_STATE = 4,       /* the interviews' changelog, read into the join like requested */
    RW_T_NONE = 5
} rw_topic_t;
#define RW_TOPICS 5

#define RW_PAUSE_GATE    1u /* waiting for requested p (status) or the rebuilt order (retry) */
#define RW_PAUSE_FULL    2u /* WORKER_MAX_PENDING messages active, or too many held */
#define RW_PAUSE_BACKOFF 4u /* Kafka trouble: look at the message again at resume_at */

typedef struct {
    int assigned;
    unsigned gen; /* changes on every assignment and revocation */
    unsigned pause;
    int64_t rewound_to; /* offset the paused partition was sought back to; -1 none */
    long long resume_at;
    rw_tracker_t track;
    size_t held; /* tracked retry records waiting for their due time (rw_consumer_hold) */
    /* requested */
    int ready;
    int64_t target; /* high watermark to reach; -1 unknown (EOF decides) */
    int64_t next;
    /* status and repartition */
    int live;
    int64_t scan_end;  /* scanning: high watermark at assignment */
    int64_t live_from; /* committed offset to seek back to after the scan */
    int repartitioned; /* status: a record was moved to the repartition topic since assigned */
} rw_tp_t;

/* Partitions of these topics are about to be revoked (list borrowed): drop their work. */
typedef void rw_revoke_fn(const rd_kafka_topic_partition_list_t *parts, void *opaque);

typedef struct {
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue;
    const rw_config_t *cfg;
    rw_join_t *join;
    rw_metrics_t *m;
    rw_tp_t *tps[RW_TOPICS]; /* per topic, indexed by partition number */
    size_t nparts;
    int32_t n_requested; /* partition count of TOPIC_REQUESTED (metadata); -1 unknown */
    rw_revoke_fn *on_revoke;
    void *opaque;
} rw_consumer_t;

ib_rc_t rw_consumer_init(rw_consumer_t *c, const rw_config_t *cfg, rw_join_t *join, rw_metrics_t *m,
                         rw_revoke_fn *on_revoke, void *opaque, char *errstr,
                         size_t errstr_size) IB_WUR;
/* Commits stored offsets, closes the consumer (leaves the group, revoke callback runs) and frees.
 * Safe on a zeroed or half-initialised struct. */
void rw_consumer_close(rw_consumer_t *c);
/* Lets new consumer events wake a poll(2) on fd. */
void rw_consumer_wake_fd(rw_consumer_t *c, int fd);

rd_kafka_message_t *rw_consumer_poll(rw_consumer_t *c, int timeout_ms);
rw_topic_t rw_consumer_topic(const rw_consumer_t *c, const rd_kafka_message_t *msg);

/* A message of a join source (RW_T_REQUESTED or RW_T_STATE) at offset was consumed (or EOF
 * reached at offset, eof=1). */
void rw_consumer_source_seen(rw_consumer_t *c, rw_topic_t t, int32_t p, int64_t offset, int eof);
/* 1 when every assigned partition has caught up and is live (join sources read, scans done). */
int rw_consumer_all_live(const rw_consumer_t *c);

typedef enum {
    RW_ADMIT_SKIP = 0, /* partition paused: the message was rewound and comes again */
    RW_ADMIT_HISTORY,  /* status or repartition scan: learn the order, send nothing; then
                          history_seen */
    RW_ADMIT_LIVE      /* handle it */
} rw_admit_t;
rw_admit_t rw_consumer_admit(rw_consumer_t *c, rw_topic_t t, int32_t p, int64_t offset);
/* A scanned message of (t, p) (status or repartition; or its EOF at offset, eof=1): ends the
 * scan at scan_end. */
void rw_consumer_history_seen(rw_consumer_t *c, rw_topic_t t, int32_t p, int64_t offset, int eof);

/* Starts tracking a live message; *gen receives the partition's generation for
 * rw_consumer_done. IB_ERR when it cannot be tracked (then it must not be handled: it was
 * rewound and comes again). */
ib_rc_t rw_consumer_track(rw_consumer_t *c, rw_topic_t t, int32_t p, int64_t offset,
                          unsigned *gen) IB_WUR;
/* The tracked message is done (delivered, superseded, or its retry record or dead letter is
 * acknowledged): stores the contiguous prefix. Ignored when gen is stale (revoked since). */
void rw_consumer_done(rw_consumer_t *c, rw_topic_t t, int32_t p, int64_t offset, unsigned gen);
/* Retry records held until a due time do not count toward WORKER_MAX_PENDING: a partition
 * full of one host's long-delayed retries must still read the records behind them (other
 * tenants' short retries). Held records are bounded on their own, at RW_HELD_PER_PENDING x
 * WORKER_MAX_PENDING per partition (memory). */
#define RW_HELD_PER_PENDING 10
/* The tracked message (t, p) of generation gen starts (held=1) or stops (held=0) waiting for a
 * due time; pauses or resumes the partition accordingly. Ignored when gen is stale. */
void rw_consumer_hold(rw_consumer_t *c, rw_topic_t t, int32_t p, unsigned gen, int held);
/* Current generation of (t, p), or 0 when not assigned. */
unsigned rw_consumer_gen(const rw_consumer_t *c, rw_topic_t t, int32_t p);

/* A live message of (t, p) (status or repartition) met an unknown interview: re-reads
 * requested p's high watermark. IB_AGAIN when requested p is behind ((t, p) gated and rewound to
 * offset); IB_OK when the interview is really unknown (errstr "" or why this worker cannot know
 * it); IB_ERR when the check failed (errstr). */
ib_rc_t rw_consumer_recheck_requested(rw_consumer_t *c, rw_topic_t t, int32_t p, int64_t offset,
                                      char *errstr, size_t errstr_size) IB_WUR;
/* Partition count of TOPIC_REQUESTED: taken from metadata on every assignment, queried again
 * (blocking, bounded) while unknown; -1 when still unknown. */
int32_t rw_consumer_requested_count(rw_consumer_t *c);
/* 1 when requested p is assigned to this worker. */
int rw_consumer_requested_local(const rw_consumer_t *c, int32_t p);
/* 1 the first time status p moves a record to the repartition topic since its assignment. */
int rw_consumer_first_repartition(rw_consumer_t *c, int32_t p);
/* Pause (t, p), rewind to offset, look again after delay_ms. */
void rw_consumer_backoff(rw_consumer_t *c, rw_topic_t t, int32_t p, int64_t offset, long delay_ms);
/* Resumes what is due; returns ms until the next backoff ends (capped at max_wait_ms). */
int rw_consumer_tick(rw_consumer_t *c, int max_wait_ms);
/* Refreshes the gauges (partitions, readiness, lag, join size). */
void rw_consumer_update_metrics(rw_consumer_t *c);
/* Messages in progress over all partitions. */
size_t rw_consumer_pending(const rw_consumer_t *c);
/* 1 when topic (a name) is topic t of this consumer. */
int rw_consumer_topic_is(const rw_consumer_t *c, const char *topic, rw_topic_t t);
/* Commits stored offsets now (synchronously); logs failures. */
void rw_consumer_commit(rw_consumer_t *c);

#endif
