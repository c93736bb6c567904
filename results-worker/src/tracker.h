/* Per-partition offset tracking: messages are handed out in offset order and finish in any
 * order; only the lowest contiguous finished offset may be stored (at-least-once). */
#ifndef RW_TRACKER_H
#define RW_TRACKER_H

#include <stddef.h>
#include <stdint.h>

#include "ib/common.h"

typedef struct {
    int64_t *offsets; /* ring of tracked offsets, ascending */
    uint8_t *done;
    size_t cap; /* power of two or 0 */
    size_t head;
    size_t count;
    size_t undone;
    int64_t last_added; /* valid when any */
    int any;
} rw_tracker_t;

/* A zeroed struct is an empty tracker; rw_tracker_reset frees and empties it. */
void rw_tracker_reset(rw_tracker_t *t);
/* Starts tracking offset, which must be greater than every offset added before (IB_ERR
 * otherwise, or on allocation failure; nothing changes then). */
ib_rc_t rw_tracker_add(rw_tracker_t *t, int64_t offset) IB_WUR;
/* Marks offset finished. Returns the offset to store (the last of the finished prefix + 1)
 * when the prefix advanced, else -1. An unknown offset changes nothing (-1). */
int64_t rw_tracker_done(rw_tracker_t *t, int64_t offset);
/* Tracked offsets not finished yet. */
size_t rw_tracker_pending(const rw_tracker_t *t);
/* Lowest unfinished offset, or -1 when none. */
int64_t rw_tracker_lowest(const rw_tracker_t *t);

#endif
