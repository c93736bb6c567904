/* The value of a dead letter on TOPIC_DLQ (key: the interview_id, or the original key). */
#ifndef RW_DEADLETTER_H
#define RW_DEADLETTER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ib/common.h"

/* Compact JSON {"reason", "source_topic", "partition", "offset", "key", "value", "failed_at"}.
 * key and value are the original bytes as strings (null when absent); bytes that are not valid
 * UTF-8 are carried as "key_base64"/"value_base64" instead. failed_at is RFC 3339 UTC. Returns a
 * new malloc'd string (free()), or NULL on allocation failure. */
char *rw_dead_letter_value(const char *reason, const char *topic, int32_t partition, int64_t offset,
                           const void *key, size_t key_len, const void *value, size_t value_len,
                           long long failed_at_wall_ms) IB_WUR;

/* Same, with every key of extra (borrowed object, may be NULL) added: the worker adds
 * "interview_id", "tenant", "callback_url", "attempts", "first_attempt_at" and "history" for a
 * delivery that failed. */
char *rw_dead_letter_value_ex(const char *reason, const char *topic, int32_t partition,
                              int64_t offset, const void *key, size_t key_len, const void *value,
                              size_t value_len, long long failed_at_wall_ms, json_t *extra) IB_WUR;

#endif
