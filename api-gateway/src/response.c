/* The transport's responses (server.h): every one carries Cache-Control: no-store and the request
 * id, and Connection: close while the server drains. */
#include <stdlib.h>
#include <string.h>

#include "ib/jsonw.h"
#include "server.h"

#define ERROR_BODY_STORAGE 512

static enum MHD_Result queue_text(gw_request_t *req, unsigned int status, const char *content_type,
                                  char *text, size_t len, const char *header, const char *value)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (req->request_id[0] != '\0')
        MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    if (header != NULL && value != NULL)
        MHD_add_response_header(resp, header, value);
    if (gw_server_draining(req->srv))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES)
        req->status = status;
    return ret;
}

enum MHD_Result gw_respond_text(gw_request_t *req, unsigned int status, const char *content_type,
                                char *text, size_t len)
{
    return queue_text(req, status, content_type, text, len, NULL, NULL);
}

enum MHD_Result gw_respond_json(gw_request_t *req, unsigned int status, json_t *body,
                                const char *header, const char *value)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL)
        return MHD_NO;
    return queue_text(req, status, "application/json", text, strlen(text), header, value);
}

enum MHD_Result gw_respond_error(gw_request_t *req, unsigned int status, const char *message,
                                 const char *header, const char *value)
{
    char storage[ERROR_BODY_STORAGE];
    ib_jw_t w;
    size_t len = 0;

    ib_jw_init(&w, storage, sizeof(storage));
    IB_JW_LIT(&w, "{\"status\":");
    ib_jw_int(&w, status);
    IB_JW_LIT(&w, ",\"message\":");
    ib_jw_str(&w, message, strlen(message));
    IB_JW_LIT(&w, "}");
    char *text = ib_jw_take(&w, &len);
    ib_jw_free(&w);
    if (text == NULL)
        return MHD_NO;
    return queue_text(req, status, "application/json", text, len, header, value);
}

enum MHD_Result gw_reject(gw_request_t *req, unsigned int status, const char *message,
                          const char *header, const char *value)
{
    const char *cl = gw_request_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = gw_request_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    const char *expect = gw_request_header(req, MHD_HTTP_HEADER_EXPECT);
    unsigned long long len = cl != NULL ? strtoull(cl, NULL, 10) : 0;
    int body_follows = te != NULL || len > 0;

    if (!body_follows || expect != NULL || len > GW_DISCARD_MAX)
        return gw_respond_error(req, status, message, header, value);
    req->deferred_status = status;
    req->deferred_message = message;
    req->deferred_header = header;
    req->deferred_value = value;
    return MHD_YES;
}
