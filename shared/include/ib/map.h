/* A hash table of items found by a key they hold: open addressing, linear probing, power-of-two
 * capacity, load at most 3/4, backward-shift deletion (no tombstones). A slot is 8 bytes (the
 * item pointer: a probe compares the item's key, and deletion and growth hash keys again); keys
 * are hashed with ib_hash (seeded per process), so keys from outside cannot be chosen to pile
 * into one chain. Single-threaded; items are borrowed: the map never frees one, and an item must
 * stay valid (its key readable) while it is in the map. */
#ifndef IB_MAP_H
#define IB_MAP_H

#include <stddef.h>

#include "ib/common.h"

/* The key of item: its bytes (borrowed from the item) and their length in *len. A key must not
 * change while its item is in a map. */
typedef const void *ib_map_key_fn(const void *item, size_t *len);

typedef struct ib_map ib_map_t;

/* New empty map whose table never shrinks below min_cap slots (rounded up to a power of two;
 * nothing is allocated before the first put). NULL when out of memory. */
ib_map_t *ib_map_new(ib_map_key_fn *key_of, size_t min_cap) IB_WUR;
/* Frees the table; the items are left to the caller. Accepts NULL. */
void ib_map_free(ib_map_t *m);

/* The item with this key (borrowed), or NULL. */
void *ib_map_get(ib_map_t *m, const void *key, size_t len);
/* Inserts item (borrowed until removed). An item already there with the same key is replaced and
 * handed back in *old (NULL when none; old may be NULL when the caller knows the key is new). On
 * IB_ERR (out of memory) the map is unchanged. */
ib_rc_t ib_map_put(ib_map_t *m, void *item, void **old) IB_WUR;
/* Removes the item with this key and returns it, or NULL when absent. */
void *ib_map_remove(ib_map_t *m, const void *key, size_t len);
/* Removes every item for which pred returns non-zero (pred may free it: the map no longer
 * refers to it), then shrinks the table towards min_cap. Returns how many were removed. */
size_t ib_map_remove_if(ib_map_t *m, int (*pred)(void *item, void *arg), void *arg);

/* Iteration: *pos starts at 0; returns the next item and advances *pos, NULL at the end. The map
 * must not change during a walk. */
void *ib_map_next(const ib_map_t *m, size_t *pos);

size_t ib_map_count(const ib_map_t *m);
/* Bytes of the table (the map's own allocations; items not included). */
size_t ib_map_bytes(const ib_map_t *m);
/* Slots looked at by lookups and inserts since the map was made: tests bound the work with it. */
unsigned long long ib_map_probes(const ib_map_t *m);

#endif
