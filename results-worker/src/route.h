/* Where a status event consumed from TOPIC_STATUS belongs. Platforms partition that topic as
 * they like (librdkafka's CRC32 default, random, explicit partitions, another partition count),
 * but an interview's join lives with partition m = murmur2(id) mod N of TOPIC_REQUESTED (N its
 * partition count; ib/partition.h). An event found anywhere else is moved to partition m of
 * TOPIC_STATUS_REPARTITION, which the owner of requested m reads like its own status partition.
 * Pure. */
#ifndef RW_ROUTE_H
#define RW_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "join.h"

typedef enum {
    RW_ROUTE_LOCAL = 0,   /* handle it here: its interview's requested partition is this one */
    RW_ROUTE_REPARTITION, /* produce it to TOPIC_STATUS_REPARTITION partition *owner */
    RW_ROUTE_INVALID      /* no interview id can be read: dead-lettered where it was consumed */
} rw_route_t;

/* The interview id of a status record: the value's top-level "interview_id" string (1..
 * RW_JOIN_MAX_ID_LEN bytes without a NUL) when the value is a JSON object of at most
 * IB_STATUS_EVENT_MAX_BYTES. The key is not looked at: platforms key by other things, or not at
 * all, and an event is delivered by its interview_id wherever it is. Writes it NUL-terminated
 * into id (RW_JOIN_MAX_ID_LEN + 1 bytes) and returns 1; 0 (id "") when none can be read.
 * value is borrowed, may be NULL. */
int rw_route_status_id(const void *value, size_t len, char id[RW_JOIN_MAX_ID_LEN + 1]);

/* The route of a status record (value, len) consumed from partition p: its id as
 * rw_route_status_id, its owner partition *owner = murmur2(id) mod n_requested. LOCAL when
 * *owner == p and the requested partition p is this worker's (local_requested = 1; with equal
 * partition counts the range assignor guarantees it), else REPARTITION. INVALID when no id can
 * be read (*owner -1): the event is invalid wherever it is handled. n_requested must be > 0. */
rw_route_t rw_route_status(const void *value, size_t len, int32_t p, int32_t n_requested,
                           int local_requested, char id[RW_JOIN_MAX_ID_LEN + 1], int32_t *owner);
/* The same route for a record whose id was already read (rw_route_status_id's rules, or a
 * status event that ib_status_event_parse accepted): LOCAL or REPARTITION, *owner set. */
rw_route_t rw_route_of_id(const char *id, int32_t p, int32_t n_requested, int local_requested,
                          int32_t *owner);

#endif
