#include "validate.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "ib/json.h"
#include "ib/url.h"

#define ID_MAX_LEN     256
#define TEXT_MAX_LEN   1024
#define URL_MAX_LEN    2048
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

int gw_email_plausible(const char *s)
{
    size_t len = strlen(s);
    const char *at = strchr(s, '@');

    if (len < 3 || len > EMAIL_MAX_LEN || at == NULL || strchr(at + 1, '@') != NULL)
        return 0;
    if (at == s || at - s > 64)
        return 0;
    for (const char *p = s; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c == 0x7f || strchr("()<>[]\\,;:\"", c) != NULL)
            return 0;
    }
    /* Domain: dot-separated non-empty labels of letters, digits, '-' (or UTF-8 bytes). */
    const char *d = at + 1;
    if (strchr(d, '.') == NULL)
        return 0;
    size_t label = 0;
    for (const char *p = d;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '.' || c == '\0') {
            if (label == 0 || p[-1] == '-' || (p - label)[0] == '-')
                return 0;
            if (c == '\0')
                break;
            label = 0;
            continue;
        }
        if (!isalnum(c) && c != '-' && c < 0x80)
            return 0;
        label++;
    }
    return 1;
}

static int host_is_loopback(const char *host)
{
    char buf[256];
    unsigned char addr[16];
    size_t len = strlen(host);

    if (len == 0 || len >= sizeof(buf))
        return 0;
    if (strcasecmp(host, "localhost") == 0 ||
        (len > 10 && strcasecmp(host + len - 10, ".localhost") == 0))
        return 1;
    if (inet_pton(AF_INET, host, addr) == 1)
        return addr[0] == 127 || (addr[0] | addr[1] | addr[2] | addr[3]) == 0;
    if (host[0] == '[' && host[len - 1] == ']') {
        memcpy(buf, host + 1, len - 2);
        buf[len - 2] = '\0';
        char *zone = strchr(buf, '%');
        if (zone != NULL)
            *zone = '\0';
        if (inet_pton(AF_INET6, buf, addr) != 1)
            return 0;
        static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        int zero_prefix = 1;
        for (int i = 0; i < 15; i++)
            if (addr[i] != 0)
                zero_prefix = 0;
        if (zero_prefix && (addr[15] == 1 || addr[15] == 0)) /* ::1 and :: */
            return 1;
        if (memcmp(addr, v4mapped, sizeof(v4mapped)) == 0)
            return addr[12] == 127 || (addr[12] | addr[13] | addr[14] | addr[15]) == 0;
    }
    return 0;
}

ib_rc_t gw_validate_callback_url(const gw_validate_ctx_t *ctx, const char *url, gw_error_t *err)
{
    ib_rc_t rc = IB_ERR;
    ib_url_t p = {0};
    char *user = NULL;
    char *password = NULL;

    switch (ib_url_parse(url, &p)) {
    case IB_URL_OK:
        break;
    case IB_URL_NO_MEMORY:
        set_err(err, 500, "Internal Server Error");
        goto out;
    case IB_URL_CONTROL:
    case IB_URL_NOT_ABSOLUTE:
    default:
        set_err(err, 400, "Invalid field: callback_url should be an absolute URL");
        goto out;
    }
    if (curl_url_get(p.u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(p.u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
        set_err(err, 422, "Invalid field: callback_url must not contain user information");
        goto out;
    }
    if (strcasecmp(p.scheme, "https") != 0 &&
        !(ctx->allow_insecure_callbacks && strcasecmp(p.scheme, "http") == 0)) {
        set_err(err, 422, "Invalid field: callback_url should use https");
        goto out;
    }
    if (!ctx->allow_insecure_callbacks && host_is_loopback(p.host)) {
        set_err(err, 422, "Invalid field: callback_url must not point to a loopback address");
        goto out;
    }
    if (!ib_tenant_host_allowed(ctx->tenant, p.host)) {
        set_err(err, 422, "Invalid field: callback_url host is not allowed for this account");
        goto out;
    }
    rc = IB_OK;
out:
    curl_free(user);
    curl_free(password);
    ib_url_free(&p);
    return rc;
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
        {"last_name", "candidate.last_name", 1, TEXT_MAX_LEN},
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
        if (strcmp(fields[i].key, "email") == 0 && !gw_email_plausible(s)) {
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
        set_err(err, 422, "Invalid field: interview_template_id is not a known interview template");
        goto fail;
    }
    if (get_string(root, "job_id", "job_id", TYPE_STRING_ID, 0, ID_MAX_LEN, &r.job_id, err) !=
        IB_OK)
        goto fail;
    if (r.job_id != NULL && ctx->job_known != NULL &&
        ctx->job_known(ctx->tenant->id, r.job_id, ctx->opaque) == 0) {
        set_err(err, 422, "Invalid field: job_id is not a known job");
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
