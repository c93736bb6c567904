#include "ib/map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ib/hash.h"

/* A slot is the item pointer alone (NULL: empty). Hashes are computed again from the keys when
 * they are needed after the insert (the home slot in deletion and resizing): 8 bytes a slot
 * instead of 16 is what a large table such as the worker's join costs per entry. */
typedef void *map_slot_t;

struct ib_map {
    ib_map_key_fn *key_of;
    map_slot_t *slots;
    size_t cap; /* 0 or a power of two */
    size_t min_cap;
    size_t count;
    unsigned long long probes;
};

ib_map_t *ib_map_new(ib_map_key_fn *key_of, size_t min_cap)
{
    ib_map_t *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->key_of = key_of;
    m->min_cap = 8;
    while (m->min_cap < min_cap && m->min_cap < (SIZE_MAX >> 2))
        m->min_cap *= 2;
    return m;
}

void ib_map_free(ib_map_t *m)
{
    if (m == NULL)
        return;
    free(m->slots);
    free(m);
}

static int same_key(const ib_map_t *m, const void *item, const void *key, size_t len)
{
    size_t item_len = 0;
    const void *item_key = m->key_of(item, &item_len);
    return item_len == len && memcmp(item_key, key, len) == 0;
}

static uint64_t item_hash(const ib_map_t *m, const void *item)
{
    size_t len = 0;
    const void *key = m->key_of(item, &len);
    return ib_hash(key, len);
}

/* Index of key's slot, or of the empty slot where it would go. cap must be > count. */
static size_t find(ib_map_t *m, const map_slot_t *slots, size_t cap, uint64_t hash, const void *key,
                   size_t len)
{
    size_t mask = cap - 1;
    size_t i = (size_t)hash & mask;
    for (;;) {
        m->probes++;
        if (slots[i] == NULL)
            return i;
        if (key != NULL && same_key(m, slots[i], key, len))
            return i;
        i = (i + 1) & mask;
    }
}

static ib_rc_t resize(ib_map_t *m, size_t cap)
{
    map_slot_t *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return IB_ERR;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i] == NULL)
            continue;
        /* Keys are distinct: only an empty slot can be the answer, no key needed. */
        slots[find(m, slots, cap, item_hash(m, m->slots[i]), NULL, 0)] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return IB_OK;
}

void *ib_map_get(ib_map_t *m, const void *key, size_t len)
{
    if (m->count == 0)
        return NULL;
    return m->slots[find(m, m->slots, m->cap, ib_hash(key, len), key, len)];
}

ib_rc_t ib_map_put(ib_map_t *m, void *item, void **old)
{
    size_t len = 0;
    const void *key = m->key_of(item, &len);
    uint64_t hash = ib_hash(key, len);
    if (old != NULL)
        *old = NULL;
    if ((m->count + 1) * 4 > m->cap * 3 &&
        resize(m, m->cap == 0 ? m->min_cap : m->cap * 2) != IB_OK)
        return IB_ERR;
    map_slot_t *s = &m->slots[find(m, m->slots, m->cap, hash, key, len)];
    if (*s != NULL) {
        if (old != NULL)
            *old = *s;
    } else {
        m->count++;
    }
    *s = item;
    return IB_OK;
}

/* Backward-shift deletion (Knuth 6.4, algorithm R): chains stay intact without tombstones. */
static void delete_at(ib_map_t *m, size_t i)
{
    size_t mask = m->cap - 1;
    size_t k = i;
    for (;;) {
        k = (k + 1) & mask;
        if (m->slots[k] == NULL)
            break;
        size_t home = (size_t)item_hash(m, m->slots[k]) & mask;
        /* The entry at k may stay when its home lies cyclically in (i, k]. */
        int stays = i <= k ? (i < home && home <= k) : (i < home || home <= k);
        if (stays)
            continue;
        m->slots[i] = m->slots[k];
        i = k;
    }
    m->slots[i] = NULL;
    m->count--;
}

void *ib_map_remove(ib_map_t *m, const void *key, size_t len)
{
    if (m->count == 0)
        return NULL;
    size_t i = find(m, m->slots, m->cap, ib_hash(key, len), key, len);
    void *item = m->slots[i];
    if (item != NULL)
        delete_at(m, i);
    return item;
}

size_t ib_map_remove_if(ib_map_t *m, int (*pred)(void *item, void *arg), void *arg)
{
    size_t removed = 0;
    size_t i = 0;
    while (i < m->cap) {
        void *item = m->slots[i];
        if (item != NULL && pred(item, arg)) {
            /* Slot i may now hold a shifted entry: look at it again. An entry shifted from the
             * wrapped-around start was visited already and is kept; seeing it twice is fine. */
            delete_at(m, i);
            removed++;
        } else {
            i++;
        }
    }
    size_t cap = m->cap;
    while (cap > m->min_cap && m->count * 4 < cap)
        cap /= 2;
    if (cap != m->cap) {
        /* Shrinking may fail on allocation; keeping the larger table is fine. */
        ib_rc_t shrunk = resize(m, cap);
        (void)shrunk;
    }
    return removed;
}

void *ib_map_next(const ib_map_t *m, size_t *pos)
{
    while (*pos < m->cap) {
        void *item = m->slots[(*pos)++];
        if (item != NULL)
            return item;
    }
    return NULL;
}

size_t ib_map_count(const ib_map_t *m)
{
    return m->count;
}

size_t ib_map_bytes(const ib_map_t *m)
{
    return sizeof(*m) + m->cap * sizeof(map_slot_t);
}

unsigned long long ib_map_probes(const ib_map_t *m)
{
    return m->probes;
}
