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
    unsigned listeners;
} table[] = {
    /* template, method, id, authenticated, json_body, handler, listeners */
    {"/healthz", "GET", GW_ROUTE_HEALTHZ, 0, 0, gw_handle_healthz, GW_ON_PUBLIC | GW_ON_OPS},
    {"/readyz", "GET", GW_ROUTE_READYZ, 0, 0, gw_handle_readyz, GW_ON_PUBLIC | GW_ON_OPS},
    {"/metrics", "GET", GW_ROUTE_METRICS, 0, 0, gw_handle_metrics, GW_ON_OPS},
    {"/interview-templates", "GET", GW_ROUTE_TEMPLATES, 1, 0, gw_handle_templates, GW_ON_PUBLIC},
    {"/jobs", "GET", GW_ROUTE_JOBS, 1, 0, gw_handle_jobs, GW_ON_PUBLIC},
    {"/interviews", "POST", GW_ROUTE_INTERVIEWS, 1, 1, gw_handle_interviews, GW_ON_PUBLIC},
    {"/interviews/{id}", "GET", GW_ROUTE_INTERVIEW, 1, 0, gw_handle_interview, GW_ON_PUBLIC},
    {"/interviews/{id}/shared-link", "GET", GW_ROUTE_SHARED_LINK, 1, 0, gw_handle_shared_link,
     GW_ON_PUBLIC},
};

/* 1 when path matches tmpl; "{id}" matches one non-empty segment of at most GW_ROUTE_ID_MAX
 * characters, copied into param. */
static int matches(const char *tmpl, const char *path, char *param)
{
    const char *brace = strstr(tmpl, "{id}");
    if (brace == NULL)
        return strcmp(tmpl, path) == 0;
    size_t prefix = (size_t)(brace - tmpl);
    if (strncmp(tmpl, path, prefix) != 0)
        return 0;
    const char *seg = path + prefix;
    size_t seg_len = strcspn(seg, "/");
    if (seg_len == 0 || seg_len > GW_ROUTE_ID_MAX)
        return 0;
    if (strcmp(brace + 4, seg + seg_len) != 0)
        return 0;
    memcpy(param, seg, seg_len);
    param[seg_len] = '\0';
    return 1;
}

gw_route_result_t gw_route_match(const char *path, const char *method, gw_route_t *route)
{
    char param[GW_ROUTE_ID_MAX + 1];
    int found = -1;

    memset(route, 0, sizeof(*route));
    route->name = "unmatched";
    for (size_t i = 0; i < IB_ARRAY_LEN(table); i++) {
        param[0] = '\0';
        if (!matches(table[i].tmpl, path, param))
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
    route->listeners = table[i].listeners;
    matches(table[i].tmpl, path, route->param);
    return strcmp(method, table[i].method) == 0 ? GW_ROUTE_OK : GW_ROUTE_METHOD_NOT_ALLOWED;
}
