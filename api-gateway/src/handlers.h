/* The gateway's route handlers (the handler column of routes.c's table): operations (/healthz,
 * /readyz, /metrics) and Workable's endpoints, over the application's state (gw_app_t) and each
 * request's (gw_exchange_t). */
#ifndef GW_HANDLERS_H
#define GW_HANDLERS_H

#include <stdatomic.h>

#include "catalog.h"
#include "config.h"
#include "ib/tenants.h"
#include "interviews.h"
#include "producer.h"
#include "quota.h"
#include "routes.h"
#include "server.h"
#include "tail.h"
#include "telemetry.h"

#define GW_BODY_TOO_LARGE "Request body too large (at most 65536 bytes)" /* 413's message */

/* What the handlers use; everything borrowed and alive until gw_server_stop returns. */
typedef struct {
    const gw_config_t *cfg;
    const ib_tenants_t *tenants;
    gw_catalog_t *catalog;
    gw_interviews_t *interviews;
    gw_tail_t *tail; /* the views' consumer: ready once caught up */
    gw_producer_t *producer;
    gw_telemetry_t *telemetry; /* may be NULL */
    gw_quota_t *quota;         /* POST /interviews per tenant; NULL: no quota */
    atomic_int draining;       /* set on SIGTERM: /readyz answers 503 (on every listener) */
} gw_app_t;

/* The application's state of one request: req->ctx (gw_handler_t.ctx_size bytes, zeroed). */
typedef struct {
    gw_route_t route;          /* set by the router on the headers; name "unmatched" until then */
    const ib_tenant_t *tenant; /* borrowed; NULL until authenticated */
    char interview_id[33];     /* for the log, once known */
    long long produce_start_ms;
    int produce_refused; /* the producer did not take the event (answered 503) */
} gw_exchange_t;

static inline gw_exchange_t *gw_exchange(const gw_request_t *req)
{
    return req->ctx;
}

static inline const gw_app_t *gw_app(const gw_request_t *req)
{
    return req->app;
}

enum MHD_Result gw_handle_healthz(gw_request_t *req);
enum MHD_Result gw_handle_readyz(gw_request_t *req);
enum MHD_Result gw_handle_metrics(gw_request_t *req);
enum MHD_Result gw_handle_templates(gw_request_t *req);
/* {"jobs": [...]}; 404 for a tenant without job categorisation. */
enum MHD_Result gw_handle_jobs(gw_request_t *req);
/* Validates, charges the tenant's quota (429 past it; a repeat of an interview the tenant already
 * owns is not charged), then suspends until Kafka acknowledges the interview-requested event. */
enum MHD_Result gw_handle_interviews(gw_request_t *req);
enum MHD_Result gw_handle_interview(gw_request_t *req);
enum MHD_Result gw_handle_shared_link(gw_request_t *req);

#endif
