#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"

static void test_jitter_bounds(void **state)
{
    (void)state;
    long ms[] = {0, 2000};
    ib_durations_t sched = {ms, 2};
    assert_int_equal(rw_retry_delay(&sched, 1, 0.0, 0), 1600);
    assert_in_range(rw_retry_delay(&sched, 1, 0.999999, 0), 2399, 2400);
    /* Draws outside [0, 1) are clamped. */
    assert_int_equal(rw_retry_delay(&sched, 1, -3.0, 0), 1600);
    assert_in_range(rw_retry_delay(&sched, 1, 7.0, 0), 2399, 2400);
    for (int i = 0; i < 1000; i++) {
        double u = rw_backoff_unit();
        assert_true(u >= 0.0 && u < 1.0);
        long d = rw_retry_delay(&sched, 1, u, 0);
        assert_in_range(d, 1600, 2400);
    }
}

static void test_retry_schedule(void **state)
{
    (void)state;
    long ms[] = {0, 5000, 30000, 120000};
    ib_durations_t sched = {ms, 4};
    /* After n failed attempts the delay is schedule[n] (the delay before attempt n+1); the last
     * entry repeats; jitter 0.5 is the midpoint (factor 1.0). */
    assert_int_equal(rw_retry_delay(&sched, 1, 0.5, 0), 5000);
    assert_int_equal(rw_retry_delay(&sched, 2, 0.5, 0), 30000);
    assert_int_equal(rw_retry_delay(&sched, 3, 0.5, 0), 120000);
    assert_int_equal(rw_retry_delay(&sched, 4, 0.5, 0), 120000);
    assert_int_equal(rw_retry_delay(&sched, 40, 0.5, 0), 120000);
    /* +-20 % jitter. */
    assert_int_equal(rw_retry_delay(&sched, 1, 0.0, 0), 4000);
    assert_in_range(rw_retry_delay(&sched, 1, 0.999999, 0), 5999, 6000);
    /* Retry-After raises the delay, within bounds. */
    assert_int_equal(rw_retry_delay(&sched, 1, 0.5, 60000), 60000);
    assert_int_equal(rw_retry_delay(&sched, 2, 0.5, 1000), 30000);
    assert_int_equal(rw_retry_delay(&sched, 1, 0.5, 86400000L * 30), RW_RETRY_AFTER_MAX_MS);
    /* A one-entry schedule repeats itself. */
    long one[] = {200};
    ib_durations_t s1 = {one, 1};
    assert_int_equal(rw_retry_delay(&s1, 1, 0.5, 0), 200);
    assert_int_equal(rw_retry_delay(&s1, 9, 0.5, 0), 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jitter_bounds),
        cmocka_unit_test(test_retry_schedule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
