#include "ib/log.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ib/jsonw.h"

/* Most lines fit: no allocation. Longer ones move to the heap. */
#define LINE_STORAGE 4096

/* Set once at start, read by every thread afterwards. */
static const char *log_service = "interview-bridge";
static ib_log_level_t log_min = IB_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void ib_log_init(const char *service, ib_log_level_t min_level)
{
    log_service = service;
    log_min = min_level;
}

int ib_log_enabled(ib_log_level_t level)
{
    return level >= log_min;
}

/* One base member: fields' own value when it has the key (json_object_update's override, in
 * the base key's place), else s. */
static void put_base(ib_jw_t *w, const char *member, const char *key, json_t *fields, const char *s)
{
    json_t *over = fields != NULL ? json_object_get(fields, key) : NULL;
    ib_jw_raw(w, member, strlen(member));
    if (over != NULL)
        ib_jw_value(w, over);
    else
        ib_jw_str(w, s, strlen(s));
}

static int is_base_key(const char *key)
{
    return strcmp(key, "ts") == 0 || strcmp(key, "level") == 0 || strcmp(key, "svc") == 0 ||
           strcmp(key, "msg") == 0;
}

/* {"ts","level","svc","msg" (then the caller's members) into w. */
static void line_begin(ib_jw_t *w, ib_log_level_t level, json_t *fields, const char *msg)
{
    char ts[40];
    ib_format_rfc3339(ib_wall_ms(), ts, sizeof(ts));
    put_base(w, "{\"ts\":", "ts", fields, ts);
    put_base(w, ",\"level\":", "level", fields, level_names[level]);
    put_base(w, ",\"svc\":", "svc", fields, log_service);
    /* Messages may carry bytes from the network: ib_jw_str escapes them and replaces what is
     * not UTF-8, so the line stays valid JSON. */
    put_base(w, ",\"msg\":", "msg", fields, msg);
}

/* A thread's gathered lines (ib_log_batch_begin): whole lines, at most PIPE_BUF bytes, so one
 * write(2) to a pipe is never interleaved with another thread's. */
static _Thread_local struct {
    int on;
    size_t len;
    char buf[PIPE_BUF];
} batch;

static void write_out(const char *p, size_t len)
{
    ssize_t n = write(STDOUT_FILENO, p, len);
    (void)n;
}

static void batch_flush(void)
{
    if (batch.len > 0)
        write_out(batch.buf, batch.len);
    batch.len = 0;
}

static void line_end(ib_jw_t *w)
{
    IB_JW_LIT(w, "}\n");
    if (!w->failed) {
        if (!batch.on || w->len > sizeof(batch.buf)) {
            batch_flush();           /* in order */
            write_out(w->p, w->len); /* one write per line */
        } else {
            if (w->len > sizeof(batch.buf) - batch.len)
                batch_flush();
            memcpy(batch.buf + batch.len, w->p, w->len);
            batch.len += w->len;
        }
    }
    ib_jw_free(w);
}

void ib_log_batch_begin(void)
{
    batch.on = 1;
}

void ib_log_batch_end(void)
{
    batch_flush();
    batch.on = 0;
}

/* fields' members, in their order, except the base keys line_begin wrote. */
static void put_fields(ib_jw_t *w, json_t *fields)
{
    const char *key;
    json_t *value;
    json_object_foreach(fields, key, value)
    {
        if (is_base_key(key))
            continue;
        IB_JW_LIT(w, ",");
        ib_jw_str(w, key, strlen(key));
        IB_JW_LIT(w, ":");
        ib_jw_value(w, value);
    }
}

/* kv's members, skipping unset ones and base keys. */
static void put_kv(ib_jw_t *w, const ib_log_kv_t *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (kv[i].key == NULL || (kv[i].str == NULL && !kv[i].is_int) || is_base_key(kv[i].key))
            continue;
        IB_JW_LIT(w, ",");
        ib_jw_str(w, kv[i].key, strlen(kv[i].key));
        IB_JW_LIT(w, ":");
        if (kv[i].is_int)
            ib_jw_int(w, kv[i].num);
        else
            ib_jw_str(w, kv[i].str, kv[i].len == IB_LOG_KV_CSTR ? strlen(kv[i].str) : kv[i].len);
    }
}

/* One line: the base members, then fields' (may be NULL), then kv's (n may be 0). */
IB_PRINTF(5, 0)
static void emit(ib_log_level_t level, json_t *fields, const ib_log_kv_t *kv, size_t n,
                 const char *fmt, va_list ap)
{
    char msg[1024];
    char storage[LINE_STORAGE];
    ib_jw_t w;

    if (strchr(fmt, '%') == NULL) {
        /* A constant message (the access log's "request"): no printf. */
        size_t len = strlen(fmt);
        if (len >= sizeof(msg))
            len = sizeof(msg) - 1;
        memcpy(msg, fmt, len);
        msg[len] = '\0';
    } else {
        vsnprintf(msg, sizeof(msg), fmt, ap);
    }
    ib_jw_init(&w, storage, sizeof(storage));
    line_begin(&w, level, fields, msg);
    if (fields != NULL)
        put_fields(&w, fields);
    put_kv(&w, kv, n);
    line_end(&w);
}

void ib_log_fields(ib_log_level_t level, json_t *fields, const char *fmt, ...)
{
    va_list ap;

    if (!ib_log_enabled(level))
        return;
    va_start(ap, fmt);
    emit(level, fields, NULL, 0, fmt, ap);
    va_end(ap);
}

void ib_log_kv(ib_log_level_t level, const ib_log_kv_t *kv, size_t n, const char *fmt, ...)
{
    va_list ap;

    if (!ib_log_enabled(level))
        return;
    va_start(ap, fmt);
    emit(level, NULL, kv, n, fmt, ap);
    va_end(ap);
}
