#include "http.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ib/config.h"
#include "ib/log.h"

struct rw_http {
    struct MHD_Daemon *daemon;
    rw_metrics_t *m;
};

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned int status, const char *type,
                               const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    enum MHD_Result ret = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (ret == MHD_YES)
        ret = MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (ret == MHD_YES)
        ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_json(struct MHD_Connection *conn, unsigned int status,
                                    const char *body)
{
    return respond(conn, status, "application/json", body, strlen(body));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    rw_http_t *h = cls;
    (void)version;
    (void)upload_data;

    /* First call per request: come back once headers and any body are in. */
    if (*req_cls == NULL) {
        *req_cls = h;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0; /* bodies are ignored, never buffered */
        return MHD_YES;
    }
    int known =
        strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 || strcmp(url, "/metrics") == 0;
    if (!known)
        return respond_json(conn, MHD_HTTP_NOT_FOUND, "{\"status\":404,\"message\":\"Not Found\"}");
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        struct MHD_Response *r = MHD_create_response_from_buffer(
            strlen("{\"status\":405,\"message\":\"Method Not Allowed\"}"),
            (void *)(uintptr_t) "{\"status\":405,\"message\":\"Method Not Allowed\"}",
            MHD_RESPMEM_PERSISTENT);
        if (r == NULL)
            return MHD_NO;
        enum MHD_Result ret = MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        if (ret == MHD_YES)
            ret = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        if (ret == MHD_YES)
            ret = MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (strcmp(url, "/healthz") == 0)
        return respond_json(conn, MHD_HTTP_OK, "{\"status\":\"ok\"}");
    if (strcmp(url, "/readyz") == 0) {
        if (atomic_load(&h->m->ready))
            return respond_json(conn, MHD_HTTP_OK, "{\"status\":\"ready\"}");
        return respond_json(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                            atomic_load(&h->m->assigned) > 0
                                ? "{\"status\":\"catching up\"}"
                                : "{\"status\":\"no partitions assigned\"}");
    }
    size_t len = 0;
    char *text = rw_metrics_render(h->m, &len);
    if (text == NULL)
        return respond_json(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                            "{\"status\":503,\"message\":\"out of memory\"}");
    enum MHD_Result ret = respond(conn, MHD_HTTP_OK, "text/plain; version=0.0.4", text, len);
    free(text);
    return ret;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    IB_WARN("microhttpd: %s", line);
}

rw_http_t *rw_http_start(const ib_listen_t *listen, rw_metrics_t *m, char *errstr,
                         size_t errstr_size)
{
    rw_http_t *h = calloc(1, sizeof(*h));

    if (h == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    h->m = m;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (listen->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The logger goes first, or MHD logs the options before it to stderr. */
    h->daemon = MHD_start_daemon(
        flags, listen->port, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
        NULL, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&listen->addr,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)64, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)16, MHD_OPTION_END);
    if (h->daemon == NULL) {
        snprintf(errstr, errstr_size, "WORKER_LISTEN: cannot listen on %s", listen->text);
        goto fail;
    }
    return h;
fail:
    rw_http_stop(h);
    return NULL;
}

void rw_http_stop(rw_http_t *h)
{
    if (h == NULL)
        return;
    if (h->daemon != NULL)
        MHD_stop_daemon(h->daemon);
    free(h);
}
