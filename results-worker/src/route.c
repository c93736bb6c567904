#include "route.h"

#include <jansson.h>
#include <string.h>

#include "ib/json.h"
#include "ib/payload.h"
#include "ib/partition.h"

static int id_ok(const char *s, size_t len)
{
    return s != NULL && len > 0 && len <= RW_JOIN_MAX_ID_LEN && memchr(s, '\0', len) == NULL;
}

int rw_route_status_id(const void *value, size_t len, char id[RW_JOIN_MAX_ID_LEN + 1])
{
    char why[128];
    id[0] = '\0';
    if (value == NULL || len == 0 || len > IB_STATUS_EVENT_MAX_BYTES)
        return 0;
    json_t *root = ib_json_parse(value, len, IB_JSON_MAX_DEPTH, why, sizeof(why));
    const char *s = json_is_object(root) ? ib_json_str(root, "interview_id") : NULL;
    int found = 0;
    if (s != NULL && id_ok(s, strlen(s))) {
        memcpy(id, s, strlen(s) + 1);
        found = 1;
    }
    json_decref(root);
    return found;
}

rw_route_t rw_route_status(const void *value, size_t len, int32_t p, int32_t n_requested,
                           int local_requested, char id[RW_JOIN_MAX_ID_LEN + 1], int32_t *owner)
{
    *owner = -1;
    if (!rw_route_status_id(value, len, id))
        return RW_ROUTE_INVALID;
    return rw_route_of_id(id, p, n_requested, local_requested, owner);
}

rw_route_t rw_route_of_id(const char *id, int32_t p, int32_t n_requested, int local_requested,
                          int32_t *owner)
{
    *owner = ib_partition_murmur2(id, strlen(id), n_requested);
    if (*owner == p && local_requested)
        return RW_ROUTE_LOCAL;
    return RW_ROUTE_REPARTITION;
}
