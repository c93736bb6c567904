#include "auth.h"

#include <string.h>
#include <strings.h>

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

gw_auth_result_t gw_auth_tenant(const ib_tenants_t *ts, const char *authorization,
                                const ib_tenant_t **tenant)
{
    static const char scheme[] = "Bearer";
    const size_t scheme_len = sizeof(scheme) - 1;
    const char *p = authorization;

    *tenant = NULL;
    if (p == NULL)
        return GW_AUTH_MISSING;
    while (is_space(*p))
        p++;
    if (*p == '\0')
        return GW_AUTH_MISSING;
    if (strncasecmp(p, scheme, scheme_len) != 0 ||
        (p[scheme_len] != '\0' && !is_space(p[scheme_len])))
        return GW_AUTH_INVALID;
    p += scheme_len;
    while (is_space(*p))
        p++;
    size_t len = strlen(p);
    while (len > 0 && is_space(p[len - 1]))
        len--;
    if (len == 0)
        return GW_AUTH_MISSING;
    *tenant = ib_tenants_authenticate(ts, p, len);
    return *tenant != NULL ? GW_AUTH_OK : GW_AUTH_INVALID;
}

const char *gw_auth_message(gw_auth_result_t r)
{
    return r == GW_AUTH_MISSING ? "Missing Token" : "Invalid Token";
}
