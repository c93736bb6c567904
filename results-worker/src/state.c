#include "state.h"

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
