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

/* What was done to one field of a status event so that the rest could be delivered. The first
 * four repair a value without guessing; the others leave a value out (docs/DEAD-LETTERS.md,
 * "Partial records"). */
typedef enum {
    IB_FIX_GRADE_CASE = 0,   /* "Passed" -> "passed" */
    IB_FIX_SCORE_PERCENT,    /* "78%" -> "78" */
    IB_FIX_DURATION_SECONDS, /* 3677 -> "01:01:17" */
    IB_FIX_DETAILS_DATE,     /* an ISO 8601 date-time in details -> UTC "...Z" */
    IB_FIX_RESULTS_URL,      /* not https: left out */
    IB_FIX_ATTACHMENT,       /* not an https PDF: that attachment left out */
    IB_FIX_SHARED_LINK,      /* not https, bad ttl or ttl_units: the link left out */
    IB_FIX_SCORE,            /* not a number: left out */
    IB_FIX_GRADE,            /* not failed/passed/excelled in any case: left out */
    IB_FIX_TEXT,             /* summary or duration not a string: left out */
    IB_FIX_DETAILS,          /* details not an object: left out */
    IB_FIX_INTERVIEW,        /* interview not an object: left out */
    IB_FIX_KIND_COUNT
} ib_fix_kind_t;

/* The kind's name in metrics and partial records ("grade_case", ..., "interview"). */
const char *ib_fix_kind_name(ib_fix_kind_t k);
/* 1 for a repair (the value is delivered, rewritten), 0 for an omission. */
int ib_fix_kind_is_repair(ib_fix_kind_t k);

/* A validated status event. All strings owned by the struct. */
typedef struct {
    char *interview_id;
    ib_status_t status;
    long long occurred_ms; /* wall ms parsed from occurred_at (RFC 3339) */
    json_t *payload;       /* new reference: Workable's payload for this event */
    /* new reference or NULL: {"url"} without a ttl; {"url","ttl" (string),"ttl_units":"views"};
     * {"url","ttl_units":"minutes"|"days","expires_at_ms"} (occurred_at + ttl) */
    json_t *shared_link;
    unsigned coercions; /* values in details rewritten to fit the contract's form */
    /* new reference or NULL when nothing was repaired or left out: an array of {"kind" (its
     * ib_fix_kind_name), "field" ("interview.grade", "attachments[1]", ...), "action"
     * ("repaired" or "omitted"), "original" (the value as sent), "why"? (omissions)} */
    json_t *fixes;
} ib_status_event_t;

/* Largest status event value accepted (bytes). */
#define IB_STATUS_EVENT_MAX_BYTES (1024 * 1024)

/* Validates a status event value (the whole Kafka value) and builds Workable's payload:
 * {"results_url"?, "status", "interview"? {"score" (string), "grade"?, "summary"?, "details"?,
 * "duration"?}, "attachments"? [{"description","url"}]}. Fields absent in the event are absent
 * in the payload. Only a problem with the event itself (not JSON, missing or invalid
 * interview_id/status/occurred_at, unknown status) returns IB_ERR with the reason in errstr; ev is
 * then zeroed. A bad field is repaired when that needs no guess (grade case, "78%", a duration in
 * seconds, ISO 8601 dates in details) or else left out (non-https results_url, attachment that is
 * not an https PDF, bad shared_link, junk score/grade/summary/duration/details), and each one is
 * recorded in ev->fixes; the rest is delivered.
 *
 * details are brought into Workable's form (at most two levels of objects, no arrays) by one
 * lossless rule: a first-level scalar or a second-level scalar is kept as it is; any array, and
 * any object below the second level, is replaced by its compact JSON text as a string (so
 * {"a":{"b":{"c":1}}} becomes {"a":{"b":"{\"c\":1}"}} and {"tags":["x","y"]} becomes
 * {"tags":"[\"x\",\"y\"]"}); each replacement counts one in ev->coercions. */
ib_rc_t ib_status_event_parse(const char *buf, size_t len, ib_status_event_t *ev, char *errstr,
                              size_t errstr_size) IB_WUR;
void ib_status_event_clear(ib_status_event_t *ev);

/* The lifecycle and ordering rule of docs/DESIGN.md ("Ordering"), the one rule of the worker and
 * of the gateway's view, for one interview: pending -> completed | declined | expired. A terminal
 * status beats pending; pending never replaces a terminal status; a finished interview does not
 * become another finished state (completed then expired keeps completed, either way round); the
 * same state at a later occurred_at replaces it (a later completed updates the result). Returns
 * > 0 when (next, next_ms) replaces (cur, cur_ms), 0 when it is the same state at the same
 * instant, < 0 when it does not replace it (older, or another finished state: both ways < 0, so
 * which finished state stands is the one seen first, in the order of the interview's partition). */
int ib_status_compare(ib_status_t cur, long long cur_ms, ib_status_t next, long long next_ms);
/* 1 when (next, next_ms) replaces (cur, cur_ms): ib_status_compare(...) > 0. */
int ib_status_supersedes(ib_status_t cur, long long cur_ms, ib_status_t next, long long next_ms);

/* Workable's answer for a stored shared link (ev->shared_link) at now_ms: for minutes and days the
 * remaining whole units (rounded down) as "ttl"; views as stored. 1 with *answer (new reference),
 * 0 when the link has expired (*answer NULL), -1 when out of memory. */
int ib_shared_link_answer(const json_t *stored, long long now_ms, json_t **answer) IB_WUR;

/* Workable's payload (text, len bytes of compact JSON) with a "declined" status written as word
 * (a tenant's declined_status, "rejected"), compact, in a new malloc'd string (*out_len: its
 * length); the payload unchanged when its status is another. NULL when out of memory or text is
 * not a payload. The worker's PUT body and the gateway's GET answer both go through it. */
char *ib_payload_declined_as(const char *text, size_t len, const char *word,
                             size_t *out_len) IB_WUR;

/* Parses RFC 3339 ("2026-11-28T20:00:00Z", fractions and offsets allowed) into wall ms. */
ib_rc_t ib_rfc3339_parse(const char *s, long long *wall_ms) IB_WUR;

#endif
