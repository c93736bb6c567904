#include "state.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ib/json.h"

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
