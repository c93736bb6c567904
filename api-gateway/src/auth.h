/* Authorization header -> tenant. */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include "ib/tenants.h"

typedef enum {
    GW_AUTH_OK = 0,
    GW_AUTH_MISSING, /* 401 "Missing Token": no header, empty, or a scheme without a token */
    GW_AUTH_INVALID  /* 401 "Invalid Token": another scheme, or a token no tenant holds */
} gw_auth_result_t;

/* Authenticates "Bearer <token>" (scheme case-insensitive, RFC 6750) against the tenants'
 * digests. authorization may be NULL (header absent). On GW_AUTH_OK *tenant is set (borrowed from
 * ts); otherwise it is NULL. The token is never copied or logged. */
gw_auth_result_t gw_auth_tenant(const ib_tenants_t *ts, const char *authorization,
                                const ib_tenant_t **tenant);
/* The contract's message for a failed result: "Missing Token" or "Invalid Token". */
const char *gw_auth_message(gw_auth_result_t r);

#endif
