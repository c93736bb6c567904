#include "ib/payload.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ib/json.h"

#define ID_MAX_LEN   128
#define TEXT_MAX_LEN 65536

static const char *const status_names[] = {"pending", "completed", "declined", "expired"};

int ib_status_terminal(ib_status_t s)
{
    return s != IB_STATUS_PENDING;
}

const char *ib_status_name(ib_status_t s)
{
    return status_names[s];
}

int ib_status_compare(ib_status_t cur, long long cur_ms, ib_status_t next, long long next_ms)
{
    int ct = ib_status_terminal(cur);
    int nt = ib_status_terminal(next);
    if (ct != nt)
        return nt - ct;
    if (cur_ms != next_ms)
        return next_ms > cur_ms ? 1 : -1;
    if (cur != next)
        return (int)next > (int)cur ? 1 : -1;
    return 0;
}

int ib_status_supersedes(ib_status_t cur, long long cur_ms, ib_status_t next, long long next_ms)
{
    return ib_status_compare(cur, cur_ms, next, next_ms) > 0;
}

ib_rc_t ib_status_parse(const char *s, ib_status_t *out)
{
    if (s == NULL)
        return IB_ERR;
    for (size_t i = 0; i < IB_ARRAY_LEN(status_names); i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *out = (ib_status_t)i;
            return IB_OK;
        }
    }
    if (strcmp(s, "rejected") == 0) {
        *out = IB_STATUS_DECLINED;
        return IB_OK;
    }
    return IB_ERR;
}

static int parse_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)**p))
            return 0;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return 1;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's algorithm. */
static long long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

ib_rc_t ib_rfc3339_parse(const char *s, long long *wall_ms)
{
    int y, mo, d, h, mi, sec, ms = 0;
    const char *p = s;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (!parse_digits(&p, 4, &y) || *p++ != '-' || !parse_digits(&p, 2, &mo) || *p++ != '-' ||
        !parse_digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return IB_ERR;
    p++;
    if (!parse_digits(&p, 2, &h) || *p++ != ':' || !parse_digits(&p, 2, &mi) || *p++ != ':' ||
        !parse_digits(&p, 2, &sec))
        return IB_ERR;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
        return IB_ERR;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return IB_ERR; /* 29 February outside a leap year */
    if (*p == '.') {
        int digits = 0;
        p++;
        while (isdigit((unsigned char)*p)) {
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (digits == 0)
            return IB_ERR;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    long long offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        int sign = *p == '-' ? -1 : 1;
        p++;
        if (!parse_digits(&p, 2, &oh) || *p++ != ':' || !parse_digits(&p, 2, &om) || oh > 23 ||
            om > 59)
            return IB_ERR;
        offset_min = sign * (oh * 60 + om);
    } else {
        return IB_ERR;
    }
    if (*p != '\0')
        return IB_ERR;
    long long secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    secs -= offset_min * 60;
    *wall_ms = secs * 1000 + ms;
    return IB_OK;
}

static int is_https_url(const char *s)
{
    size_t n = strlen(s);
    if (n <= 8 || n > 2048 || strncmp(s, "https://", 8) != 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* Score: a JSON number or a numeric string; Workable gets a string. NULL on junk. */
static json_t *score_string(json_t *v)
{
    char buf[64];
    if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        return json_string(buf);
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d))
            return NULL;
        snprintf(buf, sizeof(buf), "%.15g", d);
        return json_string(buf);
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end = NULL;
        size_t n = json_string_length(v);
        if (n == 0 || n > 32 || isspace((unsigned char)s[0]))
            return NULL;
        errno = 0;
        double d = strtod(s, &end);
        if (errno != 0 || end != s + n || !isfinite(d))
            return NULL;
        /* Reject hex floats, "inf", "nan" and friends: decimal notation only. */
        for (size_t i = 0; i < n; i++)
            if (!isdigit((unsigned char)s[i]) && strchr("+-.eE", s[i]) == NULL)
                return NULL;
        return json_string(s);
    }
    return NULL;
}

static json_t *coerce_to_text(json_t *v, unsigned *coercions)
{
    /* Not json_dumps: its result comes from jansson's allocator (an arena in the worker). */
    size_t len = 0;
    char *text = ib_json_dump_malloc(v, JSON_ENCODE_ANY, &len);
    json_t *s = text != NULL ? json_string(text) : NULL;
    free(text);
    (*coercions)++;
    return s;
}

/* Brings a value at level (0 = details itself, 1, 2) of details into the contract's form. New
 * reference. */
static json_t *details_value(json_t *v, int level, unsigned *coercions)
{
    if (json_is_array(v) || (json_is_object(v) && level >= 2))
        return coerce_to_text(v, coercions);
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *key;
        json_t *child;
        json_object_foreach(v, key, child)
        {
            json_t *c = details_value(child, level + 1, coercions);
            if (c == NULL || json_object_set_new(out, key, c) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    return json_incref(v);
}

static ib_rc_t optional_string(json_t *obj, const char *key, const char *path, json_t *dst,
                               char *errstr, size_t errstr_size)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return IB_OK;
    if (!json_is_string(v) || json_string_length(v) > TEXT_MAX_LEN) {
        snprintf(errstr, errstr_size, "%s must be a string of at most %d bytes", path,
                 TEXT_MAX_LEN);
        return IB_ERR;
    }
    json_object_set(dst, key, v);
    return IB_OK;
}

static json_t *build_interview(json_t *in, unsigned *coercions, char *errstr, size_t errstr_size)
{
    json_t *out = json_object();
    json_t *v;

    if (!json_is_object(in)) {
        snprintf(errstr, errstr_size, "interview must be an object");
        goto fail;
    }
    v = json_object_get(in, "score");
    if (v != NULL && !json_is_null(v)) {
        json_t *s = score_string(v);
        if (s == NULL) {
            snprintf(errstr, errstr_size, "interview.score must be a number or numeric string");
            goto fail;
        }
        json_object_set_new(out, "score", s);
    }
    v = json_object_get(in, "grade");
    if (v != NULL && !json_is_null(v)) {
        const char *g = json_string_value(v);
        if (g == NULL ||
            (strcmp(g, "failed") != 0 && strcmp(g, "passed") != 0 && strcmp(g, "excelled") != 0)) {
            snprintf(errstr, errstr_size, "interview.grade must be failed, passed or excelled");
            goto fail;
        }
        json_object_set(out, "grade", v);
    }
    if (optional_string(in, "summary", "interview.summary", out, errstr, errstr_size) != IB_OK)
        goto fail;
    v = json_object_get(in, "details");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_object(v)) {
            snprintf(errstr, errstr_size, "interview.details must be an object");
            goto fail;
        }
        json_t *d = details_value(v, 0, coercions);
        if (d == NULL) {
            snprintf(errstr, errstr_size, "interview.details could not be converted");
            goto fail;
        }
        json_object_set_new(out, "details", d);
    }
    if (optional_string(in, "duration", "interview.duration", out, errstr, errstr_size) != IB_OK)
        goto fail;
    return out;
fail:
    json_decref(out);
    return NULL;
}

static json_t *build_attachments(json_t *in, char *errstr, size_t errstr_size)
{
    json_t *out = json_array();
    size_t i;
    json_t *a;

    if (!json_is_array(in)) {
        snprintf(errstr, errstr_size, "attachments must be an array");
        goto fail;
    }
    json_array_foreach(in, i, a)
    {
        const char *url = ib_json_str(a, "url");
        if (!json_is_object(a) || url == NULL || !is_https_url(url)) {
            snprintf(errstr, errstr_size, "attachments[%zu].url must be an https URL", i);
            goto fail;
        }
        json_t *o = json_object();
        json_t *desc = json_object_get(a, "description");
        if (desc != NULL && !json_is_null(desc)) {
            if (!json_is_string(desc)) {
                snprintf(errstr, errstr_size, "attachments[%zu].description must be a string", i);
                json_decref(o);
                goto fail;
            }
            json_object_set(o, "description", desc);
        }
        json_object_set_new(o, "url", json_string(url));
        json_array_append_new(out, o);
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

static json_t *build_shared_link(json_t *in, char *errstr, size_t errstr_size)
{
    json_t *out = NULL;
    const char *url = ib_json_str(in, "url");
    if (!json_is_object(in) || url == NULL || !is_https_url(url)) {
        snprintf(errstr, errstr_size, "shared_link.url must be an https URL");
        return NULL;
    }
    out = json_pack("{s:s}", "url", url);
    json_t *ttl = json_object_get(in, "ttl");
    if (ttl != NULL && !json_is_null(ttl)) {
        json_t *t = score_string(ttl);
        const char *units = ib_json_str(in, "ttl_units");
        if (t == NULL) {
            snprintf(errstr, errstr_size, "shared_link.ttl must be a number or numeric string");
            goto fail;
        }
        json_object_set_new(out, "ttl", t);
        if (units == NULL || (strcmp(units, "minutes") != 0 && strcmp(units, "days") != 0 &&
                              strcmp(units, "views") != 0)) {
            snprintf(errstr, errstr_size, "shared_link.ttl_units must be minutes, days or views");
            goto fail;
        }
        json_object_set_new(out, "ttl_units", json_string(units));
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

void ib_status_event_clear(ib_status_event_t *ev)
{
    if (ev == NULL)
        return;
    free(ev->interview_id);
    json_decref(ev->payload);
    json_decref(ev->shared_link);
    memset(ev, 0, sizeof(*ev));
}

ib_rc_t ib_status_event_parse(const char *buf, size_t len, ib_status_event_t *ev, char *errstr,
                              size_t errstr_size)
{
    char jerr[160];
    json_t *root = NULL;
    json_t *v;

    memset(ev, 0, sizeof(*ev));
    if (len > IB_STATUS_EVENT_MAX_BYTES) {
        snprintf(errstr, errstr_size, "value larger than %d bytes", IB_STATUS_EVENT_MAX_BYTES);
        goto fail;
    }
    root = ib_json_parse(buf, len, IB_JSON_MAX_DEPTH, jerr, sizeof(jerr));
    if (root == NULL) {
        snprintf(errstr, errstr_size, "not valid JSON: %s", jerr);
        goto fail;
    }
    if (!json_is_object(root)) {
        snprintf(errstr, errstr_size, "value must be a JSON object");
        goto fail;
    }
    const char *id = ib_json_str(root, "interview_id");
    if (id == NULL || id[0] == '\0' || strlen(id) > ID_MAX_LEN) {
        snprintf(errstr, errstr_size, "interview_id must be a non-empty string of at most %d bytes",
                 ID_MAX_LEN);
        goto fail;
    }
    if (ib_status_parse(ib_json_str(root, "status"), &ev->status) != IB_OK) {
        snprintf(errstr, errstr_size,
                 "status must be one of pending, completed, declined, rejected, expired");
        goto fail;
    }
    const char *occurred = ib_json_str(root, "occurred_at");
    if (occurred == NULL || ib_rfc3339_parse(occurred, &ev->occurred_ms) != IB_OK) {
        snprintf(errstr, errstr_size, "occurred_at must be an RFC 3339 date-time");
        goto fail;
    }
    ev->interview_id = strdup(id);
    ev->payload = json_object();
    if (ev->interview_id == NULL || ev->payload == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }

    v = json_object_get(root, "results_url");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_string(v) || !is_https_url(json_string_value(v))) {
            snprintf(errstr, errstr_size, "results_url must be an https URL");
            goto fail;
        }
        json_object_set(ev->payload, "results_url", v);
    }
    json_object_set_new(ev->payload, "status", json_string(ib_status_name(ev->status)));
    v = json_object_get(root, "interview");
    if (v != NULL && !json_is_null(v)) {
        json_t *iv = build_interview(v, &ev->coercions, errstr, errstr_size);
        if (iv == NULL)
            goto fail;
        json_object_set_new(ev->payload, "interview", iv);
    }
    v = json_object_get(root, "attachments");
    if (v != NULL && !json_is_null(v)) {
        json_t *att = build_attachments(v, errstr, errstr_size);
        if (att == NULL)
            goto fail;
        json_object_set_new(ev->payload, "attachments", att);
    }
    v = json_object_get(root, "shared_link");
    if (v != NULL && !json_is_null(v)) {
        ev->shared_link = build_shared_link(v, errstr, errstr_size);
        if (ev->shared_link == NULL)
            goto fail;
    }
    json_decref(root);
    return IB_OK;
fail:
    json_decref(root);
    ib_status_event_clear(ev);
    return IB_ERR;
}
