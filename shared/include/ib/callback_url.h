/* The callback-URL policy: one decision, taken by the gateway when an interview is created and by
 * the worker before it delivers, so that a URL accepted at creation is never refused at delivery
 * for a reason visible in the URL itself. What the URL cannot show (the addresses its host
 * resolves to) is the worker's to vet (results-worker/src/ssrf.c).
 *
 * Pure apart from libcurl's URL parser (curl_url), which is also the parser the deliverer's
 * transfer uses, so both read the same host and port. */
#ifndef IB_CALLBACK_URL_H
#define IB_CALLBACK_URL_H

#include <stddef.h>

#include "ib/common.h"
#include "ib/tenants.h"

#define IB_CALLBACK_URL_MAX      2048 /* bytes */
#define IB_CALLBACK_URL_HOST_MAX 255  /* bytes of the host as curl reads it (brackets included) */

/* Why a URL is refused, in the order the checks run. */
typedef enum {
    IB_CALLBACK_URL_OK = 0,
    IB_CALLBACK_URL_MALFORMED, /* empty, too long, spaces or control characters (CR/LF), not an
                                * absolute URL curl parses, empty or too long a host, an IPv6
                                * zone id, port 0 */
    IB_CALLBACK_URL_USERINFO,  /* a user, a password or login options before the host */
    IB_CALLBACK_URL_SCHEME,    /* not https (http only when insecure) */
    IB_CALLBACK_URL_HOST,      /* host outside the tenant's callback_hosts ("*." wildcards) */
    IB_CALLBACK_URL_LOOPBACK,  /* localhost, *.localhost or a loopback/unspecified literal, when
                                * not insecure */
    IB_CALLBACK_URL_PORT       /* a port other than 443 (or the scheme's default) that the
                                * tenant's callback_ports do not list; when insecure, any port
                                * on a loopback host passes */
} ib_callback_url_verdict_t;

/* The parts of a URL that passed. */
typedef struct {
    char host[IB_CALLBACK_URL_HOST_MAX + 1]; /* lowercase name, dotted IPv4, or [IPv6] */
    long port;                               /* explicit or the scheme's default */
    int literal;                             /* 1 when host is an IP address literal */
    int https;                               /* 0 for http (only when insecure) */
} ib_callback_url_t;

/* Checks url for tenant. insecure is ALLOW_INSECURE_CALLBACKS: http and loopback hosts allowed,
 * any port on a loopback host. tenant NULL checks the URL's syntax and scheme only (MALFORMED,
 * USERINFO, SCHEME): for a caller that already checked it with its tenant. out (may be NULL) is
 * filled on IB_CALLBACK_URL_OK. why (may be NULL) receives a short reason in the contract's
 * words, starting "callback_url ...", on a refusal. Never fails otherwise: curl's allocation
 * failure is reported as MALFORMED with "out of memory". */
ib_callback_url_verdict_t ib_callback_url_check(const char *url, const ib_tenant_t *tenant,
                                                int insecure, ib_callback_url_t *out, char *why,
                                                size_t why_size);

/* The verdict's name, as tests/data/shared/callback_urls.json writes it ("ok", "malformed",
 * "userinfo", "scheme", "host", "loopback", "port"). Static string. */
const char *ib_callback_url_verdict_name(ib_callback_url_verdict_t v);

/* 1 when host (as curl reads it: a name, dotted IPv4, or [IPv6]) is localhost, a .localhost
 * name, 127.0.0.0/8, 0.0.0.0, ::1, :: or an IPv4-mapped form of those. */
int ib_callback_host_is_loopback(const char *host);

#endif
