/* Unit tests of shared/src/map.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ib/map.h"

typedef struct {
    int value;
    char key[32];
} item_t;

static const void *item_key(const void *item, size_t *len)
{
    const item_t *it = item;
    *len = strlen(it->key);
    return it->key;
}

static item_t *make(const char *prefix, int n)
{
    item_t *it = calloc(1, sizeof(*it));
    assert_non_null(it);
    snprintf(it->key, sizeof(it->key), "%s%0*d", prefix, prefix[0] == 'p' ? 8 : 0, n);
    it->value = n;
    return it;
}

static item_t *get(ib_map_t *m, const char *key)
{
    return ib_map_get(m, key, strlen(key));
}

static void test_put_get_replace_remove(void **state)
{
    (void)state;
    ib_map_t *m = ib_map_new(item_key, 4);
    void *old = (void *)1;
    assert_non_null(m);
    assert_null(get(m, "a"));
    assert_null(ib_map_remove(m, "a", 1));

    item_t *a = make("a", 1);
    item_t *b = make("b", 2);
    item_t *a2 = make("a", 1);
    a2->value = 10;
    assert_int_equal(ib_map_put(m, a, &old), IB_OK);
    assert_null(old);
    assert_int_equal(ib_map_put(m, b, NULL), IB_OK);
    assert_ptr_equal(get(m, "a1"), a);
    assert_ptr_equal(get(m, "b2"), b);
    assert_null(get(m, "a"));
    assert_null(get(m, "a12"));
    assert_int_equal(ib_map_count(m), 2);

    assert_int_equal(ib_map_put(m, a2, &old), IB_OK);
    assert_ptr_equal(old, a);
    assert_int_equal(ib_map_count(m), 2);
    assert_int_equal(get(m, "a1")->value, 10);

    assert_ptr_equal(ib_map_remove(m, "a1", 2), a2);
    assert_null(get(m, "a1"));
    assert_ptr_equal(get(m, "b2"), b);
    assert_int_equal(ib_map_count(m), 1);
    ib_map_free(m);
    free(a);
    free(a2);
    free(b);
    ib_map_free(NULL);
}

static int drop_odd(void *item, void *arg)
{
    item_t *it = item;
    int *freed = arg;
    if (it->value % 2 == 0)
        return 0;
    free(it);
    (*freed)++;
    return 1;
}

static int drop_all(void *item, void *arg)
{
    (void)arg;
    free(item);
    return 1;
}

/* Many inserts, removals and a bulk removal with shifting: every survivor stays reachable. */
static void test_many_and_remove_if(void **state)
{
    (void)state;
    enum { N = 20000 };
    ib_map_t *m = ib_map_new(item_key, 0);
    char key[32];
    assert_non_null(m);
    for (int i = 0; i < N; i++)
        assert_int_equal(ib_map_put(m, make("k", i), NULL), IB_OK);
    assert_int_equal(ib_map_count(m), N);
    size_t big = ib_map_bytes(m);
    for (int i = 0; i < N; i += 4) {
        snprintf(key, sizeof(key), "k%d", i);
        free(ib_map_remove(m, key, strlen(key)));
    }
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        item_t *it = get(m, key);
        if (i % 4 == 0)
            assert_null(it);
        else
            assert_true(it != NULL && it->value == i);
    }
    int freed = 0;
    assert_int_equal(ib_map_remove_if(m, drop_odd, &freed), N / 2);
    assert_int_equal(freed, N / 2);
    assert_int_equal(ib_map_count(m), N / 4);
    assert_true(ib_map_bytes(m) < big); /* shrunk */
    size_t seen = 0;
    size_t pos = 0;
    item_t *it;
    while ((it = ib_map_next(m, &pos)) != NULL) {
        assert_true(it->value % 4 == 2);
        assert_ptr_equal(get(m, it->key), it);
        seen++;
    }
    assert_int_equal(seen, N / 4);
    assert_int_equal(ib_map_remove_if(m, drop_all, NULL), N / 4);
    assert_int_equal(ib_map_count(m), 0);
    ib_map_free(m);
}

/* A million keys that share everything but their last bytes ("prefix-00000001", ...) must not pile
 * into one chain: a hash of a prefix would make n inserts cost n^2/2 probes. The bound is on
 * probes, not time, so it holds under valgrind and sanitizers. */
static void test_shared_prefix_is_linear(void **state)
{
    (void)state;
    const int N = getenv("IB_UNDER_VALGRIND") != NULL ? 20000 : 1000000;
    ib_map_t *m = ib_map_new(item_key, 0);
    item_t **items = calloc((size_t)N, sizeof(*items));
    assert_non_null(m);
    assert_non_null(items);
    for (int i = 0; i < N; i++) {
        items[i] = make("prefix-", i + 1);
        assert_int_equal(ib_map_put(m, items[i], NULL), IB_OK);
    }
    for (int i = 0; i < N; i++)
        assert_ptr_equal(get(m, items[i]->key), items[i]);
    unsigned long long probes = ib_map_probes(m);
    print_message("map: %d puts and %d gets, %llu probes (%.2f per operation)\n", N, N, probes,
                  (double)probes / (2.0 * N));
    /* Growth re-inserts every entry about twice over: a few probes per operation at load 3/4. */
    assert_true(probes < 10ull * 2 * (unsigned long long)N);
    ib_map_free(m);
    for (int i = 0; i < N; i++)
        free(items[i]);
    free(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_replace_remove),
        cmocka_unit_test(test_many_and_remove_if),
        cmocka_unit_test(test_shared_prefix_is_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
