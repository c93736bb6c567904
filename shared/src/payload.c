#include "ib/payload.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
    if (ct && cur != next)
        return -1; /* a finished interview does not become another finished state */
    if (cur_ms != next_ms)
        return next_ms > cur_ms ? 1 : -1;
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

static const char *const fix_kind_names[IB_FIX_KIND_COUNT] = {
    [IB_FIX_GRADE_CASE] = "grade_case",
    [IB_FIX_SCORE_PERCENT] = "score_percent",
    [IB_FIX_DURATION_SECONDS] = "duration_seconds",
    [IB_FIX_DETAILS_DATE] = "details_date",
    [IB_FIX_RESULTS_URL] = "results_url",
    [IB_FIX_ATTACHMENT] = "attachment",
    [IB_FIX_SHARED_LINK] = "shared_link",
    [IB_FIX_SCORE] = "score",
    [IB_FIX_GRADE] = "grade",
    [IB_FIX_TEXT] = "text",
    [IB_FIX_DETAILS] = "details",
    [IB_FIX_INTERVIEW] = "interview",
};

const char *ib_fix_kind_name(ib_fix_kind_t k)
{
    return k < IB_FIX_KIND_COUNT ? fix_kind_names[k] : "?";
}

int ib_fix_kind_is_repair(ib_fix_kind_t k)
{
    return k <= IB_FIX_DETAILS_DATE;
}

/* Records one repair or omission of field (original: the value as sent, borrowed) in *fixes. */
static void add_fix(json_t **fixes, ib_fix_kind_t kind, const char *field, json_t *original,
                    const char *why)
{
    if (*fixes == NULL)
        *fixes = json_array();
    json_t *f = json_pack("{s:s,s:s,s:s}", "kind", ib_fix_kind_name(kind), "field", field, "action",
                          ib_fix_kind_is_repair(kind) ? "repaired" : "omitted");
    if (f == NULL || *fixes == NULL) {
        json_decref(f);
        return;
    }
    json_object_set_new(f, "original", original != NULL ? json_incref(original) : json_null());
    if (why != NULL)
        json_object_set_new(f, "why", json_string(why));
    json_array_append_new(*fixes, f);
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
/* An ISO 8601 date-time string (the RFC 3339 profile: offsets, fractions, ' ' or 't' as the
 * separator) as UTC "YYYY-MM-DDTHH:MM:SSZ" (".mmmZ" when it has milliseconds); NULL when v is
 * not one or is already in that form. New reference. */
static json_t *normalised_date(json_t *v)
{
    long long ms;
    char buf[40];
    const char *s = json_string_value(v);
    if (s == NULL || json_string_length(v) < 20 || json_string_length(v) > 40 ||
        ib_rfc3339_parse(s, &ms) != IB_OK)
        return NULL;
    ib_format_rfc3339(ms, buf, sizeof(buf)); /* ...SS.mmmZ */
    if (ms % 1000 == 0)
        strcpy(buf + 19, "Z");
    return strcmp(buf, s) != 0 ? json_string(buf) : NULL;
}

static json_t *details_value(json_t *v, int level, unsigned *coercions, json_t **fixes)
{
    json_t *date = normalised_date(v);
    if (date != NULL) {
        add_fix(fixes, IB_FIX_DETAILS_DATE, "interview.details", v, NULL);
        return date;
    }
    if (json_is_array(v) || (json_is_object(v) && level >= 2))
        return coerce_to_text(v, coercions);
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *key;
        json_t *child;
        json_object_foreach(v, key, child)
        {
            json_t *c = details_value(child, level + 1, coercions, fixes);
            if (c == NULL || json_object_set_new(out, key, c) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    return json_incref(v);
}

/* summary, duration (as text): a string of at most TEXT_MAX_LEN bytes is kept; anything else is
 * left out. */
static void optional_text(json_t *obj, const char *key, const char *path, json_t *dst,
                          json_t **fixes)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return;
    if (!json_is_string(v) || json_string_length(v) > TEXT_MAX_LEN) {
        add_fix(fixes, IB_FIX_TEXT, path, v, "not a string of at most 65536 bytes");
        return;
    }
    json_object_set(dst, key, v);
}

/* "78%" -> "78" when what precedes the '%' is a valid score; NULL otherwise. New reference. */
static json_t *score_without_percent(json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (s == NULL || n < 2 || n > 33 || s[n - 1] != '%')
        return NULL;
    json_t *prefix = json_stringn(s, n - 1);
    json_t *out = prefix != NULL ? score_string(prefix) : NULL;
    json_decref(prefix);
    return out;
}

/* A whole, non-negative number of seconds (a JSON integer, or a real without a fraction) as
 * "HH:MM:SS" (hours may exceed 99); NULL otherwise. New reference. */
static json_t *duration_from_seconds(json_t *v)
{
    long long secs;
    char buf[40];
    if (json_is_integer(v)) {
        secs = (long long)json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        /* Checked before the conversion: a double outside long long's range has no defined
         * conversion. */
        if (!isfinite(d) || d != floor(d) || d < 0 || d > 1e15)
            return NULL;
        secs = (long long)d;
    } else {
        return NULL;
    }
    if (secs < 0 || secs > 1000000000000LL)
        return NULL;
    snprintf(buf, sizeof(buf), "%02lld:%02lld:%02lld", secs / 3600, secs / 60 % 60, secs % 60);
    return json_string(buf);
}

static json_t *build_interview(json_t *in, unsigned *coercions, json_t **fixes)
{
    json_t *out = json_object();
    json_t *v;

    if (out == NULL)
        return NULL;
    v = json_object_get(in, "score");
    if (v != NULL && !json_is_null(v)) {
        json_t *s = score_string(v);
        if (s == NULL) {
            s = score_without_percent(v);
            if (s != NULL)
                add_fix(fixes, IB_FIX_SCORE_PERCENT, "interview.score", v, NULL);
            else
                add_fix(fixes, IB_FIX_SCORE, "interview.score", v,
                        "not a number or numeric string");
        }
        if (s != NULL)
            json_object_set_new(out, "score", s);
    }
    v = json_object_get(in, "grade");
    if (v != NULL && !json_is_null(v)) {
        static const char *const grades[] = {"failed", "passed", "excelled"};
        const char *g = json_string_value(v);
        size_t k = IB_ARRAY_LEN(grades);
        for (size_t i = 0; g != NULL && i < IB_ARRAY_LEN(grades); i++)
            if (strcasecmp(g, grades[i]) == 0)
                k = i;
        if (k == IB_ARRAY_LEN(grades)) {
            add_fix(fixes, IB_FIX_GRADE, "interview.grade", v, "not failed, passed or excelled");
        } else {
            if (strcmp(g, grades[k]) != 0)
                add_fix(fixes, IB_FIX_GRADE_CASE, "interview.grade", v, NULL);
            json_object_set_new(out, "grade", json_string(grades[k]));
        }
    }
    optional_text(in, "summary", "interview.summary", out, fixes);
    v = json_object_get(in, "details");
    if (v != NULL && !json_is_null(v)) {
        json_t *d = json_is_object(v) ? details_value(v, 0, coercions, fixes) : NULL;
        if (d == NULL)
            add_fix(fixes, IB_FIX_DETAILS, "interview.details", v, "not an object");
        else
            json_object_set_new(out, "details", d);
    }
    v = json_object_get(in, "duration");
    json_t *secs = duration_from_seconds(v);
    if (secs != NULL) {
        add_fix(fixes, IB_FIX_DURATION_SECONDS, "interview.duration", v, NULL);
        json_object_set_new(out, "duration", secs);
    } else {
        optional_text(in, "duration", "interview.duration", out, fixes);
    }
    return out;
}

/* 1 when the URL's path (before any query or fragment) ends in ".pdf", any case. */
static int is_pdf_url(const char *url)
{
    size_t n = strcspn(url, "?#");
    return n >= 4 && strncasecmp(url + n - 4, ".pdf", 4) == 0;
}

static json_t *build_attachments(json_t *in, json_t **fixes)
{
    json_t *out = json_array();
    size_t i;
    json_t *a;
    char field[40];

    if (out == NULL)
        return NULL;
    if (!json_is_array(in)) {
        add_fix(fixes, IB_FIX_ATTACHMENT, "attachments", in, "not an array");
        return out;
    }
    json_array_foreach(in, i, a)
    {
        snprintf(field, sizeof(field), "attachments[%zu]", i);
        const char *url = ib_json_str(a, "url");
        json_t *desc = json_object_get(a, "description");
        const char *why = NULL;
        if (!json_is_object(a) || url == NULL || !is_https_url(url))
            why = "url is not an https URL";
        else if (!is_pdf_url(url))
            why = "not a PDF (the url does not end in .pdf)";
        else if (desc != NULL && !json_is_null(desc) && !json_is_string(desc))
            why = "description is not a string";
        if (why != NULL) {
            add_fix(fixes, IB_FIX_ATTACHMENT, field, a, why);
            continue;
        }
        json_t *o = json_object();
        if (o == NULL)
            continue;
        if (desc != NULL && !json_is_null(desc))
            json_object_set(o, "description", desc);
        json_object_set_new(o, "url", json_string(url));
        json_array_append_new(out, o);
    }
    return out;
}

/* A ttl: a whole non-negative number (JSON integer, real without fraction, or a string of
 * digits) into *out. 0 when it is anything else. */
static int whole_ttl(json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = (long long)json_integer_value(v);
        return *out >= 0 && *out <= 100000000LL;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d != floor(d) || d < 0 || d > 1e8)
            return 0;
        *out = (long long)d;
        return 1;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (s == NULL || n == 0 || n > 9)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    *out = strtoll(s, NULL, 10);
    return 1;
}

static json_t *build_shared_link(json_t *in, long long occurred_ms, json_t **fixes)
{
    const char *url = ib_json_str(in, "url");
    if (!json_is_object(in) || url == NULL || !is_https_url(url)) {
        add_fix(fixes, IB_FIX_SHARED_LINK, "shared_link", in, "url is not an https URL");
        return NULL;
    }
    json_t *ttl = json_object_get(in, "ttl");
    if (ttl == NULL || json_is_null(ttl))
        return json_pack("{s:s}", "url", url);
    const char *units = ib_json_str(in, "ttl_units");
    long long n = 0;
    long long unit_ms = 0;
    if (!whole_ttl(ttl, &n)) {
        add_fix(fixes, IB_FIX_SHARED_LINK, "shared_link", in,
                "ttl is not a whole non-negative number");
        return NULL;
    }
    if (units != NULL && strcmp(units, "minutes") == 0)
        unit_ms = 60000;
    else if (units != NULL && strcmp(units, "days") == 0)
        unit_ms = 86400000;
    else if (units == NULL || strcmp(units, "views") != 0) {
        add_fix(fixes, IB_FIX_SHARED_LINK, "shared_link", in,
                "ttl_units is not minutes, days or views");
        return NULL;
    }
    if (unit_ms == 0) {
        char buf[24];
        snprintf(buf, sizeof(buf), "%lld", n);
        return json_pack("{s:s,s:s,s:s}", "url", url, "ttl", buf, "ttl_units", units);
    }
    return json_pack("{s:s,s:s,s:I}", "url", url, "ttl_units", units, "expires_at_ms",
                     (json_int_t)(occurred_ms + n * unit_ms));
}

int ib_shared_link_answer(const json_t *stored, long long now_ms, json_t **answer)
{
    char buf[24];
    *answer = NULL;
    json_t *exp = json_object_get(stored, "expires_at_ms");
    if (!json_is_integer(exp)) {
        *answer = json_deep_copy(stored);
        return *answer != NULL ? 1 : -1;
    }
    const char *units = ib_json_str(stored, "ttl_units");
    long long unit_ms = units != NULL && strcmp(units, "days") == 0 ? 86400000 : 60000;
    long long left = (long long)json_integer_value(exp) - now_ms;
    if (left <= 0)
        return 0;
    snprintf(buf, sizeof(buf), "%lld", left / unit_ms);
    *answer = json_pack("{s:s,s:s,s:s}", "url", ib_json_str(stored, "url"), "ttl", buf, "ttl_units",
                        units != NULL ? units : "minutes");
    return *answer != NULL ? 1 : -1;
}

void ib_status_event_clear(ib_status_event_t *ev)
{
    if (ev == NULL)
        return;
    free(ev->interview_id);
    json_decref(ev->payload);
    json_decref(ev->shared_link);
    json_decref(ev->fixes);
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
        if (!json_is_string(v) || !is_https_url(json_string_value(v)))
            add_fix(&ev->fixes, IB_FIX_RESULTS_URL, "results_url", v, "not an https URL");
        else
            json_object_set(ev->payload, "results_url", v);
    }
    json_object_set_new(ev->payload, "status", json_string(ib_status_name(ev->status)));
    v = json_object_get(root, "interview");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_object(v)) {
            add_fix(&ev->fixes, IB_FIX_INTERVIEW, "interview", v, "not an object");
        } else {
            json_t *iv = build_interview(v, &ev->coercions, &ev->fixes);
            if (iv == NULL) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
            }
            json_object_set_new(ev->payload, "interview", iv);
        }
    }
    v = json_object_get(root, "attachments");
    if (v != NULL && !json_is_null(v)) {
        json_t *att = build_attachments(v, &ev->fixes);
        if (att == NULL) {
            snprintf(errstr, errstr_size, "out of memory");
            goto fail;
        }
        if (json_array_size(att) > 0 || (json_is_array(v) && json_array_size(v) == 0))
            json_object_set_new(ev->payload, "attachments", att);
        else
            json_decref(att);
    }
    v = json_object_get(root, "shared_link");
    if (v != NULL && !json_is_null(v))
        ev->shared_link = build_shared_link(v, ev->occurred_ms, &ev->fixes);
    json_decref(root);
    return IB_OK;
fail:
    json_decref(root);
    ib_status_event_clear(ev);
    return IB_ERR;
}

char *ib_payload_declined_as(const char *text, size_t len, const char *word, size_t *out_len)
{
    char jerr[160];
    char *out = NULL;
    json_t *p = ib_json_parse(text, len, IB_JSON_MAX_DEPTH, jerr, sizeof(jerr));
    const char *st = ib_json_str(p, "status");
    if (st != NULL && strcmp(st, "declined") == 0 && word != NULL &&
        json_object_set_new(p, "status", json_string(word)) == 0)
        out = ib_json_dump_malloc(p, 0, out_len);
    else if (st != NULL)
        out = ib_json_dump_malloc(p, 0, out_len);
    json_decref(p);
    return out;
}
