/* Workable's result payload, built from an interviews.status event. Used by the worker (PUT body)
 * and by the gateway (GET /interviews/{id}), so both send the same bytes for the same event. */
#ifndef IB_PAYLOAD_H
#define IB_PAYLOAD_H

#include <jansson.h>

#include "ib/common.h"

typedef enum {
    IB_STATUS_PENDING = 0,
    IB_STATUS_COMPLETED,
    IB_STATUS_DECLINED, /* also "rejected" on input */
    IB_STATUS_EXPIRED
} ib_status_t;

/* 1 for completed, declined, expired. */
int ib_status_terminal(ib_status_t s);
const char *ib_status_name(ib_status_t s); /* Workable's word: "declined" for rejected */
ib_rc_t ib_status_parse(const char *s, ib_status_t *out) IB_WUR;

/* A validated status event. All strings owned by the struct. */
typedef struct {
    char *interview_id;
    ib_status_t status;
    long long occurred_ms; /* wall ms parsed from occurred_at (RFC 3339) */
    json_t *payload;       /* new reference: Workable's payload for this event */
    json_t *shared_link;   /* new reference or NULL: {"url","ttl"(string, optional),"ttl_units"} */
    unsigned coercions;    /* values in details rewritten to fit the contract's form */
} ib_status_event_t;

/* Largest status event value accepted (bytes). */
#define IB_STATUS_EVENT_MAX_BYTES (1024 * 1024)

/* Validates a status event value (the whole Kafka value) and builds Workable's payload:
 * {"results_url"?, "status", "interview"? {"score" (string), "grade"?, "summary"?, "details"?,
 * "duration"?}, "attachments"? [{"description","url"}]}. Fields absent in the event are absent
 * in the payload. On a permanent problem (not JSON, missing interview_id/status/occurred_at,
 * unknown status, bad score or grade, non-https attachment) returns IB_ERR with the reason in
 * errstr; ev is then zeroed.
 *
 * details are brought into Workable's form (at most two levels of objects, no arrays) by one
 * lossless rule: a first-level scalar or a second-level scalar is kept as it is; any array, and
 * any object below the second level, is replaced by its compact JSON text as a string (so
 * {"a":{"b":{"c":1}}} becomes {"a":{"b":"{\"c\":1}"}} and {"tags":["x","y"]} becomes
 * {"tags":"[\"x\",\"y\"]"}); each replacement counts one in ev->coercions. */
ib_rc_t ib_status_event_parse(const char *buf, size_t len, ib_status_event_t *ev, char *errstr,
                              size_t errstr_size) IB_WUR;
void ib_status_event_clear(ib_status_event_t *ev);

/* The ordering rule of docs/DESIGN.md ("Ordering") for one interview, as a total order so that the
 * result never depends on the order events arrive in: a terminal status beats pending ("pending
 * never replaces a terminal status"), then the later occurred_at wins, then (same instant) the
 * larger ib_status_t value. Returns > 0 when (next, next_ms) is newer than (cur, cur_ms), 0 when
 * the same state, < 0 when older. */
int ib_status_compare(ib_status_t cur, long long cur_ms, ib_status_t next, long long next_ms);
/* 1 when (next, next_ms) replaces (cur, cur_ms): ib_status_compare(...) > 0. */
int ib_status_supersedes(ib_status_t cur, long long cur_ms, ib_status_t next, long long next_ms);

/* Parses RFC 3339 ("2026-11-28T20:00:00Z", fractions and offsets allowed) into wall ms. */
ib_rc_t ib_rfc3339_parse(const char *s, long long *wall_ms) IB_WUR;

#endif
