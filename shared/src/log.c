#include "ib/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Set once at start, read by every thread afterwards. */
static const char *log_service = "interview-bridge";
static ib_log_level_t log_min = IB_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void ib_log_init(const char *service, ib_log_level_t min_level)
{
    log_service = service;
    log_min = min_level;
}

ib_rc_t ib_log_level_parse(const char *s, ib_log_level_t *out)
{
    for (size_t i = 0; i < IB_ARRAY_LEN(level_names); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (ib_log_level_t)i;
            return IB_OK;
        }
    }
    return IB_ERR;
}

int ib_log_enabled(ib_log_level_t level)
{
    return level >= log_min;
}

void ib_log_fields(ib_log_level_t level, json_t *fields, const char *fmt, ...)
{
    char msg[1024];
    char ts[40];
    va_list ap;
    json_t *line = NULL;
    char *text = NULL;

    if (!ib_log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ib_format_rfc3339(ib_wall_ms(), ts, sizeof(ts));

    line = json_object();
    if (line == NULL)
        return;
    json_object_set_new(line, "ts", json_string(ts));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "svc", json_string(log_service));
    /* Messages may carry bytes from the network: json_stringn_nocheck would emit them raw. */
    json_t *m = json_string(msg);
    json_object_set_new(line, "msg", m != NULL ? m : json_string("(message not UTF-8)"));
    if (fields != NULL)
        json_object_update(line, fields);
    text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (text == NULL)
        return;
    size_t len = strlen(text);
    text[len] = '\n'; /* replaces the NUL; written with an explicit length */
    ssize_t w = write(STDOUT_FILENO, text, len + 1);
    (void)w;
    free(text);
}
