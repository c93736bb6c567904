/* The HTTP transport: the libmicrohttpd daemon (run by daemon_loop.h), per-request context, body
 * accumulation, the framing checks every request passes before a handler sees it (framing.h),
 * responses, the request log, request deadlines, and connections suspended until their handler
 * completes them from another thread. It calls a handler interface (gw_handler_t) given at start
 * and knows nothing of the application behind it. */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>

#include "ib/common.h"
#include "ib/config.h"
#include "ib/log.h"
#include "trace.h"

#define GW_BODY_MAX    ((size_t)64 * 1024)
#define GW_URL_MAX     2048                /* longer: 414 */
#define GW_HEADERS_MAX ((size_t)16 * 1024) /* header names and values together; more: 431 */
/* Body bytes past GW_BODY_MAX (or after a rejection) read and dropped before the connection is
 * closed instead. */
#define GW_DISCARD_MAX ((size_t)1024 * 1024)

typedef struct gw_server gw_server_t;
typedef struct gw_pending gw_pending_t;
typedef struct gw_conn gw_conn_t;
typedef struct gw_request gw_request_t;

typedef enum {
    GW_OUTCOME_WAITING = 0,
    GW_OUTCOME_DONE,      /* the handler's work succeeded (e.g. Kafka acknowledged) */
    GW_OUTCOME_FAILED,    /* the handler's work failed */
    GW_OUTCOME_TIMED_OUT, /* the deadline given to gw_server_suspend passed first */
    GW_OUTCOME_SHUTDOWN   /* the server is stopping */
} gw_outcome_t;

/* Answers a request whose suspension ended (gw_pending_complete, its deadline, or shutdown) with
 * that outcome: queues a response and returns what MHD's access handler returns. Runs on the
 * server's thread. */
typedef enum MHD_Result gw_resume_fn(gw_request_t *req, gw_outcome_t outcome);

/* What the transport calls. app is handed to every call as req->app (borrowed, alive until
 * gw_server_stop returns). Every call runs on the server's thread. */
typedef struct {
    void *app;
    size_t ctx_size; /* bytes of per-request state for the handler: req->ctx, zeroed */
    /* Optional: a request began (before any check) / is over (every request that began). */
    void (*begin)(gw_request_t *req);
    void (*end)(gw_request_t *req, double seconds);
    /* Required. Headers read, framing checks passed: queue a response (gw_reject, gw_respond_*),
     * or return MHD_YES to receive the body. */
    enum MHD_Result (*headers)(gw_request_t *req);
    /* Required. The whole request arrived and was not answered yet: answer, or suspend. */
    enum MHD_Result (*complete)(gw_request_t *req);
    /* Optional: members the request log line carries besides the transport's. Writes at most
     * cap into kv (strings borrowed from req) and returns how many. */
    size_t (*log_fields)(const gw_request_t *req, ib_log_kv_t *kv, size_t cap);
} gw_handler_t;

typedef struct {
    const char *name;          /* the listen address's configuration key, for errors (NULL:
                                * "GATEWAY_LISTEN") */
    const ib_listen_t *listen; /* parsed by the loader (port 0: any free port, see
                                * gw_server_port); borrowed */
    long idle_timeout_ms;      /* a whole request must have arrived by then; idle keep-alive too */
    long max_connections;
    long max_connections_per_ip; /* from one client address; 0: no limit */
    int reuse_port; /* SO_REUSEPORT: another socket may bind the same port (off: bind fails) */
} gw_server_conf_t;

/* One HTTP request, from MHD's first call to MHD_OPTION_NOTIFY_COMPLETED. Handlers read the
 * first block and may write ctx's bytes; the rest is the transport's. */
struct gw_request {
    void *app;          /* gw_handler_t.app */
    void *ctx;          /* gw_handler_t.ctx_size zeroed bytes, NULL when 0 */
    const char *method; /* borrowed from MHD for the request's life */
    const char *url;    /* percent-decoded path, no query */
    char *body;         /* NUL-terminated; at most GW_BODY_MAX bytes; NULL when none arrived */
    size_t body_len;
    size_t body_discarded; /* bytes past GW_BODY_MAX (the handler answers 413) */
    unsigned int status;   /* HTTP status queued, 0 until then */
    char request_id[GW_REQUEST_ID_MAX + 1];
    char traceparent[GW_TRACEPARENT_LEN + 1]; /* our span: to forward downstream */

    gw_server_t *srv;
    struct MHD_Connection *conn;
    size_t target_len; /* the raw request target's length, query included (0: unknown) */
    long long start_ms;
    size_t body_cap;
    gw_conn_t *link;       /* the connection's record (deadline); NULL if untracked */
    gw_pending_t *pending; /* set while (and after) suspended */
    gw_resume_fn *on_resume;
    /* An error decided on the headers, answered once the body is drained (gw_reject). Static
     * strings. */
    unsigned int deferred_status;
    const char *deferred_message;
    const char *deferred_header;
    const char *deferred_value;
};

/* Starts the daemon on conf->listen and its threads; handler is copied. NULL with errstr on
 * failure. */
gw_server_t *gw_server_start(const gw_server_conf_t *conf, const gw_handler_t *handler,
                             char *errstr, size_t errstr_size) IB_WUR;
/* The port listened on (the one chosen when conf->listen asked for port 0). */
unsigned short gw_server_port(const gw_server_t *srv);
/* Stops accepting connections; requests arriving on open connections get 503. */
void gw_server_quiesce(gw_server_t *srv);
int gw_server_draining(const gw_server_t *srv);
/* Answers every suspended request (GW_OUTCOME_SHUTDOWN), then waits up to wait_ms for all open
 * requests to finish. Call before gw_server_stop. */
void gw_server_resume_all(gw_server_t *srv, int wait_ms);
/* MHD_stop_daemon and free. Accepts NULL. */
void gw_server_stop(gw_server_t *srv);

/* The value of request header name (case-insensitive; the first line), borrowed; NULL if none. */
const char *gw_request_header(const gw_request_t *req, const char *name);
/* Counts the header lines named names[0..n) (case-insensitive) into counts[0..n) and returns the
 * size of all header lines: names and values, with ": " and CRLF. */
size_t gw_request_headers_scan(const gw_request_t *req, const char *const *names, unsigned *counts,
                               size_t n);
/* How many lines of header name the request has. */
unsigned gw_request_header_count(const gw_request_t *req, const char *name);

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

/* Suspends req's connection (inside gw_handler_t.complete only) until gw_pending_complete or the
 * deadline (monotonic ms); on_resume then answers. Returns a pending holding two references:
 * req's (released when the request ends) and the caller's (release it, or hand it to whoever
 * completes it). NULL on out of memory, not suspended. */
gw_pending_t *gw_server_suspend(gw_request_t *req, long long deadline_ms,
                                gw_resume_fn *on_resume) IB_WUR;
/* Records the outcome and resumes the connection; only the first call counts. Any thread. */
void gw_pending_complete(gw_pending_t *pd, gw_outcome_t outcome);
void gw_pending_release(gw_pending_t *pd); /* accepts NULL */
gw_outcome_t gw_pending_outcome(gw_pending_t *pd);

#endif
