#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <poll.h>

#include "resolver.h"

/* Waits (poll on the resolver's fd, 10 s at most) for one answer. */
static void await_answer(rw_resolver_t *r, rw_resolved_t *a)
{
    for (int i = 0; i < 100; i++) {
        if (rw_resolver_take(r, a))
            return;
        struct pollfd p = {rw_resolver_fd(r), POLLIN, 0};
        (void)poll(&p, 1, 100);
    }
    fail_msg("no answer within 10 s");
}

static void test_answers_carry_their_key(void **state)
{
    (void)state;
    char err[128];
    rw_resolver_t *r = rw_resolver_new(2, err, sizeof(err));
    assert_non_null(r);
    rw_resolved_t a;
    assert_int_equal(rw_resolver_take(r, &a), 0);
    assert_int_equal(rw_resolver_submit(r, "https://one:443", "127.0.0.1"), IB_OK);
    assert_int_equal(rw_resolver_submit(r, "https://two:443", "::1"), IB_OK);
    int seen = 0;
    for (int n = 0; n < 2; n++) {
        memset(&a, 0, sizeof(a));
        await_answer(r, &a);
        assert_int_equal(a.gai, 0);
        assert_non_null(a.res);
        if (strcmp(a.key, "https://one:443") == 0) {
            assert_string_equal(a.name, "127.0.0.1");
            assert_int_equal(a.res->ai_family, AF_INET);
            seen |= 1;
        } else {
            assert_string_equal(a.key, "https://two:443");
            assert_int_equal(a.res->ai_family, AF_INET6);
            seen |= 2;
        }
        rw_resolved_clear(&a);
        assert_null(a.key);
    }
    assert_int_equal(seen, 3);
    /* Drained: nothing left, and the fd is not readable any more. */
    assert_int_equal(rw_resolver_take(r, &a), 0);
    struct pollfd p = {rw_resolver_fd(r), POLLIN, 0};
    assert_int_equal(poll(&p, 1, 0), 0);
    rw_resolver_free(r);
}

static void test_free_with_work_left(void **state)
{
    (void)state;
    char err[128];
    rw_resolver_t *r = rw_resolver_new(1, err, sizeof(err));
    assert_non_null(r);
    for (int i = 0; i < 50; i++)
        assert_int_equal(rw_resolver_submit(r, "k", "127.0.0.1"), IB_OK);
    rw_resolver_free(r); /* unanswered and untaken answers are freed (ASan checks) */
    rw_resolver_free(NULL);
    rw_resolved_clear(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_carry_their_key),
        cmocka_unit_test(test_free_with_work_left),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
