#include "sender.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ib/log.h"
#include "ib/map.h"
#include "resolver.h"
#include "ssrf.h"

#define HOSTS_MIN     1024
#define DNS_FAIL_TTL  1000 /* ms a failed lookup is remembered, so a dead name is not hammered */
#define MAX_PINNED    16   /* addresses pinned per host */
#define EASY_POOL_MAX 256
#define RESOLVERS     4      /* names resolved at once; one slow name holds one of them */
#define HOSTS_MAX     10000  /* host states kept at once */
#define HOST_IDLE_MS  600000 /* a host unused this long (breaker closed) is forgotten */
#define SWEEP_MS      10000

STAILQ_HEAD(rw_send_queue, rw_send);

struct rw_host {
    TAILQ_ENTRY(rw_host) ready; /* hosts with waiters */
    int in_ready;
    char *key; /* "scheme://host:port" */
    rw_target_t target;
    /* Resolution cache: pins ("host:port:a,b"), or a refusal, or a lookup failure. */
    char *pins;
    char refusal[200];
    char dns_error[160];
    long long dns_expires;
    int resolving;       /* a resolver thread has its name */
    long long last_used; /* monotonic ms of the last submit */
    unsigned inflight;
    struct rw_send_queue wait;
    size_t waiting;
    rw_breaker_t breaker;
};

struct rw_sender {
    rw_sender_opts_t opts;
    CURLM *multi;
    CURLSH *share;
    rw_send_done_fn *done;
    void *opaque;
    ib_map_t *hosts; /* key ("scheme://host:port") -> rw_host_t */
    TAILQ_HEAD(, rw_host) ready;
    struct rw_send_queue completed; /* finished, done callback not yet run */
    LIST_HEAD(, rw_send) live;      /* in flight */
    size_t inflight;
    size_t queued;
    CURL *pool[EASY_POOL_MAX];
    size_t pool_len;
    rw_resolver_t *resolver;
    long long next_sweep;
    struct curl_blob ca_blob; /* system bundle + CALLBACK_CA_FILE, when that is set */
};

static const void *host_key(const void *item, size_t *len)
{
    const rw_host_t *h = item;
    *len = strlen(h->key);
    return h->key;
}

static void complete(rw_sender_t *s, rw_send_t *x, rw_outcome_t outcome)
{
    x->d.outcome = outcome;
    STAILQ_INSERT_TAIL(&s->completed, x, link);
}

static void drain_completed(rw_sender_t *s)
{
    rw_send_t *x;
    while ((x = STAILQ_FIRST(&s->completed)) != NULL) {
        STAILQ_REMOVE_HEAD(&s->completed, link);
        s->done(x, s->opaque);
    }
}

/* Fails x without a transfer: outcome with a reason in d.error. */
static void fail_now(rw_sender_t *s, rw_send_t *x, rw_outcome_t outcome, const char *why)
{
    x->d.curl_code = CURLE_OK;
    x->d.http_status = 0;
    x->d.retry_after_ms = 0;
    x->d.elapsed_ms = 0;
    x->d.excerpt[0] = '\0';
    snprintf(x->d.error, sizeof(x->d.error), "%s", why);
    if (outcome == RW_OUTCOME_PERMANENT)
        snprintf(x->d.refused, sizeof(x->d.refused), "%.150s", why);
    else
        x->d.refused[0] = '\0';
    complete(s, x, outcome);
}

/* Appends the whole file at path to *buf (size *len, capacity *cap). */
static ib_rc_t append_file(const char *path, char **buf, size_t *len, size_t *cap, char *errstr,
                           size_t errstr_size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(errstr, errstr_size, "cannot read %.200s: %s", path, strerror(errno));
        return IB_ERR;
    }
    for (;;) {
        if (*cap - *len < 4096) {
            size_t ncap = *cap * 2 + 65536;
            char *grown = realloc(*buf, ncap);
            if (grown == NULL) {
                fclose(f);
                snprintf(errstr, errstr_size, "out of memory");
                return IB_ERR;
            }
            *buf = grown;
            *cap = ncap;
        }
        size_t n = fread(*buf + *len, 1, *cap - *len - 1, f);
        *len += n;
        if (n == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        snprintf(errstr, errstr_size, "cannot read %.200s", path);
        return IB_ERR;
    }
    (*buf)[(*len)++] = '\n'; /* a file without a final newline must not glue two PEM lines */
    return IB_OK;
}

/* CALLBACK_CA_FILE adds trust anchors: CURLOPT_CAINFO would replace curl's bundle, so the
 * system bundle and the file are read once into one PEM blob that every transfer borrows
 * (CURLOPT_CAINFO_BLOB, not copied). The file must hold at least one certificate. */
static ib_rc_t ca_blob_build(rw_sender_t *s, const char *ca_file, char *errstr, size_t errstr_size)
{
    char *buf = NULL;
    char why[240];
    size_t len = 0;
    size_t cap = 0;
    const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
    const char *system =
        vi != NULL && vi->cainfo != NULL ? vi->cainfo : "/etc/ssl/certs/ca-certificates.crt";

    if (append_file(system, &buf, &len, &cap, errstr, errstr_size) != IB_OK)
        goto fail;
    size_t mark = len;
    if (append_file(ca_file, &buf, &len, &cap, why, sizeof(why)) != IB_OK) {
        snprintf(errstr, errstr_size, "CALLBACK_CA_FILE: %s", why);
        goto fail;
    }
    buf[len] = '\0';
    if (strstr(buf + mark, "-----BEGIN CERTIFICATE-----") == NULL) {
        snprintf(errstr, errstr_size, "CALLBACK_CA_FILE: %.200s holds no PEM certificate", ca_file);
        goto fail;
    }
    s->ca_blob.data = buf;
    s->ca_blob.len = len;
    s->ca_blob.flags = CURL_BLOB_NOCOPY;
    s->opts.delivery.ca_blob = &s->ca_blob;
    return IB_OK;
fail:
    free(buf);
    return IB_ERR;
}

rw_sender_t *rw_sender_new(const rw_sender_opts_t *opts, rw_send_done_fn *done, void *opaque,
                           char *errstr, size_t errstr_size)
{
    rw_sender_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        goto fail;
    s->opts = *opts;
    if (s->opts.max_inflight == 0)
        s->opts.max_inflight = 1;
    if (s->opts.per_host == 0)
        s->opts.per_host = 1;
    s->done = done;
    s->opaque = opaque;
    TAILQ_INIT(&s->ready);
    STAILQ_INIT(&s->completed);
    LIST_INIT(&s->live);
    s->hosts = ib_map_new(host_key, HOSTS_MIN);
    s->multi = curl_multi_init();
    s->share = curl_share_init();
    if (s->hosts == NULL || s->multi == NULL || s->share == NULL)
        goto fail;
    s->resolver = rw_resolver_new(RESOLVERS, errstr, errstr_size);
    if (s->resolver == NULL)
        goto fail;
    /* One thread uses the share, so no lock callbacks are needed. */
    if (curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
        curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK)
        goto fail;
    s->opts.delivery.share = s->share;
    s->opts.delivery.ca_blob = NULL;
    if (s->opts.delivery.ca_file != NULL && s->opts.delivery.ca_file[0] != '\0' &&
        ca_blob_build(s, s->opts.delivery.ca_file, errstr, errstr_size) != IB_OK) {
        rw_sender_free(s);
        return NULL;
    }
    CURLMcode mc = CURLM_OK;
    mc |= curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)s->opts.per_host);
    mc |= curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)s->opts.max_inflight);
    mc |= curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)s->opts.max_inflight * 2L);
    if (mc != CURLM_OK)
        goto fail;
    return s;
fail:
    snprintf(errstr, errstr_size, "cannot create the curl multi engine");
    rw_sender_free(s);
    return NULL;
}

static int host_free(void *item, void *arg)
{
    rw_host_t *h = item;
    (void)arg;
    free(h->key);
    free(h->pins);
    free(h);
    return 1;
}

void rw_sender_free(rw_sender_t *s)
{
    if (s == NULL)
        return;
    if (s->hosts != NULL) {
        rw_sender_abort(s, NULL, NULL);
        drain_completed(s);
        ib_map_remove_if(s->hosts, host_free, NULL);
        ib_map_free(s->hosts);
    }
    for (size_t i = 0; i < s->pool_len; i++)
        curl_easy_cleanup(s->pool[i]);
    if (s->multi != NULL)
        curl_multi_cleanup(s->multi);
    if (s->share != NULL)
        curl_share_cleanup(s->share);
    rw_resolver_free(s->resolver);
    free(s->ca_blob.data);
    free(s);
}

typedef struct {
    long long now;
    long long idle_ms;
} sweep_arg_t;

static int host_idle(void *item, void *arg)
{
    rw_host_t *h = item;
    const sweep_arg_t *a = arg;
    if (h->inflight > 0 || h->waiting > 0 || h->in_ready || h->resolving ||
        a->now - h->last_used < a->idle_ms ||
        rw_breaker_state(&h->breaker, a->now) != RW_BREAKER_CLOSED)
        return 0;
    return host_free(h, NULL);
}

/* Forgets hosts with nothing to do, unused for idle_ms, whose breaker is closed. */
static void sweep(rw_sender_t *s, long long now, long long idle_ms)
{
    sweep_arg_t a = {now, idle_ms};
    ib_map_remove_if(s->hosts, host_idle, &a);
}

static rw_host_t *host_get(rw_sender_t *s, const rw_target_t *t, char *errstr, size_t errstr_size)
{
    char key[320];
    snprintf(key, sizeof(key), "%s://%s:%ld", t->https ? "https" : "http", t->host, t->port);
    rw_host_t *h = ib_map_get(s->hosts, key, strlen(key));
    if (h != NULL)
        return h;
    if (ib_map_count(s->hosts) >= HOSTS_MAX)
        sweep(s, ib_now_ms(), 0);
    if (ib_map_count(s->hosts) >= HOSTS_MAX) {
        snprintf(errstr, errstr_size, "more than %d callback hosts busy at once", HOSTS_MAX);
        return NULL;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL || (h->key = strdup(key)) == NULL || ib_map_put(s->hosts, h, NULL) != IB_OK) {
        if (h != NULL)
            free(h->key);
        free(h);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    h->target = *t;
    STAILQ_INIT(&h->wait);
    return h;
}

static void ready_push(rw_sender_t *s, rw_host_t *h)
{
    if (h->in_ready || STAILQ_EMPTY(&h->wait))
        return;
    h->in_ready = 1;
    TAILQ_INSERT_TAIL(&s->ready, h, ready);
}

void rw_sender_submit(rw_sender_t *s, rw_send_t *x)
{
    char why[200];
    rw_target_t t;

    x->host = NULL;
    x->easy = NULL;
    x->resolve = NULL;
    x->queued = 0;
    x->retry_at = 0;
    x->d.refused[0] = '\0';
    if (rw_target_parse(x->d.url, s->opts.delivery.allow_http, &t, why, sizeof(why)) != IB_OK) {
        fail_now(s, x, RW_OUTCOME_PERMANENT, why);
        return;
    }
    rw_host_t *h = host_get(s, &t, why, sizeof(why));
    if (h == NULL) {
        fail_now(s, x, RW_OUTCOME_TRANSIENT, why);
        return;
    }
    h->last_used = ib_now_ms();
    x->host = h;
    x->queued = 1;
    STAILQ_INSERT_TAIL(&h->wait, x, link);
    h->waiting++;
    s->queued++;
    ready_push(s, h);
}

static rw_send_t *host_pop(rw_sender_t *s, rw_host_t *h)
{
    rw_send_t *x = STAILQ_FIRST(&h->wait);
    if (x == NULL)
        return NULL;
    STAILQ_REMOVE_HEAD(&h->wait, link);
    x->queued = 0;
    h->waiting--;
    s->queued--;
    return x;
}

/* Vets every address of a lookup's answer (res: borrowed; gai: getaddrinfo's code) and caches
 * the verdict in h for DNS_TTL: pins, or a refusal (permanent), or a lookup failure (transient,
 * DNS_FAIL_TTL). */
static void host_apply(rw_sender_t *s, rw_host_t *h, int gai, const struct addrinfo *res,
                       long long now)
{
    int allow_loopback = s->opts.delivery.allow_http;
    free(h->pins);
    h->pins = NULL;
    h->refusal[0] = '\0';
    h->dns_error[0] = '\0';
    if (gai != 0) {
        snprintf(h->dns_error, sizeof(h->dns_error), "cannot resolve %.100s: %s", h->target.host,
                 gai_strerror(gai));
        h->dns_expires = now + DNS_FAIL_TTL;
        return;
    }
    char pins[MAX_PINNED * (INET6_ADDRSTRLEN + 3) + 300];
    int n = snprintf(pins, sizeof(pins), "%s:%ld:", h->target.host, h->target.port);
    size_t len = n > 0 ? (size_t)n : 0;
    unsigned pinned = 0;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        char text[INET6_ADDRSTRLEN];
        const void *raw = NULL;
        const char *why = rw_sockaddr_verdict(ai->ai_addr, ai->ai_addrlen, allow_loopback,
                                              s->opts.delivery.allowed);
        if (ai->ai_family == AF_INET)
            raw = &((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;
        else if (ai->ai_family == AF_INET6)
            raw = &((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr;
        if (raw == NULL || inet_ntop(ai->ai_family, raw, text, sizeof(text)) == NULL)
            snprintf(text, sizeof(text), "?");
        if (why != NULL) {
            /* One bad answer spoils the name: a rebinding attacker mixes good and bad ones. */
            snprintf(h->refusal, sizeof(h->refusal), "%.100s resolves to %s: refused: %s",
                     h->target.host, text, why);
            break;
        }
        if (pinned >= MAX_PINNED)
            continue;
        int m = snprintf(pins + len, sizeof(pins) - len, "%s%s%s%s", pinned ? "," : "",
                         ai->ai_family == AF_INET6 ? "[" : "", text,
                         ai->ai_family == AF_INET6 ? "]" : "");
        if (m > 0 && (size_t)m < sizeof(pins) - len) {
            len += (size_t)m;
            pinned++;
        }
    }
    h->dns_expires = now + s->opts.dns_ttl_ms;
    if (h->refusal[0] != '\0')
        return;
    if (pinned == 0) {
        snprintf(h->dns_error, sizeof(h->dns_error), "%.100s has no usable address",
                 h->target.host);
        return;
    }
    h->pins = strdup(pins);
    if (h->pins == NULL) {
        snprintf(h->dns_error, sizeof(h->dns_error), "out of memory");
        h->dns_expires = now;
    }
}

/* h's resolution, cached for DNS_TTL: IB_OK with h->pins set (NULL for a literal host, which is
 * vetted as it is); IB_ERR with h->refusal (permanent) or h->dns_error (transient) set;
 * IB_AGAIN while a resolver thread looks the name up (asked here when needed): h is made ready
 * again when the answer is applied. */
static ib_rc_t host_resolve(rw_sender_t *s, rw_host_t *h, long long now)
{
    if (now < h->dns_expires)
        return h->refusal[0] == '\0' && h->dns_error[0] == '\0' ? IB_OK : IB_ERR;
    if (h->target.literal) {
        free(h->pins);
        h->pins = NULL;
        h->dns_error[0] = '\0';
        h->refusal[0] = '\0';
        const char *why = rw_ip_text_verdict(h->target.host, s->opts.delivery.allow_http,
                                             s->opts.delivery.allowed);
        if (why != NULL)
            snprintf(h->refusal, sizeof(h->refusal), "callback address %.60s refused: %.100s",
                     h->target.host, why);
        h->dns_expires = now + s->opts.dns_ttl_ms;
        return why == NULL ? IB_OK : IB_ERR;
    }
    if (h->resolving)
        return IB_AGAIN;
    if (rw_resolver_submit(s->resolver, h->key, h->target.host) != IB_OK) {
        host_apply(s, h, EAI_MEMORY, NULL, now);
        return IB_ERR;
    }
    h->resolving = 1;
    return IB_AGAIN;
}

/* Applies the answers the resolver threads have ready. */
static void take_answers(rw_sender_t *s)
{
    rw_resolved_t a;
    while (rw_resolver_take(s->resolver, &a)) {
        rw_host_t *h = ib_map_get(s->hosts, a.key, strlen(a.key));
        if (h != NULL && h->resolving) {
            h->resolving = 0;
            host_apply(s, h, a.gai, a.res, ib_now_ms());
            ready_push(s, h);
        }
        rw_resolved_clear(&a);
    }
}

static CURL *easy_get(rw_sender_t *s)
{
    if (s->pool_len > 0) {
        CURL *e = s->pool[--s->pool_len];
        curl_easy_reset(e);
        return e;
    }
    return curl_easy_init();
}

static void easy_put(rw_sender_t *s, CURL *e)
{
    if (s->pool_len < EASY_POOL_MAX)
        s->pool[s->pool_len++] = e;
    else
        curl_easy_cleanup(e);
}

/* Starts x (already popped from its host's queue). */
static void start(rw_sender_t *s, rw_send_t *x, long long now)
{
    char why[200];
    if (x == NULL)
        return;
    rw_host_t *h = x->host;
    ib_rc_t rc = host_resolve(s, h, now);
    if (rc == IB_AGAIN) {
        /* Never sent unpinned: back to the head of its queue until the answer is vetted. */
        x->queued = 1;
        STAILQ_INSERT_HEAD(&h->wait, x, link);
        h->waiting++;
        s->queued++;
        return;
    }
    if (rc != IB_OK) {
        if (h->refusal[0] != '\0') {
            fail_now(s, x, RW_OUTCOME_PERMANENT, h->refusal);
        } else {
            rw_breaker_failure(&h->breaker, &s->opts.breaker, now);
            fail_now(s, x, RW_OUTCOME_TRANSIENT, h->dns_error);
        }
        return;
    }
    if (h->pins != NULL) {
        x->resolve = curl_slist_append(NULL, h->pins);
        if (x->resolve == NULL) {
            rw_breaker_abandon(&h->breaker);
            fail_now(s, x, RW_OUTCOME_TRANSIENT, "out of memory");
            return;
        }
    }
    x->d.resolve = x->resolve;
    x->easy = easy_get(s);
    if (x->easy == NULL ||
        rw_delivery_prepare(x->easy, &x->d, &s->opts.delivery, why, sizeof(why)) != IB_OK ||
        curl_multi_add_handle(s->multi, x->easy) != CURLM_OK) {
        if (x->easy != NULL) {
            rw_delivery_finish(x->easy, &x->d, CURLE_FAILED_INIT);
            easy_put(s, x->easy);
            x->easy = NULL;
        } else {
            snprintf(why, sizeof(why), "cannot create a curl handle");
        }
        curl_slist_free_all(x->resolve);
        x->resolve = NULL;
        rw_breaker_abandon(&h->breaker);
        fail_now(s, x, RW_OUTCOME_TRANSIENT, why);
        return;
    }
    h->inflight++;
    s->inflight++;
    LIST_INSERT_HEAD(&s->live, x, live);
}

/* Starts queued attempts while the caps allow, one per host per round for fairness. */
static void pump(rw_sender_t *s)
{
    long long now = ib_now_ms();
    int progress = 1;
    while (progress && !TAILQ_EMPTY(&s->ready) && s->inflight < s->opts.max_inflight) {
        progress = 0;
        rw_host_t *h = TAILQ_FIRST(&s->ready);
        while (h != NULL && s->inflight < s->opts.max_inflight) {
            rw_host_t *next = TAILQ_NEXT(h, ready);
            int drop = STAILQ_EMPTY(&h->wait);
            if (!drop && h->inflight < s->opts.per_host && host_resolve(s, h, now) == IB_AGAIN) {
                /* Out of the round until its name is resolved (take_answers). */
                drop = 1;
            } else if (!drop && h->inflight < s->opts.per_host) {
                long long retry_at = 0;
                if (rw_breaker_allow(&h->breaker, now, &retry_at)) {
                    start(s, host_pop(s, h), now);
                    progress = 1;
                } else if (retry_at > 0) {
                    /* Open: everything waiting goes back to the caller (retry topic). */
                    rw_send_t *x;
                    while ((x = host_pop(s, h)) != NULL) {
                        x->retry_at = retry_at;
                        fail_now(s, x, RW_OUTCOME_DEFERRED, "circuit breaker open");
                    }
                }
                /* else: half-open with the probe in flight; wait for its verdict. */
                drop = STAILQ_EMPTY(&h->wait);
            }
            if (drop) {
                h->in_ready = 0;
                TAILQ_REMOVE(&s->ready, h, ready);
            }
            h = next;
        }
    }
}

static void finish(rw_sender_t *s, rw_send_t *x, CURLcode cc, int aborted)
{
    rw_host_t *h = x->host;
    long long now = ib_now_ms();
    LIST_REMOVE(x, live);
    curl_multi_remove_handle(s->multi, x->easy);
    rw_outcome_t o = rw_delivery_finish(x->easy, &x->d, cc);
    easy_put(s, x->easy);
    x->easy = NULL;
    curl_slist_free_all(x->resolve);
    x->resolve = NULL;
    x->d.resolve = NULL;
    h->inflight--;
    s->inflight--;
    if (aborted) {
        rw_breaker_abandon(&h->breaker);
        o = RW_OUTCOME_ABORTED;
    } else if (o == RW_OUTCOME_TRANSIENT) {
        rw_breaker_failure(&h->breaker, &s->opts.breaker, now);
    } else if (x->d.refused[0] == '\0') {
        rw_breaker_success(&h->breaker); /* 2xx or a definite 4xx: the host is up */
    } else {
        rw_breaker_abandon(&h->breaker);
    }
    complete(s, x, o);
    ready_push(s, h);
}

void rw_sender_run(rw_sender_t *s, int timeout_ms, int wake_fd)
{
    struct curl_waitfd extra[2];
    unsigned nextra = 0;
    int running = 0;
    int left = 0;
    CURLMsg *msg;

    pump(s);
    if (!STAILQ_EMPTY(&s->completed))
        timeout_ms = 0;
    memset(extra, 0, sizeof(extra));
    extra[nextra].fd = rw_resolver_fd(s->resolver);
    extra[nextra++].events = CURL_WAIT_POLLIN;
    if (wake_fd >= 0) {
        extra[nextra].fd = wake_fd;
        extra[nextra++].events = CURL_WAIT_POLLIN;
    }
    curl_multi_poll(s->multi, extra, nextra, timeout_ms < 0 ? 0 : timeout_ms, NULL);
    take_answers(s);
    curl_multi_perform(s->multi, &running);
    while ((msg = curl_multi_info_read(s->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        rw_send_t *x = NULL;
        CURL *easy = msg->easy_handle;
        CURLcode cc = msg->data.result;
        if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)(void *)&x) != CURLE_OK || x == NULL)
            continue;
        finish(s, x, cc, 0);
    }
    /* Completions first (they may submit the next state of an interview), then the freed slots
     * are refilled and the new requests written now, not after the caller's round of intake. */
    drain_completed(s);
    size_t before = s->inflight;
    pump(s);
    if (s->inflight > before)
        curl_multi_perform(s->multi, &running);
    drain_completed(s);
    long long now = ib_now_ms();
    if (now >= s->next_sweep) {
        sweep(s, now, HOST_IDLE_MS);
        s->next_sweep = now + SWEEP_MS;
    }
}

void rw_sender_abort(rw_sender_t *s, int (*pred)(void *owner, void *arg), void *arg)
{
    size_t pos = 0;
    rw_host_t *h;
    rw_send_t *x;
    rw_send_t *next;
    while ((h = ib_map_next(s->hosts, &pos)) != NULL) {
        /* Queued: unlink the matching ones, keep the others in their order. */
        struct rw_send_queue keep = STAILQ_HEAD_INITIALIZER(keep);
        while ((x = host_pop(s, h)) != NULL) {
            if (pred == NULL || pred(x->owner, arg))
                fail_now(s, x, RW_OUTCOME_ABORTED, "aborted");
            else
                STAILQ_INSERT_TAIL(&keep, x, link);
        }
        while ((x = STAILQ_FIRST(&keep)) != NULL) {
            STAILQ_REMOVE_HEAD(&keep, link);
            x->queued = 1;
            STAILQ_INSERT_TAIL(&h->wait, x, link);
            h->waiting++;
            s->queued++;
        }
    }
    for (x = LIST_FIRST(&s->live); x != NULL; x = next) {
        next = LIST_NEXT(x, live);
        if (pred == NULL || pred(x->owner, arg))
            finish(s, x, CURLE_ABORTED_BY_CALLBACK, 1);
    }
    drain_completed(s);
}

size_t rw_sender_inflight(const rw_sender_t *s)
{
    return s->inflight;
}

size_t rw_sender_queued(const rw_sender_t *s)
{
    return s->queued;
}

void rw_sender_each_host(const rw_sender_t *s, long long now,
                         void (*fn)(const char *host, rw_breaker_state_t st, void *arg), void *arg)
{
    size_t pos = 0;
    const rw_host_t *h;
    while ((h = ib_map_next(s->hosts, &pos)) != NULL)
        fn(h->key, rw_breaker_state(&h->breaker, now), arg);
}
