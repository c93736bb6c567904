#include "event.h"

json_t *gw_event_requested_new(const gw_interview_request_t *r, const char *tenant_id,
                               const char *interview_id, long long wall_ms)
{
    char requested_at[40];
    json_t *ev = NULL;

    ib_format_rfc3339(wall_ms, requested_at, sizeof(requested_at));
    ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:s}", "interview_id", interview_id, "tenant",
                   tenant_id, "interview_template_id", r->interview_template_id, "job_title",
                   r->job_title, "callback_url", r->callback_url, "candidate", r->candidate,
                   "requested_at", requested_at);
    if (ev == NULL)
        return NULL;
    if (r->job_id != NULL && json_object_set_new(ev, "job_id", json_string(r->job_id)) != 0)
        goto fail;
    if (r->preferences != NULL && json_object_set(ev, "preferences", r->preferences) != 0)
        goto fail;
    return ev;
fail:
    json_decref(ev);
    return NULL;
}
