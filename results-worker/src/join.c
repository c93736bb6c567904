#include "join.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ib/callback_url.h"
#include "ib/json.h"
#include "ib/map.h"

/* The table is the shared map (ib/map.h: 16 bytes a slot, keys hashed with the process's
 * seeded hash, so hostile ids cannot aim at one chain); each entry is one malloc'd blob:
 *   [id_len][state][latest status or 0xff][latest occurred_at: 8 bytes][tenant: 2][partition: 2]
 *   id '\0' url '\0'. */
struct rw_join {
    ib_map_t *map; /* id -> blob */
    size_t blob_bytes;
};

#define OFF_LATEST    2 /* status byte, then occurred_at */
#define LATEST_BYTES  9
#define OFF_TENANT    11
#define OFF_PARTITION 13
#define BLOB_HDR      15
#define NO_LATEST     0xffu
#define MIN_CAP       64

static const char *blob_id(const char *blob)
{
    return blob + BLOB_HDR;
}

static size_t blob_id_len(const char *blob)
{
    return (unsigned char)blob[0];
}

static const char *blob_url(const char *blob)
{
    return blob + BLOB_HDR + blob_id_len(blob) + 1;
}

static size_t blob_size(const char *blob)
{
    return BLOB_HDR + blob_id_len(blob) + 1 + strlen(blob_url(blob)) + 1;
}

static uint16_t blob_u16(const char *blob, size_t off)
{
    uint16_t v;
    memcpy(&v, blob + off, sizeof(v));
    return v;
}

static const void *blob_key(const void *item, size_t *len)
{
    *len = blob_id_len(item);
    return blob_id(item);
}

const char *rw_join_state_reason(rw_join_state_t s)
{
    switch (s) {
    case RW_JOIN_OK:
        return "ok";
    case RW_JOIN_BAD_URL:
        return "callback_url is not a valid absolute URL without userinfo";
    case RW_JOIN_SCHEME_REJECTED:
        return "callback_url scheme is not allowed (https only)";
    case RW_JOIN_HOST_NOT_ALLOWED:
        return "callback_url host is not in the tenant's callback_hosts";
    case RW_JOIN_LOOPBACK:
        return "callback_url host is a loopback address (localhost, 127.0.0.0/8, ::1, 0.0.0.0, ::)";
    case RW_JOIN_PORT_NOT_ALLOWED:
        return "callback_url port is neither 443 nor in the tenant's callback_ports";
    }
    return "unknown";
}

rw_join_t *rw_join_new(void)
{
    rw_join_t *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return NULL;
    j->map = ib_map_new(blob_key, MIN_CAP);
    if (j->map == NULL) {
        free(j);
        return NULL;
    }
    return j;
}

static int drop_blob(void *item, void *arg)
{
    rw_join_t *j = arg;
    j->blob_bytes -= blob_size(item);
    free(item);
    return 1;
}

void rw_join_clear(rw_join_t *j)
{
    if (j == NULL)
        return;
    ib_map_remove_if(j->map, drop_blob, j);
}

void rw_join_free(rw_join_t *j)
{
    if (j == NULL)
        return;
    rw_join_clear(j);
    ib_map_free(j->map);
    free(j);
}

size_t rw_join_count(const rw_join_t *j)
{
    return ib_map_count(j->map);
}

size_t rw_join_bytes(const rw_join_t *j)
{
    return sizeof(*j) + ib_map_bytes(j->map) + j->blob_bytes;
}

/* The blob of id, or NULL. */
static char *find(const rw_join_t *j, const char *id)
{
    size_t id_len = strlen(id);
    if (id_len == 0 || id_len > RW_JOIN_MAX_ID_LEN)
        return NULL;
    return ib_map_get(j->map, id, id_len);
}

ib_rc_t rw_join_put(rw_join_t *j, const char *id, uint16_t tenant, int32_t partition,
                    rw_join_state_t state, const char *callback_url)
{
    size_t id_len = strlen(id);
    size_t url_len = strlen(callback_url);
    if (id_len == 0 || id_len > RW_JOIN_MAX_ID_LEN || url_len > RW_JOIN_MAX_URL_LEN ||
        partition < 0 || partition > UINT16_MAX)
        return IB_ERR;

    size_t size = BLOB_HDR + id_len + 1 + url_len + 1;
    uint16_t part16 = (uint16_t)partition;
    char *blob = malloc(size);
    if (blob == NULL)
        return IB_ERR;
    blob[0] = (char)(unsigned char)id_len;
    blob[1] = (char)state;
    blob[OFF_LATEST] = (char)NO_LATEST;
    memset(blob + OFF_LATEST + 1, 0, LATEST_BYTES - 1);
    memcpy(blob + OFF_TENANT, &tenant, sizeof(tenant));
    memcpy(blob + OFF_PARTITION, &part16, sizeof(part16));
    memcpy(blob + BLOB_HDR, id, id_len + 1);
    memcpy(blob + BLOB_HDR + id_len + 1, callback_url, url_len + 1);

    const char *known = ib_map_get(j->map, id, id_len);
    if (known != NULL) /* a repeated requested event keeps what the status events taught us */
        memcpy(blob + OFF_LATEST, known + OFF_LATEST, LATEST_BYTES);
    void *old = NULL;
    if (ib_map_put(j->map, blob, &old) != IB_OK) {
        free(blob);
        return IB_ERR;
    }
    if (old != NULL) {
        j->blob_bytes -= blob_size(old);
        free(old);
    }
    j->blob_bytes += size;
    return IB_OK;
}

int rw_join_get(const rw_join_t *j, const char *id, rw_join_view_t *out)
{
    const char *b = find(j, id);
    if (b == NULL)
        return 0;
    out->tenant = blob_u16(b, OFF_TENANT);
    out->partition = blob_u16(b, OFF_PARTITION);
    out->state = (rw_join_state_t)(unsigned char)b[1];
    out->callback_url = blob_url(b);
    return 1;
}

int rw_join_latest(const rw_join_t *j, const char *id, ib_status_t *status, long long *occurred_ms)
{
    const char *b = find(j, id);
    if (b == NULL || (unsigned char)b[OFF_LATEST] == NO_LATEST)
        return 0;
    *status = (ib_status_t)(unsigned char)b[OFF_LATEST];
    memcpy(occurred_ms, b + OFF_LATEST + 1, sizeof(*occurred_ms));
    return 1;
}

rw_order_t rw_join_order(rw_join_t *j, const char *id, ib_status_t status, long long occurred_ms,
                         int update)
{
    char *b = find(j, id);
    if (b == NULL)
        return RW_ORDER_UNKNOWN;
    unsigned cur = (unsigned char)b[OFF_LATEST];
    long long cur_ms = 0;
    memcpy(&cur_ms, b + OFF_LATEST + 1, sizeof(cur_ms));
    rw_order_t verdict;
    int cmp =
        cur == NO_LATEST ? 1 : ib_status_compare((ib_status_t)cur, cur_ms, status, occurred_ms);
    if (cmp > 0)
        verdict = RW_ORDER_NEWER;
    else if (cmp == 0)
        verdict = RW_ORDER_SAME;
    else
        verdict = RW_ORDER_OLDER;
    if (update && verdict == RW_ORDER_NEWER) {
        b[OFF_LATEST] = (char)(unsigned char)status;
        memcpy(b + OFF_LATEST + 1, &occurred_ms, sizeof(occurred_ms));
    }
    return verdict;
}

typedef struct {
    rw_join_t *j;
    uint16_t partition;
} part_arg_t;

static int in_partition(void *item, void *arg)
{
    part_arg_t *a = arg;
    if (blob_u16(item, OFF_PARTITION) != a->partition)
        return 0;
    return drop_blob(item, a->j);
}

size_t rw_join_remove_partition(rw_join_t *j, int32_t partition)
{
    if (partition < 0 || partition > UINT16_MAX)
        return 0;
    part_arg_t a = {j, (uint16_t)partition};
    return ib_map_remove_if(j->map, in_partition, &a);
}

int rw_join_remove(rw_join_t *j, const char *id, size_t id_len)
{
    if (id_len == 0 || id_len > RW_JOIN_MAX_ID_LEN)
        return 0;
    void *blob = ib_map_remove(j->map, id, id_len);
    if (blob == NULL)
        return 0;
    return drop_blob(blob, j);
}

rw_join_state_t rw_join_state_of_verdict(ib_callback_url_verdict_t v)
{
    switch (v) {
    case IB_CALLBACK_URL_OK:
        return RW_JOIN_OK;
    case IB_CALLBACK_URL_MALFORMED:
    case IB_CALLBACK_URL_USERINFO:
        return RW_JOIN_BAD_URL;
    case IB_CALLBACK_URL_SCHEME:
        return RW_JOIN_SCHEME_REJECTED;
    case IB_CALLBACK_URL_HOST:
        return RW_JOIN_HOST_NOT_ALLOWED;
    case IB_CALLBACK_URL_LOOPBACK:
        return RW_JOIN_LOOPBACK;
    case IB_CALLBACK_URL_PORT:
        return RW_JOIN_PORT_NOT_ALLOWED;
    }
    return RW_JOIN_BAD_URL;
}

rw_join_state_t rw_callback_url_check(const ib_tenant_t *t, const char *url, int allow_insecure)
{
    return rw_join_state_of_verdict(ib_callback_url_check(url, t, allow_insecure, NULL, NULL, 0));
}

static int printable_id(const char *id)
{
    for (const char *p = id; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return 0;
    }
    return 1;
}

ib_rc_t rw_join_ingest(rw_join_t *j, const ib_tenants_t *ts, int allow_insecure, int32_t partition,
                       const void *key, size_t key_len, const void *value, size_t len,
                       rw_join_state_t *state_out, char *id_out, char *errstr, size_t errstr_size)
{
    ib_rc_t rc = IB_ERR;
    char why[128];
    json_t *root = NULL;
    int arena = 0;
    const char *id;
    const char *tenant_id;
    const char *url;
    const ib_tenant_t *t;

    if (id_out != NULL)
        id_out[0] = '\0';
    *state_out = RW_JOIN_OK;
    if (value == NULL || len == 0) {
        snprintf(errstr, errstr_size, "empty value");
        goto done;
    }
    ib_json_arena_begin(); /* the tree dies below; rw_join_put copies what it keeps */
    arena = 1;
    root = ib_json_parse(value, len, IB_JSON_MAX_DEPTH, why, sizeof(why));
    if (root == NULL) {
        snprintf(errstr, errstr_size, "invalid JSON: %s", why);
        goto done;
    }
    if (!json_is_object(root)) {
        snprintf(errstr, errstr_size, "value is not a JSON object");
        goto done;
    }
    id = ib_json_str(root, "interview_id");
    if (id == NULL || id[0] == '\0' || strlen(id) > RW_JOIN_MAX_ID_LEN || !printable_id(id)) {
        snprintf(errstr, errstr_size, "interview_id missing, not a string or malformed");
        goto done;
    }
    if (id_out != NULL)
        memcpy(id_out, id, strlen(id) + 1);
    if (key != NULL && (key_len != strlen(id) || memcmp(key, id, key_len) != 0)) {
        snprintf(errstr, errstr_size, "message key differs from interview_id");
        goto done;
    }
    tenant_id = ib_json_str(root, "tenant");
    if (tenant_id == NULL) {
        snprintf(errstr, errstr_size, "tenant missing or not a string");
        goto done;
    }
    t = ib_tenants_find(ts, tenant_id);
    if (t == NULL) {
        snprintf(errstr, errstr_size, "unknown tenant");
        goto done;
    }
    url = ib_json_str(root, "callback_url");
    if (url == NULL || url[0] == '\0' || strlen(url) > RW_JOIN_MAX_URL_LEN) {
        snprintf(errstr, errstr_size, "callback_url missing, not a string or too long");
        goto done;
    }
    *state_out = rw_callback_url_check(t, url, allow_insecure);
    if (rw_join_put(j, id, (uint16_t)(t - ts->tenants), partition, *state_out, url) != IB_OK) {
        snprintf(errstr, errstr_size, "out of memory");
        goto done;
    }
    rc = IB_OK;
done:
    json_decref(root);
    if (arena)
        ib_json_arena_end();
    return rc;
}
