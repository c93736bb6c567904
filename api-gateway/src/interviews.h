/* The interviews view: who owns each interview (from TOPIC_REQUESTED, or the `tenant` of its
 * TOPIC_STATE record) and its latest state (from TOPIC_STATUS and TOPIC_STATE, ordered by
 * ib_status_supersedes, so whatever order the topics are read in a state never regresses), for
 * GET /interviews/{id} and GET /interviews/{id}/shared-link. Fed by the view consumer (tail.h);
 * any thread may read. TOPIC_STATE, the worker's compacted changelog, keeps every interview's
 * latest state after the raw status events have left interviews.status.
 *
 * Memory. One 40-byte slot per interview in an open-addressing table keyed by the 16 bytes of the
 * id (hashed with the process's seeded hash), the owner as an index into the tenants file: at a
 * load of 3/8..3/4 that is 54..107 bytes per known interview (about 105 measured at 100,000).
 * An interview with a status event adds one allocation: a 32-byte header (its place in the
 * finished list and its id) and Workable's payload and shared link as compact JSON text, built
 * once by ib_status_event_parse (the same bytes the results-worker PUTs): about 575 bytes with
 * the contract's completed example (test_interviews' test_memory_per_interview prints both).
 *
 * Bound: at most max_interviews (GATEWAY_VIEW_MAX_INTERVIEWS) are held. A new id at the bound
 * first evicts the finished interview (latest state terminal by ib_status_terminal: completed,
 * declined, expired) that finished earliest: the order in which a terminal state was first held
 * for it. Earliest rather than least recently finished: a finished interview changes again only
 * by a later result of the same state, and the order is then the order in which the view's
 * topics were read (the status topic and the changelog, interviews.state), much the same on
 * every replica and every rebuild. An open interview (requested, pending, or no status)
 * is never evicted; when no finished one is left the new id is dropped as before. Both are
 * counted (stats: evicted, dropped) and logged, each kind in one line at most every 10 s (the
 * first of a burst at once, the rest summed up in the next). Eviction
 * is O(1): a doubly-linked list through the finished interviews' status allocations, appended
 * to when one finishes, popped at its head; the slot is freed by backward shift.
 *
 * GET /interviews/{id} of an evicted interview answers 404 (GW_IV_UNKNOWN: it is finished and
 * gone from this replica's view); a later status event for it is held again without an owner
 * (it still answers 404). While the topics are replayed at start an interview whose status has
 * not been read yet counts as open: the bound should cover the interviews the topics retain.
 * /readyz does not change at the bound: eviction is the bound working, and every replica holds
 * the same view, so a drop would take all of them out of service at once; the metrics and the
 * log line say it. */
#ifndef GW_INTERVIEWS_H
#define GW_INTERVIEWS_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "ib/common.h"
#include "ib/tenants.h"

#define GW_INTERVIEW_ID_LEN 32 /* lowercase hex, as ib_interview_id makes them */

typedef struct gw_interviews gw_interviews_t;

typedef enum {
    GW_IV_UNKNOWN = 0, /* no such interview for this tenant (404) */
    GW_IV_FOUND,
    GW_IV_NO_LINK,      /* shared link: the interview exists, its latest state has none (404) */
    GW_IV_LINK_EXPIRED, /* shared link: its ttl in minutes or days has run out (404) */
    GW_IV_NOMEM
} gw_iv_result_t;

typedef struct {
    size_t interviews;          /* ids held (owned or not) */
    size_t with_status;         /* ... of which have a status event */
    size_t unowned;             /* ... of which have no interviews.requested event (yet) */
    size_t bytes;               /* table slots plus payload text held */
    size_t finished;            /* ... of which finished (evictable at the bound) */
    unsigned long long evicted; /* finished interviews evicted at max_interviews */
    unsigned long long dropped; /* ids not held: max_interviews reached, none finished */
    unsigned long long refused; /* records that were not valid events */
    unsigned long long erased;  /* tombstones applied (whether or not the id was held) */
    unsigned long long probes;  /* table slots looked at by updates (tests bound the work) */
} gw_interviews_stats_t;

/* A new, empty view; tenants is borrowed and must outlive it. NULL on out of memory. */
gw_interviews_t *gw_interviews_new(const ib_tenants_t *tenants, size_t max_interviews) IB_WUR;
void gw_interviews_free(gw_interviews_t *v);

/* One interviews.requested record (key = interview id, value = the event; only interview_id and
 * tenant are read). IB_ERR with the reason when it is not one of ours (bad key, tenant not in the
 * tenants file, a tombstone: that is gw_interviews_erase's, ...); IB_AGAIN when dropped because
 * the view is full of open interviews. IB_OK without reading value when key is already owned (the
 * event is idempotent: the id is derived from the tenant). */
ib_rc_t gw_interviews_apply_requested(gw_interviews_t *v, const void *key, size_t key_len,
                                      const void *value, size_t len, char *errstr,
                                      size_t errstr_size) IB_WUR;
/* One interviews.status record. Kept when it supersedes the held state (ib_status_supersedes).
 * IB_ERR with the reason when it is not a valid status event; IB_AGAIN when dropped (full). */
ib_rc_t gw_interviews_apply_status(gw_interviews_t *v, const void *value, size_t len, char *errstr,
                                   size_t errstr_size) IB_WUR;
/* One interviews.state record (key = interview id, value = the interview's latest accepted status
 * event with the worker's `tenant` and `callback_url`). The owner is its tenant (the first owner
 * stays, as for requested events); the state is applied exactly as gw_interviews_apply_status
 * applies a status event (other fields are ignored). IB_ERR with the reason, changing nothing,
 * when it is not one of ours (bad key, not a valid status event, interview_id not the key, no
 * tenant or one not in the tenants file, a tombstone: that is gw_interviews_erase's); IB_AGAIN
 * when dropped because the view is full of open interviews. */
ib_rc_t gw_interviews_apply_state(gw_interviews_t *v, const void *key, size_t key_len,
                                  const void *value, size_t len, char *errstr,
                                  size_t errstr_size) IB_WUR;
/* A tombstone (NULL value) keyed key on TOPIC_REQUESTED, TOPIC_STATUS or TOPIC_STATE: the
 * interview is erased.
 * Its owner and state are forgotten, so GET answers 404 for it; a status event read later holds
 * a state again but no owner (still 404) until a new requested event or state record. IB_OK whether
 * or not the id was held; IB_ERR with the reason when key is not an interview id (32 lowercase
 * hex). */
ib_rc_t gw_interviews_erase(gw_interviews_t *v, const void *key, size_t key_len, char *errstr,
                            size_t errstr_size) IB_WUR;
/* Records that tenant owns id (32 lowercase hex) right after Kafka acknowledged its
 * interviews.requested event, so this replica answers GET /interviews/{id} before its consumer
 * reads the event back (the same fact the event states; the view stays rebuildable from Kafka).
 * IB_AGAIN when the view is full, IB_ERR on a bad id or tenant. */
ib_rc_t gw_interviews_note_owner(gw_interviews_t *v, const ib_tenant_t *tenant,
                                 const char *id) IB_WUR;
/* gw_tail_fn adapters (opaque is the view): apply (a tombstone: gw_interviews_erase) and log what
 * is refused. */
void gw_interviews_on_requested(void *opaque, const rd_kafka_message_t *m);
void gw_interviews_on_status(void *opaque, const rd_kafka_message_t *m);
void gw_interviews_on_state(void *opaque, const rd_kafka_message_t *m);

/* Workable's payload for GET /interviews/{id}: *text a new malloc'd compact JSON string
 * ({"status":"pending"} before any status event; a declined status in the tenant's word,
 * ib_tenant_t.declined_status). GW_IV_UNKNOWN when tenant does not own id. */
gw_iv_result_t gw_interviews_payload(gw_interviews_t *v, const ib_tenant_t *tenant, const char *id,
                                     char **text);
/* {"url","ttl"?,"ttl_units"?} of the latest state at now_wall_ms, as a new string in *text: for
 * minutes and days the whole units left until occurred_at + ttl (ib_shared_link_answer),
 * GW_IV_LINK_EXPIRED once that has passed; views as the platform sent them. */
gw_iv_result_t gw_interviews_shared_link_at(gw_interviews_t *v, const ib_tenant_t *tenant,
                                            const char *id, long long now_wall_ms, char **text);
/* gw_interviews_shared_link_at now (ib_wall_ms). */
gw_iv_result_t gw_interviews_shared_link(gw_interviews_t *v, const ib_tenant_t *tenant,
                                         const char *id, char **text);

void gw_interviews_stats(gw_interviews_t *v, gw_interviews_stats_t *out);
/* Bytes of one slot of the table (the fixed cost of a known interview before load factor). */
size_t gw_interviews_slot_size(void);

#endif
