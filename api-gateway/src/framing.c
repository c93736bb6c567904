#include "framing.h"

#include <string.h>
#include <strings.h>

/* What the request's header lines say about its size and framing. */
typedef struct {
    size_t bytes; /* header names and values, with ": " and CRLF */
    unsigned content_length;
    unsigned transfer_encoding;
} header_scan_t;

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    header_scan_t *h = cls;
    (void)kind;
    (void)value;
    h->bytes += key_size + value_size + 4;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        h->content_length++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
        h->transfer_encoding++;
    return MHD_YES;
}

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
    header_scan_t hs = {0};

    memset(out, 0, sizeof(*out));
    if (strlen(req->url) > GW_URL_MAX || req->target_len > GW_URL_MAX) {
        out->status = 414;
        out->message = "URI Too Long";
        return;
    }
    MHD_get_connection_values_n(req->conn, MHD_HEADER_KIND, scan_header, &hs);
    if (hs.bytes > GW_HEADERS_MAX) {
        out->status = 431;
        out->message = "Request Header Fields Too Large";
        return;
    }
    if (hs.content_length > 1 || (hs.content_length > 0 && hs.transfer_encoding > 0)) {
        out->status = 400;
        out->message = "Bad Request: ambiguous message length (Content-Length repeated or with "
                       "Transfer-Encoding)";
        out->close = 1;
        return;
    }
    if (hs.transfer_encoding > 1 ||
        (hs.transfer_encoding == 1 &&
         !te_is_chunked(gw_request_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING)))) {
        out->status = 501;
        out->message = "Not Implemented: Transfer-Encoding other than chunked";
        out->close = 1;
    }
}
