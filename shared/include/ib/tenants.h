/* The tenants file (docs/DESIGN.md, "Tenants and secrets"). */
#ifndef IB_TENANTS_H
#define IB_TENANTS_H

#include <stddef.h>
#include <stdint.h>

#include "ib/common.h"
#include "ib/crypto.h"

typedef struct {
    char *id;
    uint8_t (*token_sha256)[IB_SHA256_LEN]; /* token_count digests */
    size_t token_count;
    char *workable_token;  /* secret; read from workable_token_file when that key is used; NULL
                            * when loaded with IB_TENANTS_NO_WORKABLE_TOKENS */
    char **callback_hosts; /* lowercase; "*.example.com" matches any subdomain, not the apex */
    size_t callback_host_count;
    /* Workable's word for a declined interview, in the PUT and on GET: "declined" (default) or
     * "rejected", from the tenant's optional "declined_status" key. Static string. */
    const char *declined_status;
    long *callback_ports; /* "callback_ports": ports besides 443 a callback_url may name */
    size_t callback_port_count;
    /* POST /interviews quota of the gateway ("create_rate" per second, "create_burst"); -1 when
     * the file does not set it (the gateway's GATEWAY_CREATE_RATE / _BURST apply). */
    long create_rate;
    long create_burst;
} ib_tenant_t;

typedef struct {
    ib_tenant_t *tenants;
    size_t count;
} ib_tenants_t;

/* Loads and validates the file at path. Returns a new set or NULL with "TENANTS_FILE: <path>:
 * reason" style detail (naming the tenant index and key) in errstr. Secrets never in errstr. */
ib_tenants_t *ib_tenants_load(const char *path, char *errstr, size_t errstr_size) IB_WUR;
/* Same from a buffer; base_dir resolves relative workable_token_file paths (may be NULL). */
ib_tenants_t *ib_tenants_parse(const char *buf, size_t len, const char *base_dir, char *errstr,
                               size_t errstr_size) IB_WUR;
/* Options of the _opts loaders. IB_TENANTS_NO_WORKABLE_TOKENS: for a service that never calls
 * back (the gateway): workable_token and workable_token_file are checked for shape but not
 * loaded (the file is not opened; workable_token stays NULL), so the Workable tokens can live
 * in a Secret only the worker mounts. */
#define IB_TENANTS_NO_WORKABLE_TOKENS 1u
ib_tenants_t *ib_tenants_load_opts(const char *path, unsigned opts, char *errstr,
                                   size_t errstr_size) IB_WUR;
ib_tenants_t *ib_tenants_parse_opts(const char *buf, size_t len, const char *base_dir,
                                    unsigned opts, char *errstr, size_t errstr_size) IB_WUR;
void ib_tenants_free(ib_tenants_t *ts);

/* The tenant whose token digests contain SHA-256(token), or NULL. Compares against every digest
 * of every tenant in constant time (no early exit). Borrowed result. */
const ib_tenant_t *ib_tenants_authenticate(const ib_tenants_t *ts, const char *token, size_t len);
/* Borrowed tenant with this id, or NULL. */
const ib_tenant_t *ib_tenants_find(const ib_tenants_t *ts, const char *id);
/* 1 when host (case-insensitive, no port) matches one of the tenant's callback_hosts. */
int ib_tenant_host_allowed(const ib_tenant_t *t, const char *host);
/* 1 when a callback_url may name port: 443, or one of the tenant's callback_ports. */
int ib_tenant_port_allowed(const ib_tenant_t *t, long port);

#endif
