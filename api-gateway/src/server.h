/* The HTTP server: libmicrohttpd daemon, per-request context, body accumulation, responses,
 * the request log, and connections suspended while Kafka acknowledges. Routing is router.c. */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>

#include "catalog.h"
#include "config.h"
#include "ib/common.h"
#include "ib/tenants.h"
#include "interviews.h"
#include "producer.h"
#include "routes.h"
#include "tail.h"
#include "telemetry.h"
#include "trace.h"

#define GW_BODY_MAX    ((size_t)64 * 1024)
#define GW_URL_MAX     2048                /* longer: 414 */
#define GW_HEADERS_MAX ((size_t)16 * 1024) /* header names and values together; more: 431 */

/* What the handlers use; everything borrowed and alive until gw_server_stop returns. */
typedef struct {
    const gw_config_t *cfg;
    const ib_tenants_t *tenants;
    gw_catalog_t *catalog;
    gw_interviews_t *interviews;
    gw_tail_t *tail; /* the views' consumer: ready once caught up */
    gw_producer_t *producer;
    gw_telemetry_t *telemetry;
} gw_app_t;

typedef struct gw_server gw_server_t;
typedef struct gw_pending gw_pending_t;
typedef struct gw_conn gw_conn_t;

typedef enum {
    GW_OUTCOME_WAITING = 0,
    GW_OUTCOME_DELIVERED, /* Kafka acknowledged (acks=all) */
    GW_OUTCOME_FAILED,    /* the delivery report carried an error, or the enqueue failed */
    GW_OUTCOME_TIMED_OUT, /* our own deadline passed before any report */
    GW_OUTCOME_SHUTDOWN   /* the gateway is stopping */
} gw_outcome_t;

/* One HTTP request, from MHD's first call to MHD_OPTION_NOTIFY_COMPLETED. */
typedef struct {
    gw_server_t *srv;
    const gw_app_t *app;
    struct MHD_Connection *conn;
    const char *method; /* borrowed from MHD for the request's life */
    const char *url;
    size_t target_len; /* the raw request target's length, query included (0: unknown) */
    long long start_ms;
    char *body; /* NUL-terminated; at most GW_BODY_MAX bytes */
    size_t body_len;
    size_t body_cap;
    size_t body_discarded; /* bytes past GW_BODY_MAX (answered 413) */
    gw_conn_t *link;       /* the connection's record (deadline); NULL if untracked */
    gw_route_t route;      /* set by gw_router_begin */
    char request_id[GW_REQUEST_ID_MAX + 1];
    char traceparent[GW_TRACEPARENT_LEN + 1]; /* our span: forwarded on the Kafka event */
    long long produce_start_ms;
    int produce_refused;       /* the producer did not take the event (answered 503) */
    unsigned int status;       /* HTTP status queued, 0 until then (for the log) */
    const ib_tenant_t *tenant; /* borrowed; NULL until authenticated */
    char interview_id[33];
    gw_pending_t *pending; /* set while (and after) waiting for Kafka */
    /* An error decided on the headers, answered once the body is drained (gw_reject). Static
     * strings. */
    unsigned int deferred_status;
    const char *deferred_message;
    const char *deferred_header;
    const char *deferred_value;
} gw_request_t;

/* Starts the daemon on cfg->gateway_listen. NULL with errstr on failure. */
gw_server_t *gw_server_start(const gw_app_t *app, char *errstr, size_t errstr_size) IB_WUR;
/* Stops accepting connections; requests arriving on open connections get 503. */
void gw_server_quiesce(gw_server_t *srv);
int gw_server_draining(const gw_server_t *srv);
/* Answers every request still waiting for Kafka (503), then waits up to wait_ms for all open
 * requests to finish. Call after flushing the producer, before gw_server_stop. */
void gw_server_resume_all(gw_server_t *srv, int wait_ms);
/* MHD_stop_daemon and free. Accepts NULL. */
void gw_server_stop(gw_server_t *srv);

/* Queue a JSON response; body is stolen. Extra header (name/value) may be NULL. */
enum MHD_Result gw_respond_json(gw_request_t *req, unsigned int status, json_t *body,
                                const char *header, const char *value);
/* Queue len bytes of text (stolen, malloc'd) with this Content-Type. */
enum MHD_Result gw_respond_text(gw_request_t *req, unsigned int status, const char *content_type,
                                char *text, size_t len);
/* Queue {"status": status, "message": message}. */
enum MHD_Result gw_respond_error(gw_request_t *req, unsigned int status, const char *message,
                                 const char *header, const char *value);

/* Rejects a request on its headers (first call). Answered at once when no body follows (or the
 * client waits for 100-continue, or the body is far too large); otherwise the body is read and
 * dropped first, so the client is not reset mid-upload and the connection can be reused. message
 * and header/value must be static strings. */
enum MHD_Result gw_reject(gw_request_t *req, unsigned int status, const char *message,
                          const char *header, const char *value);

/* Suspends req's connection (inside the access handler only) until gw_pending_complete or the
 * deadline (monotonic ms). Returns a pending holding two references: req's (released when the
 * request ends) and the caller's (release it, or hand it to the delivery callback). NULL on out
 * of memory, not suspended. */
gw_pending_t *gw_server_suspend(gw_request_t *req, long long deadline_ms);
/* Records the outcome and resumes the connection; only the first call counts. Any thread. */
void gw_pending_complete(gw_pending_t *pd, gw_outcome_t outcome);
void gw_pending_release(gw_pending_t *pd);
gw_outcome_t gw_pending_outcome(gw_pending_t *pd);

#endif
