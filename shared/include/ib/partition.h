/* The partition of a key under the Java client's default partitioner: Kafka's Utils.murmur2 of
 * the key's bytes, made positive by clearing the sign bit (Utils.toPositive), modulo the
 * partition count. The gateway produces interviews.requested with it (librdkafka's
 * murmur2_random), so the owner of an interview is this function of its id. */
#ifndef IB_PARTITION_H
#define IB_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#include "ib/common.h"

/* Partition (0..partition_cnt - 1) of key (len bytes, borrowed; len 0 allowed) among
 * partition_cnt > 0 partitions; -1 when partition_cnt <= 0. Pure. */
int32_t ib_partition_murmur2(const void *key, size_t len, int32_t partition_cnt);

#endif
