/* One JSON object per line on stdout. Level-gated, printf-checked. Never pass a secret. */
#ifndef IB_LOG_H
#define IB_LOG_H

#include <jansson.h>

#include "ib/common.h"

typedef enum { IB_LOG_DEBUG = 0, IB_LOG_INFO, IB_LOG_WARN, IB_LOG_ERROR } ib_log_level_t;

/* Sets the service name written in every line and the minimum level (LOG_LEVEL: debug, info,
 * warn, error). Not thread-safe; call once at start. */
void ib_log_init(const char *service, ib_log_level_t min_level);
/* Parses "debug"/"info"/"warn"/"error"; IB_ERR on anything else. */
ib_rc_t ib_log_level_parse(const char *s, ib_log_level_t *out) IB_WUR;
int ib_log_enabled(ib_log_level_t level);

/* Writes {"ts","level","svc","msg", ...fields}. fields is borrowed and may be NULL. Thread-safe
 * (one write(2) per line). */
void ib_log_fields(ib_log_level_t level, json_t *fields, const char *fmt, ...) IB_PRINTF(3, 4);

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
