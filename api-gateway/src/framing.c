#include "framing.h"

#include <string.h>
#include <strings.h>

/* "chunked", the one transfer coding we read (RFC 9112 6.1; OWS around it allowed). */
static int te_is_chunked(const char *te)
{
    static const char chunked[] = "chunked";
    if (te == NULL)
        return 0;
    while (*te == ' ' || *te == '\t')
        te++;
    if (strncasecmp(te, chunked, sizeof(chunked) - 1) != 0)
        return 0;
    te += sizeof(chunked) - 1;
    while (*te == ' ' || *te == '\t')
        te++;
    return *te == '\0';
}

void gw_framing_check(const gw_request_t *req, gw_framing_t *out)
{
    static const char *const framing_headers[] = {MHD_HTTP_HEADER_CONTENT_LENGTH,
                                                  MHD_HTTP_HEADER_TRANSFER_ENCODING};
    unsigned counts[IB_ARRAY_LEN(framing_headers)];

    memset(out, 0, sizeof(*out));
    if (strlen(req->url) > GW_URL_MAX || req->target_len > GW_URL_MAX) {
        out->status = 414;
        out->message = "URI Too Long";
        return;
    }
    size_t bytes =
        gw_request_headers_scan(req, framing_headers, counts, IB_ARRAY_LEN(framing_headers));
    unsigned content_length = counts[0];
    unsigned transfer_encoding = counts[1];
    if (bytes > GW_HEADERS_MAX) {
        out->status = 431;
        out->message = "Request Header Fields Too Large";
        return;
    }
    if (content_length > 1 || (content_length > 0 && transfer_encoding > 0)) {
        out->status = 400;
        out->message = "Bad Request: ambiguous message length (Content-Length repeated or with "
                       "Transfer-Encoding)";
        out->close = 1;
        return;
    }
    if (transfer_encoding > 1 ||
        (transfer_encoding == 1 &&
         !te_is_chunked(gw_request_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING)))) {
        out->status = 501;
        out->message = "Not Implemented: Transfer-Encoding other than chunked";
        out->close = 1;
    }
}
