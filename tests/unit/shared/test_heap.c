/* Unit tests of shared/src/heap.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ib/heap.h"

typedef struct {
    long long due;
    int id;
    ib_heap_node_t node;
} item_t;

static int due_less(const ib_heap_node_t *a, const ib_heap_node_t *b)
{
    return IB_CONST_CONTAINER_OF(a, item_t, node)->due <
           IB_CONST_CONTAINER_OF(b, item_t, node)->due;
}

static item_t *top(const ib_heap_t *h)
{
    ib_heap_node_t *n = ib_heap_top(h);
    return n != NULL ? IB_CONTAINER_OF(n, item_t, node) : NULL;
}

/* Every node's index is its position, and no child sorts before its parent. */
static void check_invariants(const ib_heap_t *h)
{
    for (size_t i = 0; i < ib_heap_len(h); i++) {
        assert_int_equal(ib_heap_at(h, i)->idx, i);
        if (i > 0)
            assert_false(h->less(ib_heap_at(h, i), ib_heap_at(h, (i - 1) / 2)));
    }
}

static void test_pops_in_order(void **state)
{
    (void)state;
    enum { N = 1000 };
    item_t *items = calloc(N, sizeof(*items));
    ib_heap_t h;
    assert_non_null(items);
    ib_heap_init(&h, due_less);
    assert_null(ib_heap_top(&h));
    assert_null(ib_heap_pop(&h));
    srand(7);
    for (int i = 0; i < N; i++) {
        items[i].due = rand() % 500; /* duplicates on purpose */
        items[i].id = i;
        ib_heap_node_init(&items[i].node);
        assert_int_equal(ib_heap_push(&h, &items[i].node), IB_OK);
    }
    check_invariants(&h);
    long long last = -1;
    for (int i = 0; i < N; i++) {
        ib_heap_node_t *n = ib_heap_pop(&h);
        assert_non_null(n);
        assert_int_equal(n->idx, IB_HEAP_NONE);
        item_t *it = IB_CONTAINER_OF(n, item_t, node);
        assert_true(it->due >= last);
        last = it->due;
    }
    assert_int_equal(ib_heap_len(&h), 0);
    ib_heap_clear(&h);
    free(items);
}

static void test_remove_any_and_update(void **state)
{
    (void)state;
    enum { N = 257 };
    item_t items[N];
    ib_heap_t h;
    ib_heap_init(&h, due_less);
    for (int i = 0; i < N; i++) {
        items[i].due = (i * 7919) % N;
        items[i].id = i;
        ib_heap_node_init(&items[i].node);
        assert_int_equal(ib_heap_push(&h, &items[i].node), IB_OK);
    }
    /* Remove every third node, wherever it sits; twice is harmless. */
    for (int i = 0; i < N; i += 3) {
        ib_heap_remove(&h, &items[i].node);
        ib_heap_remove(&h, &items[i].node);
        assert_int_equal(items[i].node.idx, IB_HEAP_NONE);
        check_invariants(&h);
    }
    assert_int_equal(ib_heap_len(&h), N - (N + 2) / 3);
    /* A key that moves up and one that moves down. */
    item_t *it;
    items[1].due = -5;
    ib_heap_update(&h, &items[1].node);
    items[2].due = 100000;
    ib_heap_update(&h, &items[2].node);
    check_invariants(&h);
    assert_ptr_equal(ib_heap_top(&h), &items[1].node);
    long long last = -10;
    while ((it = top(&h)) != NULL) {
        assert_true(it->due >= last);
        last = it->due;
        ib_heap_remove(&h, &it->node);
    }
    assert_int_equal(last, 100000);
    ib_heap_clear(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pops_in_order),
        cmocka_unit_test(test_remove_any_and_update),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
