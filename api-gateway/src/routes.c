#include "routes.h"

#include <string.h>

#include "handlers.h"
#include "ib/common.h"

static const struct {
    const char *tmpl;
    const char *method;
    gw_route_id_t id;
    int authenticated;
    int json_body;
    gw_route_handler_fn *handler;
} table[] = {
    /* template, method, id, authenticated, json_body, handler */
    {"/healthz", "GET", GW_ROUTE_HEALTHZ, 0, 0, gw_handle_healthz},
    {"/readyz", "GET", GW_ROUTE_READYZ, 0, 0, gw_handle_readyz},
    {"/metrics", "GET", GW_ROUTE_METRICS, 0, 0, gw_handle_metrics},
    {"/interview-templates", "GET", GW_ROUTE_TEMPLATES, 1, 0, gw_handle_templates},
    {"/jobs", "GET", GW_ROUTE_JOBS, 1, 0, gw_handle_jobs},
    {"/interviews", "POST", GW_ROUTE_INTERVIEWS, 1, 1, gw_handle_interviews},
    {"/interviews/{id}", "GET", GW_ROUTE_INTERVIEW, 1, 0, gw_handle_interview},
    {"/interviews/{id}/shared-link", "GET", GW_ROUTE_SHARED_LINK, 1, 0, gw_handle_shared_link},
};

/* 1 when path (len bytes) matches tmpl; "{id}" matches one non-empty segment of at most
 * GW_ROUTE_ID_MAX characters, copied into param. */
static int matches(const char *tmpl, const char *path, size_t len, char *param)
{
    const char *brace = strstr(tmpl, "{id}");
    if (brace == NULL)
        return strlen(tmpl) == len && memcmp(tmpl, path, len) == 0;
    size_t prefix = (size_t)(brace - tmpl);
    if (len < prefix || memcmp(tmpl, path, prefix) != 0)
        return 0;
    const char *seg = path + prefix;
    const char *slash = memchr(seg, '/', len - prefix);
    size_t seg_len = slash != NULL ? (size_t)(slash - seg) : len - prefix;
    size_t rest = len - prefix - seg_len;
    if (seg_len == 0 || seg_len > GW_ROUTE_ID_MAX)
        return 0;
    if (strlen(brace + 4) != rest || memcmp(brace + 4, seg + seg_len, rest) != 0)
        return 0;
    memcpy(param, seg, seg_len);
    param[seg_len] = '\0';
    return 1;
}

/* Matches path (len bytes) against the rows whose authenticated flag is api: Workable's
 * endpoints (1) or the operations endpoints (0). */
static gw_route_result_t match_rows(const char *path, size_t len, const char *method, int api,
                                    gw_route_t *route)
{
    char param[GW_ROUTE_ID_MAX + 1];
    int found = -1;

    for (size_t i = 0; i < IB_ARRAY_LEN(table); i++) {
        param[0] = '\0';
        if (table[i].authenticated != api || !matches(table[i].tmpl, path, len, param))
            continue;
        if (found < 0)
            found = (int)i;
        if (strcmp(method, table[i].method) == 0) {
            found = (int)i;
            break;
        }
    }
    if (found < 0)
        return GW_ROUTE_NOT_FOUND;
    size_t i = (size_t)found;
    route->id = table[i].id;
    route->name = table[i].tmpl;
    route->allow = table[i].method; /* one method per path */
    route->authenticated = table[i].authenticated;
    route->json_body = table[i].json_body;
    route->handler = table[i].handler;
    matches(table[i].tmpl, path, len, route->param);
    return strcmp(method, table[i].method) == 0 ? GW_ROUTE_OK : GW_ROUTE_METHOD_NOT_ALLOWED;
}

gw_route_result_t gw_route_match_under(const char *base, const char *path, const char *method,
                                       gw_route_t *route)
{
    size_t base_len = strlen(base);

    memset(route, 0, sizeof(*route));
    route->name = "unmatched";
    gw_route_result_t rr = match_rows(path, strlen(path), method, 0, route);
    if (rr != GW_ROUTE_NOT_FOUND)
        return rr;
    if (strncmp(path, base, base_len) != 0 || path[base_len] != '/')
        return GW_ROUTE_NOT_FOUND;
    path += base_len;
    size_t len = strlen(path);
    /* One trailing slash is the same resource: "/interviews/" is "/interviews". */
    if (len > 1 && path[len - 1] == '/')
        len--;
    return match_rows(path, len, method, 1, route);
}

gw_route_result_t gw_route_match(const char *path, const char *method, gw_route_t *route)
{
    return gw_route_match_under("", path, method, route);
}
