#include "ib/callback_url.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "ib/url.h"

static IB_PRINTF(3, 4) void set_why(char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;
    if (why == NULL || why_size == 0)
        return;
    va_start(ap, fmt);
    /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): false positive, ap started above */
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
}

const char *ib_callback_url_verdict_name(ib_callback_url_verdict_t v)
{
    switch (v) {
    case IB_CALLBACK_URL_OK:
        return "ok";
    case IB_CALLBACK_URL_MALFORMED:
        return "malformed";
    case IB_CALLBACK_URL_USERINFO:
        return "userinfo";
    case IB_CALLBACK_URL_SCHEME:
        return "scheme";
    case IB_CALLBACK_URL_HOST:
        return "host";
    case IB_CALLBACK_URL_LOOPBACK:
        return "loopback";
    case IB_CALLBACK_URL_PORT:
        return "port";
    }
    return "unknown";
}

int ib_callback_host_is_loopback(const char *host)
{
    char buf[IB_CALLBACK_URL_HOST_MAX + 1];
    unsigned char addr[16];
    size_t len = strlen(host);

    if (len == 0 || len >= sizeof(buf))
        return 0;
    if (strcasecmp(host, "localhost") == 0 ||
        (len > 10 && strcasecmp(host + len - 10, ".localhost") == 0))
        return 1;
    if (inet_pton(AF_INET, host, addr) == 1)
        return addr[0] == 127 || (addr[0] | addr[1] | addr[2] | addr[3]) == 0;
    if (host[0] == '[' && host[len - 1] == ']') {
        memcpy(buf, host + 1, len - 2);
        buf[len - 2] = '\0';
        char *zone = strchr(buf, '%');
        if (zone != NULL)
            *zone = '\0';
        if (inet_pton(AF_INET6, buf, addr) != 1)
            return 0;
        static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        int zero_prefix = 1;
        for (int i = 0; i < 15; i++)
            if (addr[i] != 0)
                zero_prefix = 0;
        if (zero_prefix && (addr[15] == 1 || addr[15] == 0)) /* ::1 and :: */
            return 1;
        if (memcmp(addr, v4mapped, sizeof(v4mapped)) == 0)
            return addr[12] == 127 || (addr[12] | addr[13] | addr[14] | addr[15]) == 0;
    }
    return 0;
}

ib_callback_url_verdict_t ib_callback_url_check(const char *url, const ib_tenant_t *tenant,
                                                int insecure, ib_callback_url_t *out, char *why,
                                                size_t why_size)
{
    static const char not_url[] = "callback_url should be an absolute URL";
    ib_callback_url_verdict_t v = IB_CALLBACK_URL_MALFORMED;
    ib_callback_url_t cu;
    ib_url_t pu = {0};
    char *port = NULL;
    char *part = NULL;
    struct in_addr a4;
    int explicit_port = 0;

    memset(&cu, 0, sizeof(cu));
    if (url == NULL || url[0] == '\0') {
        set_why(why, why_size, not_url);
        goto done;
    }
    if (strlen(url) > IB_CALLBACK_URL_MAX) {
        set_why(why, why_size, "callback_url should be at most %d characters", IB_CALLBACK_URL_MAX);
        goto done;
    }
    /* Spaces and control characters (CR/LF would split the request line) are refused before
     * curl reads the URL; then it must be absolute with a non-empty host. */
    switch (ib_url_parse(url, &pu)) {
    case IB_URL_OK:
        break;
    case IB_URL_NO_MEMORY:
        set_why(why, why_size, "out of memory");
        goto done;
    case IB_URL_CONTROL:
    case IB_URL_NOT_ABSOLUTE:
    default:
        set_why(why, why_size, not_url);
        goto done;
    }
    CURLU *u = pu.u;
    const char *scheme = pu.scheme;
    const char *host = pu.host;
    if (curl_url_get(u, CURLUPART_USER, &part, 0) != CURLUE_NO_USER ||
        curl_url_get(u, CURLUPART_PASSWORD, &part, 0) != CURLUE_NO_PASSWORD ||
        curl_url_get(u, CURLUPART_OPTIONS, &part, 0) != CURLUE_NO_OPTIONS) {
        v = IB_CALLBACK_URL_USERINFO;
        set_why(why, why_size, "callback_url must not contain user information");
        goto done;
    }
    if (curl_url_get(u, CURLUPART_ZONEID, &part, 0) != CURLUE_NO_ZONEID) {
        set_why(why, why_size, "callback_url must not carry an IPv6 zone id");
        goto done;
    }
    if (strlen(host) > IB_CALLBACK_URL_HOST_MAX) {
        set_why(why, why_size, "callback_url host should be at most %d characters",
                IB_CALLBACK_URL_HOST_MAX);
        goto done;
    }
    if (strcasecmp(scheme, "https") == 0) {
        cu.https = 1;
    } else if (!(insecure && strcasecmp(scheme, "http") == 0)) {
        v = IB_CALLBACK_URL_SCHEME;
        set_why(why, why_size, "callback_url should use https");
        goto done;
    }
    explicit_port = curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK;
    curl_free(port);
    port = NULL;
    if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        set_why(why, why_size, not_url);
        goto done;
    }
    cu.port = strtol(port, NULL, 10);
    if (cu.port <= 0 || cu.port > 65535) {
        set_why(why, why_size, "callback_url port should be 1 to 65535");
        goto done;
    }
    memcpy(cu.host, host, strlen(host) + 1);
    for (char *p = cu.host; *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    cu.literal = cu.host[0] == '[' || inet_pton(AF_INET, cu.host, &a4) == 1;

    if (tenant != NULL) {
        int loopback = ib_callback_host_is_loopback(cu.host);
        if (!ib_tenant_host_allowed(tenant, cu.host)) {
            v = IB_CALLBACK_URL_HOST;
            set_why(why, why_size, "callback_url host is not allowed for this account");
            goto done;
        }
        if (!insecure && loopback) {
            v = IB_CALLBACK_URL_LOOPBACK;
            set_why(why, why_size, "callback_url must not point to a loopback address");
            goto done;
        }
        /* A URL naming no port, or its scheme's own, is the plain case. */
        long scheme_port = cu.https ? 443 : 80;
        if (explicit_port && cu.port != scheme_port && !ib_tenant_port_allowed(tenant, cu.port) &&
            !(insecure && loopback)) {
            v = IB_CALLBACK_URL_PORT;
            set_why(why, why_size, "callback_url port %ld is not allowed for this account",
                    cu.port);
            goto done;
        }
    }
    v = IB_CALLBACK_URL_OK;
    if (out != NULL)
        *out = cu;
done:
    curl_free(part);
    curl_free(port);
    ib_url_free(&pu);
    return v;
}
