#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "breaker.h"

static void test_open_probe_close(void **state)
{
    (void)state;
    rw_breaker_opts_t o = {3, 1000};
    rw_breaker_t b;
    long long at = -1;
    memset(&b, 0, sizeof(b));
    assert_int_equal(rw_breaker_allow(&b, 0, &at), 1);
    rw_breaker_failure(&b, &o, 0);
    rw_breaker_failure(&b, &o, 0);
    rw_breaker_success(&b); /* resets the run */
    rw_breaker_failure(&b, &o, 0);
    rw_breaker_failure(&b, &o, 0);
    assert_int_equal(rw_breaker_state(&b, 10), RW_BREAKER_CLOSED);
    rw_breaker_failure(&b, &o, 10); /* third in a row: open until 1010 */
    assert_int_equal(rw_breaker_state(&b, 10), RW_BREAKER_OPEN);
    assert_int_equal(rw_breaker_allow(&b, 500, &at), 0);
    assert_int_equal(at, 1010);
    /* A transfer that started before opening fails: nothing changes. */
    rw_breaker_failure(&b, &o, 600);
    assert_int_equal(rw_breaker_allow(&b, 1009, &at), 0);
    assert_int_equal(at, 1010);
    /* Cooldown over: one probe, everybody else waits for its verdict. */
    assert_int_equal(rw_breaker_state(&b, 1010), RW_BREAKER_HALF_OPEN);
    assert_int_equal(rw_breaker_allow(&b, 1010, &at), 1);
    assert_int_equal(rw_breaker_allow(&b, 1011, &at), 0);
    assert_int_equal(at, 0);
    /* Probe fails: open again for a cooldown. */
    rw_breaker_failure(&b, &o, 1100);
    assert_int_equal(rw_breaker_state(&b, 1100), RW_BREAKER_OPEN);
    assert_int_equal(rw_breaker_allow(&b, 2099, &at), 0);
    assert_int_equal(at, 2100);
    /* Next probe aborted (shutdown): the slot is free again. */
    assert_int_equal(rw_breaker_allow(&b, 2100, &at), 1);
    rw_breaker_abandon(&b);
    assert_int_equal(rw_breaker_allow(&b, 2101, &at), 1);
    /* Probe succeeds: closed. */
    rw_breaker_success(&b);
    assert_int_equal(rw_breaker_state(&b, 2102), RW_BREAKER_CLOSED);
    assert_int_equal(rw_breaker_allow(&b, 2102, &at), 1);
    assert_int_equal(rw_breaker_allow(&b, 2102, &at), 1);
    assert_string_equal(rw_breaker_state_name(RW_BREAKER_HALF_OPEN), "half_open");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_probe_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
