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
    /* The candidate's members in the order the jansson-built object had them. */
    member_str(w, ",\"candidate\":{\"first_name\":", r->candidate.first_name);
    if (r->candidate.last_name != NULL)
        member_str(w, ",\"last_name\":", r->candidate.last_name);
    member_str(w, ",\"email\":", r->candidate.email);
    if (r->candidate.phone != NULL)
        member_str(w, ",\"phone\":", r->candidate.phone);
    IB_JW_LIT(w, "}");
    member_str(w, ",\"requested_at\":", requested_at);
    if (r->job_id != NULL)
        member_str(w, ",\"job_id\":", r->job_id);
    if (r->preferences != NULL) {
        IB_JW_LIT(w, ",\"preferences\":");
        ib_jw_raw(w, r->preferences, r->preferences_len);
    }
    IB_JW_LIT(w, "}");
    return w->failed ? IB_ERR : IB_OK;
}
