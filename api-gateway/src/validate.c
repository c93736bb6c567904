#include "validate.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ib/callback_url.h"
#include "ib/json.h"
#include "ib/jsonr.h"

#define ID_MAX_LEN     256
#define TEXT_MAX_LEN   1024
#define URL_MAX_LEN    IB_CALLBACK_URL_MAX
#define EMAIL_MAX_LEN  254
#define BODY_MAX_DEPTH IB_JSON_MAX_DEPTH

static IB_PRINTF(3, 4) void set_err(gw_error_t *err, unsigned int status, const char *fmt, ...)
{
    va_list ap;
    err->status = status;
    va_start(ap, fmt);
    /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): false positive, ap started above */
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

typedef enum {
    TYPE_STRING,   /* a JSON string */
    TYPE_STRING_ID /* a JSON string, or an integral number normalised to its decimal string */
} field_type_t;

/* Where the strings of one request are written: a block of the body's length plus room for two
 * normalised numbers (a decoded string is never longer than its JSON text). */
typedef struct {
    char *at;
    char *end;
} store_t;

#define NUMBER_ROOM 32

/* Reads v (NULL when the member is absent) as a string. null counts as absent, and so does ""
 * (an empty id or name is no id or name). Returns IB_OK with *out the string in st, IB_OK with
 * *out NULL when absent and optional, IB_ERR with err set otherwise. */
static ib_rc_t get_string(const ib_jr_value_t *v, const char *path, field_type_t type, int required,
                          size_t max_len, store_t *st, char **out, gw_error_t *err)
{
    char *s = st->at;
    size_t n = 0;

    *out = NULL;
    if (v != NULL && v->type == IB_JR_STRING) {
        n = ib_jr_string(v, s);
    } else if (type == TYPE_STRING_ID && v != NULL && v->type == IB_JR_INTEGER) {
        n = (size_t)snprintf(s, NUMBER_ROOM, "%lld", ib_jr_integer(v));
    } else if (type == TYPE_STRING_ID && v != NULL && v->type == IB_JR_REAL && ib_jr_real(v) >= 0 &&
               ib_jr_real(v) < 9007199254740992.0 && floor(ib_jr_real(v)) == ib_jr_real(v)) {
        /* 12345.0 or 1.2345e4: the same id as 12345. */
        n = (size_t)snprintf(s, NUMBER_ROOM, "%.0f", ib_jr_real(v));
    } else if (v != NULL && v->type != IB_JR_NULL) {
        set_err(err, 400, "Invalid field: %s should be a string", path);
        return IB_ERR;
    }
    if (n == 0) {
        if (!required)
            return IB_OK;
        set_err(err, 422, "Missing field: %s should be provided", path);
        return IB_ERR;
    }
    if (n > max_len) {
        set_err(err, 400, "Invalid field: %s should be at most %zu characters", path, max_len);
        return IB_ERR;
    }
    assert(s + n < st->end);
    st->at = s + n + 1;
    *out = s;
    return IB_OK;
}

/* RFC 5321 atext (4.1.2), plus UTF-8 bytes (RFC 6531). */
static int email_atext(unsigned char c)
{
    return isalnum(c) || c >= 0x80 || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Local-part = Dot-string / Quoted-string. s..end, end exclusive. */
static int email_local_ok(const char *s, const char *end)
{
    if (s == end)
        return 0;
    if (*s == '"') {
        if (end - s < 2 || end[-1] != '"')
            return 0;
        for (const char *p = s + 1; p < end - 1; p++) {
            unsigned char c = (unsigned char)*p;
            if (c == '\\') {
                p++;
                if (p >= end - 1 || (unsigned char)*p < 32 || (unsigned char)*p > 126)
                    return 0;
            } else if (c < 32 || c == '"' || c == 127) {
                return 0;
            }
        }
        return 1;
    }
    for (const char *p = s; p < end; p++) {
        if (*p == '.') {
            if (p == s || p + 1 == end || p[1] == '.')
                return 0;
        } else if (!email_atext((unsigned char)*p)) {
            return 0;
        }
    }
    return 1;
}

/* Domain (labels of letters, digits, '-' or UTF-8, at most 63 bytes, no leading or trailing
 * '-') or address-literal ("[" IPv4 "]", "[IPv6:" IPv6 "]", "[" tag ":" dcontent "]"). */
static int email_domain_ok(const char *d)
{
    size_t len = strlen(d);
    char buf[256];

    if (len == 0 || len > 255)
        return 0;
    if (d[0] == '[') {
        unsigned char addr[16];
        if (d[len - 1] != ']' || len - 2 >= sizeof(buf))
            return 0;
        memcpy(buf, d + 1, len - 2);
        buf[len - 2] = '\0';
        if (strncasecmp(buf, "IPv6:", 5) == 0)
            return inet_pton(AF_INET6, buf + 5, addr) == 1;
        char *colon = strchr(buf, ':');
        if (colon == NULL)
            return inet_pton(AF_INET, buf, addr) == 1;
        /* General-address-literal: Standardized-tag ":" 1*dcontent. */
        if (colon == buf || colon[1] == '\0')
            return 0;
        for (const char *p = buf; p < colon; p++)
            if (!isalnum((unsigned char)*p) && *p != '-')
                return 0;
        for (const char *p = colon + 1; *p != '\0'; p++) {
            unsigned char c = (unsigned char)*p;
            if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']')
                return 0;
        }
        return 1;
    }
    size_t label = 0;
    for (const char *p = d;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || p[-1] == '-' || (p - label)[0] == '-')
                return 0;
            if (c == '\0')
                return 1;
            label = 0;
            continue;
        }
        if (!isalnum(c) && c != '-' && c < 0x80)
            return 0;
        label++;
    }
}

int gw_email_valid(const char *s)
{
    size_t len = strlen(s);
    const char *at = strrchr(s, '@');

    if (len > EMAIL_MAX_LEN || at == NULL || at - s > 64)
        return 0;
    return email_local_ok(s, at) && email_domain_ok(at + 1);
}

ib_rc_t gw_validate_callback_url(const gw_validate_ctx_t *ctx, const char *url, gw_error_t *err)
{
    char why[160];
    ib_callback_url_verdict_t v = ib_callback_url_check(
        url, ctx->tenant, ctx->allow_insecure_callbacks, NULL, why, sizeof(why));
    if (v == IB_CALLBACK_URL_OK)
        return IB_OK;
    if (strcmp(why, "out of memory") == 0)
        set_err(err, 500, "Internal Server Error");
    else
        set_err(err, 400, "Invalid field: %s", why);
    return IB_ERR;
}

/* The members of obj named in names (n of them): found[i] is names[i]'s value or NULL. */
static void find_members(const ib_jr_value_t *obj, const char *const *names, size_t n,
                         ib_jr_value_t *values, const ib_jr_value_t **found)
{
    ib_jr_value_t key, value;
    size_t pos = 0;

    for (size_t i = 0; i < n; i++)
        found[i] = NULL;
    while (ib_jr_next_member(obj, &pos, &key, &value)) {
        for (size_t i = 0; i < n; i++) {
            if (found[i] == NULL && ib_jr_string_is(&key, names[i])) {
                values[i] = value;
                found[i] = &values[i];
                break;
            }
        }
    }
}

static ib_rc_t validate_candidate(const ib_jr_value_t *c, store_t *st, gw_candidate_t *out,
                                  gw_error_t *err)
{
    static const char *const names[] = {"first_name", "last_name", "email", "phone"};
    ib_jr_value_t values[IB_ARRAY_LEN(names)];
    const ib_jr_value_t *found[IB_ARRAY_LEN(names)];

    if (c == NULL || c->type == IB_JR_NULL) {
        set_err(err, 422, "Missing field: candidate should be provided");
        return IB_ERR;
    }
    if (c->type != IB_JR_OBJECT) {
        set_err(err, 400, "Invalid field: candidate should be an object");
        return IB_ERR;
    }
    find_members(c, names, IB_ARRAY_LEN(names), values, found);
    if (get_string(found[0], "candidate.first_name", TYPE_STRING, 1, TEXT_MAX_LEN, st,
                   &out->first_name, err) != IB_OK ||
        get_string(found[1], "candidate.last_name", TYPE_STRING, 0, TEXT_MAX_LEN, st,
                   &out->last_name, err) != IB_OK ||
        get_string(found[2], "candidate.email", TYPE_STRING, 1, EMAIL_MAX_LEN, st, &out->email,
                   err) != IB_OK)
        return IB_ERR;
    if (!gw_email_valid(out->email)) {
        set_err(err, 400, "Invalid field: candidate.email should be an email address");
        return IB_ERR;
    }
    return get_string(found[3], "candidate.phone", TYPE_STRING, 0, ID_MAX_LEN, st, &out->phone,
                      err);
}

enum { F_TEMPLATE, F_JOB_ID, F_JOB_TITLE, F_CALLBACK_URL, F_CANDIDATE, F_PREFERENCES, F_COUNT };

ib_rc_t gw_validate_interview(const gw_validate_ctx_t *ctx, const char *body, size_t len,
                              gw_interview_request_t *out, gw_error_t *err)
{
    static const char *const names[F_COUNT] = {"interview_template_id", "job_id",    "job_title",
                                               "callback_url",          "candidate", "preferences"};
    ib_jr_value_t root, values[F_COUNT];
    const ib_jr_value_t *f[F_COUNT];
    gw_interview_request_t r = {0};
    store_t st;

    memset(out, 0, sizeof(*out));
    if (ib_jr_check(body, len, BODY_MAX_DEPTH, &root) != IB_OK || root.type != IB_JR_OBJECT) {
        set_err(err, 400, "Invalid JSON");
        goto fail;
    }
    r.store = malloc(len + 2 * NUMBER_ROOM);
    if (r.store == NULL)
        goto oom;
    st.at = r.store;
    st.end = r.store + len + 2 * NUMBER_ROOM;
    find_members(&root, names, F_COUNT, values, f);

    if (get_string(f[F_TEMPLATE], "interview_template_id", TYPE_STRING_ID, 1, ID_MAX_LEN, &st,
                   &r.interview_template_id, err) != IB_OK)
        goto fail;
    if (ctx->template_known == NULL ||
        !ctx->template_known(ctx->tenant->id, r.interview_template_id, ctx->opaque)) {
        set_err(err, 400, "Invalid field: interview_template_id is not a known interview template");
        goto fail;
    }
    if (get_string(f[F_JOB_ID], "job_id", TYPE_STRING_ID, 0, ID_MAX_LEN, &st, &r.job_id, err) !=
        IB_OK)
        goto fail;
    if (r.job_id != NULL && ctx->job_known != NULL &&
        ctx->job_known(ctx->tenant->id, r.job_id, ctx->opaque) == 0) {
        set_err(err, 400, "Invalid field: job_id is not a known job");
        goto fail;
    }
    if (get_string(f[F_JOB_TITLE], "job_title", TYPE_STRING, 1, TEXT_MAX_LEN, &st, &r.job_title,
                   err) != IB_OK)
        goto fail;
    if (get_string(f[F_CALLBACK_URL], "callback_url", TYPE_STRING, 1, URL_MAX_LEN, &st,
                   &r.callback_url, err) != IB_OK)
        goto fail;
    if (gw_validate_callback_url(ctx, r.callback_url, err) != IB_OK)
        goto fail;
    if (validate_candidate(f[F_CANDIDATE], &st, &r.candidate, err) != IB_OK)
        goto fail;

    const ib_jr_value_t *prefs = f[F_PREFERENCES];
    if (prefs != NULL && prefs->type != IB_JR_NULL) {
        if (prefs->type != IB_JR_OBJECT) {
            set_err(err, 400, "Invalid field: preferences should be an object");
            goto fail;
        }
        ib_jw_t w;
        ib_jw_init(&w, NULL, 0);
        ib_jr_write(&w, prefs);
        r.preferences = ib_jw_take(&w, &r.preferences_len);
        ib_jw_free(&w);
        if (r.preferences == NULL)
            goto oom;
    }

    *out = r;
    return IB_OK;
oom:
    set_err(err, 500, "Internal Server Error");
fail:
    gw_interview_request_clear(&r);
    return IB_ERR;
}

void gw_interview_request_clear(gw_interview_request_t *r)
{
    if (r == NULL)
        return;
    free(r->store);
    free(r->preferences);
    memset(r, 0, sizeof(*r));
}
