#include "ib/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ib/log.h"

/* IB_CONF_ENUM fields are written as int; LOG_LEVEL's is an ib_log_level_t. */
_Static_assert(sizeof(ib_log_level_t) == sizeof(int), "ib_log_level_t is stored as an int");

const ib_conf_enum_t ib_conf_log_levels[] = {
    {"debug", IB_LOG_DEBUG},
    {"info", IB_LOG_INFO},
    {"warn", IB_LOG_WARN},
    {"error", IB_LOG_ERROR},
    {NULL, 0},
};

static const struct {
    const char *suffix;
    long factor;
} duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}, {"", 1},
};

ib_rc_t ib_duration_parse(const char *s, long *ms)
{
    char *end = NULL;
    if (s == NULL || !isdigit((unsigned char)*s))
        return IB_ERR;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno != 0 || end == s)
        return IB_ERR;
    for (size_t i = 0; i < IB_ARRAY_LEN(duration_units); i++) {
        if (strcmp(end, duration_units[i].suffix) == 0) {
            if (n > LONG_MAX / duration_units[i].factor)
                return IB_ERR;
            *ms = n * duration_units[i].factor;
            return IB_OK;
        }
    }
    return IB_ERR;
}

ib_rc_t ib_listen_parse(const char *s, char *host, size_t host_size, unsigned short *port)
{
    const char *colon;
    const char *h = s;
    size_t hlen;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return IB_ERR;
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return IB_ERR;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= host_size)
        return IB_ERR;
    if (!isdigit((unsigned char)colon[1]))
        return IB_ERR;
    char *end = NULL;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || p < 0 || p > 65535)
        return IB_ERR;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (unsigned short)p;
    return IB_OK;
}

ib_rc_t ib_listen_addr_parse(const char *s, ib_listen_t *out, char *why, size_t why_size)
{
    const char *example = "(e.g. 0.0.0.0:8080 or [::]:8080)";
    char *host = out->host;
    unsigned short port = 0;

    memset(out, 0, sizeof(*out));
    if (strlen(s) >= sizeof(out->text)) {
        snprintf(why, why_size, "'%.20s...' is too long for an address and port", s);
        return IB_ERR;
    }
    if (ib_listen_parse(s, host, sizeof(out->host), &port) != IB_OK) {
        snprintf(why, why_size, "'%s' is not an address and port %s", s, example);
        return IB_ERR;
    }
    if (port == 0) {
        snprintf(why, why_size, "'%s': port 0 is outside [1, 65535]", s);
        return IB_ERR;
    }
    if (s[0] == '[') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)(void *)&out->addr;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
            snprintf(why, why_size, "'%s': '%s' is not an IPv6 address %s", s, host, example);
            return IB_ERR;
        }
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        out->addr_len = sizeof(*a6);
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)(void *)&out->addr;
        if (strchr(host, ':') != NULL) {
            snprintf(why, why_size, "'%s': an IPv6 address goes in brackets %s", s, example);
            return IB_ERR;
        }
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
            snprintf(why, why_size, "'%s': '%s' is not an IPv4 address %s", s, host, example);
            return IB_ERR;
        }
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        out->addr_len = sizeof(*a4);
    }
    memcpy(out->text, s, strlen(s) + 1);
    out->port = port;
    return IB_OK;
}

static ib_rc_t parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < IB_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return IB_OK;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return IB_OK;
        }
    }
    return IB_ERR;
}

static ib_rc_t parse_durations(const char *s, ib_durations_t *out, char *why, size_t why_size)
{
    char *copy = strdup(s);
    char *save = NULL;
    size_t cap = 1;
    ib_rc_t rc = IB_ERR;

    out->ms = NULL;
    out->count = 0;
    if (copy == NULL)
        goto fail;
    for (const char *p = s; *p != '\0'; p++)
        if (*p == ',')
            cap++;
    out->ms = calloc(cap, sizeof(*out->ms));
    if (out->ms == NULL)
        goto fail;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        char *end = tok + strlen(tok);
        while (end > tok && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (ib_duration_parse(tok, &out->ms[out->count]) != IB_OK) {
            snprintf(why, why_size, "'%s' is not a duration (e.g. 500ms, 5s, 2m, 1h, 1d)", tok);
            goto fail;
        }
        out->count++;
    }
    if (out->count == 0) {
        snprintf(why, why_size, "needs at least one duration");
        goto fail;
    }
    rc = IB_OK;
fail:
    free(copy);
    if (rc != IB_OK) {
        free(out->ms);
        out->ms = NULL;
        out->count = 0;
    }
    return rc;
}

const char *ib_conf_enum_word(const ib_conf_desc_t *d, int value)
{
    for (const ib_conf_enum_t *e = d->enums; e != NULL && e->word != NULL; e++)
        if (e->value == value)
            return e->word;
    return NULL;
}

static ib_rc_t parse_enum(const ib_conf_desc_t *d, const char *value, int *out, char *why,
                          size_t why_size)
{
    size_t used = 0;
    for (const ib_conf_enum_t *e = d->enums; e != NULL && e->word != NULL; e++) {
        if (strcmp(value, e->word) == 0) {
            *out = e->value;
            return IB_OK;
        }
    }
    int n = snprintf(why, why_size, "'%s' is not one of", value);
    used = n > 0 ? (size_t)n : 0;
    for (const ib_conf_enum_t *e = d->enums; e != NULL && e->word != NULL && used < why_size; e++) {
        n = snprintf(why + used, why_size - used, "%s %s", e == d->enums ? "" : ",", e->word);
        used += n > 0 ? (size_t)n : 0;
    }
    return IB_ERR;
}

static int has_bounds(const ib_conf_desc_t *d)
{
    return !(d->min == 0 && d->max == 0);
}

/* Stores n (an IB_CONF_INT, or an IB_CONF_DURATION in ms: unit " ms") into field after the
 * row's bounds check. */
static ib_rc_t store_long(const ib_conf_desc_t *d, long n, const char *unit, char *field, char *why,
                          size_t why_size)
{
    if (has_bounds(d) && (n < d->min || n > d->max)) {
        snprintf(why, why_size, "%ld%s is outside [%ld, %ld]%s", n, unit, d->min, d->max, unit);
        return IB_ERR;
    }
    *(long *)(void *)field = n;
    return IB_OK;
}

static ib_rc_t load_one(const ib_conf_desc_t *d, const char *value, char *field, char *why,
                        size_t why_size)
{
    switch (d->type) {
    case IB_CONF_STRING: {
        if (value == NULL) {
            snprintf(why, why_size, "is required");
            return IB_ERR;
        }
        size_t len = strlen(value);
        if (has_bounds(d) && (long)len < d->min) {
            if (d->min == 1)
                snprintf(why, why_size, "must not be empty");
            else
                snprintf(why, why_size, "is shorter than %ld characters", d->min);
            return IB_ERR;
        }
        if (d->max > 0 && (long)len > d->max) {
            snprintf(why, why_size, "is longer than %ld characters", d->max);
            return IB_ERR;
        }
        char *copy = strdup(value);
        if (copy == NULL) {
            snprintf(why, why_size, "out of memory");
            return IB_ERR;
        }
        *(char **)(void *)field = copy;
        return IB_OK;
    }
    case IB_CONF_INT: {
        char *end = NULL;
        errno = 0;
        long n = strtol(value != NULL ? value : "0", &end, 10);
        if (errno != 0 || end == value || *end != '\0') {
            snprintf(why, why_size, "'%s' is not an integer", value);
            return IB_ERR;
        }
        return store_long(d, n, "", field, why, why_size);
    }
    case IB_CONF_BOOL: {
        int b = 0;
        if (value != NULL && parse_bool(value, &b) != IB_OK) {
            snprintf(why, why_size, "'%s' is not a boolean (0/1/true/false)", value);
            return IB_ERR;
        }
        *(int *)(void *)field = b;
        return IB_OK;
    }
    case IB_CONF_DURATION: {
        long ms = 0;
        if (value != NULL && ib_duration_parse(value, &ms) != IB_OK) {
            snprintf(why, why_size, "'%s' is not a duration (e.g. 500ms, 5s, 2m, 1h, 1d)", value);
            return IB_ERR;
        }
        return store_long(d, ms, " ms", field, why, why_size);
    }
    case IB_CONF_DURATIONS:
        return parse_durations(value != NULL ? value : "0", (ib_durations_t *)(void *)field, why,
                               why_size);
    case IB_CONF_ENUM:
        if (value == NULL) {
            snprintf(why, why_size, "is required");
            return IB_ERR;
        }
        return parse_enum(d, value, (int *)(void *)field, why, why_size);
    case IB_CONF_LISTEN:
        if (value == NULL) {
            snprintf(why, why_size, "is required");
            return IB_ERR;
        }
        return ib_listen_addr_parse(value, (ib_listen_t *)(void *)field, why, why_size);
    }
    snprintf(why, why_size, "unknown descriptor type");
    return IB_ERR;
}

static const char *env_get(const char *name, void *opaque)
{
    (void)opaque;
    const char *v = getenv(name);
    return v;
}

ib_rc_t ib_config_load_from(const ib_conf_desc_t *table, size_t n, void *base, ib_getenv_fn *get,
                            void *opaque, char *errstr, size_t errstr_size)
{
    if (get == NULL)
        get = env_get;
    char why[256];
    for (size_t i = 0; i < n; i++) {
        const ib_conf_desc_t *d = &table[i];
        const char *value = get(d->name, opaque);
        if (value == NULL)
            value = d->def;
        why[0] = '\0';
        if (load_one(d, value, (char *)base + d->offset, why, sizeof(why)) != IB_OK) {
            snprintf(errstr, errstr_size, "%s: %s", d->name, why);
            ib_config_free(table, i, base);
            return IB_ERR;
        }
    }
    return IB_OK;
}

ib_rc_t ib_config_load(const ib_conf_desc_t *table, size_t n, void *base, char *errstr,
                       size_t errstr_size)
{
    return ib_config_load_from(table, n, base, NULL, NULL, errstr, errstr_size);
}

void ib_config_free(const ib_conf_desc_t *table, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++) {
        char *field = (char *)base + table[i].offset;
        if (table[i].type == IB_CONF_STRING) {
            free(*(char **)(void *)field);
            *(char **)(void *)field = NULL;
        } else if (table[i].type == IB_CONF_DURATIONS) {
            ib_durations_t *ds = (ib_durations_t *)(void *)field;
            free(ds->ms);
            ds->ms = NULL;
            ds->count = 0;
        }
    }
}

const ib_conf_desc_t *ib_config_find(const ib_conf_desc_t *table, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

void ib_config_dump(const ib_conf_desc_t *table, size_t n, const void *base)
{
    json_t *fields = json_object();
    if (fields == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        const ib_conf_desc_t *d = &table[i];
        const char *field = (const char *)base + d->offset;
        json_t *v = NULL;
        if (d->secret) {
            v = json_string("(redacted)");
        } else {
            switch (d->type) {
            case IB_CONF_STRING:
                v = json_string(*(char *const *)(const void *)field);
                break;
            case IB_CONF_INT:
            case IB_CONF_DURATION:
                v = json_integer(*(const long *)(const void *)field);
                break;
            case IB_CONF_BOOL:
                v = json_boolean(*(const int *)(const void *)field);
                break;
            case IB_CONF_DURATIONS: {
                const ib_durations_t *ds = (const ib_durations_t *)(const void *)field;
                v = json_array();
                for (size_t k = 0; k < ds->count; k++)
                    json_array_append_new(v, json_integer(ds->ms[k]));
                break;
            }
            case IB_CONF_ENUM: {
                const char *word = ib_conf_enum_word(d, *(const int *)(const void *)field);
                v = word != NULL ? json_string(word) : NULL;
                break;
            }
            case IB_CONF_LISTEN:
                v = json_string(((const ib_listen_t *)(const void *)field)->text);
                break;
            }
        }
        json_object_set_new(fields, d->name, v != NULL ? v : json_null());
    }
    json_t *wrap = json_pack("{s:o}", "config", fields);
    ib_log_fields(IB_LOG_INFO, wrap, "configuration");
    json_decref(wrap);
}
