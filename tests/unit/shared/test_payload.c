/* Unit tests of shared/src/payload.c, driven by tests/data/shared/payload_cases.json: each case
 * is an interviews.status event and either the exact Workable payload or the error's prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ib/json.h"
#include "ib/json.h"
#include "ib/jsonw.h"
#include "ib/payload.h"

static json_t *load_cases(void)
{
    char path[1024];
    const char *dir = getenv("IB_TEST_DATA");
    json_error_t jerr;
    snprintf(path, sizeof(path), "%s/shared/payload_cases.json", dir != NULL ? dir : "tests/data");
    json_t *cases = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (cases == NULL)
        fail_msg("cannot load %s: %s", path, jerr.text);
    return cases;
}

static void expect_equal_json(const char *name, json_t *got, json_t *want)
{
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
        char *w = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
        fail_msg("%s:\n  got  %s\n  want %s", name, g, w);
    }
}

/* arena: each case parsed inside a jansson arena scope (the worker's way, ib/json.h). */
static void run_cases(int arena)
{
    json_t *cases = load_cases();
    size_t i;
    json_t *c;
    assert_true(json_array_size(cases) > 10);
    json_array_foreach(cases, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        char *text = json_dumps(json_object_get(c, "event"), JSON_COMPACT);
        ib_status_event_t ev;
        char err[256] = "";
        if (arena)
            ib_json_arena_begin();
        ib_rc_t rc = ib_status_event_parse(text, strlen(text), &ev, err, sizeof(err));
        free(text);
        const char *want_err = json_string_value(json_object_get(c, "error"));
        if (want_err != NULL) {
            if (rc != IB_ERR)
                fail_msg("%s: accepted", name);
            if (strncmp(err, want_err, strlen(want_err)) != 0)
                fail_msg("%s: error '%s' does not start with '%s'", name, err, want_err);
            assert_null(ev.payload);
            if (arena)
                ib_json_arena_end();
            continue;
        }
        if (rc != IB_OK)
            fail_msg("%s: rejected: %s", name, err);
        expect_equal_json(name, ev.payload, json_object_get(c, "payload"));
        /* The worker writes the PUT body with ib_jw_value: jansson's compact dump, byte for
         * byte. */
        size_t dlen = 0;
        size_t wlen = 0;
        char *dumped = ib_json_dump_malloc(ev.payload, 0, &dlen);
        ib_jw_t w;
        ib_jw_init(&w, NULL, 0);
        ib_jw_value(&w, ev.payload);
        char *written = ib_jw_take(&w, &wlen);
        ib_jw_free(&w);
        assert_non_null(dumped);
        assert_non_null(written);
        if (dlen != wlen || strcmp(dumped, written) != 0)
            fail_msg("%s: written %s, dumped %s", name, written, dumped);
        free(dumped);
        free(written);
        json_t *link = json_object_get(c, "shared_link");
        if (json_is_null(link) && ev.shared_link != NULL)
            fail_msg("%s: the shared link was kept", name);
        else if (link != NULL && !json_is_null(link))
            expect_equal_json(name, ev.shared_link, link);
        json_t *coercions = json_object_get(c, "coercions");
        if (coercions != NULL)
            assert_int_equal(ev.coercions, json_integer_value(coercions));
        json_t *want_fixes = json_object_get(c, "fixes");
        if (want_fixes != NULL && json_array_size(want_fixes) > 0)
            expect_equal_json(name, ev.fixes, want_fixes);
        else if (ev.fixes != NULL)
            expect_equal_json(name, ev.fixes, json_object_get(c, "no such key"));
        json_t *occurred = json_object_get(c, "occurred_ms");
        if (occurred != NULL)
            assert_int_equal(ev.occurred_ms, json_integer_value(occurred));
        ib_status_event_clear(&ev);
        if (arena)
            ib_json_arena_end();
    }
    json_decref(cases);
}

static void test_cases(void **state)
{
    (void)state;
    run_cases(0);
}

static void test_cases_in_arena(void **state)
{
    (void)state;
    ib_json_arena_install();
    run_cases(1);
}

static void test_payload_key_order_matches_contract(void **state)
{
    (void)state;
    static const char ev_text[] =
        "{\"attachments\":[{\"url\":\"https://a.b/r.pdf\",\"description\":\"R\"}],"
        "\"interview\":{\"duration\":\"1\",\"score\":1,\"grade\":\"passed\"},"
        "\"status\":\"completed\",\"results_url\":\"https://a.b\",\"interview_id\":\"x\","
        "\"occurred_at\":\"2026-01-01T00:00:00Z\"}";
    ib_status_event_t ev;
    char err[256];
    assert_int_equal(ib_status_event_parse(ev_text, strlen(ev_text), &ev, err, sizeof(err)), IB_OK);
    char *out = json_dumps(ev.payload, JSON_COMPACT);
    assert_string_equal(out, "{\"results_url\":\"https://a.b\",\"status\":\"completed\","
                             "\"interview\":{\"score\":\"1\",\"grade\":\"passed\","
                             "\"duration\":\"1\"},\"attachments\":[{\"description\":\"R\","
                             "\"url\":\"https://a.b/r.pdf\"}]}");
    free(out);
    ib_status_event_clear(&ev);
}

static void test_oversize_and_status_helpers(void **state)
{
    (void)state;
    ib_status_event_t ev;
    char err[256];
    size_t n = IB_STATUS_EVENT_MAX_BYTES + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    assert_int_equal(ib_status_event_parse(big, n, &ev, err, sizeof(err)), IB_ERR);
    free(big);
    ib_status_t s;
    assert_int_equal(ib_status_parse("rejected", &s), IB_OK);
    assert_string_equal(ib_status_name(s), "declined");
    assert_true(ib_status_terminal(s));
    assert_int_equal(ib_status_parse("pending", &s), IB_OK);
    assert_false(ib_status_terminal(s));
    assert_int_equal(ib_status_parse("Completed", &s), IB_ERR);
}

static void test_supersedes(void **state)
{
    (void)state;
    const ib_status_t P = IB_STATUS_PENDING, C = IB_STATUS_COMPLETED, D = IB_STATUS_DECLINED,
                      E = IB_STATUS_EXPIRED;
    assert_true(ib_status_supersedes(P, 1000, C, 2000));  /* pending -> completed */
    assert_false(ib_status_supersedes(C, 2000, E, 1000)); /* older never replaces newer */
    assert_false(ib_status_supersedes(C, 1000, P, 5000)); /* pending never replaces terminal */
    assert_false(ib_status_supersedes(D, 1000, P, 1000));
    assert_true(ib_status_supersedes(P, 1000, D, 1000));  /* same instant: terminal wins */
    assert_false(ib_status_supersedes(C, 1000, C, 1000)); /* duplicate changes nothing */
    assert_true(ib_status_supersedes(P, 1000, P, 2000));
    assert_true(ib_status_supersedes(P, 5000, C, 1000)); /* terminal beats a later pending */
    assert_int_equal(ib_status_compare(D, 7, D, 7), 0);
}

/* pending -> completed | declined | expired: a finished interview does not become another
 * finished state; a later event of the same finished state updates it. */
static void test_lifecycle(void **state)
{
    (void)state;
    const ib_status_t P = IB_STATUS_PENDING, C = IB_STATUS_COMPLETED, D = IB_STATUS_DECLINED,
                      E = IB_STATUS_EXPIRED;
    assert_false(ib_status_supersedes(C, 1000, E, 2000)); /* completed then expired: completed */
    assert_false(ib_status_supersedes(E, 1000, C, 2000));
    assert_false(ib_status_supersedes(D, 1000, C, 2000));
    assert_false(ib_status_supersedes(C, 1000, D, 1000));
    assert_true(ib_status_supersedes(C, 1000, C, 2000)); /* a later completed updates it */
    assert_false(ib_status_supersedes(C, 2000, C, 1000));
    const ib_status_t all[] = {P, C, D, E};
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 4; b++)
            for (long long ta = 0; ta < 3; ta++)
                for (long long tb = 0; tb < 3; tb++) {
                    int ab = ib_status_compare(all[a], ta, all[b], tb);
                    int ba = ib_status_compare(all[b], tb, all[a], ta);
                    int finished_pair = a != b && all[a] != P && all[b] != P;
                    if (finished_pair) /* neither replaces the other */
                        assert_true(ab < 0 && ba < 0);
                    else
                        assert_true((ab > 0 && ba < 0) || (ab < 0 && ba > 0) ||
                                    (ab == 0 && ba == 0));
                }
}

/* A link's ttl counts down from occurred_at; expired: no answer. */
static void test_shared_link_countdown(void **state)
{
    (void)state;
    static const char ev_text[] =
        "{\"interview_id\":\"x\",\"status\":\"completed\",\"occurred_at\":"
        "\"2026-01-01T00:00:00Z\",\"shared_link\":{\"url\":\"https://a.b/l\",\"ttl\":120,"
        "\"ttl_units\":\"minutes\"}}";
    ib_status_event_t ev;
    char err[256];
    json_t *ans = NULL;
    long long t0 = 0;
    assert_int_equal(ib_rfc3339_parse("2026-01-01T00:00:00Z", &t0), IB_OK);
    assert_int_equal(ib_status_event_parse(ev_text, strlen(ev_text), &ev, err, sizeof(err)), IB_OK);
    assert_int_equal(ib_shared_link_answer(ev.shared_link, t0, &ans), 1);
    assert_string_equal(ib_json_str(ans, "ttl"), "120");
    assert_string_equal(ib_json_str(ans, "ttl_units"), "minutes");
    assert_string_equal(ib_json_str(ans, "url"), "https://a.b/l");
    assert_null(json_object_get(ans, "expires_at_ms"));
    json_decref(ans);
    assert_int_equal(ib_shared_link_answer(ev.shared_link, t0 + 30 * 60000 + 1, &ans), 1);
    assert_string_equal(ib_json_str(ans, "ttl"), "89"); /* whole minutes left, rounded down */
    json_decref(ans);
    assert_int_equal(ib_shared_link_answer(ev.shared_link, t0 + 120 * 60000, &ans), 0);
    assert_null(ans);
    ib_status_event_clear(&ev);
    /* views are passed through, whatever the time. */
    json_t *views =
        json_pack("{s:s,s:s,s:s}", "url", "https://a.b/v", "ttl", "3", "ttl_units", "views");
    assert_int_equal(ib_shared_link_answer(views, 1LL << 50, &ans), 1);
    assert_true(json_equal(ans, views));
    json_decref(ans);
    json_decref(views);
}

/* Found by tests/fuzz/fuzz_payload: 29 February was accepted in every year. */
static void test_rfc3339_leap_years(void **state)
{
    (void)state;
    long long ms = 0;
    assert_int_equal(ib_rfc3339_parse("2024-02-29T00:00:00Z", &ms), IB_OK);
    assert_true(ms == 1709164800000LL);
    assert_int_equal(ib_rfc3339_parse("2000-02-29T12:00:00Z", &ms), IB_OK);
    assert_int_equal(ib_rfc3339_parse("2023-02-29T00:00:00Z", &ms), IB_ERR);
    assert_int_equal(ib_rfc3339_parse("1900-02-29T00:00:00Z", &ms), IB_ERR);
    assert_int_equal(ib_rfc3339_parse("0870-02-29t10:08:02.029-01:07", &ms), IB_ERR);
    assert_int_equal(ib_rfc3339_parse("2023-02-28T23:59:60Z", &ms), IB_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_payload_key_order_matches_contract),
        cmocka_unit_test(test_oversize_and_status_helpers),
        cmocka_unit_test(test_supersedes),
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_shared_link_countdown),
        cmocka_unit_test(test_rfc3339_leap_years),
        cmocka_unit_test(test_cases_in_arena), /* last: it installs the allocator */
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
