/* Fuzzes Authorization header parsing (api-gateway/src/auth.c): the input is the header value
 * (cut at the first NUL, as libmicrohttpd hands it over). The result must agree with a plain
 * reading of RFC 6750: optional blanks, "Bearer" in any case, blanks, the token, blanks. */
#include <strings.h>

#include "auth.h"
#include "fuzz.h"

static ib_tenants_t *tenants;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init_jansson();
    tenants = fuzz_tenants();
    return 0;
}

static int blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The reference reading: the expected result and, for a token, which one. */
static gw_auth_result_t expected(const char *h, const char **token, size_t *token_len)
{
    const char *p = h;

    *token = NULL;
    *token_len = 0;
    while (blank(*p))
        p++;
    if (*p == '\0')
        return GW_AUTH_MISSING;
    if (strncasecmp(p, "bearer", 6) != 0 || (p[6] != '\0' && !blank(p[6])))
        return GW_AUTH_INVALID;
    p += 6;
    while (blank(*p))
        p++;
    size_t n = strlen(p);
    while (n > 0 && blank(p[n - 1]))
        n--;
    if (n == 0)
        return GW_AUTH_MISSING;
    *token = p;
    *token_len = n;
    if (n == 7 && (memcmp(p, "token-a", 7) == 0 || memcmp(p, "token-b", 7) == 0))
        return GW_AUTH_OK;
    return GW_AUTH_INVALID;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *h = fuzz_cstr(data, size);
    const ib_tenant_t *t = (const ib_tenant_t *)1;
    const char *token;
    size_t token_len;

    gw_auth_result_t r = gw_auth_tenant(tenants, h, &t);
    gw_auth_result_t want = expected(h, &token, &token_len);
    FUZZ_CHECK(r == want);
    if (r == GW_AUTH_OK) {
        const char *id = token[6] == 'a' ? "groove-tech" : "localdev";
        FUZZ_CHECK(t == ib_tenants_find(tenants, id));
    } else {
        FUZZ_CHECK(t == NULL);
        FUZZ_CHECK(strcmp(gw_auth_message(r),
                          r == GW_AUTH_MISSING ? "Missing Token" : "Invalid Token") == 0);
    }
    free(h);
    return 0;
}
