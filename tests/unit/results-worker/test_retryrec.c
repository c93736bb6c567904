#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "retryrec.h"

static void test_round_trip(void **state)
{
    (void)state;
    rw_retry_rec_t r;
    rw_retry_rec_t back;
    char err[200];
    memset(&r, 0, sizeof(r));
    r.interview_id = strdup("abc");
    r.tenant = strdup("groove-tech");
    r.callback_url = strdup("https://groove-tech.workable.com/interviews/1");
    r.event = json_pack("{s:s,s:s,s:s}", "interview_id", "abc", "status", "completed",
                        "occurred_at", "2026-11-28T20:00:00Z");
    r.status = IB_STATUS_COMPLETED;
    assert_int_equal(ib_rfc3339_parse("2026-11-28T20:00:00Z", &r.occurred_ms), IB_OK);
    r.attempts = 2;
    r.due_ms = 1800000000123LL;
    r.first_attempt_ms = 1800000000000LL;
    r.first_seen_ms = 1799999999000LL;
    r.source_topic = strdup("interviews.status");
    r.source_partition = 4;
    r.source_offset = 77;
    assert_int_equal(rw_retry_rec_add_history(&r, 1800000000000LL, 1, 503, NULL, "busy"), IB_OK);
    assert_int_equal(rw_retry_rec_add_history(&r, 1800000001000LL, 2, 0, "Connection refused", ""),
                     IB_OK);
    char *text = rw_retry_rec_encode(&r);
    assert_non_null(text);
    assert_int_equal(rw_retry_rec_decode(text, strlen(text), &back, err, sizeof(err)), IB_OK);
    assert_string_equal(back.interview_id, "abc");
    assert_string_equal(back.tenant, "groove-tech");
    assert_string_equal(back.callback_url, r.callback_url);
    assert_int_equal(back.status, IB_STATUS_COMPLETED);
    assert_true(back.occurred_ms == r.occurred_ms);
    assert_int_equal(back.attempts, 2);
    assert_true(back.due_ms == r.due_ms);
    assert_true(back.first_attempt_ms == r.first_attempt_ms);
    assert_true(back.first_seen_ms == r.first_seen_ms);
    assert_string_equal(back.source_topic, "interviews.status");
    assert_int_equal(back.source_partition, 4);
    assert_int_equal(back.source_offset, 77);
    assert_true(json_equal(back.event, r.event));
    assert_int_equal(json_array_size(back.history), 2);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(back.history, 0), "http_status")), 503);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(back.history, 1), "error")),
        "Connection refused");
    free(text);
    rw_retry_rec_clear(&back);
    /* History is bounded; the dropped count is kept. */
    for (unsigned i = 0; i < RW_RETRY_HISTORY_MAX + 5; i++)
        assert_int_equal(rw_retry_rec_add_history(&r, 1, i, 500, NULL, NULL), IB_OK);
    assert_int_equal(json_array_size(r.history), RW_RETRY_HISTORY_MAX);
    assert_int_equal(r.history_dropped, 7);
    rw_retry_rec_clear(&r);
}

static void test_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "[]",
        "{",
        "{\"interview_id\":\"a\"}",
        "{\"interview_id\":\"a\",\"tenant\":\"t\",\"callback_url\":\"u\",\"event\":{},"
        "\"status\":\"bogus\",\"occurred_at\":\"2026-01-01T00:00:00Z\",\"attempts\":1,"
        "\"due_at\":\"2026-01-01T00:00:00Z\",\"first_attempt_at\":\"2026-01-01T00:00:00Z\","
        "\"history\":[]}",
        "{\"interview_id\":\"a\",\"tenant\":\"t\",\"callback_url\":\"u\",\"event\":{},"
        "\"status\":\"pending\",\"occurred_at\":\"2026-01-01T00:00:00Z\",\"attempts\":-1,"
        "\"due_at\":\"2026-01-01T00:00:00Z\",\"first_attempt_at\":\"2026-01-01T00:00:00Z\","
        "\"history\":[]}",
        "{\"interview_id\":\"a\",\"tenant\":\"t\",\"callback_url\":\"u\",\"event\":\"x\","
        "\"status\":\"pending\",\"occurred_at\":\"2026-01-01T00:00:00Z\",\"attempts\":1,"
        "\"due_at\":\"2026-01-01T00:00:00Z\",\"first_attempt_at\":\"2026-01-01T00:00:00Z\","
        "\"history\":[]}",
        "{\"interview_id\":\"a\",\"tenant\":\"t\",\"callback_url\":\"u\",\"event\":{},"
        "\"status\":\"pending\",\"occurred_at\":\"2026-01-01T00:00:00Z\",\"attempts\":1,"
        "\"due_at\":\"soon\",\"first_attempt_at\":\"2026-01-01T00:00:00Z\",\"history\":[]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rw_retry_rec_t r;
        char err[200];
        if (rw_retry_rec_decode(bad[i], strlen(bad[i]), &r, err, sizeof(err)) == IB_OK)
            fail_msg("accepted: %s", bad[i]);
        assert_null(r.interview_id);
        assert_null(r.event);
    }
}

/* An interview id longer than any the worker can key (RW_RETRY_MAX_ID_LEN) is refused at the
 * boundary, so it is dead-lettered as invalid; the longest allowed one is accepted. */
static void test_interview_id_length(void **state)
{
    (void)state;
    char id[RW_RETRY_MAX_ID_LEN + 2];
    char buf[1024];
    char err[200];
    rw_retry_rec_t r;
    for (size_t n = RW_RETRY_MAX_ID_LEN; n <= RW_RETRY_MAX_ID_LEN + 1; n++) {
        memset(id, 'x', n);
        id[n] = '\0';
        snprintf(buf, sizeof(buf),
                 "{\"interview_id\":\"%s\",\"tenant\":\"t\",\"callback_url\":\"u\","
                 "\"event\":{},\"status\":\"pending\",\"occurred_at\":\"2026-01-01T00:00:00Z\","
                 "\"attempts\":1,\"due_at\":\"2026-01-01T00:00:00Z\","
                 "\"first_attempt_at\":\"2026-01-01T00:00:00Z\",\"history\":[]}",
                 id);
        ib_rc_t rc = rw_retry_rec_decode(buf, strlen(buf), &r, err, sizeof(err));
        if (n == RW_RETRY_MAX_ID_LEN) {
            assert_int_equal(rc, IB_OK);
            assert_int_equal(strlen(r.interview_id), n);
        } else {
            assert_int_equal(rc, IB_ERR);
            assert_string_equal(err, "retry record: interview_id missing or invalid");
            assert_null(r.interview_id);
        }
        rw_retry_rec_clear(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_interview_id_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
