/* Unit tests of shared/src/url.c: the absolute-URL parse both services start from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ib/url.h"

static void test_absolute_urls_give_scheme_and_host(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        const char *scheme;
        const char *host;
    } ok[] = {
        {"https://example.com/cb", "https", "example.com"},
        {"HTTP://Example.COM:8080/x?y=1", "http", "Example.COM"},
        {"https://[::1]:443/", "https", "[::1]"},
        {"https://user:pw@10.0.0.1/", "https", "10.0.0.1"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ib_url_t p;
        assert_int_equal(ib_url_parse(ok[i].url, &p), IB_URL_OK);
        assert_non_null(p.u);
        assert_string_equal(p.scheme, ok[i].scheme);
        assert_string_equal(p.host, ok[i].host);
        ib_url_free(&p);
        assert_null(p.u);
        assert_null(p.scheme);
        assert_null(p.host);
    }
}

static void test_refusals_leave_nothing_to_free(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        ib_url_status_t st;
    } bad[] = {
        {"https://exa mple.com/", IB_URL_CONTROL},
        {"https://example.com/\t", IB_URL_CONTROL},
        {"https://example.com/\x7f", IB_URL_CONTROL},
        {"/relative/path", IB_URL_NOT_ABSOLUTE},
        {"example.com", IB_URL_NOT_ABSOLUTE},
        {"file:///etc/passwd", IB_URL_NOT_ABSOLUTE},
        {"", IB_URL_NOT_ABSOLUTE},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ib_url_t p;
        memset(&p, 0xa5, sizeof(p)); /* whatever was there is overwritten */
        assert_int_equal(ib_url_parse(bad[i].url, &p), bad[i].st);
        assert_null(p.u);
        assert_null(p.scheme);
        assert_null(p.host);
        ib_url_free(&p);
    }
    ib_url_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absolute_urls_give_scheme_and_host),
        cmocka_unit_test(test_refusals_leave_nothing_to_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
