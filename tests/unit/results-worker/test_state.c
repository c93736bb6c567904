#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "state.h"

/* The record is the event with tenant and callback_url set at its top level: every other
 * member kept as sent (unknown ones too), the platform's own tenant/callback_url replaced. */
static void test_value_sets_owner_and_keeps_the_event(void **state)
{
    (void)state;
    static const char ev[] =
        "{\"interview_id\":\"ab\",\"status\":\"completed\",\"occurred_at\":\"2026-01-02T03:04:"
        "05Z\","
        "\"interview\":{\"score\":\"78\",\"details\":{\"a\":[1,2]}},\"platform_extra\":true,"
        "\"tenant\":\"spoofed\",\"callback_url\":\"https://evil.example/x\"}";
    size_t len = 0;
    char *v = rw_state_value(ev, strlen(ev), "acme", "https://acme.workable.com/cb/1", &len);
    assert_non_null(v);
    assert_int_equal(len, strlen(v));
    json_error_t err;
    json_t *root = json_loads(v, 0, &err);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "tenant")), "acme");
    assert_string_equal(json_string_value(json_object_get(root, "callback_url")),
                        "https://acme.workable.com/cb/1");
    assert_string_equal(json_string_value(json_object_get(root, "status")), "completed");
    assert_string_equal(json_string_value(json_object_get(root, "occurred_at")),
                        "2026-01-02T03:04:05Z");
    assert_true(json_is_true(json_object_get(root, "platform_extra")));
    json_t *details = json_object_get(json_object_get(root, "interview"), "details");
    assert_int_equal(json_array_size(json_object_get(details, "a")), 2);
    assert_int_equal(json_object_size(root), 7);
    json_decref(root);
    free(v);
}

static void test_value_refuses_what_is_not_an_object(void **state)
{
    (void)state;
    size_t len = 0;
    static const char *const bad[] = {"[1,2]", "\"x\"", "{\"a\":", "", "{\"a\":1,\"a\":2}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_null(rw_state_value(bad[i], strlen(bad[i]), "acme", "https://a/b", &len));
}

static void test_ce_id(void **state)
{
    (void)state;
    char buf[128];
    rw_state_ce_id(buf, sizeof(buf), "abc", IB_STATUS_COMPLETED, 1767322845000LL);
    assert_string_equal(buf, "abc:completed:1767322845000");
}

/* An event as jansson writes it (compact): the spliced value is byte for byte the parsed one. */
static void test_value_parsed_same_bytes(void **state)
{
    (void)state;
    static const char *const events[] = {
        "{\"interview_id\":\"ab\",\"status\":\"completed\",\"occurred_at\":\"2026-01-02T03:04:"
        "05Z\","
        "\"results_url\":\"https://acme.com/r/1\",\"interview\":{\"score\":78,\"grade\":\"passed\","
        "\"details\":{\"a\":{\"b\":1.5},\"c\":[1,\"x\"]}},\"attachments\":[],\"x\":null}",
        "{\"interview_id\":\"é\",\"status\":\"pending\",\"occurred_at\":\"2026-01-02T03:04:05Z\"}",
        /* these go through the parse: a backslash, a member of the same name */
        "{\"interview_id\":\"a\\\"b\",\"status\":\"pending\",\"occurred_at\":\"2026-01-02T03:04:"
        "05Z\"}",
        "{\"interview_id\":\"a\",\"tenant\":\"spoofed\",\"status\":\"pending\"}",
        "{\"callback_url\":1,\"interview_id\":\"a\"}",
    };
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        size_t la = 0;
        size_t lb = 0;
        char *a = rw_state_value(events[i], strlen(events[i]), "acme", "https://a.b/c\"d", &la);
        char *b =
            rw_state_value_parsed(events[i], strlen(events[i]), "acme", "https://a.b/c\"d", &lb);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(la, lb);
        assert_int_equal(lb, strlen(b));
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
}

/* Whitespace as sent is kept; the value is the event's members and the two, as JSON. */
static void test_value_parsed_keeps_the_text(void **state)
{
    (void)state;
    static const char ev[] = " \n{ \"interview_id\" : \"ab\", \"n\": 1.50 }\r\n";
    size_t len = 0;
    char *v = rw_state_value_parsed(ev, strlen(ev), "acme", "https://acme.workable.com/cb/1", &len);
    assert_non_null(v);
    assert_string_equal(v, "{ \"interview_id\" : \"ab\", \"n\": 1.50 ,\"tenant\":\"acme\","
                           "\"callback_url\":\"https://acme.workable.com/cb/1\"}");
    json_error_t err;
    json_t *root = json_loads(v, JSON_REJECT_DUPLICATES, &err);
    assert_non_null(root);
    assert_int_equal(json_object_size(root), 4);
    json_decref(root);
    free(v);
    /* An empty object, or text that is not one, goes through the parse. */
    v = rw_state_value_parsed("{ }", 3, "acme", "https://a/b", &len);
    assert_non_null(v);
    assert_string_equal(v, "{\"tenant\":\"acme\",\"callback_url\":\"https://a/b\"}");
    free(v);
    assert_null(rw_state_value_parsed("[1]", 3, "acme", "https://a/b", &len));
}

/* The ce_id read back names the state only when it is exactly the writer's form for this key. */
static void test_ce_id_read(void **state)
{
    (void)state;
    char buf[RW_STATE_CE_ID_MAX];
    ib_status_t st = IB_STATUS_PENDING;
    long long ms = 0;
    rw_state_ce_id(buf, sizeof(buf), "a:b", IB_STATUS_DECLINED, 1767322845000LL);
    assert_int_equal(rw_state_ce_id_read(buf, strlen(buf), "a:b", 3, &st, &ms), IB_OK);
    assert_int_equal(st, IB_STATUS_DECLINED);
    assert_int_equal(ms, 1767322845000LL);
    rw_state_ce_id(buf, sizeof(buf), "abc", IB_STATUS_PENDING, 0);
    assert_int_equal(rw_state_ce_id_read(buf, strlen(buf), "abc", 3, &st, &ms), IB_OK);
    assert_int_equal(st, IB_STATUS_PENDING);
    assert_int_equal(ms, 0);
    static const char *const bad[] = {
        "abd:completed:1",  /* another key */
        "abcd:completed:1", /* a longer key */
        "abc:rejected:1",   /* never written */
        "abc:Completed:1",
        "abc:completed:",
        "abc:completed:-1",
        "abc:completed:1x",
        "abc:completed",
        "abc::1",
        "abc",
        "abc:completed:99999999999999999999",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(rw_state_ce_id_read(bad[i], strlen(bad[i]), "abc", 3, &st, &ms), IB_ERR);
    /* Not NUL-terminated: only len bytes are read. */
    assert_int_equal(rw_state_ce_id_read("abc:expired:12trailing", 14, "abc", 3, &st, &ms), IB_OK);
    assert_int_equal(st, IB_STATUS_EXPIRED);
    assert_int_equal(ms, 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_sets_owner_and_keeps_the_event),
        cmocka_unit_test(test_value_refuses_what_is_not_an_object),
        cmocka_unit_test(test_ce_id),
        cmocka_unit_test(test_ce_id_read),
        cmocka_unit_test(test_value_parsed_same_bytes),
        cmocka_unit_test(test_value_parsed_keeps_the_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
