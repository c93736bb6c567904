#include "event.h"

#include <string.h>

static void member_str(ib_jw_t *w, const char *member, const char *s)
{
    ib_jw_raw(w, member, strlen(member));
    ib_jw_str(w, s, strlen(s));
}

ib_rc_t gw_event_requested_write(ib_jw_t *w, const gw_interview_request_t *r, const char *tenant_id,
                                 const char *interview_id, long long wall_ms)
{
    char requested_at[40];

    ib_format_rfc3339(wall_ms, requested_at, sizeof(requested_at));
    /* The members in the order the jansson-built event had them. */
    member_str(w, "{\"interview_id\":", interview_id);
    member_str(w, ",\"tenant\":", tenant_id);
    member_str(w, ",\"interview_template_id\":", r->interview_template_id);
    member_str(w, ",\"job_title\":", r->job_title);
    member_str(w, ",\"callback_url\":", r->callback_url);
    IB_JW_LIT(w, ",\"candidate\":");
    ib_jw_value(w, r->candidate);
    member_str(w, ",\"requested_at\":", requested_at);
    if (r->job_id != NULL)
        member_str(w, ",\"job_id\":", r->job_id);
    if (r->preferences != NULL) {
        IB_JW_LIT(w, ",\"preferences\":");
        ib_jw_value(w, r->preferences);
    }
    IB_JW_LIT(w, "}");
    return w->failed ? IB_ERR : IB_OK;
}
