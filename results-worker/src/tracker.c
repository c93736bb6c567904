#include "tracker.h"

#include <stdlib.h>
#include <string.h>

void rw_tracker_reset(rw_tracker_t *t)
{
    free(t->offsets);
    free(t->done);
    memset(t, 0, sizeof(*t));
}

static ib_rc_t grow(rw_tracker_t *t)
{
    size_t cap = t->cap == 0 ? 64 : t->cap * 2;
    int64_t *o = malloc(cap * sizeof(*o));
    uint8_t *d = malloc(cap);
    if (o == NULL || d == NULL) {
        free(o);
        free(d);
        return IB_ERR;
    }
    for (size_t i = 0; i < t->count; i++) {
        size_t k = (t->head + i) & (t->cap - 1);
        o[i] = t->offsets[k];
        d[i] = t->done[k];
    }
    free(t->offsets);
    free(t->done);
    t->offsets = o;
    t->done = d;
    t->cap = cap;
    t->head = 0;
    return IB_OK;
}

ib_rc_t rw_tracker_add(rw_tracker_t *t, int64_t offset)
{
    if (offset < 0 || (t->any && offset <= t->last_added))
        return IB_ERR;
    if (t->count == t->cap && grow(t) != IB_OK)
        return IB_ERR;
    size_t k = (t->head + t->count) & (t->cap - 1);
    t->offsets[k] = offset;
    t->done[k] = 0;
    t->count++;
    t->undone++;
    t->last_added = offset;
    t->any = 1;
    return IB_OK;
}

/* Index (0..count-1 from head) of offset, or count when absent. */
static size_t find(const rw_tracker_t *t, int64_t offset)
{
    size_t lo = 0;
    size_t hi = t->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t v = t->offsets[(t->head + mid) & (t->cap - 1)];
        if (v == offset)
            return mid;
        if (v < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return t->count;
}

int64_t rw_tracker_done(rw_tracker_t *t, int64_t offset)
{
    size_t i = find(t, offset);
    if (i == t->count)
        return -1;
    size_t k = (t->head + i) & (t->cap - 1);
    if (t->done[k])
        return -1;
    t->done[k] = 1;
    t->undone--;
    int64_t store = -1;
    while (t->count > 0 && t->done[t->head]) {
        store = t->offsets[t->head] + 1;
        t->head = (t->head + 1) & (t->cap - 1);
        t->count--;
    }
    return store;
}

size_t rw_tracker_pending(const rw_tracker_t *t)
{
    return t->undone;
}

int64_t rw_tracker_lowest(const rw_tracker_t *t)
{
    return t->count > 0 ? t->offsets[t->head] : -1;
}
