/* The value of a record on TOPIC_RETRY (key: the interview_id): one pending delivery, durable
 * between attempts.
 *
 *   {"interview_id", "tenant", "callback_url",
 *    "event": {the status event as consumed},
 *    "status", "occurred_at",               (ordering; also readable by operators)
 *    "attempts": n,                         (failed attempts so far)
 *    "due_at", "first_attempt_at", "first_seen_at"  (RFC 3339 UTC, ms)
 *    "history": [{"at", "attempt", "http_status" | "error", "excerpt"?}],
 *    "source": {"topic", "partition", "offset"}}   (the status event's position)
 *
 * history keeps the last RW_RETRY_HISTORY_MAX entries; "history_dropped" counts older ones. */
#ifndef RW_RETRYREC_H
#define RW_RETRYREC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ib/common.h"
#include "ib/payload.h"

#define RW_RETRY_HISTORY_MAX 32
#define RW_RETRY_MAX_BYTES   (2 * 1024 * 1024)
/* Longest interview_id accepted (the join's and the status events' bound, join.h). */
#define RW_RETRY_MAX_ID_LEN 128

typedef struct {
    char *interview_id;
    char *tenant;
    char *callback_url;
    json_t *event; /* new reference: the status event object */
    ib_status_t status;
    long long occurred_ms;
    unsigned attempts;
    long long due_ms;           /* wall */
    long long first_attempt_ms; /* wall */
    long long first_seen_ms;    /* wall: when the status event was first consumed */
    json_t *history;            /* new reference: array */
    long long history_dropped;
    char *source_topic;
    int32_t source_partition;
    int64_t source_offset;
} rw_retry_rec_t;

/* Compact JSON of r; new malloc'd string or NULL on allocation failure. */
char *rw_retry_rec_encode(const rw_retry_rec_t *r) IB_WUR;
/* Validates and decodes exactly len bytes (interview_id 1..RW_RETRY_MAX_ID_LEN bytes). IB_ERR with
 * the reason in errstr (r then zeroed). */
ib_rc_t rw_retry_rec_decode(const void *buf, size_t len, rw_retry_rec_t *r, char *errstr,
                            size_t errstr_size) IB_WUR;
void rw_retry_rec_clear(rw_retry_rec_t *r);
/* Appends {"at", "attempt", "http_status" (when > 0) or "error", "excerpt" (when not "")} to
 * r->history (created when NULL), dropping the oldest beyond RW_RETRY_HISTORY_MAX. */
ib_rc_t rw_retry_rec_add_history(rw_retry_rec_t *r, long long at_wall_ms, unsigned attempt,
                                 long http_status, const char *error, const char *excerpt) IB_WUR;

#endif
