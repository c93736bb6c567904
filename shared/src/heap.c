#include "ib/heap.h"

#include <stdlib.h>

#define MIN_CAP 64

void ib_heap_init(ib_heap_t *h, ib_heap_less_fn *less)
{
    h->nodes = NULL;
    h->len = 0;
    h->cap = 0;
    h->less = less;
}

void ib_heap_clear(ib_heap_t *h)
{
    free(h->nodes);
    h->nodes = NULL;
    h->len = 0;
    h->cap = 0;
}

void ib_heap_node_init(ib_heap_node_t *n)
{
    n->idx = IB_HEAP_NONE;
}

static void swap(ib_heap_t *h, size_t a, size_t b)
{
    ib_heap_node_t *t = h->nodes[a];
    h->nodes[a] = h->nodes[b];
    h->nodes[b] = t;
    h->nodes[a]->idx = a;
    h->nodes[b]->idx = b;
}

static void up(ib_heap_t *h, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!h->less(h->nodes[i], h->nodes[parent]))
            break;
        swap(h, i, parent);
        i = parent;
    }
}

static void down(ib_heap_t *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1;
        size_t r = l + 1;
        size_t m = i;
        if (l < h->len && h->less(h->nodes[l], h->nodes[m]))
            m = l;
        if (r < h->len && h->less(h->nodes[r], h->nodes[m]))
            m = r;
        if (m == i)
            return;
        swap(h, i, m);
        i = m;
    }
}

ib_rc_t ib_heap_push(ib_heap_t *h, ib_heap_node_t *n)
{
    if (h->len == h->cap) {
        size_t cap = h->cap == 0 ? MIN_CAP : h->cap * 2;
        ib_heap_node_t **nodes = realloc(h->nodes, cap * sizeof(*nodes));
        if (nodes == NULL)
            return IB_ERR;
        h->nodes = nodes;
        h->cap = cap;
    }
    n->idx = h->len;
    h->nodes[h->len++] = n;
    up(h, n->idx);
    return IB_OK;
}

ib_heap_node_t *ib_heap_top(const ib_heap_t *h)
{
    return h->len > 0 ? h->nodes[0] : NULL;
}

void ib_heap_remove(ib_heap_t *h, ib_heap_node_t *n)
{
    size_t i = n->idx;
    if (i == IB_HEAP_NONE || i >= h->len || h->nodes[i] != n)
        return;
    n->idx = IB_HEAP_NONE;
    h->len--;
    if (i == h->len)
        return;
    h->nodes[i] = h->nodes[h->len];
    h->nodes[i]->idx = i;
    down(h, i);
    up(h, i);
}

ib_heap_node_t *ib_heap_pop(ib_heap_t *h)
{
    ib_heap_node_t *n = ib_heap_top(h);
    if (n != NULL)
        ib_heap_remove(h, n);
    return n;
}

void ib_heap_update(ib_heap_t *h, ib_heap_node_t *n)
{
    if (n->idx == IB_HEAP_NONE || n->idx >= h->len || h->nodes[n->idx] != n)
        return;
    down(h, n->idx);
    up(h, n->idx);
}
