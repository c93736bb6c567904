/* Unit tests of api-gateway/src/event.c: the interviews.requested value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "event.h"

static void test_full_event(void **state)
{
    (void)state;
    char tid[] = "12345", job[] = "6789", title[] = "Operations Manager";
    char url[] = "https://groove-tech.workable.com/interviews/8823119";
    gw_interview_request_t r = {0};
    r.interview_template_id = tid;
    r.job_id = job;
    r.job_title = title;
    r.callback_url = url;
    r.candidate = json_pack("{s:s,s:s,s:s}", "first_name", "Lakita", "last_name", "Marrero",
                            "email", "l@m.co");
    r.preferences = json_pack("{s:s}", "key", "value");
    /* 2026-11-28T20:00:00.250Z */
    json_t *ev = gw_event_requested_new(&r, "groove-tech", "0123456789abcdef0123456789abcdef",
                                        1795896000250LL);
    json_t *expect = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:O,s:O,s:s}", "interview_id", "0123456789abcdef0123456789abcdef",
        "tenant", "groove-tech", "interview_template_id", "12345", "job_id", "6789", "job_title",
        "Operations Manager", "callback_url", "https://groove-tech.workable.com/interviews/8823119",
        "candidate", r.candidate, "preferences", r.preferences, "requested_at",
        "2026-11-28T20:00:00.250Z");
    if (!json_equal(ev, expect)) {
        char *got = json_dumps(ev, JSON_SORT_KEYS);
        fail_msg("got %s", got);
    }
    json_decref(expect);
    json_decref(ev);
    json_decref(r.candidate);
    json_decref(r.preferences);
}

static void test_optional_absent(void **state)
{
    (void)state;
    char tid[] = "1", title[] = "QA", url[] = "https://a.workable.com/x";
    gw_interview_request_t r = {0};
    r.interview_template_id = tid;
    r.job_title = title;
    r.callback_url = url;
    r.candidate =
        json_pack("{s:s,s:s,s:s}", "first_name", "A", "last_name", "B", "email", "a@b.co");
    json_t *ev = gw_event_requested_new(&r, "t", "00000000000000000000000000000000", 0);
    assert_non_null(ev);
    assert_null(json_object_get(ev, "job_id"));
    assert_null(json_object_get(ev, "preferences"));
    assert_string_equal(json_string_value(json_object_get(ev, "requested_at")),
                        "1970-01-01T00:00:00.000Z");
    json_decref(ev);
    json_decref(r.candidate);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_event),
        cmocka_unit_test(test_optional_absent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
