/* The join: interview_id -> {tenant, callback_url, partition, latest state}, rebuilt from Kafka
 * after every assignment, from interviews.requested and the changelog interviews.state (which
 * outlives the raw events: docs/DESIGN.md, "Lifecycle and the changelog"), then the retained
 * status history. Single-threaded: the consumer thread owns it.
 *
 * Memory. One entry is one malloc of 38 bytes of header (the finished-list links, the interned
 * URL prefix, the latest state, tenant, partition, URL state) plus the id and the URL's last
 * segment: a 32-lowercase-hex id or last segment is packed into 16 bytes, anything else is kept
 * as text. The URL up to its last '/' (the same Workable host and path for every interview of a
 * tenant) is interned once in a refcounted table. With 32-hex ids and URLs like
 * https://<sub>.workable.com/api/v1/interviews/callbacks/<32 hex> an entry is a 72-byte request
 * (an 80-byte glibc chunk) plus its slot of the id table (8 bytes at a load of 3/8..3/4): about
 * 101 bytes per interview all told (test_join's test_memory_per_interview measures and asserts
 * <= 104).
 *
 * Bound (rw_join_new_bounded, WORKER_JOIN_MAX_INTERVIEWS). A new id at the bound first evicts the
 * finished interview (latest state terminal by ib_status_terminal: completed, declined, expired)
 * that finished earliest: the order in which rw_join_order first recorded a terminal state for
 * it. Finishing earliest rather than least recently, because a finished interview only changes
 * again by a later result of the same state (rare, and dead-lettered once it is gone: see
 * rw_join_absence), and because the order is then the order of the status partitions, the same
 * on every rebuild. An open interview (no state yet, or pending) is never
 * evicted: when no finished one is left the new id is refused (rw_join_put answers IB_AGAIN),
 * counted and logged (each kind in one line at most every 10 s). Eviction costs O(1): a
 * doubly-linked list through the entries, appended to on finish, popped at its head.
 *
 * A status event for an evicted interview finds no entry; rw_join_absence tells it apart from an
 * id never seen (a fixed table of the evicted and refused ids' seeded hashes, the most recent
 * kept), so the worker dead-letters it with the reason "interview evicted from the join
 * (finished)" and never delivers it, so never backwards. While the requested topic is replayed
 * after an assignment no state is known yet, so every entry counts as open: the bound must cover
 * the interviews a requested partition retains, or the newest are refused during the replay.
 * /readyz does not change at the bound: evicting is the bound doing its job; the counters
 * (ib_worker_join_evicted_total, ib_worker_join_refused_total) and the log say it. */
#ifndef RW_JOIN_H
#define RW_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "ib/callback_url.h"
#include "ib/common.h"
#include "ib/payload.h"
#include "ib/tenants.h"

#define RW_JOIN_MAX_ID_LEN  128
#define RW_JOIN_MAX_URL_LEN 2048

/* Why a known interview cannot be delivered. Kept in the entry so a later status event is
 * dead-lettered with the precise reason instead of "unknown interview". */
typedef enum {
    RW_JOIN_OK = 0,
    RW_JOIN_BAD_URL,          /* not an absolute URL curl can parse, or has userinfo */
    RW_JOIN_SCHEME_REJECTED,  /* not https (http only with ALLOW_INSECURE_CALLBACKS=1) */
    RW_JOIN_HOST_NOT_ALLOWED, /* host outside the tenant's callback_hosts */
    RW_JOIN_LOOPBACK,         /* a loopback host without ALLOW_INSECURE_CALLBACKS=1 */
    RW_JOIN_PORT_NOT_ALLOWED  /* a port besides 443 outside the tenant's callback_ports */
} rw_join_state_t;

const char *rw_join_state_reason(rw_join_state_t s);

typedef struct rw_join rw_join_t;

/* A borrowed view of one entry; callback_url is rebuilt in a buffer of the join, valid until the
 * next call on the join. */
typedef struct {
    uint16_t tenant;   /* index into the tenants set the entry was ingested with */
    int32_t partition; /* requested partition it came from */
    rw_join_state_t state;
    const char *callback_url; /* as received; also kept for a non-OK state (logs) */
} rw_join_view_t;

/* New empty join without a bound, or NULL on allocation failure. Free with rw_join_free (accepts
 * NULL). */
rw_join_t *rw_join_new(void) IB_WUR;
/* New empty join holding at most max_interviews (>= 1) entries: see "Bound" above. */
rw_join_t *rw_join_new_bounded(size_t max_interviews) IB_WUR;
void rw_join_free(rw_join_t *j);

/* Inserts or replaces id's entry. id is 1..RW_JOIN_MAX_ID_LEN bytes, url up to
 * RW_JOIN_MAX_URL_LEN; both copied. A new id at the bound evicts the earliest finished entry;
 * IB_AGAIN when none is left (refused and counted; the join is unchanged). IB_ERR on a bad length
 * or allocation failure (the join is then unchanged). */
ib_rc_t rw_join_put(rw_join_t *j, const char *id, uint16_t tenant, int32_t partition,
                    rw_join_state_t state, const char *callback_url) IB_WUR;
/* 1 and *out filled when id is known, else 0. */
int rw_join_get(const rw_join_t *j, const char *id, rw_join_view_t *out);

/* The ordering gate of one interview. Each entry remembers the latest state (status,
 * occurred_at) seen for it, by ib_status_compare. Verdict for (status, occurred_ms):
 * NEWER when nothing is known yet or it is newer than the latest (with update=1 it becomes the
 * latest), SAME when it equals the latest (a duplicate or a replay: may be delivered again),
 * OLDER when the latest is newer (never to be delivered), UNKNOWN when id is not in the
 * join. */
typedef enum { RW_ORDER_UNKNOWN = 0, RW_ORDER_NEWER, RW_ORDER_SAME, RW_ORDER_OLDER } rw_order_t;
rw_order_t rw_join_order(rw_join_t *j, const char *id, ib_status_t status, long long occurred_ms,
                         int update);
/* 1 with the latest (status, occurred_at) recorded for id by rw_join_order, 0 when id is unknown
 * or has none yet. */
int rw_join_latest(const rw_join_t *j, const char *id, ib_status_t *status, long long *occurred_ms);
/* Drops id's entry (id_len bytes, not terminated: a Kafka key), with the latest state recorded for
 * it: the interview was erased. 1 when there was one, else 0. */
int rw_join_remove(rw_join_t *j, const char *id, size_t id_len);
/* Keep time (INTERVIEW_KEEP_FINISHED). Drops finished entries from the head of the finished list
 * (the order in which they finished) while their latest state's occurred_at is before cutoff_ms,
 * at most max of them, calling fn with each one's id and partition after it is gone (the caller
 * erases it from Kafka). The walk stops at the first entry finished at or after cutoff_ms: one
 * further down the list whose occurred_at is earlier waits until the entries before it have gone.
 * Returns how many. */
typedef void rw_join_expire_fn(const char *id, int32_t partition, void *arg);
size_t rw_join_expire(rw_join_t *j, long long cutoff_ms, size_t max, rw_join_expire_fn *fn,
                      void *arg);
/* INTERVIEW_KEEP_OPEN. Drops entries whose latest state is pending with an occurred_at before
 * cutoff_ms (interviews the platform never finished), at most max, calling fn with each one's
 * id and partition after it is gone. Walks the whole table: O(n), for a pass now and then. An entry
 * without any state is not touched (the requested topic's retention bounds it). Returns how many.
 */
size_t rw_join_expire_open(rw_join_t *j, long long cutoff_ms, size_t max, rw_join_expire_fn *fn,
                           void *arg);
/* Drops every entry that came from partition; returns how many. */
size_t rw_join_remove_partition(rw_join_t *j, int32_t partition);
void rw_join_clear(rw_join_t *j);
size_t rw_join_count(const rw_join_t *j);
/* Bytes requested from malloc for the tables, the entries and the interned prefixes (excluding
 * allocator overhead). */
size_t rw_join_bytes(const rw_join_t *j);
/* What the join really takes from glibc's malloc: rw_join_bytes with every entry and prefix
 * counted at malloc_usable_size plus the chunk header. Walks every entry (O(n)): for tests and
 * measurements, not for a scrape. */
size_t rw_join_heap_bytes(const rw_join_t *j);
/* Why an id is not in the join, as far as the join remembers: a fixed table (1 Ki..64 Ki cells
 * of 8 bytes, allocated at the first eviction or refusal) of the seeded hashes of the ids it
 * evicted or refused, direct-mapped, so an old one may be overwritten and read as NEVER. */
typedef enum {
    RW_JOIN_NEVER = 0, /* held, never seen, or forgotten */
    RW_JOIN_EVICTED,   /* evicted at the bound (it had finished) */
    RW_JOIN_REFUSED    /* refused at the bound (no finished entry to evict) */
} rw_join_absence_t;
rw_join_absence_t rw_join_absence(const rw_join_t *j, const char *id);
/* The dead-letter reason of an absence ("interview evicted from the join (finished)", ...). */
const char *rw_join_absence_reason(rw_join_absence_t a);

typedef struct {
    size_t interviews;          /* entries held */
    size_t finished;            /* ... of which finished (evictable) */
    size_t prefixes;            /* distinct URL prefixes interned */
    size_t max;                 /* the bound (SIZE_MAX: none) */
    unsigned long long evicted; /* finished entries evicted at the bound */
    unsigned long long refused; /* new ids refused at the bound (all held entries open) */
} rw_join_stats_t;
void rw_join_stats(const rw_join_t *j, rw_join_stats_t *out);

/* Validates one interviews.requested value (exactly len bytes) and stores its entry.
 * key/key_len is the Kafka key (may be NULL); when present it must equal interview_id.
 * interview_id, tenant and callback_url are required strings; the tenant must exist in ts. An
 * entry whose callback_url breaks the tenant's rules is stored with a non-OK state (and IB_OK is
 * returned; *state_out tells). Returns IB_ERR with the reason in errstr when the event is
 * unusable (nothing stored), IB_AGAIN with the reason when the join is at its bound with no
 * finished entry to evict (refused: counted and logged by the join, nothing stored). id_out (>=
 * RW_JOIN_MAX_ID_LEN + 1 bytes, may be NULL) receives the interview_id when one could be read, else
 * "". */
ib_rc_t rw_join_ingest(rw_join_t *j, const ib_tenants_t *ts, int allow_insecure, int32_t partition,
                       const void *key, size_t key_len, const void *value, size_t len,
                       rw_join_state_t *state_out, char *id_out, char *errstr,
                       size_t errstr_size) IB_WUR;

/* Checks a callback URL against the tenant's rules: the gateway's own policy,
 * ib_callback_url_check, so an accepted interview is never refused here for what its URL shows.
 * Pure apart from curl's parser. */
rw_join_state_t rw_callback_url_check(const ib_tenant_t *t, const char *url, int allow_insecure);
/* The join state of a verdict of the shared callback-URL policy (ib/callback_url.h). */
rw_join_state_t rw_join_state_of_verdict(ib_callback_url_verdict_t v);

#endif
