/* The interviews' changelog, TOPIC_STATE (docs/DESIGN.md, "Lifecycle and the changelog"): one
 * record per interview, keyed by its id, on its partition (co-partitioned with TOPIC_REQUESTED),
 * compacted. Its value is the latest state the ordering gate accepted, the status event as the
 * platform sent it, with the interview's `tenant` and `callback_url` set at its top level, so the
 * join and the gateway's view rebuild from it alone once the raw events have expired. A
 * tombstone erases the interview. */
#ifndef RW_STATE_H
#define RW_STATE_H

#include <stddef.h>

#include "ib/common.h"
#include "ib/payload.h"

/* The changelog value of a status event (exactly len bytes of a JSON object) for tenant and
 * callback_url: the event's members with `tenant` and `callback_url` set (replacing any of those
 * names), compact, malloc'd, '\0'-terminated; *out_len its length. NULL when the event is not a
 * JSON object or out of memory. */
char *rw_state_value(const void *event, size_t len, const char *tenant, const char *callback_url,
                     size_t *out_len) IB_WUR;

/* The same value for an event that ib_json_parse has accepted (a JSON object without duplicate
 * keys): when its text has no '\\' and no member spelled "tenant" or "callback_url", its bytes are
 * kept as consumed up to its closing brace and the two members are appended (no parse);
 * otherwise rw_state_value. Ownership as rw_state_value. */
char *rw_state_value_parsed(const void *event, size_t len, const char *tenant,
                            const char *callback_url, size_t *out_len) IB_WUR;

/* Longest CloudEvents id of a changelog record: an id of up to 128 bytes, a status, a time. */
#define RW_STATE_CE_ID_MAX 200

/* The CloudEvents id of a changelog record: "<id>:<status>:<occurred_ms>" into buf. */
void rw_state_ce_id(char *buf, size_t size, const char *id, ib_status_t status,
                    long long occurred_ms);

/* Reads a changelog record's CloudEvents id (len bytes, not '\0'-terminated) back: IB_OK with
 * the state it names when it has rw_state_ce_id's form and its id is exactly key (key_len
 * bytes); IB_ERR otherwise. It names the state the writer accepted, so a reader that already
 * holds exactly that state for the interview has nothing to learn from the value. */
ib_rc_t rw_state_ce_id_read(const void *text, size_t len, const void *key, size_t key_len,
                            ib_status_t *status, long long *occurred_ms) IB_WUR;

#endif
