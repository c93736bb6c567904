/* Per-tenant quotas on POST /interviews: a token bucket per tenant of the tenants file, each
 * refilled at its rate (tokens per second) up to its burst. The buckets live in one replica: with
 * N replicas behind a balancer a tenant gets up to N times the rate. */
#ifndef GW_QUOTA_H
#define GW_QUOTA_H

#include "ib/common.h"
#include "ib/tenants.h"

/* One bucket. Pure: the time is the caller's. */
typedef struct {
    long long millitokens; /* thousandths of a token: exact integer arithmetic */
    long long last_ms;     /* when millitokens was last brought up to date */
} gw_bucket_t;

/* A full bucket at now_ms. */
void gw_bucket_init(gw_bucket_t *b, long burst, long long now_ms);
/* Takes one token when there is one (returns 0), else returns the milliseconds until there will
 * be one (> 0). rate is tokens per second (> 0), burst the most the bucket holds (>= 1). A clock
 * that goes back refills nothing. */
long long gw_bucket_take(gw_bucket_t *b, long rate, long burst, long long now_ms);

typedef struct gw_quota gw_quota_t;

/* Buckets for every tenant of tenants (borrowed; it must outlive the quota), each with the
 * tenant's create_rate/create_burst or else rate/burst; rate 0: no quota for that tenant. Full at
 * now_ms. NULL on out of memory. */
gw_quota_t *gw_quota_new(const ib_tenants_t *tenants, long rate, long burst,
                         long long now_ms) IB_WUR;
void gw_quota_free(gw_quota_t *q); /* accepts NULL */
/* Charges one creation to tenant (one of the quota's tenants). IB_OK when allowed; IB_AGAIN when
 * over quota, with the whole seconds (>= 1) to wait in *retry_after_s. Any thread. */
ib_rc_t gw_quota_take(gw_quota_t *q, const ib_tenant_t *tenant, long long now_ms,
                      long *retry_after_s) IB_WUR;

#endif
