#include "ssrf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t net;
    unsigned bits;
    const char *why;
} v4_range_t;

/* library-notes.md's list, plus the other IANA special-purpose blocks that are never a public
 * web server (documentation, benchmarking, broadcast). */
static const v4_range_t v4_refused[] = {
    {0x00000000u, 8, "0.0.0.0/8 (this network)"},
    {0x0a000000u, 8, "10.0.0.0/8 (private)"},
    {0x64400000u, 10, "100.64.0.0/10 (carrier-grade NAT)"},
    {0x7f000000u, 8, "127.0.0.0/8 (loopback)"},
    {0xa9fe0000u, 16, "169.254.0.0/16 (link-local, cloud metadata)"},
    {0xac100000u, 12, "172.16.0.0/12 (private)"},
    {0xc0000000u, 24, "192.0.0.0/24 (IETF protocol assignments)"},
    {0xc0000200u, 24, "192.0.2.0/24 (documentation)"},
    {0xc0a80000u, 16, "192.168.0.0/16 (private)"},
    {0xc6120000u, 15, "198.18.0.0/15 (benchmarking)"},
    {0xc6336400u, 24, "198.51.100.0/24 (documentation)"},
    {0xcb007100u, 24, "203.0.113.0/24 (documentation)"},
    {0xe0000000u, 4, "224.0.0.0/4 (multicast)"},
    {0xf0000000u, 4, "240.0.0.0/4 (reserved, broadcast)"},
};

const char *rw_ipv4_refusal(uint32_t addr, int allow_loopback)
{
    for (size_t i = 0; i < IB_ARRAY_LEN(v4_refused); i++) {
        uint32_t mask = v4_refused[i].bits == 0 ? 0 : 0xffffffffu << (32 - v4_refused[i].bits);
        if ((addr & mask) != v4_refused[i].net)
            continue;
        if (allow_loopback && v4_refused[i].net == 0x7f000000u)
            return NULL;
        return v4_refused[i].why;
    }
    return NULL;
}

static int prefix_eq(const uint8_t *a, const uint8_t *p, unsigned bits)
{
    unsigned bytes = bits / 8;
    if (memcmp(a, p, bytes) != 0)
        return 0;
    if (bits % 8 == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xffu << (8 - bits % 8));
    return (a[bytes] & mask) == (p[bytes] & mask);
}

static uint32_t v4_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Plain IPv6 prefixes refused whatever they carry; pairwise disjoint, so order is free. */
static const struct {
    uint8_t prefix[16];
    unsigned bits;
    const char *why;
} v6_refused[] = {
    {{0x00, 0x64, 0xff, 0x9b}, 96, "64:ff9b::/96 (NAT64: reaches IPv4 through a translator)"},
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, "64:ff9b:1::/48 (local-use NAT64)"},
    {{0x01, 0x00}, 64, "100::/64 (discard)"},
    {{0x20, 0x01, 0x00, 0x00}, 32, "2001::/32 (Teredo tunnel)"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "2001:db8::/32 (documentation)"},
    {{0xfc}, 7, "fc00::/7 (unique local)"},
    {{0xfe, 0x80}, 10, "fe80::/10 (link-local)"},
    {{0xfe, 0xc0}, 10, "fec0::/10 (site-local, deprecated)"},
    {{0xff}, 8, "ff00::/8 (multicast)"},
};

const char *rw_ipv6_refusal(const uint8_t a[16], int allow_loopback)
{
    static const uint8_t zero[16] = {0};
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t six_to_four[2] = {0x20, 0x02};

    if (memcmp(a, zero, 16) == 0)
        return ":: (unspecified)";
    if (memcmp(a, zero, 15) == 0 && a[15] == 1)
        return allow_loopback ? NULL : "::1 (loopback)";
    if (memcmp(a, mapped, 12) == 0) {
        const char *why = rw_ipv4_refusal(v4_at(a + 12), allow_loopback);
        return why != NULL ? why : NULL; /* a public IPv4 behind ::ffff: is that address */
    }
    if (memcmp(a, zero, 12) == 0) {
        /* IPv4-compatible (deprecated): some stacks still route it as IPv4. */
        const char *why = rw_ipv4_refusal(v4_at(a + 12), allow_loopback);
        return why != NULL ? why : "::/96 (IPv4-compatible, deprecated)";
    }
    if (prefix_eq(a, six_to_four, 16) && rw_ipv4_refusal(v4_at(a + 2), 0) != NULL)
        return "2002::/16 (6to4) wrapping a refused IPv4 address";
    for (size_t i = 0; i < IB_ARRAY_LEN(v6_refused); i++)
        if (prefix_eq(a, v6_refused[i].prefix, v6_refused[i].bits))
            return v6_refused[i].why;
    return NULL;
}

const char *rw_sockaddr_refusal(const struct sockaddr *sa, size_t len, int allow_loopback)
{
    if (sa == NULL)
        return "no address";
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof(in));
        return rw_ipv4_refusal(ntohl(in.sin_addr.s_addr), allow_loopback);
    }
    if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof(in6));
        if (in6.sin6_scope_id != 0)
            return "IPv6 address with a scope id";
        return rw_ipv6_refusal(in6.sin6_addr.s6_addr, allow_loopback);
    }
    return "not an IPv4 or IPv6 address";
}

const char *rw_ip_text_refusal(const char *ip, int allow_loopback)
{
    char buf[INET6_ADDRSTRLEN + 2];
    size_t len = ip != NULL ? strlen(ip) : 0;
    struct in_addr a4;
    struct in6_addr a6;

    if (len == 0 || len >= sizeof(buf))
        return "not an IP address";
    if (ip[0] == '[' && ip[len - 1] == ']') {
        memcpy(buf, ip + 1, len - 2);
        buf[len - 2] = '\0';
    } else {
        memcpy(buf, ip, len + 1);
    }
    /* inet_pton accepts only the four-part dotted decimal form: curl reports addresses that
     * way, and anything else is not an address we produced. */
    if (inet_pton(AF_INET, buf, &a4) == 1)
        return rw_ipv4_refusal(ntohl(a4.s_addr), allow_loopback);
    if (inet_pton(AF_INET6, buf, &a6) == 1)
        return rw_ipv6_refusal(a6.s6_addr, allow_loopback);
    return "not an IP address";
}

ib_rc_t rw_target_parse(const char *url, int allow_http, rw_target_t *out, char *errstr,
                        size_t errstr_size)
{
    ib_callback_url_t cu;

    memset(out, 0, sizeof(*out));
    /* No tenant: the join already held the URL to the tenant's policy; this reads its target. */
    if (ib_callback_url_check(url, NULL, allow_http, &cu, errstr, errstr_size) !=
        IB_CALLBACK_URL_OK)
        return IB_ERR;
    memcpy(out->host, cu.host, sizeof(out->host));
    out->port = cu.port;
    out->literal = cu.literal;
    out->https = cu.https;
    return IB_OK;
}
