#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tracker.h"

static void test_contiguous_prefix(void **state)
{
    (void)state;
    rw_tracker_t t;
    memset(&t, 0, sizeof(t));
    for (int64_t o = 10; o < 15; o++)
        assert_int_equal(rw_tracker_add(&t, o), IB_OK);
    assert_int_equal(rw_tracker_pending(&t), 5);
    assert_int_equal(rw_tracker_done(&t, 12), -1); /* 10, 11 not done */
    assert_int_equal(rw_tracker_done(&t, 11), -1);
    assert_int_equal(rw_tracker_lowest(&t), 10);
    assert_int_equal(rw_tracker_done(&t, 10), 13); /* 10..12 done: store 13 */
    assert_int_equal(rw_tracker_done(&t, 12), -1); /* again: nothing */
    assert_int_equal(rw_tracker_done(&t, 99), -1); /* unknown */
    assert_int_equal(rw_tracker_done(&t, 14), -1);
    assert_int_equal(rw_tracker_done(&t, 13), 15);
    assert_int_equal(rw_tracker_pending(&t), 0);
    assert_int_equal(rw_tracker_lowest(&t), -1);
    /* Offsets only grow. */
    assert_int_equal(rw_tracker_add(&t, 14), IB_ERR);
    assert_int_equal(rw_tracker_add(&t, -1), IB_ERR);
    /* Gaps (compaction, transaction markers) are fine. */
    assert_int_equal(rw_tracker_add(&t, 20), IB_OK);
    assert_int_equal(rw_tracker_add(&t, 25), IB_OK);
    assert_int_equal(rw_tracker_done(&t, 25), -1);
    assert_int_equal(rw_tracker_done(&t, 20), 26);
    rw_tracker_reset(&t);
    assert_int_equal(rw_tracker_add(&t, 0), IB_OK); /* reset forgets the order */
    rw_tracker_reset(&t);
}

/* Random completion order over a growing ring: the stored offset is always the lowest
 * unfinished one, never beyond. */
static void test_random_order(void **state)
{
    (void)state;
    enum { N = 5000 };
    rw_tracker_t t;
    memset(&t, 0, sizeof(t));
    int64_t *order = malloc(N * sizeof(*order));
    uint8_t *done = calloc(N, 1);
    for (int64_t i = 0; i < N; i++) {
        assert_int_equal(rw_tracker_add(&t, 1000 + 2 * i), IB_OK);
        order[i] = i;
    }
    uint32_t seed = 12345;
    for (int i = N - 1; i > 0; i--) {
        seed = seed * 1103515245u + 12345u;
        int j = (int)(seed % (uint32_t)(i + 1));
        int64_t x = order[i];
        order[i] = order[j];
        order[j] = x;
    }
    int64_t low = 0;
    for (int i = 0; i < N; i++) {
        done[order[i]] = 1;
        int64_t store = rw_tracker_done(&t, 1000 + 2 * order[i]);
        int64_t want_low = low;
        while (want_low < N && done[want_low])
            want_low++;
        if (want_low != low) {
            assert_int_equal(store, 1000 + 2 * (want_low - 1) + 1);
            low = want_low;
        } else {
            assert_int_equal(store, -1);
        }
        assert_int_equal(rw_tracker_pending(&t), (size_t)(N - i - 1));
    }
    free(order);
    free(done);
    rw_tracker_reset(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contiguous_prefix),
        cmocka_unit_test(test_random_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
