#include "state.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ib/json.h"
#include "ib/jsonw.h"

char *rw_state_value(const void *event, size_t len, const char *tenant, const char *callback_url,
                     size_t *out_len)
{
    char why[128];
    char *out = NULL;
    json_t *root = ib_json_parse(event, len, IB_JSON_MAX_DEPTH, why, sizeof(why));
    if (root == NULL || !json_is_object(root))
        goto done;
    if (json_object_set_new(root, "tenant", json_string(tenant)) != 0 ||
        json_object_set_new(root, "callback_url", json_string(callback_url)) != 0)
        goto done;
    out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (out != NULL)
        *out_len = strlen(out);
done:
    json_decref(root);
    return out;
}

/* 1 when the n bytes of needle occur in text[0..len). */
static int contains(const char *text, size_t len, const char *needle, size_t n)
{
    for (const char *p = text; (size_t)(p - text) + n <= len; p++) {
        p = memchr(p, needle[0], len - (size_t)(p - text));
        if (p == NULL || (size_t)(p - text) + n > len)
            return 0;
        if (memcmp(p, needle, n) == 0)
            return 1;
    }
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

char *rw_state_value_parsed(const void *event, size_t len, const char *tenant,
                            const char *callback_url, size_t *out_len)
{
    const char *text = event;
    size_t first = 0;
    size_t last = len;
    /* A backslash may spell a name with escapes ("t\u0065nant"): the parse decides then. */
    if (text == NULL || memchr(text, '\\', len) != NULL || contains(text, len, "\"tenant\"", 8) ||
        contains(text, len, "\"callback_url\"", 14))
        return rw_state_value(event, len, tenant, callback_url, out_len);
    while (first < len && is_space(text[first]))
        first++;
    while (last > first && is_space(text[last - 1]))
        last--;
    size_t body = first + 1;
    while (body < last && is_space(text[body]))
        body++;
    /* An empty object has no member to put a comma after. */
    if (last - first < 2 || text[first] != '{' || text[last - 1] != '}' || body == last - 1)
        return rw_state_value(event, len, tenant, callback_url, out_len);
    char storage[2048];
    ib_jw_t w;
    ib_jw_init(&w, storage, sizeof(storage));
    ib_jw_raw(&w, text + first, last - 1 - first);
    IB_JW_LIT(&w, ",\"tenant\":");
    ib_jw_str(&w, tenant, strlen(tenant));
    IB_JW_LIT(&w, ",\"callback_url\":");
    ib_jw_str(&w, callback_url, strlen(callback_url));
    IB_JW_LIT(&w, "}");
    char *out = ib_jw_take(&w, out_len);
    ib_jw_free(&w);
    return out;
}

void rw_state_ce_id(char *buf, size_t size, const char *id, ib_status_t status,
                    long long occurred_ms)
{
    snprintf(buf, size, "%s:%s:%lld", id, ib_status_name(status), occurred_ms);
}

ib_rc_t rw_state_ce_id_read(const void *text, size_t len, const void *key, size_t key_len,
                            ib_status_t *status, long long *occurred_ms)
{
    char buf[RW_STATE_CE_ID_MAX + 1];
    if (text == NULL || key == NULL || key_len == 0 || len <= key_len + 2 || len >= sizeof(buf) ||
        memcmp(text, key, key_len) != 0 || ((const char *)text)[key_len] != ':')
        return IB_ERR;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *name = buf + key_len + 1;
    char *colon = strchr(name, ':');
    if (colon == NULL || colon[1] == '\0')
        return IB_ERR;
    *colon = '\0';
    long long ms = 0;
    for (const char *p = colon + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || ms > (LLONG_MAX - (*p - '0')) / 10)
            return IB_ERR;
        ms = ms * 10 + (*p - '0');
    }
    /* Only the writer's spelling: "rejected" is never written (it is read as declined). */
    if (ib_status_parse(name, status) != IB_OK || strcmp(name, ib_status_name(*status)) != 0)
        return IB_ERR;
    *occurred_ms = ms;
    return IB_OK;
}
