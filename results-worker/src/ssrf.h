/* Callback safety: which addresses a callback may connect to, and the target of a callback URL.
 *
 * Pure functions (apart from curl's URL parser), unit-tested exhaustively. The deliverer resolves
 * a callback host once, refuses the transfer when any resolved address is refused here, pins the
 * vetted addresses with CURLOPT_RESOLVE, and checks the address again right before connecting
 * (CURLOPT_OPENSOCKETFUNCTION) and before sending on a new or reused connection
 * (CURLOPT_PREREQFUNCTION). */
#ifndef RW_SSRF_H
#define RW_SSRF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ib/callback_url.h"
#include "ib/common.h"

/* Why an IPv4 address (host byte order) is refused, or NULL when it is public. allow_loopback
 * (ALLOW_INSECURE_CALLBACKS=1) admits 127.0.0.0/8 only; every other special range stays
 * refused. */
const char *rw_ipv4_refusal(uint32_t addr, int allow_loopback);
/* Same for IPv6 (16 bytes, network order). IPv4-mapped (::ffff:0:0/96), IPv4-compatible
 * (::/96) and 6to4 (2002::/16) addresses are unwrapped and the IPv4 address is checked again;
 * ::1 is admitted only with allow_loopback. */
const char *rw_ipv6_refusal(const uint8_t addr[16], int allow_loopback);
/* A sockaddr (AF_INET or AF_INET6); any other family is refused. */
const char *rw_sockaddr_refusal(const struct sockaddr *sa, size_t len, int allow_loopback);
/* A numeric address as text (dotted IPv4 as inet_pton reads it, or IPv6, brackets allowed); an
 * unparsable string is refused. */
const char *rw_ip_text_refusal(const char *ip, int allow_loopback);

/* The parts of a callback URL the deliverer needs. */
typedef struct {
    char host[IB_CALLBACK_URL_HOST_MAX +
              1]; /* as curl normalises it: lowercase name, dotted IPv4, or [IPv6] */
    long port;    /* explicit or the scheme's default */
    int literal;  /* 1 when host is an IP address literal */
    int https;    /* 0 for http (allowed only with ALLOW_INSECURE_CALLBACKS=1) */
} rw_target_t;

/* Reads url's target with the shared policy's syntax and scheme checks (ib_callback_url_check
 * without a tenant): absolute, http(s) only, no userinfo, no control characters or spaces, no
 * IPv6 zone id, host non-empty, port 1..65535. https required unless allow_http. IB_ERR with the
 * reason in errstr. */
ib_rc_t rw_target_parse(const char *url, int allow_http, rw_target_t *out, char *errstr,
                        size_t errstr_size) IB_WUR;

#endif
