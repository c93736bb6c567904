#include "validate.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ib/callback_url.h"
#include "ib/json.h"

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

/* Reads obj[key] as a string. null counts as absent, and so does "" (an empty id or name is no
 * id or name). Returns IB_OK with *out a new string, IB_OK with *out NULL when absent and
 * optional, IB_ERR with err set otherwise. */
static ib_rc_t get_string(const json_t *obj, const char *key, const char *path, field_type_t type,
                          int required, size_t max_len, char **out, gw_error_t *err)
{
    char num[32];
    const char *s = NULL;
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (json_is_string(v)) {
        s = json_string_value(v);
    } else if (type == TYPE_STRING_ID && json_is_integer(v)) {
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = num;
    } else if (type == TYPE_STRING_ID && json_is_real(v) && json_real_value(v) >= 0 &&
               json_real_value(v) < 9007199254740992.0 &&
               floor(json_real_value(v)) == json_real_value(v)) {
        /* 12345.0 or 1.2345e4: the same id as 12345. */
        snprintf(num, sizeof(num), "%.0f", json_real_value(v));
        s = num;
    } else if (v != NULL && !json_is_null(v)) {
        set_err(err, 400, "Invalid field: %s should be a string", path);
        return IB_ERR;
    }
    if (s == NULL || s[0] == '\0') {
        if (!required)
            return IB_OK;
        set_err(err, 422, "Missing field: %s should be provided", path);
        return IB_ERR;
    }
    if (strlen(s) > max_len) {
        set_err(err, 400, "Invalid field: %s should be at most %zu characters", path, max_len);
        return IB_ERR;
    }
    *out = strdup(s);
    if (*out == NULL) {
        set_err(err, 500, "Internal Server Error");
        return IB_ERR;
    }
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

static ib_rc_t validate_candidate(const json_t *root, json_t **out, gw_error_t *err)
{
    static const struct {
        const char *key;
        const char *path;
        int required;
        size_t max_len;
    } fields[] = {
        {"first_name", "candidate.first_name", 1, TEXT_MAX_LEN},
        {"last_name", "candidate.last_name", 0, TEXT_MAX_LEN},
        {"email", "candidate.email", 1, EMAIL_MAX_LEN},
        {"phone", "candidate.phone", 0, ID_MAX_LEN},
    };
    json_t *c = json_object_get(root, "candidate");
    json_t *res = NULL;
    char *s = NULL;

    *out = NULL;
    if (c == NULL || json_is_null(c)) {
        set_err(err, 422, "Missing field: candidate should be provided");
        return IB_ERR;
    }
    if (!json_is_object(c)) {
        set_err(err, 400, "Invalid field: candidate should be an object");
        return IB_ERR;
    }
    res = json_object();
    if (res == NULL)
        goto oom;
    for (size_t i = 0; i < IB_ARRAY_LEN(fields); i++) {
        if (get_string(c, fields[i].key, fields[i].path, TYPE_STRING, fields[i].required,
                       fields[i].max_len, &s, err) != IB_OK)
            goto fail;
        if (s == NULL)
            continue;
        if (strcmp(fields[i].key, "email") == 0 && !gw_email_valid(s)) {
            set_err(err, 400, "Invalid field: candidate.email should be an email address");
            goto fail;
        }
        if (json_object_set_new(res, fields[i].key, json_string(s)) != 0)
            goto oom;
        free(s);
        s = NULL;
    }
    *out = res;
    return IB_OK;
oom:
    set_err(err, 500, "Internal Server Error");
fail:
    free(s);
    json_decref(res);
    return IB_ERR;
}

ib_rc_t gw_validate_interview(const gw_validate_ctx_t *ctx, const char *body, size_t len,
                              gw_interview_request_t *out, gw_error_t *err)
{
    char why[128];
    json_t *root = NULL;
    gw_interview_request_t r = {0};

    memset(out, 0, sizeof(*out));
    root = ib_json_parse(body, len, BODY_MAX_DEPTH, why, sizeof(why));
    if (root == NULL || !json_is_object(root)) {
        set_err(err, 400, "Invalid JSON");
        goto fail;
    }

    if (get_string(root, "interview_template_id", "interview_template_id", TYPE_STRING_ID, 1,
                   ID_MAX_LEN, &r.interview_template_id, err) != IB_OK)
        goto fail;
    if (ctx->template_known == NULL ||
        !ctx->template_known(ctx->tenant->id, r.interview_template_id, ctx->opaque)) {
        set_err(err, 400, "Invalid field: interview_template_id is not a known interview template");
        goto fail;
    }
    if (get_string(root, "job_id", "job_id", TYPE_STRING_ID, 0, ID_MAX_LEN, &r.job_id, err) !=
        IB_OK)
        goto fail;
    if (r.job_id != NULL && ctx->job_known != NULL &&
        ctx->job_known(ctx->tenant->id, r.job_id, ctx->opaque) == 0) {
        set_err(err, 400, "Invalid field: job_id is not a known job");
        goto fail;
    }
    if (get_string(root, "job_title", "job_title", TYPE_STRING, 1, TEXT_MAX_LEN, &r.job_title,
                   err) != IB_OK)
        goto fail;
    if (get_string(root, "callback_url", "callback_url", TYPE_STRING, 1, URL_MAX_LEN,
                   &r.callback_url, err) != IB_OK)
        goto fail;
    if (gw_validate_callback_url(ctx, r.callback_url, err) != IB_OK)
        goto fail;
    if (validate_candidate(root, &r.candidate, err) != IB_OK)
        goto fail;

    json_t *prefs = json_object_get(root, "preferences");
    if (prefs != NULL && !json_is_null(prefs)) {
        if (!json_is_object(prefs)) {
            set_err(err, 400, "Invalid field: preferences should be an object");
            goto fail;
        }
        r.preferences = json_incref(prefs);
    }

    json_decref(root);
    *out = r;
    return IB_OK;
fail:
    json_decref(root);
    gw_interview_request_clear(&r);
    return IB_ERR;
}

void gw_interview_request_clear(gw_interview_request_t *r)
{
    if (r == NULL)
        return;
    free(r->interview_template_id);
    free(r->job_id);
    free(r->job_title);
    free(r->callback_url);
    json_decref(r->candidate);
    json_decref(r->preferences);
    memset(r, 0, sizeof(*r));
}
