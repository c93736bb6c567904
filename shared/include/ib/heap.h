/* A binary min-heap of nodes embedded in the caller's structs (as libuv's heap-inl.h): each node
 * knows its index, so any node is removed in O(log n). The order is the caller's less function.
 * Single-threaded; the heap borrows the nodes and never frees one. */
#ifndef IB_HEAP_H
#define IB_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "ib/common.h"

#define IB_HEAP_NONE SIZE_MAX

/* Embed one per heap the struct may be in; set idx to IB_HEAP_NONE (ib_heap_node_init) before
 * first use. */
typedef struct {
    size_t idx; /* position in the heap, IB_HEAP_NONE when in none */
} ib_heap_node_t;

/* Non-zero when a sorts strictly before b. */
typedef int ib_heap_less_fn(const ib_heap_node_t *a, const ib_heap_node_t *b);

typedef struct {
    ib_heap_node_t **nodes;
    size_t len;
    size_t cap;
    ib_heap_less_fn *less;
} ib_heap_t;

/* The struct that holds the node: IB_CONTAINER_OF(node, rw_job_t, due). */
#define IB_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#define IB_CONST_CONTAINER_OF(ptr, type, member)                                                   \
    ((const type *)(const void *)((const char *)(ptr)-offsetof(type, member)))

void ib_heap_init(ib_heap_t *h, ib_heap_less_fn *less);
/* Frees the array; the nodes are left to the caller (their idx is not reset). */
void ib_heap_clear(ib_heap_t *h);
void ib_heap_node_init(ib_heap_node_t *n);

/* Adds n (not in a heap). IB_ERR when out of memory (the heap is unchanged). */
ib_rc_t ib_heap_push(ib_heap_t *h, ib_heap_node_t *n) IB_WUR;
/* The least node (borrowed), or NULL when empty. */
ib_heap_node_t *ib_heap_top(const ib_heap_t *h);
/* Removes and returns the least node, or NULL when empty. */
ib_heap_node_t *ib_heap_pop(ib_heap_t *h);
/* Removes n; does nothing when n is in no heap. */
void ib_heap_remove(ib_heap_t *h, ib_heap_node_t *n);
/* n's key changed: restores the order. */
void ib_heap_update(ib_heap_t *h, ib_heap_node_t *n);

static inline size_t ib_heap_len(const ib_heap_t *h)
{
    return h->len;
}

/* The node at position i < ib_heap_len (heap order, not sorted): for walks that visit all. */
static inline ib_heap_node_t *ib_heap_at(const ib_heap_t *h, size_t i)
{
    return h->nodes[i];
}

#endif
