#include "ssrf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The refusal lists follow the IANA IPv4 and IPv6 Special-Purpose Address Registries
 * (https://www.iana.org/assignments/iana-ipv4-special-registry and iana-ipv6-special-registry):
 * every block there that is not globally reachable, plus the IPv4 private and shared ranges of
 * docs/DESIGN.md ("Callback safety"). Blocks the registries mark globally reachable (AS112, AMT,
 * PCP anycast, TURN) are ordinary servers and stay allowed. A new registry entry is a new row here
 * and a new case in test_ssrf.c. */
typedef struct {
    uint32_t net;
    unsigned bits;
    const char *why;
} v4_range_t;

static const v4_range_t v4_refused[] = {
    {0x00000000u, 8, "0.0.0.0/8 (this network)"},
    {0x0a000000u, 8, "10.0.0.0/8 (private)"},
    {0x64400000u, 10, "100.64.0.0/10 (carrier-grade NAT)"},
    {0x7f000000u, 8, "127.0.0.0/8 (loopback)"},
    {0xa9fe0000u, 16, "169.254.0.0/16 (link-local, cloud metadata)"},
    {0xac100000u, 12, "172.16.0.0/12 (private)"},
    {0xc0000000u, 24, "192.0.0.0/24 (IETF protocol assignments)"},
    {0xc0000200u, 24, "192.0.2.0/24 (documentation)"},
    {0xc0586300u, 24, "192.88.99.0/24 (6to4 relay anycast, deprecated)"},
    {0xc0a80000u, 16, "192.168.0.0/16 (private)"},
    {0xc6120000u, 15, "198.18.0.0/15 (benchmarking)"},
    {0xc6336400u, 24, "198.51.100.0/24 (documentation)"},
    {0xcb007100u, 24, "203.0.113.0/24 (documentation)"},
    {0xe0000000u, 4, "224.0.0.0/4 (multicast)"},
    {0xf0000000u, 4, "240.0.0.0/4 (reserved, broadcast)"},
};

static uint32_t v4_mask(unsigned bits)
{
    return bits == 0 ? 0 : 0xffffffffu << (32 - bits);
}

const char *rw_ipv4_refusal(uint32_t addr, int allow_loopback)
{
    for (size_t i = 0; i < IB_ARRAY_LEN(v4_refused); i++) {
        if ((addr & v4_mask(v4_refused[i].bits)) != v4_refused[i].net)
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

typedef enum {
    V6_REFUSE,   /* the block is refused */
    V6_LOOPBACK, /* ::1: refused unless allow_loopback */
    V6_MAPPED,   /* judged as the IPv4 address in the last 32 bits */
    V6_COMPAT,   /* refused; the embedded IPv4 address names the reason when it has one */
    V6_6TO4      /* refused when the IPv4 address in bits 16..47 is */
} v6_kind_t;

typedef struct {
    uint8_t net[16];
    unsigned bits;
    v6_kind_t kind;
    const char *why;
} v6_range_t;

/* First match wins: the exact and more specific rows come before the blocks that contain them. */
static const v6_range_t v6_refused[] = {
    {{0}, 128, V6_REFUSE, ":: (unspecified)"},
    {{[15] = 1}, 128, V6_LOOPBACK, "::1 (loopback)"},
    {{[10] = 0xff, [11] = 0xff}, 96, V6_MAPPED, "::ffff:0:0/96 (IPv4-mapped)"},
    {{[8] = 0xff, [9] = 0xff},
     96,
     V6_REFUSE,
     "::ffff:0:0:0/96 (IPv4-translated: reaches IPv4 through a translator)"},
    {{0}, 96, V6_COMPAT, "::/96 (IPv4-compatible, deprecated)"},
    {{0x00, 0x64, 0xff, 0x9b},
     96,
     V6_REFUSE,
     "64:ff9b::/96 (NAT64: reaches IPv4 through a translator)"},
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, V6_REFUSE, "64:ff9b:1::/48 (local-use NAT64)"},
    {{0x01, 0x00}, 64, V6_REFUSE, "100::/64 (discard-only)"},
    {{0x01, 0x00, [7] = 0x01}, 64, V6_REFUSE, "100:0:0:1::/64 (dummy prefix)"},
    {{0x20, 0x01, 0x00, 0x00}, 32, V6_REFUSE, "2001::/32 (Teredo tunnel)"},
    {{0x20, 0x01, 0x00, 0x02, 0x00, 0x00}, 48, V6_REFUSE, "2001:2::/48 (benchmarking)"},
    {{0x20, 0x01, 0x00, 0x10}, 28, V6_REFUSE, "2001:10::/28 (ORCHID, deprecated)"},
    {{0x20, 0x01, 0x00, 0x20}, 28, V6_REFUSE, "2001:20::/28 (ORCHIDv2)"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, V6_REFUSE, "2001:db8::/32 (documentation)"},
    {{0x20, 0x02}, 16, V6_6TO4, "2002::/16 (6to4) wrapping a refused IPv4 address"},
    {{0x3f, 0xff}, 20, V6_REFUSE, "3fff::/20 (documentation)"},
    {{0x5f, 0x00}, 16, V6_REFUSE, "5f00::/16 (segment routing SIDs)"},
    {{0xfc}, 7, V6_REFUSE, "fc00::/7 (unique local)"},
    {{0xfe, 0x80}, 10, V6_REFUSE, "fe80::/10 (link-local)"},
    {{0xfe, 0xc0}, 10, V6_REFUSE, "fec0::/10 (site-local, deprecated)"},
    {{0xff}, 8, V6_REFUSE, "ff00::/8 (multicast)"},
};

const char *rw_ipv6_refusal(const uint8_t a[16], int allow_loopback)
{
    for (size_t i = 0; i < IB_ARRAY_LEN(v6_refused); i++) {
        const v6_range_t *r = &v6_refused[i];
        if (!prefix_eq(a, r->net, r->bits))
            continue;
        const char *why;
        switch (r->kind) {
        case V6_LOOPBACK:
            return allow_loopback ? NULL : r->why;
        case V6_MAPPED:
            /* A public IPv4 address behind ::ffff: is that address. */
            return rw_ipv4_refusal(v4_at(a + 12), allow_loopback);
        case V6_COMPAT:
            /* Some stacks still route it as IPv4. */
            why = rw_ipv4_refusal(v4_at(a + 12), allow_loopback);
            return why != NULL ? why : r->why;
        case V6_6TO4:
            if (rw_ipv4_refusal(v4_at(a + 2), 0) != NULL)
                return r->why;
            continue; /* a public 6to4 address is an ordinary one */
        case V6_REFUSE:
            return r->why;
        }
    }
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

static int subnet_has(const rw_subnet_t *n, int family, const uint8_t *a)
{
    return n->family == family && prefix_eq(a, n->net, n->bits);
}

static int subnets_have(const rw_subnets_t *list, int family, const uint8_t *a)
{
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    if (list == NULL)
        return 0;
    for (size_t i = 0; i < list->n; i++) {
        if (subnet_has(&list->v[i], family, a))
            return 1;
        if (family == AF_INET6 && memcmp(a, mapped, 12) == 0 &&
            subnet_has(&list->v[i], AF_INET, a + 12))
            return 1;
    }
    return 0;
}

static ib_rc_t subnet_parse(const char *item, size_t len, rw_subnet_t *out, char *errstr,
                            size_t errstr_size)
{
    char buf[INET6_ADDRSTRLEN + 8];
    const char *slash;
    char *end = NULL;

    memset(out, 0, sizeof(*out));
    if (len == 0 || len >= sizeof(buf))
        goto bad;
    memcpy(buf, item, len);
    buf[len] = '\0';
    slash = strchr(buf, '/');
    if (slash == NULL || slash[1] < '0' || slash[1] > '9')
        goto bad;
    long bits = strtol(slash + 1, &end, 10);
    if (*end != '\0')
        goto bad;
    buf[slash - buf] = '\0';
    if (inet_pton(AF_INET, buf, out->net) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, buf, out->net) == 1)
        out->family = AF_INET6;
    else
        goto bad;
    if (bits < 0 || bits > (out->family == AF_INET ? 32 : 128))
        goto bad;
    out->bits = (unsigned)bits;
    for (unsigned b = out->bits; b < (out->family == AF_INET ? 32u : 128u); b++) {
        if (out->net[b / 8] & (0x80u >> (b % 8))) {
            snprintf(errstr, errstr_size, "'%.*s' has host bits set", (int)len, item);
            return IB_ERR;
        }
    }
    return IB_OK;
bad:
    snprintf(errstr, errstr_size, "'%.*s' is not an address/prefix-length block",
             (int)(len < 80 ? len : 80), item);
    return IB_ERR;
}

ib_rc_t rw_subnets_parse(const char *text, rw_subnets_t *out, char *errstr, size_t errstr_size)
{
    out->v = NULL;
    out->n = 0;
    if (text == NULL)
        return IB_OK;
    const char *p = text;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0 && comma == NULL && out->n == 0)
            break; /* blank text */
        rw_subnet_t *grown = realloc(out->v, (out->n + 1) * sizeof(*grown));
        if (grown == NULL) {
            snprintf(errstr, errstr_size, "out of memory");
            goto fail;
        }
        out->v = grown;
        if (subnet_parse(p, len, &out->v[out->n], errstr, errstr_size) != IB_OK)
            goto fail;
        out->n++;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return IB_OK;
fail:
    rw_subnets_free(out);
    return IB_ERR;
}

void rw_subnets_free(rw_subnets_t *list)
{
    if (list == NULL)
        return;
    free(list->v);
    list->v = NULL;
    list->n = 0;
}

void rw_subnets_format(const rw_subnets_t *list, char *buf, size_t size)
{
    size_t len = 0;
    if (size == 0)
        return;
    buf[0] = '\0';
    for (size_t i = 0; list != NULL && i < list->n; i++) {
        char text[INET6_ADDRSTRLEN];
        if (inet_ntop(list->v[i].family, list->v[i].net, text, sizeof(text)) == NULL)
            continue;
        int m = snprintf(buf + len, size - len, "%s%s/%u", i > 0 ? "," : "", text, list->v[i].bits);
        if (m < 0 || (size_t)m >= size - len)
            return;
        len += (size_t)m;
    }
}

const char *rw_sockaddr_verdict(const struct sockaddr *sa, size_t len, int allow_loopback,
                                const rw_subnets_t *allowed)
{
    if (sa != NULL && sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof(in));
        if (subnets_have(allowed, AF_INET, (const uint8_t *)&in.sin_addr))
            return NULL;
    } else if (sa != NULL && sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof(in6));
        if (in6.sin6_scope_id == 0 && subnets_have(allowed, AF_INET6, in6.sin6_addr.s6_addr))
            return NULL;
    }
    return rw_sockaddr_refusal(sa, len, allow_loopback);
}

const char *rw_ip_text_verdict(const char *ip, int allow_loopback, const rw_subnets_t *allowed)
{
    char buf[INET6_ADDRSTRLEN + 2];
    size_t len = ip != NULL ? strlen(ip) : 0;
    uint8_t a[16];

    if (len > 0 && len < sizeof(buf) && allowed != NULL && allowed->n > 0) {
        if (ip[0] == '[' && ip[len - 1] == ']') {
            memcpy(buf, ip + 1, len - 2);
            buf[len - 2] = '\0';
        } else {
            memcpy(buf, ip, len + 1);
        }
        if ((inet_pton(AF_INET, buf, a) == 1 && subnets_have(allowed, AF_INET, a)) ||
            (inet_pton(AF_INET6, buf, a) == 1 && subnets_have(allowed, AF_INET6, a)))
            return NULL;
    }
    return rw_ip_text_refusal(ip, allow_loopback);
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
