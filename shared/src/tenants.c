#include "ib/tenants.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ib/json.h"

#define TENANTS_MAX_BYTES    (4 * 1024 * 1024)
#define TOKEN_FILE_MAX_BYTES 4096

static void tenant_clear(ib_tenant_t *t)
{
    free(t->id);
    free(t->token_sha256);
    if (t->workable_token != NULL) {
        /* Scrub the secret before handing the memory back (a memset here may be removed). */
        explicit_bzero(t->workable_token, strlen(t->workable_token));
        free(t->workable_token);
    }
    for (size_t i = 0; i < t->callback_host_count; i++)
        free(t->callback_hosts[i]);
    free(t->callback_hosts);
    free(t->callback_ports);
    memset(t, 0, sizeof(*t));
}

void ib_tenants_free(ib_tenants_t *ts)
{
    if (ts == NULL)
        return;
    for (size_t i = 0; i < ts->count; i++)
        tenant_clear(&ts->tenants[i]);
    free(ts->tenants);
    free(ts);
}

static int valid_tenant_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '-' && c != '_' && c != '.')
            return 0;
    }
    return 1;
}

/* A DNS name (letters, digits, '-', '.'), an IPv4 literal, or "*." followed by a DNS name. */
static int valid_host_pattern(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return 0;
    if (s[0] == '*') {
        if (s[1] != '.' || s[2] == '\0')
            return 0;
        s += 2;
    }
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (!isalnum(c) && c != '-' && c != '.')
            return 0;
    }
    return 1;
}

static char *lowercase_dup(const char *s)
{
    char *d = strdup(s);
    if (d != NULL)
        for (char *p = d; *p != '\0'; p++)
            *p = (char)tolower((unsigned char)*p);
    return d;
}

static char *read_token_file(const char *path, const char *base_dir, char *why, size_t why_size)
{
    char full[4096];
    char buf[TOKEN_FILE_MAX_BYTES + 1];
    FILE *f = NULL;
    char *out = NULL;

    if (path[0] != '/' && base_dir != NULL)
        snprintf(full, sizeof(full), "%s/%s", base_dir, path);
    else
        snprintf(full, sizeof(full), "%s", path);
    f = fopen(full, "rb");
    if (f == NULL) {
        snprintf(why, why_size, "cannot open %.200s: %s", full, strerror(errno));
        goto out;
    }
    size_t n = fread(buf, 1, sizeof(buf), f);
    if (n > TOKEN_FILE_MAX_BYTES) {
        snprintf(why, why_size, "%.200s is larger than %d bytes", full, TOKEN_FILE_MAX_BYTES);
        goto out;
    }
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        n--;
    buf[n] = '\0';
    if (n == 0 || memchr(buf, '\0', n) != NULL) {
        snprintf(why, why_size, "%.200s holds no token", full);
        goto out;
    }
    out = strdup(buf);
    if (out == NULL)
        snprintf(why, why_size, "out of memory");
out:
    explicit_bzero(buf, sizeof(buf));
    if (f != NULL)
        fclose(f);
    return out;
}

#define RATE_MAX 1000000

/* An optional integer key in [min, RATE_MAX]; -1 in *out when absent. */
static ib_rc_t parse_rate(json_t *jt, const char *key, long min, long *out, char *why,
                          size_t why_size)
{
    json_t *v = json_object_get(jt, key);
    *out = -1;
    if (v == NULL)
        return IB_OK;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > RATE_MAX) {
        snprintf(why, why_size, "%s: must be an integer from %ld to %d", key, min, RATE_MAX);
        return IB_ERR;
    }
    *out = (long)json_integer_value(v);
    return IB_OK;
}

static ib_rc_t parse_tenant(json_t *jt, ib_tenant_t *t, const char *base_dir, unsigned opts,
                            char *why, size_t why_size)
{
    json_t *v;
    size_t i;

    if (!json_is_object(jt)) {
        snprintf(why, why_size, "must be an object");
        return IB_ERR;
    }
    const char *id = ib_json_str(jt, "id");
    if (id == NULL || !valid_tenant_id(id)) {
        snprintf(why, why_size, "id: must be a string of 1-128 letters, digits, '-', '_', '.'");
        return IB_ERR;
    }
    t->id = strdup(id);

    v = json_object_get(jt, "api_token_sha256");
    if (!json_is_array(v) || json_array_size(v) == 0) {
        snprintf(why, why_size,
                 "api_token_sha256: must be a non-empty array of SHA-256 hex digests");
        return IB_ERR;
    }
    t->token_sha256 = calloc(json_array_size(v), IB_SHA256_LEN);
    if (t->id == NULL || t->token_sha256 == NULL) {
        snprintf(why, why_size, "out of memory");
        return IB_ERR;
    }
    json_t *digest;
    json_array_foreach(v, i, digest)
    {
        const char *hex = json_string_value(digest);
        if (hex == NULL || ib_unhex(hex, t->token_sha256[i], IB_SHA256_LEN) != IB_OK) {
            snprintf(why, why_size, "api_token_sha256[%zu]: must be 64 hex characters", i);
            return IB_ERR;
        }
        t->token_count++;
    }

    json_t *tok = json_object_get(jt, "workable_token");
    json_t *tok_file = json_object_get(jt, "workable_token_file");
    if ((tok != NULL) == (tok_file != NULL)) {
        snprintf(why, why_size,
                 "workable_token: exactly one of workable_token and "
                 "workable_token_file must be given");
        return IB_ERR;
    }
    if (tok != NULL) {
        if (!json_is_string(tok) || json_string_length(tok) == 0) {
            snprintf(why, why_size, "workable_token: must be a non-empty string");
            return IB_ERR;
        }
        if (opts & IB_TENANTS_NO_WORKABLE_TOKENS)
            goto hosts;
        t->workable_token = strdup(json_string_value(tok));
    } else {
        if (!json_is_string(tok_file) || json_string_length(tok_file) == 0) {
            snprintf(why, why_size, "workable_token_file: must be a path");
            return IB_ERR;
        }
        if (opts & IB_TENANTS_NO_WORKABLE_TOKENS)
            goto hosts; /* not opened: it need not exist where this service runs */
        char inner[300];
        t->workable_token =
            read_token_file(json_string_value(tok_file), base_dir, inner, sizeof(inner));
        if (t->workable_token == NULL) {
            snprintf(why, why_size, "workable_token_file: %s", inner);
            return IB_ERR;
        }
    }
    if (t->workable_token == NULL) {
        snprintf(why, why_size, "out of memory");
        return IB_ERR;
    }

hosts:
    v = json_object_get(jt, "declined_status");
    t->declined_status = "declined";
    if (v != NULL) {
        const char *w = json_string_value(v);
        if (w == NULL || (strcmp(w, "declined") != 0 && strcmp(w, "rejected") != 0)) {
            snprintf(why, why_size, "declined_status: must be \"declined\" or \"rejected\"");
            return IB_ERR;
        }
        t->declined_status = strcmp(w, "rejected") == 0 ? "rejected" : "declined";
    }

    v = json_object_get(jt, "callback_hosts");
    if (!json_is_array(v) || json_array_size(v) == 0) {
        snprintf(why, why_size, "callback_hosts: must be a non-empty array of host names");
        return IB_ERR;
    }
    t->callback_hosts = calloc(json_array_size(v), sizeof(char *));
    if (t->callback_hosts == NULL) {
        snprintf(why, why_size, "out of memory");
        return IB_ERR;
    }
    json_t *host;
    json_array_foreach(v, i, host)
    {
        const char *h = json_string_value(host);
        if (h == NULL || !valid_host_pattern(h)) {
            snprintf(why, why_size,
                     "callback_hosts[%zu]: must be a host name or \"*.\" and a domain", i);
            return IB_ERR;
        }
        t->callback_hosts[i] = lowercase_dup(h);
        if (t->callback_hosts[i] == NULL) {
            snprintf(why, why_size, "out of memory");
            return IB_ERR;
        }
        t->callback_host_count++;
    }

    /* Optional: the ports besides 443 this account's callback URLs may name. */
    v = json_object_get(jt, "callback_ports");
    if (v != NULL) {
        if (!json_is_array(v) || json_array_size(v) == 0) {
            snprintf(why, why_size, "callback_ports: must be a non-empty array of port numbers");
            return IB_ERR;
        }
        t->callback_ports = calloc(json_array_size(v), sizeof(long));
        if (t->callback_ports == NULL) {
            snprintf(why, why_size, "out of memory");
            return IB_ERR;
        }
        json_t *port;
        json_array_foreach(v, i, port)
        {
            if (!json_is_integer(port) || json_integer_value(port) < 1 ||
                json_integer_value(port) > 65535) {
                snprintf(why, why_size, "callback_ports[%zu]: must be a port number 1..65535", i);
                return IB_ERR;
            }
            t->callback_ports[t->callback_port_count++] = (long)json_integer_value(port);
        }
    }
    if (parse_rate(jt, "create_rate", 0, &t->create_rate, why, why_size) != IB_OK ||
        parse_rate(jt, "create_burst", 1, &t->create_burst, why, why_size) != IB_OK)
        return IB_ERR;
    return IB_OK;
}

/* A generic reason for a JSON error: jansson's text quotes the file ("near '...'"), and the
 * file holds secrets. */
static const char *json_reason(const json_error_t *jerr)
{
    switch (json_error_code(jerr)) {
    case json_error_invalid_syntax:
        return "invalid syntax";
    case json_error_invalid_format:
        return "invalid format";
    case json_error_invalid_utf8:
        return "invalid UTF-8";
    case json_error_premature_end_of_input:
        return "premature end of input";
    case json_error_end_of_input_expected:
        return "end of input expected";
    case json_error_duplicate_key:
        return "duplicate object key";
    case json_error_null_character:
        return "NUL character";
    case json_error_numeric_overflow:
        return "numeric overflow";
    default:
        return "invalid JSON";
    }
}

/* Overwrites every workable_token string of the parsed file before the tree is freed. */
static void scrub_tree(json_t *root)
{
    size_t i;
    json_t *jt;
    json_array_foreach(json_object_get(root, "tenants"), i, jt)
    {
        json_t *v = json_object_get(jt, "workable_token");
        if (json_is_string(v))
            explicit_bzero((char *)(uintptr_t)json_string_value(v), json_string_length(v));
    }
}

ib_tenants_t *ib_tenants_parse(const char *buf, size_t len, const char *base_dir, char *errstr,
                               size_t errstr_size)
{
    return ib_tenants_parse_opts(buf, len, base_dir, 0, errstr, errstr_size);
}

ib_tenants_t *ib_tenants_parse_opts(const char *buf, size_t len, const char *base_dir,
                                    unsigned opts, char *errstr, size_t errstr_size)
{
    char why[400];
    json_t *root = NULL;
    ib_tenants_t *ts = NULL;
    size_t i;
    json_error_t jerr;

    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        /* Line and column only: jerr.text and jerr.source may quote the file. */
        snprintf(errstr, errstr_size, "not valid JSON: %s at line %d column %d", json_reason(&jerr),
                 jerr.line, jerr.column);
        explicit_bzero(&jerr, sizeof(jerr));
        goto fail;
    }
    explicit_bzero(&jerr, sizeof(jerr));
    if (ib_json_depth(root) > IB_JSON_MAX_DEPTH) {
        snprintf(errstr, errstr_size, "not valid JSON: nesting deeper than %d levels",
                 IB_JSON_MAX_DEPTH);
        goto fail;
    }
    json_t *arr = json_object_get(root, "tenants");
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        snprintf(errstr, errstr_size, "tenants: must be a non-empty array");
        goto fail;
    }
    ts = calloc(1, sizeof(*ts));
    if (ts == NULL)
        goto oom;
    ts->tenants = calloc(json_array_size(arr), sizeof(ib_tenant_t));
    if (ts->tenants == NULL)
        goto oom;
    json_t *jt;
    json_array_foreach(arr, i, jt)
    {
        ib_tenant_t *t = &ts->tenants[i];
        ts->count++;
        why[0] = '\0';
        if (parse_tenant(jt, t, base_dir, opts, why, sizeof(why)) != IB_OK) {
            snprintf(errstr, errstr_size, "tenants[%zu].%s", i, why);
            goto fail;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(ts->tenants[k].id, t->id) == 0) {
                snprintf(errstr, errstr_size, "tenants[%zu].id: duplicate tenant id \"%s\"", i,
                         t->id);
                goto fail;
            }
        }
    }
    /* One token must identify one tenant. */
    for (size_t a = 0; a < ts->count; a++)
        for (size_t b = a; b < ts->count; b++)
            for (size_t x = 0; x < ts->tenants[a].token_count; x++)
                for (size_t y = 0; y < ts->tenants[b].token_count; y++) {
                    if (a == b && x >= y)
                        continue;
                    if (memcmp(ts->tenants[a].token_sha256[x], ts->tenants[b].token_sha256[y],
                               IB_SHA256_LEN) == 0) {
                        snprintf(errstr, errstr_size,
                                 "tenants[%zu].api_token_sha256[%zu]: digest is used twice", b, y);
                        goto fail;
                    }
                }
    scrub_tree(root);
    json_decref(root);
    return ts;
oom:
    snprintf(errstr, errstr_size, "out of memory");
fail:
    if (root != NULL)
        scrub_tree(root);
    json_decref(root);
    ib_tenants_free(ts);
    return NULL;
}

ib_tenants_t *ib_tenants_load(const char *path, char *errstr, size_t errstr_size)
{
    return ib_tenants_load_opts(path, 0, errstr, errstr_size);
}

ib_tenants_t *ib_tenants_load_opts(const char *path, unsigned opts, char *errstr,
                                   size_t errstr_size)
{
    char why[512];
    char dir[4096];
    char *buf = NULL;
    FILE *f = NULL;
    ib_tenants_t *ts = NULL;
    size_t n = 0;

    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(errstr, errstr_size, "TENANTS_FILE: cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    buf = malloc(TENANTS_MAX_BYTES + 1);
    if (buf == NULL) {
        snprintf(errstr, errstr_size, "TENANTS_FILE: out of memory");
        goto out;
    }
    n = fread(buf, 1, TENANTS_MAX_BYTES + 1, f);
    if (n > TENANTS_MAX_BYTES) {
        snprintf(errstr, errstr_size, "TENANTS_FILE: %s is larger than %d bytes", path,
                 TENANTS_MAX_BYTES);
        goto out;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    ts = ib_tenants_parse_opts(buf, n, dir, opts, why, sizeof(why));
    if (ts == NULL)
        snprintf(errstr, errstr_size, "TENANTS_FILE: %s: %s", path, why);
out:
    if (buf != NULL) {
        explicit_bzero(buf, n); /* the file holds secrets */
        free(buf);
    }
    if (f != NULL)
        fclose(f);
    return ts;
}

const ib_tenant_t *ib_tenants_authenticate(const ib_tenants_t *ts, const char *token, size_t len)
{
    uint8_t digest[IB_SHA256_LEN];
    const ib_tenant_t *found = NULL;

    if (ts == NULL || token == NULL || len == 0)
        return NULL;
    ib_sha256(token, len, digest);
    /* Every digest is compared; the loop never exits early on a match. */
    for (size_t i = 0; i < ts->count; i++) {
        const ib_tenant_t *t = &ts->tenants[i];
        for (size_t k = 0; k < t->token_count; k++) {
            int eq = ib_ct_equal(digest, t->token_sha256[k], IB_SHA256_LEN);
            uintptr_t mask = (uintptr_t)0 - (uintptr_t)eq;
            found = (const ib_tenant_t *)((uintptr_t)found | ((uintptr_t)t & mask));
        }
    }
    return found;
}

const ib_tenant_t *ib_tenants_find(const ib_tenants_t *ts, const char *id)
{
    if (ts == NULL || id == NULL)
        return NULL;
    for (size_t i = 0; i < ts->count; i++)
        if (strcmp(ts->tenants[i].id, id) == 0)
            return &ts->tenants[i];
    return NULL;
}

int ib_tenant_port_allowed(const ib_tenant_t *t, long port)
{
    if (port == 443)
        return 1;
    for (size_t i = 0; i < t->callback_port_count; i++)
        if (t->callback_ports[i] == port)
            return 1;
    return 0;
}

int ib_tenant_host_allowed(const ib_tenant_t *t, const char *host)
{
    size_t hlen = strlen(host);
    if (hlen == 0)
        return 0;
    for (size_t i = 0; i < t->callback_host_count; i++) {
        const char *pat = t->callback_hosts[i];
        if (pat[0] == '*') {
            /* "*.example.com" matches "a.example.com" (any depth), never "example.com". */
            const char *suffix = pat + 1; /* ".example.com" */
            size_t slen = strlen(suffix);
            if (hlen > slen && strcasecmp(host + hlen - slen, suffix) == 0)
                return 1;
        } else if (strcasecmp(host, pat) == 0) {
            return 1;
        }
    }
    return 0;
}
