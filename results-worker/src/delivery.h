/* One callback attempt: PUT Workable's payload to the interview's callback_url.
 *
 * A job (rw_delivery_t) carries the borrowed inputs and receives the result. The easy handle is
 * prepared by rw_delivery_prepare and judged by rw_delivery_finish; the callback engine
 * (sender.h) drives it in its curl multi loop (CURLOPT_PRIVATE points back to the job). */
#ifndef RW_DELIVERY_H
#define RW_DELIVERY_H

#include <curl/curl.h>
#include <stddef.h>

#include "ib/common.h"
#include "ssrf.h"

#define RW_RESPONSE_CAP (64 * 1024) /* bytes of response body read before giving up */
#define RW_EXCERPT_LEN  200         /* bytes of body kept for logs and history */

typedef enum {
    RW_OUTCOME_SUCCESS = 0, /* 2xx */
    RW_OUTCOME_TRANSIENT,   /* transport error, timeout, 408, 425, 429, 5xx */
    RW_OUTCOME_PERMANENT,   /* other 4xx, 3xx (redirects are not followed), bad or refused URL */
    RW_OUTCOME_DEFERRED,    /* not attempted: the host's circuit breaker is open */
    RW_OUTCOME_ABORTED      /* stopped by shutdown or revocation: no verdict */
} rw_outcome_t;

#define RW_OUTCOME_COUNT 5

const char *rw_outcome_name(rw_outcome_t o);

/* Classifies one finished transfer. cc is curl's result, http_status the response code (0 when
 * none arrived). A transfer aborted by the response cap is judged by its status. Pure. */
rw_outcome_t rw_delivery_classify(CURLcode cc, long http_status, int body_capped);

/* Why a finished transfer failed, for history and logs: "HTTP 503" or curl's error text.
 * Writes into buf (always NUL-terminated). Defined below rw_delivery_t. */

typedef struct {
    long timeout_ms;             /* CURLOPT_TIMEOUT_MS */
    long connect_timeout_ms;     /* CURLOPT_CONNECTTIMEOUT_MS, <= timeout_ms */
    int allow_http;              /* ALLOW_INSECURE_CALLBACKS: http scheme and loopback addresses */
    CURLSH *share;               /* borrowed; TLS sessions and DNS shared across handles, or NULL */
    const rw_subnets_t *allowed; /* borrowed CALLBACK_ALLOWED_SUBNETS, or NULL */
    const char *ca_file;         /* CALLBACK_CA_FILE ("" or NULL: none); read by the sender */
    struct curl_blob *ca_blob;   /* borrowed trust store (system bundle + ca_file) set as
                                    CURLOPT_CAINFO_BLOB without a copy, or NULL: curl's default */
} rw_delivery_opts_t;

typedef struct rw_delivery_s {
    /* Inputs, borrowed for the duration of the attempt. */
    const char *interview_id; /* logs only */
    const char *url;
    const char *token; /* secret: only ever placed in the Authorization header */
    const char *body;  /* compact JSON */
    size_t body_len;
    unsigned attempt;           /* 1-based, logs */
    struct curl_slist *resolve; /* borrowed CURLOPT_RESOLVE pins ("host:port:addr,..."), or NULL */

    /* Results, written by rw_delivery_finish. */
    rw_outcome_t outcome;
    CURLcode curl_code;
    long http_status;
    long retry_after_ms; /* Retry-After of a 429/503, 0 when absent */
    long long elapsed_ms;
    char error[CURL_ERROR_SIZE]; /* curl's error text; "" on success */
    char excerpt[RW_EXCERPT_LEN + 1];
    char refused[160]; /* set when the connected address was refused: the reason */

    /* Private to delivery.c. */
    struct curl_slist *headers;
    size_t body_seen;
    int body_capped;
    long long started_ms;
    int allow_loopback;
    const rw_subnets_t *allowed;
} rw_delivery_t;

void rw_delivery_describe(const struct rw_delivery_s *job, char *buf, size_t size);

/* Sets every option of one attempt on easy (which the caller owns, fresh or reset). On IB_ERR
 * (allocation) errstr says why and nothing needs undoing but rw_delivery_finish/_release. */
ib_rc_t rw_delivery_prepare(CURL *easy, rw_delivery_t *job, const rw_delivery_opts_t *opts,
                            char *errstr, size_t errstr_size) IB_WUR;
/* Fills the job's results from easy after the transfer ended with cc; releases the job's headers.
 * Returns job->outcome. */
rw_outcome_t rw_delivery_finish(CURL *easy, rw_delivery_t *job, CURLcode cc);

#endif
