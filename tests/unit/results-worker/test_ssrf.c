/* The SSRF guard's pure functions: every refused range at its edges, every IPv4 spelling,
 * IPv6 and its IPv4-embedding forms, and callback URL parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include "ssrf.h"

typedef struct {
    const char *ip;
    int refused;          /* with allow_loopback = 0 */
    int refused_loopback; /* with allow_loopback = 1 */
} ip_case_t;

static const ip_case_t ip_cases[] = {
    /* public */
    {"1.1.1.1", 0, 0},
    {"8.8.8.8", 0, 0},
    {"93.184.216.34", 0, 0},
    {"9.255.255.255", 0, 0},
    {"11.0.0.0", 0, 0},
    {"100.63.255.255", 0, 0},
    {"100.128.0.0", 0, 0},
    {"126.255.255.255", 0, 0},
    {"128.0.0.0", 0, 0},
    {"169.253.255.255", 0, 0},
    {"169.255.0.0", 0, 0},
    {"172.15.255.255", 0, 0},
    {"172.32.0.0", 0, 0},
    {"192.0.1.0", 0, 0},
    {"192.167.255.255", 0, 0},
    {"192.169.0.0", 0, 0},
    {"198.17.255.255", 0, 0},
    {"198.20.0.0", 0, 0},
    {"223.255.255.255", 0, 0},
    /* 0/8 */
    {"0.0.0.0", 1, 1},
    {"0.255.255.255", 1, 1},
    /* 10/8 */
    {"10.0.0.0", 1, 1},
    {"10.255.255.255", 1, 1},
    /* 100.64/10 */
    {"100.64.0.0", 1, 1},
    {"100.127.255.255", 1, 1},
    /* 127/8: the only range ALLOW_INSECURE_CALLBACKS admits */
    {"127.0.0.1", 1, 0},
    {"127.255.255.255", 1, 0},
    /* 169.254/16, metadata */
    {"169.254.0.0", 1, 1},
    {"169.254.169.254", 1, 1},
    {"169.254.255.255", 1, 1},
    /* 172.16/12 */
    {"172.16.0.0", 1, 1},
    {"172.31.255.255", 1, 1},
    /* 192.0.0/24 */
    {"192.0.0.0", 1, 1},
    {"192.0.0.255", 1, 1},
    /* 192.168/16 */
    {"192.168.0.0", 1, 1},
    {"192.168.255.255", 1, 1},
    /* 198.18/15 */
    {"198.18.0.0", 1, 1},
    {"198.19.255.255", 1, 1},
    /* 224/4 multicast, 240/4 reserved and broadcast */
    {"224.0.0.0", 1, 1},
    {"239.255.255.255", 1, 1},
    {"240.0.0.0", 1, 1},
    {"255.255.255.255", 1, 1},
    /* IPv6 */
    {"2606:4700:4700::1111", 0, 0},
    {"2001:4860:4860::8888", 0, 0},
    {"::", 1, 1},
    {"::1", 1, 0},
    {"fc00::", 1, 1},
    {"fd12:3456::1", 1, 1},
    {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, 1},
    {"fe80::", 1, 1},
    {"fe80::1", 1, 1},
    {"febf:ffff::1", 1, 1},
    {"ff00::", 1, 1},
    {"ff02::1", 1, 1},
    {"64:ff9b::", 1, 1},
    {"64:ff9b::808:808", 1, 1},
    {"64:ff9b::7f00:1", 1, 1},
    /* IPv4-mapped: unmapped and checked again */
    {"::ffff:127.0.0.1", 1, 0},
    {"::ffff:7f00:1", 1, 0},
    {"::ffff:10.0.0.1", 1, 1},
    {"::ffff:169.254.169.254", 1, 1},
    {"::ffff:192.168.1.1", 1, 1},
    {"::ffff:0.0.0.0", 1, 1},
    {"::ffff:8.8.8.8", 0, 0},
    /* IPv4-compatible (deprecated), 6to4 wrapping a private address */
    {"::127.0.0.1", 1, 1},
    {"::8.8.8.8", 1, 1},
    {"2002:7f00:1::", 1, 1},
    {"2002:a9fe:a9fe::1", 1, 1},
    {"2002:0808:0808::1", 0, 0},
};

/* The IANA IPv4 and IPv6 Special-Purpose Address Registries: each block that is not globally
 * reachable, at its edges, and the neighbours just outside it (public). */
static const ip_case_t registry_cases[] = {
    /* 192.88.99.0/24: 6to4 relay anycast (deprecated, RFC 7526) */
    {"192.88.98.255", 0, 0},
    {"192.88.99.0", 1, 1},
    {"192.88.99.1", 1, 1},
    {"192.88.99.255", 1, 1},
    {"192.88.100.0", 0, 0},
    /* ::ffff:0:0:0/96: IPv4-translated (RFC 6052 / SIIT), reaches IPv4 through a translator */
    {"::ffff:0:0:0", 1, 1},
    {"::ffff:0:808:808", 1, 1},
    {"::ffff:0:7f00:1", 1, 1},
    {"::ffff:0:ffff:ffff", 1, 1},
    /* ::ffff:0:0/96: IPv4-mapped, judged as the IPv4 address it carries */
    {"::ffff:0.0.0.1", 1, 1},
    {"::ffff:192.88.99.1", 1, 1},
    {"::ffff:1.1.1.1", 0, 0},
    /* 2001:2::/48: benchmarking */
    {"2001:1:ffff:ffff:ffff:ffff:ffff:ffff", 0, 0},
    {"2001:2::", 1, 1},
    {"2001:2::1", 1, 1},
    {"2001:2:0:ffff:ffff:ffff:ffff:ffff", 1, 1},
    {"2001:2:1::", 0, 0},
    /* 2001:10::/28: ORCHID (deprecated), 2001:20::/28: ORCHIDv2 */
    {"2001:10::", 1, 1},
    {"2001:1f:ffff::1", 1, 1},
    {"2001:20::", 1, 1},
    {"2001:20::1", 1, 1},
    {"2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", 1, 1},
    {"2001:30::", 0, 0},
    /* 3fff::/20: documentation (RFC 9637) */
    {"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, 0},
    {"3fff::", 1, 1},
    {"3fff::1", 1, 1},
    {"3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", 1, 1},
    {"3fff:1000::", 0, 0},
    /* 5f00::/16: segment routing (SRv6) SIDs */
    {"5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, 0},
    {"5f00::", 1, 1},
    {"5f00:1:2::3", 1, 1},
    {"5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, 1},
    {"5f01::", 0, 0},
    /* 100::/64 discard-only, 100:0:0:1::/64 dummy prefix (RFC 9780) */
    {"100::1", 1, 1},
    {"100:0:0:1::1", 1, 1},
    {"100:0:0:2::1", 0, 0},
};

static void check_cases(const ip_case_t *cases, size_t n)
{
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) {
        const ip_case_t *c = &cases[i];
        const char *a = rw_ip_text_refusal(c->ip, 0);
        const char *b = rw_ip_text_refusal(c->ip, 1);
        if ((a != NULL) != c->refused) {
            print_error("%s: refused=%d (%s), want %d\n", c->ip, a != NULL, a ? a : "-",
                        c->refused);
            bad++;
        }
        if ((b != NULL) != c->refused_loopback) {
            print_error("%s with loopback allowed: refused=%d (%s), want %d\n", c->ip, b != NULL,
                        b ? b : "-", c->refused_loopback);
            bad++;
        }
        /* The same verdict through a sockaddr, as curl's open-socket callback sees it. */
        struct addrinfo hints;
        struct addrinfo *res = NULL;
        memset(&hints, 0, sizeof(hints));
        hints.ai_flags = AI_NUMERICHOST;
        assert_int_equal(getaddrinfo(c->ip, NULL, &hints, &res), 0);
        const char *s = rw_sockaddr_refusal(res->ai_addr, res->ai_addrlen, 0);
        if ((s != NULL) != c->refused) {
            print_error("%s via sockaddr: refused=%d, want %d\n", c->ip, s != NULL, c->refused);
            bad++;
        }
        freeaddrinfo(res);
    }
    if (bad > 0)
        fail_msg("%u verdicts differ", bad);
}

static void test_ip_table(void **state)
{
    (void)state;
    check_cases(ip_cases, IB_ARRAY_LEN(ip_cases));
}

/* Every failing case is listed before the test fails, so one run shows the whole gap. */
static void test_iana_registry(void **state)
{
    (void)state;
    check_cases(registry_cases, IB_ARRAY_LEN(registry_cases));
}

/* Every spelling of 127.0.0.1 and 169.254.169.254 that a resolver accepts ends up refused. */
static void test_ipv4_spellings(void **state)
{
    (void)state;
    static const char *const spellings[] = {
        "127.0.0.1",
        "2130706433",
        "0x7f000001",
        "0x7f.0x0.0x0.0x1",
        "0177.0.0.1",
        "017700000001",
        "127.1",
        "127.0.1",
        "0x7f.1",
        "0177.1",
        "169.254.43518",
        "2852039166",
        "0xa9fea9fe",
        "0251.0376.0251.0376",
        "0xa9.0xfe.0xa9.0xfe",
        "10.1",
        "0x0a000001",
        "0",
    };
    for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
        struct addrinfo hints;
        struct addrinfo *res = NULL;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_INET;
        hints.ai_flags = AI_NUMERICHOST;
        if (getaddrinfo(spellings[i], NULL, &hints, &res) != 0)
            fail_msg("%s: the resolver should accept this spelling", spellings[i]);
        if (rw_sockaddr_refusal(res->ai_addr, res->ai_addrlen, 0) == NULL)
            fail_msg("%s: not refused", spellings[i]);
        freeaddrinfo(res);
    }
}

static void test_sockaddr_edge(void **state)
{
    (void)state;
    struct sockaddr_in6 in6;
    memset(&in6, 0, sizeof(in6));
    in6.sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, "2606:4700::1", &in6.sin6_addr), 1);
    assert_null(rw_sockaddr_refusal((struct sockaddr *)&in6, sizeof(in6), 0));
    in6.sin6_scope_id = 2;
    assert_non_null(rw_sockaddr_refusal((struct sockaddr *)&in6, sizeof(in6), 0));
    struct sockaddr sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_family = AF_UNIX;
    assert_non_null(rw_sockaddr_refusal(&sa, sizeof(sa), 1));
    assert_non_null(rw_sockaddr_refusal(NULL, 0, 1));
    /* Too short for its family. */
    struct sockaddr_in in4;
    memset(&in4, 0, sizeof(in4));
    in4.sin_family = AF_INET;
    in4.sin_addr.s_addr = htonl(0x08080808u);
    assert_null(rw_sockaddr_refusal((struct sockaddr *)&in4, sizeof(in4), 0));
    assert_non_null(rw_sockaddr_refusal((struct sockaddr *)&in4, 4, 0));
    /* Text that is not an address. */
    assert_non_null(rw_ip_text_refusal("", 1));
    assert_non_null(rw_ip_text_refusal("example.com", 1));
    assert_non_null(rw_ip_text_refusal("2130706433", 1)); /* curl reports dotted quads only */
    assert_non_null(rw_ip_text_refusal(NULL, 1));
    assert_null(rw_ip_text_refusal("[2606:4700::1]", 0));
}

typedef struct {
    const char *url;
    int allow_http;
    int ok;
    const char *host;
    long port;
    int literal;
} url_case_t;

static void test_target_parse(void **state)
{
    (void)state;
    static const url_case_t cases[] = {
        {"https://groove-tech.workable.com/interviews/1", 0, 1, "groove-tech.workable.com", 443, 0},
        {"HTTPS://Groove-Tech.Workable.COM:8443/x", 0, 1, "groove-tech.workable.com", 8443, 0},
        {"http://a.workable.com/x", 0, 0, NULL, 0, 0},
        {"http://127.0.0.1:8099/x", 1, 1, "127.0.0.1", 8099, 1},
        {"http://2130706433/x", 1, 1, "127.0.0.1", 80, 1},
        {"http://0x7f.1/x", 1, 1, "127.0.0.1", 80, 1},
        {"https://[::1]/x", 0, 1, "[::1]", 443, 1},
        {"https://[::ffff:7f00:1]/x", 0, 1, "[::ffff:7f00:1]", 443, 1},
        {"https://user@a.workable.com/x", 0, 0, NULL, 0, 0},
        {"https://user:pw@a.workable.com/x", 0, 0, NULL, 0, 0},
        {"https://:pw@a.workable.com/x", 0, 0, NULL, 0, 0},
        {"https://[fe80::1%25eth0]/x", 0, 0, NULL, 0, 0},
        {"ftp://a.workable.com/x", 1, 0, NULL, 0, 0},
        {"file:///etc/passwd", 1, 0, NULL, 0, 0},
        {"gopher://a.workable.com/", 1, 0, NULL, 0, 0},
        {"//a.workable.com/x", 0, 0, NULL, 0, 0},
        {"/interviews/1", 0, 0, NULL, 0, 0},
        {"https://a.workable.com/x y", 0, 0, NULL, 0, 0},
        {"https://a.workable.com/x\r\nHost: evil", 0, 0, NULL, 0, 0},
        {"https://a.workable.com\t/x", 0, 0, NULL, 0, 0},
        {"", 0, 0, NULL, 0, 0},
        /* curl reads three slashes as two: the host is "x", judged by callback_hosts. */
        {"https:///x", 0, 1, "x", 443, 0},
        {"https://a.workable.com:99999/x", 0, 0, NULL, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const url_case_t *c = &cases[i];
        rw_target_t t;
        char err[200];
        ib_rc_t rc = rw_target_parse(c->url, c->allow_http, &t, err, sizeof(err));
        if ((rc == IB_OK) != c->ok)
            fail_msg("%s: ok=%d (%s), want %d", c->url, rc == IB_OK, rc == IB_OK ? "" : err, c->ok);
        if (!c->ok)
            continue;
        assert_string_equal(t.host, c->host);
        assert_int_equal(t.port, c->port);
        assert_int_equal(t.literal, c->literal);
    }
}

/* CALLBACK_ALLOWED_SUBNETS: parsing, and exceptions that open exactly their block. */
static void test_allowed_subnets(void **state)
{
    (void)state;
    char err[200];
    char text[200];
    rw_subnets_t l;

    assert_int_equal(rw_subnets_parse("", &l, err, sizeof(err)), IB_OK);
    assert_int_equal(l.n, 0);
    assert_int_equal(rw_subnets_parse(NULL, &l, err, sizeof(err)), IB_OK);
    assert_int_equal(l.n, 0);
    assert_int_equal(rw_subnets_parse("  ", &l, err, sizeof(err)), IB_OK);
    assert_int_equal(l.n, 0);
    static const char *const bad[] = {"10.0.0.1",     "10.0.0.0/33", "10.0.0.1/30", "fd00::1/64",
                                      "fd00::/129",   "host/24",     "10.0.0.0/",   "10.0.0.0/x",
                                      "10.0.0.0/8,,", "10.0.0.0/-1", ",10.0.0.0/8", "10.0.0.0/8 x"};
    for (size_t i = 0; i < IB_ARRAY_LEN(bad); i++) {
        err[0] = '\0';
        if (rw_subnets_parse(bad[i], &l, err, sizeof(err)) != IB_ERR)
            fail_msg("'%s' was accepted", bad[i]);
        assert_null(l.v);
        assert_int_equal(l.n, 0);
        assert_true(err[0] != '\0');
    }

    assert_int_equal(
        rw_subnets_parse(" 10.77.0.0/30 , fd00:1::/64,127.0.0.1/32", &l, err, sizeof(err)), IB_OK);
    assert_int_equal(l.n, 3);
    rw_subnets_format(&l, text, sizeof(text));
    assert_string_equal(text, "10.77.0.0/30,fd00:1::/64,127.0.0.1/32");

    /* Inside: admitted; just outside: the guard's refusal as before. */
    assert_null(rw_ip_text_verdict("10.77.0.2", 0, &l));
    assert_null(rw_ip_text_verdict("10.77.0.3", 0, &l));
    assert_non_null(rw_ip_text_verdict("10.77.0.4", 0, &l));
    assert_non_null(rw_ip_text_verdict("10.76.255.255", 0, &l));
    assert_null(rw_ip_text_verdict("::ffff:10.77.0.1", 0, &l));
    assert_null(rw_ip_text_verdict("[fd00:1::5]", 0, &l));
    assert_non_null(rw_ip_text_verdict("fd00:2::5", 0, &l));
    assert_null(rw_ip_text_verdict("127.0.0.1", 0, &l));
    assert_non_null(rw_ip_text_verdict("127.0.0.2", 0, &l));
    assert_null(rw_ip_text_verdict("8.8.8.8", 0, &l));
    assert_non_null(rw_ip_text_verdict("nonsense", 0, &l));
    /* Without exceptions the verdict is the refusal. */
    assert_non_null(rw_ip_text_verdict("10.77.0.2", 0, NULL));
    assert_null(rw_ip_text_verdict("127.0.0.2", 1, NULL));

    static const struct {
        const char *ip;
        int refused;
    } socks[] = {{"10.77.0.1", 0}, {"10.77.0.5", 1},        {"fd00:1::1", 0},
                 {"fd00:3::1", 1}, {"::ffff:10.77.0.2", 0}, {"169.254.169.254", 1}};
    for (size_t i = 0; i < IB_ARRAY_LEN(socks); i++) {
        struct addrinfo hints;
        struct addrinfo *res = NULL;
        memset(&hints, 0, sizeof(hints));
        hints.ai_flags = AI_NUMERICHOST;
        assert_int_equal(getaddrinfo(socks[i].ip, NULL, &hints, &res), 0);
        const char *why = rw_sockaddr_verdict(res->ai_addr, res->ai_addrlen, 0, &l);
        if ((why != NULL) != socks[i].refused)
            fail_msg("%s via sockaddr: refused=%d, want %d", socks[i].ip, why != NULL,
                     socks[i].refused);
        freeaddrinfo(res);
    }
    rw_subnets_free(&l);
    assert_null(l.v);
    rw_subnets_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_table),       cmocka_unit_test(test_iana_registry),
        cmocka_unit_test(test_ipv4_spellings), cmocka_unit_test(test_sockaddr_edge),
        cmocka_unit_test(test_target_parse),   cmocka_unit_test(test_allowed_subnets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
