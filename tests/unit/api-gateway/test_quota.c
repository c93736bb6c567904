/* Unit tests of api-gateway/src/quota.c: the token bucket with the time given, and the
 * per-tenant buckets with the tenants file's overrides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <string.h>

#include "quota.h"

static void test_bucket_burst_then_rate(void **state)
{
    gw_bucket_t b;
    (void)state;
    gw_bucket_init(&b, 3, 1000);
    /* The burst at once, then nothing. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(gw_bucket_take(&b, 2, 3, 1000), 0);
    /* Rate 2/s: the next token in 500 ms. */
    assert_int_equal(gw_bucket_take(&b, 2, 3, 1000), 500);
    assert_int_equal(gw_bucket_take(&b, 2, 3, 1200), 300);
    assert_int_equal(gw_bucket_take(&b, 2, 3, 1499), 1);
    assert_int_equal(gw_bucket_take(&b, 2, 3, 1500), 0);
    assert_int_not_equal(gw_bucket_take(&b, 2, 3, 1500), 0);
    /* A long pause refills up to the burst, not beyond. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(gw_bucket_take(&b, 2, 3, 100000), 0);
    assert_int_equal(gw_bucket_take(&b, 2, 3, 100000), 500);
}

static void test_bucket_steady_rate(void **state)
{
    gw_bucket_t b;
    (void)state;
    /* Rate 10/s, burst 1: one request every 100 ms passes, one at 50 ms does not. */
    gw_bucket_init(&b, 1, 0);
    int allowed = 0;
    for (long long t = 0; t < 10000; t += 50)
        allowed += gw_bucket_take(&b, 10, 1, t) == 0;
    assert_int_equal(allowed, 100);
}

static void test_bucket_clock_back(void **state)
{
    gw_bucket_t b;
    (void)state;
    gw_bucket_init(&b, 1, 5000);
    assert_int_equal(gw_bucket_take(&b, 1, 1, 5000), 0);
    /* Earlier than the last refill: no tokens made up. */
    assert_true(gw_bucket_take(&b, 1, 1, 1000) > 0);
    assert_true(gw_bucket_take(&b, 1, 1, 5999) > 0);
    assert_int_equal(gw_bucket_take(&b, 1, 1, 6000), 0);
}

static void test_quota_per_tenant(void **state)
{
    ib_tenant_t t[3];
    char ids[3][2] = {"a", "b", "c"};
    (void)state;
    memset(t, 0, sizeof(t));
    /* a: the defaults; b: its own rate and burst; c: quota off by the file. */
    t[0] = (ib_tenant_t){.id = ids[0], .create_rate = -1, .create_burst = -1};
    t[1] = (ib_tenant_t){.id = ids[1], .create_rate = 1, .create_burst = 5};
    t[2] = (ib_tenant_t){.id = ids[2], .create_rate = 0, .create_burst = -1};
    ib_tenants_t ts = {t, 3};
    gw_quota_t *q = gw_quota_new(&ts, 10, 2, 0);
    assert_non_null(q);
    long ra = 0;

    assert_int_equal(gw_quota_take(q, &t[0], 0, &ra), IB_OK);
    assert_int_equal(gw_quota_take(q, &t[0], 0, &ra), IB_OK);
    assert_int_equal(gw_quota_take(q, &t[0], 0, &ra), IB_AGAIN);
    /* 100 ms to wait: Retry-After rounds up to a whole second. */
    assert_int_equal(ra, 1);
    /* a's empty bucket leaves b's alone. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(gw_quota_take(q, &t[1], 0, &ra), IB_OK);
    assert_int_equal(gw_quota_take(q, &t[1], 0, &ra), IB_AGAIN);
    assert_int_equal(ra, 1);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(gw_quota_take(q, &t[2], 0, &ra), IB_OK);
    assert_int_equal(gw_quota_take(q, &t[0], 100, &ra), IB_OK);
    gw_quota_free(q);

    /* A slow rate: the wait is whole seconds, rounded up. */
    t[1].create_rate = 1;
    t[1].create_burst = 1;
    q = gw_quota_new(&ts, 10, 2, 0);
    assert_non_null(q);
    assert_int_equal(gw_quota_take(q, &t[1], 0, &ra), IB_OK);
    assert_int_equal(gw_quota_take(q, &t[1], 1, &ra), IB_AGAIN);
    assert_int_equal(ra, 1);
    gw_quota_free(q);

    /* Rate 0 by configuration: no quota unless the file sets one. */
    q = gw_quota_new(&ts, 0, 1, 0);
    assert_non_null(q);
    for (int i = 0; i < 100; i++)
        assert_int_equal(gw_quota_take(q, &t[0], 0, &ra), IB_OK);
    assert_int_equal(gw_quota_take(q, &t[1], 0, &ra), IB_OK);
    assert_int_equal(gw_quota_take(q, &t[1], 0, &ra), IB_AGAIN);
    gw_quota_free(q);
    gw_quota_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_burst_then_rate),
        cmocka_unit_test(test_bucket_steady_rate),
        cmocka_unit_test(test_bucket_clock_back),
        cmocka_unit_test(test_quota_per_tenant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
