/* One JSON object per line on stdout. Level-gated, printf-checked. Never pass a secret. */
#ifndef IB_LOG_H
#define IB_LOG_H

#include <jansson.h>

#include "ib/common.h"

typedef enum { IB_LOG_DEBUG = 0, IB_LOG_INFO, IB_LOG_WARN, IB_LOG_ERROR } ib_log_level_t;

/* Sets the service name written in every line and the minimum level (LOG_LEVEL, parsed by the
 * configuration loader: ib_conf_log_levels). Not thread-safe; call once at start. */
void ib_log_init(const char *service, ib_log_level_t min_level);
/* Between ib_log_batch_begin() and ib_log_batch_end() the calling thread's lines are gathered
 * and written a few at a time (whole lines, in order, at most PIPE_BUF bytes per write) instead
 * of one write(2) each; end writes what is left. For an event loop: begin before a round of
 * work, end after it, so no line waits longer than the round. Other threads are unaffected. */
void ib_log_batch_begin(void);
void ib_log_batch_end(void);
int ib_log_enabled(ib_log_level_t level);

/* Writes {"ts","level","svc","msg", ...fields} (a field named like a base member replaces its
 * value in place). fields is borrowed and may be NULL. Thread-safe (one write(2) per line). Bytes
 * of msg or of fields' strings that are not UTF-8 become U+FFFD: the line is always JSON. */
void ib_log_fields(ib_log_level_t level, json_t *fields, const char *fmt, ...) IB_PRINTF(3, 4);

/* One extra member of a line for ib_log_kv: a string (str, len bytes, or up to its NUL when len
 * is IB_LOG_KV_CSTR) or an integer (is_int, num). Skipped when key is NULL, or str is NULL for a
 * string: optional members need no branch at the call site. */
#define IB_LOG_KV_CSTR ((size_t)-1)
typedef struct {
    const char *key;
    const char *str;
    size_t len;
    long long num;
    int is_int;
} ib_log_kv_t;
#define IB_KV_STR(k, s)     ((ib_log_kv_t){.key = (k), .str = (s), .len = IB_LOG_KV_CSTR})
#define IB_KV_STRN(k, s, n) ((ib_log_kv_t){.key = (k), .str = (s), .len = (n)})
#define IB_KV_INT(k, v)     ((ib_log_kv_t){.key = (k), .num = (long long)(v), .is_int = 1})

/* Writes {"ts","level","svc","msg", kv[0], ..., kv[n-1]} like ib_log_fields, without building
 * a jansson object (the per-request access log). kv is borrowed; keys "ts", "level", "svc" and
 * "msg" are ignored. Invalid UTF-8 in strings becomes U+FFFD. Thread-safe. */
void ib_log_kv(ib_log_level_t level, const ib_log_kv_t *kv, size_t n, const char *fmt, ...)
    IB_PRINTF(4, 5);

#define IB_LOG(level, ...)                                                                         \
    do {                                                                                           \
        if (ib_log_enabled(level))                                                                 \
            ib_log_fields(level, NULL, __VA_ARGS__);                                               \
    } while (0)
#define IB_DEBUG(...) IB_LOG(IB_LOG_DEBUG, __VA_ARGS__)
#define IB_INFO(...)  IB_LOG(IB_LOG_INFO, __VA_ARGS__)
#define IB_WARN(...)  IB_LOG(IB_LOG_WARN, __VA_ARGS__)
#define IB_ERROR(...) IB_LOG(IB_LOG_ERROR, __VA_ARGS__)

#endif
