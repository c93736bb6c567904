#include "ib/url.h"

#include <string.h>

ib_url_status_t ib_url_parse(const char *url, ib_url_t *out)
{
    ib_url_status_t st = IB_URL_NOT_ABSOLUTE;

    memset(out, 0, sizeof(*out));
    for (const char *p = url; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c == 0x7f)
            return IB_URL_CONTROL;
    }
    out->u = curl_url();
    if (out->u == NULL) {
        st = IB_URL_NO_MEMORY;
        goto fail;
    }
    if (curl_url_set(out->u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(out->u, CURLUPART_SCHEME, &out->scheme, 0) != CURLUE_OK ||
        curl_url_get(out->u, CURLUPART_HOST, &out->host, 0) != CURLUE_OK || out->host[0] == '\0')
        goto fail;
    return IB_URL_OK;
fail:
    ib_url_free(out);
    return st;
}

void ib_url_free(ib_url_t *url)
{
    if (url == NULL)
        return;
    curl_free(url->scheme);
    curl_free(url->host);
    curl_url_cleanup(url->u);
    memset(url, 0, sizeof(*url));
}
