#include "delivery.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssrf.h"

const char *rw_outcome_name(rw_outcome_t o)
{
    switch (o) {
    case RW_OUTCOME_SUCCESS:
        return "success";
    case RW_OUTCOME_TRANSIENT:
        return "transient";
    case RW_OUTCOME_PERMANENT:
        return "permanent";
    case RW_OUTCOME_DEFERRED:
        return "deferred";
    case RW_OUTCOME_ABORTED:
        return "aborted";
    }
    return "unknown";
}

rw_outcome_t rw_delivery_classify(CURLcode cc, long http_status, int body_capped)
{
    /* A response over the cap is judged by its status: the answer is in, only the body is cut. */
    int capped = (cc == CURLE_WRITE_ERROR && body_capped) || cc == CURLE_FILESIZE_EXCEEDED;
    if (cc != CURLE_OK && !(capped && http_status > 0)) {
        switch (cc) {
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_NOT_BUILT_IN:
            /* The URL itself is unusable: no retry will change that. */
            return RW_OUTCOME_PERMANENT;
        default:
            /* DNS, connect, TLS, timeouts, resets, partial answers, our own OOM. */
            return RW_OUTCOME_TRANSIENT;
        }
    }
    if (http_status >= 200 && http_status <= 299)
        return RW_OUTCOME_SUCCESS;
    if (http_status == 408 || http_status == 425 || http_status == 429)
        return RW_OUTCOME_TRANSIENT;
    if (http_status >= 300 && http_status <= 499)
        return RW_OUTCOME_PERMANENT; /* 3xx: redirects are never followed */
    /* 5xx, and anything that is not HTTP as we know it (0, 1xx, >= 600). */
    return RW_OUTCOME_TRANSIENT;
}

void rw_delivery_describe(const rw_delivery_t *job, char *buf, size_t size)
{
    if (job->refused[0] != '\0')
        snprintf(buf, size, "%s", job->refused);
    else if (job->curl_code != CURLE_OK && job->http_status == 0)
        snprintf(buf, size, "%s", job->error[0] != '\0' ? job->error : "transport error");
    else
        snprintf(buf, size, "HTTP %ld", job->http_status);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    rw_delivery_t *job = userdata;
    size_t n = size * nmemb;
    size_t have = strlen(job->excerpt);
    for (size_t i = 0; i < n && have < RW_EXCERPT_LEN; i++, have++) {
        unsigned char c = (unsigned char)data[i];
        /* Excerpts go into JSON logs: keep them printable ASCII. */
        job->excerpt[have] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
    }
    job->excerpt[have] = '\0';
    job->body_seen += n;
    if (job->body_seen > RW_RESPONSE_CAP) {
        job->body_capped = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    return n;
}

/* The address curl is about to connect to, checked again: DNS answers may change between our
 * resolution and the connect, and the pinned list is not the only way in. */
static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose,
                                    struct curl_sockaddr *address)
{
    rw_delivery_t *job = clientp;
    (void)purpose;
    const char *why = rw_sockaddr_verdict(&address->addr, (size_t)address->addrlen,
                                          job->allow_loopback, job->allowed);
    if (why != NULL) {
        snprintf(job->refused, sizeof(job->refused), "connect address refused: %s", why);
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}

/* Runs on every transfer right before the request is sent, on a new or a reused connection. */
static int on_prereq(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                     int conn_primary_port, int conn_local_port)
{
    rw_delivery_t *job = clientp;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    const char *why = rw_ip_text_verdict(conn_primary_ip, job->allow_loopback, job->allowed);
    if (why != NULL) {
        snprintf(job->refused, sizeof(job->refused), "connected address refused: %s", why);
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

static void release_headers(rw_delivery_t *job)
{
    /* The Authorization line is a secret: wipe curl's copy before freeing it. */
    for (struct curl_slist *h = job->headers; h != NULL; h = h->next)
        explicit_bzero(h->data, strlen(h->data));
    curl_slist_free_all(job->headers);
    job->headers = NULL;
}

static int header_safe(const char *s)
{
    for (const char *p = s; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return 0;
    }
    return 1;
}

ib_rc_t rw_delivery_prepare(CURL *easy, rw_delivery_t *job, const rw_delivery_opts_t *opts,
                            char *errstr, size_t errstr_size)
{
    ib_rc_t rc = IB_ERR;
    char *auth = NULL;
    struct curl_slist *h;
    size_t auth_size;

    job->outcome = RW_OUTCOME_TRANSIENT;
    job->curl_code = CURLE_OK;
    job->http_status = 0;
    job->retry_after_ms = 0;
    job->elapsed_ms = 0;
    job->error[0] = '\0';
    job->excerpt[0] = '\0';
    job->refused[0] = '\0';
    job->allow_loopback = opts->allow_http;
    job->allowed = opts->allowed;
    job->headers = NULL;
    job->body_seen = 0;
    job->body_capped = 0;
    job->started_ms = ib_now_ms();

    if (!header_safe(job->token)) {
        snprintf(errstr, errstr_size, "the tenant's workable_token contains control characters");
        goto fail;
    }
    auth_size = strlen("Authorization: Bearer ") + strlen(job->token) + 1;
    auth = malloc(auth_size);
    if (auth == NULL)
        goto oom;
    snprintf(auth, auth_size, "Authorization: Bearer %s", job->token);
    h = curl_slist_append(NULL, auth);
    if (h == NULL)
        goto oom;
    job->headers = h;
    /* "Expect:" disables 100-continue; the body is small and sent at once. */
    static const char *const fixed[] = {"Content-Type: application/json",
                                        "Accept: application/json", "Expect:"};
    for (size_t i = 0; i < IB_ARRAY_LEN(fixed); i++) {
        h = curl_slist_append(job->headers, fixed[i]);
        if (h == NULL)
            goto oom;
        job->headers = h;
    }

    /* Option results are checked as one: any failure means a curl built without what we need. */
    CURLcode cc = CURLE_OK;
    cc |= curl_easy_setopt(easy, CURLOPT_URL, job->url);
    cc |= curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, opts->allow_http ? "http,https" : "https");
    cc |= curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    cc |= curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    cc |= curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "PUT");
    cc |= curl_easy_setopt(easy, CURLOPT_POSTFIELDS, job->body);
    cc |= curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)job->body_len);
    cc |= curl_easy_setopt(easy, CURLOPT_HTTPHEADER, job->headers);
    cc |= curl_easy_setopt(easy, CURLOPT_USERAGENT, "interview-bridge-results-worker/0.1");
    cc |= curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, opts->timeout_ms);
    cc |= curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, opts->connect_timeout_ms);
    cc |= curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    cc |= curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    cc |= curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    cc |= curl_easy_setopt(easy, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    cc |= curl_easy_setopt(easy, CURLOPT_UNRESTRICTED_AUTH, 0L);
    cc |= curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    cc |= curl_easy_setopt(easy, CURLOPT_WRITEDATA, job);
    cc |= curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, job->error);
    cc |= curl_easy_setopt(easy, CURLOPT_PRIVATE, job);
    cc |= curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    cc |= curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, job);
    cc |= curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, on_prereq);
    cc |= curl_easy_setopt(easy, CURLOPT_PREREQDATA, job);
    cc |= curl_easy_setopt(easy, CURLOPT_COOKIEFILE, NULL);
    cc |= curl_easy_setopt(easy, CURLOPT_PROXY, "");
    cc |= curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)RW_RESPONSE_CAP);
    cc |= curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    if (job->resolve != NULL)
        cc |= curl_easy_setopt(easy, CURLOPT_RESOLVE, job->resolve);
    if (opts->share != NULL)
        cc |= curl_easy_setopt(easy, CURLOPT_SHARE, opts->share);
    if (opts->ca_blob != NULL)
        cc |= curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, opts->ca_blob);
    if (cc != CURLE_OK) {
        snprintf(errstr, errstr_size, "curl_easy_setopt failed (libcurl lacks a feature)");
        goto fail;
    }
    rc = IB_OK;
    goto done;
oom:
    snprintf(errstr, errstr_size, "out of memory");
fail:
    release_headers(job);
done:
    if (auth != NULL) {
        explicit_bzero(auth, auth_size);
        free(auth);
    }
    return rc;
}

rw_outcome_t rw_delivery_finish(CURL *easy, rw_delivery_t *job, CURLcode cc)
{
    long status = 0;
    curl_off_t retry_after = 0;

    job->curl_code = cc;
    if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        status = 0;
    job->http_status = status;
    if ((status == 429 || status == 503) &&
        curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
        job->retry_after_ms = retry_after > 86400 ? 86400000L : (long)retry_after * 1000L;
    if (cc != CURLE_OK && job->error[0] == '\0')
        snprintf(job->error, sizeof(job->error), "%s", curl_easy_strerror(cc));
    job->outcome = rw_delivery_classify(cc, status, job->body_capped);
    if (job->refused[0] != '\0') {
        /* Our own refusal (SSRF guard): no retry changes where the name points to us. */
        job->outcome = RW_OUTCOME_PERMANENT;
        snprintf(job->error, sizeof(job->error), "%s", job->refused);
    }
    job->elapsed_ms = ib_now_ms() - job->started_ms;
    release_headers(job);
    /* The error buffer and the job must not outlive this attempt inside the handle. */
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, NULL);
    return job->outcome;
}
