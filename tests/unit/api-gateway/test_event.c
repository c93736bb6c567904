/* Unit tests of api-gateway/src/event.c: the interviews.requested value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "event.h"

/* The event's text, parsed back (new reference); the text itself in *text (new string). */
static json_t *event_of(const gw_interview_request_t *r, const char *tenant, const char *id,
                        long long wall_ms, char **text)
{
    char small[16]; /* forces the move to the heap */
    ib_jw_t w;
    size_t len = 0;
    ib_jw_init(&w, small, sizeof(small));
    assert_int_equal(gw_event_requested_write(&w, r, tenant, id, wall_ms), IB_OK);
    *text = ib_jw_take(&w, &len);
    ib_jw_free(&w);
    assert_non_null(*text);
    json_error_t jerr;
    json_t *ev = json_loadb(*text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (ev == NULL)
        fail_msg("not JSON (%s): %s", jerr.text, *text);
    return ev;
}

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
    char first[] = "Lakita", last[] = "Marrero", email[] = "l@m.co", phone[] = "(785)991-6256";
    char prefs[] = "{\"key\":\"value\"}";
    r.candidate = (gw_candidate_t){first, last, email, phone};
    r.preferences = prefs;
    r.preferences_len = strlen(prefs);
    /* The candidate and preferences as the jansson-built event held them. */
    json_t *candidate = json_pack("{s:s,s:s,s:s,s:s}", "first_name", "Lakita", "last_name",
                                  "Marrero", "email", "l@m.co", "phone", "(785)991-6256");
    json_t *preferences = json_pack("{s:s}", "key", "value");
    /* 2026-11-28T20:00:00.250Z */
    char *text = NULL;
    json_t *ev =
        event_of(&r, "groove-tech", "0123456789abcdef0123456789abcdef", 1795896000250LL, &text);
    json_t *expect = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:O,s:O,s:s}", "interview_id", "0123456789abcdef0123456789abcdef",
        "tenant", "groove-tech", "interview_template_id", "12345", "job_id", "6789", "job_title",
        "Operations Manager", "callback_url", "https://groove-tech.workable.com/interviews/8823119",
        "candidate", candidate, "preferences", preferences, "requested_at",
        "2026-11-28T20:00:00.250Z");
    if (!json_equal(ev, expect)) {
        char *got = json_dumps(ev, JSON_SORT_KEYS);
        fail_msg("got %s", got);
    }
    /* Byte for byte what json_dumps(JSON_COMPACT) made of the jansson-built event. */
    json_t *old = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:s}", "interview_id",
                            "0123456789abcdef0123456789abcdef", "tenant", "groove-tech",
                            "interview_template_id", "12345", "job_title", "Operations Manager",
                            "callback_url", url, "candidate", candidate, "requested_at",
                            "2026-11-28T20:00:00.250Z");
    json_object_set_new(old, "job_id", json_string("6789"));
    json_object_set(old, "preferences", preferences);
    char *old_text = json_dumps(old, JSON_COMPACT);
    assert_string_equal(text, old_text);
    free(old_text);
    json_decref(old);
    free(text);
    json_decref(expect);
    json_decref(ev);
    json_decref(candidate);
    json_decref(preferences);
}

static void test_escaped(void **state)
{
    (void)state;
    char tid[] = "1", title[] = "Q\"A\\ \n\x01 caf\xc3\xa9 \xe2\x80\xa8";
    char url[] = "https://a.workable.com/x?q=\"";
    gw_interview_request_t r = {0};
    r.interview_template_id = tid;
    r.job_title = title;
    r.callback_url = url;
    char first[] = "\t", last[] = "B\\", email[] = "a@b.co";
    char prefs[] = "{\"a\":[1,2.5,true,null,{\"b\":\"\\u0007\"}]}";
    r.candidate = (gw_candidate_t){first, last, email, NULL};
    r.preferences = prefs;
    r.preferences_len = strlen(prefs);
    json_t *candidate =
        json_pack("{s:s,s:s,s:s}", "first_name", "\t", "last_name", "B\\", "email", "a@b.co");
    json_t *preferences = json_loads(prefs, 0, NULL);
    assert_non_null(preferences);
    char *text = NULL;
    json_t *ev = event_of(&r, "t", "00000000000000000000000000000000", 0, &text);
    assert_string_equal(json_string_value(json_object_get(ev, "job_title")), title);
    assert_string_equal(json_string_value(json_object_get(ev, "callback_url")), url);
    assert_true(json_equal(json_object_get(ev, "candidate"), candidate));
    assert_true(json_equal(json_object_get(ev, "preferences"), preferences));
    free(text);
    json_decref(ev);
    json_decref(candidate);
    json_decref(preferences);
}

static void test_optional_absent(void **state)
{
    (void)state;
    char tid[] = "1", title[] = "QA", url[] = "https://a.workable.com/x";
    gw_interview_request_t r = {0};
    r.interview_template_id = tid;
    r.job_title = title;
    r.callback_url = url;
    char first[] = "A", last[] = "B", email[] = "a@b.co";
    r.candidate = (gw_candidate_t){first, last, email, NULL};
    char *text = NULL;
    json_t *ev = event_of(&r, "t", "00000000000000000000000000000000", 0, &text);
    free(text);
    assert_null(json_object_get(ev, "job_id"));
    assert_null(json_object_get(ev, "preferences"));
    assert_string_equal(json_string_value(json_object_get(ev, "requested_at")),
                        "1970-01-01T00:00:00.000Z");
    json_decref(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_event),
        cmocka_unit_test(test_optional_absent),
        cmocka_unit_test(test_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
