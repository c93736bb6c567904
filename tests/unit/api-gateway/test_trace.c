/* Unit tests of api-gateway/src/trace.c: X-Request-Id and W3C traceparent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "trace.h"

static const uint8_t RND[16 + GW_TRACE_RANDOM] = {
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x10, 0x32, 0x54, 0x76, 0x98, 0xba,
    0xdc, 0xfe, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
    0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7};

static void test_request_id(void **state)
{
    char out[GW_REQUEST_ID_MAX + 1];
    (void)state;
    gw_request_id_make("abc-123_x.y:z", RND, out);
    assert_string_equal(out, "abc-123_x.y:z");
    /* Generated when absent, empty, too long, or carrying anything unsafe to log or echo. */
    char long_id[GW_REQUEST_ID_MAX + 2];
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    const char *bad[] = {NULL, "", "a b", "a\"b", "a\nb", "a\r\nX-Evil: 1", "ü", long_id};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gw_request_id_make(bad[i], RND, out);
        assert_string_equal(out, "0123456789abcdef1032547698badcfe");
    }
    long_id[GW_REQUEST_ID_MAX] = '\0';
    gw_request_id_make(long_id, RND, out);
    assert_string_equal(out, long_id);
}

static void test_traceparent_validity(void **state)
{
    (void)state;
    assert_true(gw_traceparent_valid("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    assert_true(gw_traceparent_valid("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"));
    assert_true(gw_traceparent_valid("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
    const char *bad[] = {
        NULL,
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", /* v00 with a suffix */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   /* uppercase */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   /* version ff */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   /* zero trace-id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   /* zero parent-id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (gw_traceparent_valid(bad[i]))
            fail_msg("accepted %s", bad[i] != NULL ? bad[i] : "NULL");
}

static void test_traceparent_make(void **state)
{
    char out[GW_TRACEPARENT_LEN + 1];
    (void)state;
    /* Continued: same trace-id and flags, our own span id. */
    gw_traceparent_make("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", RND + 16, out);
    assert_string_equal(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-b0b1b2b3b4b5b6b7-01");
    gw_traceparent_make("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-later", RND + 16,
                        out);
    assert_string_equal(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-b0b1b2b3b4b5b6b7-03");
    /* Created: a new trace. */
    gw_traceparent_make(NULL, RND + 16, out);
    assert_string_equal(out, "00-a0a1a2a3a4a5a6a7a8a9aaabacadaeaf-b0b1b2b3b4b5b6b7-00");
    gw_traceparent_make("garbage", RND + 16, out);
    assert_true(gw_traceparent_valid(out));
    /* All-zero random bytes still give a valid header. */
    uint8_t zero[GW_TRACE_RANDOM] = {0};
    gw_traceparent_make(NULL, zero, out);
    assert_true(gw_traceparent_valid(out));
}

/* Batched draws: every call gets bytes of its own, across refills, and of any length. */
static void test_random_never_repeats(void **state)
{
    (void)state;
    enum { CALLS = 600, LEN = 40 };
    static uint8_t got[CALLS][LEN];
    for (size_t i = 0; i < CALLS; i++)
        gw_random(got[i], i % 7 == 3 ? 1 : LEN);
    for (size_t i = 0; i < CALLS; i++) {
        if (i % 7 == 3)
            continue;
        for (size_t j = 0; j < i; j++)
            if (j % 7 != 3 && memcmp(got[i], got[j], LEN) == 0)
                fail_msg("draws %zu and %zu are equal", i, j);
        /* 40 zero bytes from a good generator: 2^-320. */
        static const uint8_t zero[LEN];
        assert_memory_not_equal(got[i], zero, LEN);
    }
    uint8_t big[4096], big2[4096];
    gw_random(big, sizeof(big));
    gw_random(big2, sizeof(big2));
    assert_memory_not_equal(big, big2, sizeof(big));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_id),
        cmocka_unit_test(test_traceparent_validity),
        cmocka_unit_test(test_traceparent_make),
        cmocka_unit_test(test_random_never_repeats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
