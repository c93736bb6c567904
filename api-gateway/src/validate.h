/* POST /interviews body -> a validated request, or the contract's error. Pure: no I/O, no Kafka. */
#ifndef GW_VALIDATE_H
#define GW_VALIDATE_H

#include <stddef.h>

#include "ib/common.h"
#include "ib/tenants.h"

#define GW_ERROR_MESSAGE_MAX 256

/* An HTTP error as the contract shapes it: {"status": status, "message": message}. */
typedef struct {
    unsigned int status;
    char message[GW_ERROR_MESSAGE_MAX];
} gw_error_t;

/* The candidate as the event carries it: its four known keys, unknown keys dropped. */
typedef struct {
    char *first_name;
    char *last_name; /* NULL when absent */
    char *email;
    char *phone; /* NULL when absent */
} gw_candidate_t;

/* A validated POST /interviews. Everything is owned by the struct (gw_interview_request_clear):
 * the strings live in one block, store. */
typedef struct {
    char *interview_template_id; /* a JSON number (integral) is normalised to its decimal string */
    char *job_id;                /* NULL when absent; normalised like the template id */
    char *job_title;
    char *callback_url; /* as sent; parsed and vetted */
    gw_candidate_t candidate;
    char *preferences; /* NULL when absent; else the object in compact JSON, as jansson would
                        * print it (members in their order), preferences_len bytes */
    size_t preferences_len;
    char *store;
} gw_interview_request_t;

/* 1 when the tenant's catalog holds the template id. Must be safe to call from the HTTP thread. */
typedef int gw_template_known_fn(const char *tenant_id, const char *template_id, void *opaque);

/* -1 when the tenant has no job categorisation (any job_id passes), 1 when the job exists, 0
 * when not. */
typedef int gw_job_known_fn(const char *tenant_id, const char *job_id, void *opaque);

typedef struct {
    const ib_tenant_t *tenant;    /* borrowed: the authenticated tenant */
    int allow_insecure_callbacks; /* ALLOW_INSECURE_CALLBACKS: http, loopback, any loopback port */
    gw_template_known_fn *template_known;
    gw_job_known_fn *job_known; /* NULL: job_id not checked */
    void *opaque;               /* passed to template_known and job_known */
} gw_validate_ctx_t;

/* Validates len bytes of body. IB_OK: out is filled (caller clears it). IB_ERR: err holds the
 * status and the message: 422 only for "Missing field: ..." (absent, null or ""), 400 for every
 * "Invalid field: ..." (wrong type, too long, unknown template or job, refused callback_url), out
 * is zeroed. The first problem found, in field order, wins. Unknown fields are ignored. */
ib_rc_t gw_validate_interview(const gw_validate_ctx_t *ctx, const char *body, size_t len,
                              gw_interview_request_t *out, gw_error_t *err) IB_WUR;
void gw_interview_request_clear(gw_interview_request_t *r);

/* Vets a callback URL for ctx's tenant with the policy the worker applies again before it
 * delivers (ib_callback_url_check): every refusal is a 400 "Invalid field: callback_url ...". */
ib_rc_t gw_validate_callback_url(const gw_validate_ctx_t *ctx, const char *url,
                                 gw_error_t *err) IB_WUR;
/* 1 when s has the syntax of an e-mail address as RFC 5321 (4.1.2, 4.5.3.1) writes one, with
 * RFC 6531's UTF-8: local-part "@" domain; the local part a dot-string or a quoted string of at
 * most 64 bytes; the domain dot-separated labels (at most 63 bytes each, 255 in all) or an
 * address literal ([192.0.2.1], [IPv6:2001:db8::1]); 254 bytes in all. A syntax check, not a
 * plausibility filter: "a@b" passes, as SMTP would take it. */
int gw_email_valid(const char *s);

#endif
