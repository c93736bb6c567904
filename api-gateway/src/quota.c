#include "quota.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>

typedef struct {
    long rate; /* 0: unlimited */
    long burst;
    gw_bucket_t bucket;
} tenant_quota_t;

struct gw_quota {
    const ib_tenants_t *tenants;
    pthread_mutex_t mu; /* held for a few arithmetic operations only */
    tenant_quota_t *q;  /* tenants->count, in the tenants file's order */
};

void gw_bucket_init(gw_bucket_t *b, long burst, long long now_ms)
{
    b->millitokens = (long long)burst * 1000;
    b->last_ms = now_ms;
}

long long gw_bucket_take(gw_bucket_t *b, long rate, long burst, long long now_ms)
{
    long long cap = (long long)burst * 1000;
    if (now_ms > b->last_ms) {
        /* rate tokens a second is rate millitokens a millisecond. */
        long long elapsed = now_ms - b->last_ms;
        b->millitokens =
            elapsed >= (cap + rate - 1) / rate ? cap : b->millitokens + elapsed * (long long)rate;
        if (b->millitokens > cap)
            b->millitokens = cap;
        b->last_ms = now_ms;
    }
    if (b->millitokens >= 1000) {
        b->millitokens -= 1000;
        return 0;
    }
    return (1000 - b->millitokens + rate - 1) / rate; /* rounded up: >= 1 */
}

gw_quota_t *gw_quota_new(const ib_tenants_t *tenants, long rate, long burst, long long now_ms)
{
    gw_quota_t *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return NULL;
    q->tenants = tenants;
    q->q = calloc(tenants->count > 0 ? tenants->count : 1, sizeof(*q->q));
    if (q->q == NULL) {
        free(q);
        return NULL;
    }
    pthread_mutex_init(&q->mu, NULL);
    for (size_t i = 0; i < tenants->count; i++) {
        const ib_tenant_t *t = &tenants->tenants[i];
        tenant_quota_t *tq = &q->q[i];
        tq->rate = t->create_rate >= 0 ? t->create_rate : rate;
        tq->burst = t->create_burst >= 1 ? t->create_burst : burst;
        gw_bucket_init(&tq->bucket, tq->burst, now_ms);
    }
    return q;
}

void gw_quota_free(gw_quota_t *q)
{
    if (q == NULL)
        return;
    pthread_mutex_destroy(&q->mu);
    free(q->q);
    free(q);
}

ib_rc_t gw_quota_take(gw_quota_t *q, const ib_tenant_t *tenant, long long now_ms,
                      long *retry_after_s)
{
    size_t i = (size_t)(tenant - q->tenants->tenants);
    assert(i < q->tenants->count);
    tenant_quota_t *tq = &q->q[i];
    if (tq->rate == 0)
        return IB_OK;
    pthread_mutex_lock(&q->mu);
    long long wait_ms = gw_bucket_take(&tq->bucket, tq->rate, tq->burst, now_ms);
    pthread_mutex_unlock(&q->mu);
    if (wait_ms == 0)
        return IB_OK;
    *retry_after_s = (long)((wait_ms + 999) / 1000);
    return IB_AGAIN;
}
