/* The interviews.requested event (docs/DESIGN.md, "Event contracts"). */
#ifndef GW_EVENT_H
#define GW_EVENT_H

#include <jansson.h>

#include "ib/jsonw.h"
#include "validate.h"

#define GW_EVENT_SOURCE         "/interview-bridge/api-gateway"
#define GW_EVENT_TYPE_REQUESTED "interview.requested"

/* Appends the event's compact JSON text to w: {interview_id, tenant, interview_template_id,
 * job_title, callback_url, candidate, requested_at (RFC 3339 of wall_ms), job_id?,
 * preferences?}. r is borrowed. IB_ERR when w ran out of memory. */
ib_rc_t gw_event_requested_write(ib_jw_t *w, const gw_interview_request_t *r, const char *tenant_id,
                                 const char *interview_id, long long wall_ms) IB_WUR;

#endif
