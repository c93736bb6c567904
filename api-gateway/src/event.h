/* The interviews.requested event (design.md, "Event contracts"). */
#ifndef GW_EVENT_H
#define GW_EVENT_H

#include <jansson.h>

#include "validate.h"

#define GW_EVENT_SOURCE         "/interview-bridge/api-gateway"
#define GW_EVENT_TYPE_REQUESTED "interview.requested"

/* New object: {interview_id, tenant, interview_template_id, job_id?, job_title, callback_url,
 * candidate, preferences?, requested_at (RFC 3339 of wall_ms)}. r is borrowed (its JSON values
 * are copied). NULL on out of memory. */
json_t *gw_event_requested_new(const gw_interview_request_t *r, const char *tenant_id,
                               const char *interview_id, long long wall_ms);

#endif
