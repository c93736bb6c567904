/* The gateway's Prometheus metrics (ib/metrics.h): HTTP requests by route, method and status,
 * request latency, in-flight requests, creations refused by a tenant's quota, Kafka produce latency
 * and errors, producer rebuilds, and, computed on scrape, the views' sizes and lag. */
#ifndef GW_TELEMETRY_H
#define GW_TELEMETRY_H

#include <stddef.h>

#include "catalog.h"
#include "ib/common.h"
#include "interviews.h"
#include "producer.h"
#include "tail.h"

typedef struct gw_telemetry gw_telemetry_t;

/* What the scrape-time gauges read; all borrowed, any may be NULL. view_names[i] labels the
 * tail's topic i (e.g. "catalog", "requested", "status"). */
typedef struct {
    gw_tail_t *tail;
    const char *const *view_names;
    size_t nviews;
    gw_catalog_t *catalog;
    gw_interviews_t *interviews;
    gw_producer_t *producer;
} gw_telemetry_sources_t;

gw_telemetry_t *gw_telemetry_new(void) IB_WUR;
void gw_telemetry_free(gw_telemetry_t *t); /* accepts NULL */
/* src is copied (its pointers stay borrowed). */
void gw_telemetry_set_sources(gw_telemetry_t *t, const gw_telemetry_sources_t *src);

void gw_telemetry_request_begin(gw_telemetry_t *t);
/* route: a route template ("/interviews/{id}") or "unmatched"; never a raw path. */
void gw_telemetry_request_end(gw_telemetry_t *t, const char *route, const char *method,
                              unsigned int status, double seconds);
/* One produce attempt: outcome "acknowledged", "failed", "timeout", "refused", "shutdown". */
void gw_telemetry_produce(gw_telemetry_t *t, const char *outcome, double seconds);

/* A POST /interviews of tenant (an id of the tenants file) answered 429 by its quota. */
void gw_telemetry_quota_rejected(gw_telemetry_t *t, const char *tenant);

/* Text exposition format; new malloc'd string, NULL on out of memory. */
char *gw_telemetry_render(gw_telemetry_t *t, size_t *len) IB_WUR;

#endif
