/* bench/sink: the fast local callback sink of bench/run. One thread, epoll, HTTP/1.1 keep-alive
 * (and pipelining); every request outside /_ is answered 200 with an empty body and counted. A
 * body carrying "bench.invalid/t/<unix ns>" (the results_url that bench/ibload puts in status
 * events: the event's intended send time) adds a latency sample: receive time minus that time.
 *
 *   sink 127.0.0.1:PORT
 *   GET /_stats   {"count":N,"first_ns":..,"last_ns":..,"samples":S}
 *   GET /_lat     {"n":S,"p50_ms":..,"p99_ms":..,"p999_ms":..,"max_ms":..}; then forgets the
 *                 samples
 *   GET /_raw     the samples in arrival order, "<intended send time, unix ns> <latency ms>" a line
 *   GET /_reset   zeroes the count and the samples
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES (4u << 20)

typedef struct {
    int fd;
    char *in;
    size_t len, cap;
    char *out;
    size_t olen, ocap;
    int armed_out; /* EPOLLOUT registered */
} conn_t;

static unsigned long long count, first_ns, last_ns;
static double *samples;
static unsigned long long *sent_at; /* the intended send time of each sample, unix ns */
static size_t nsamples;

static unsigned long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void out_append(conn_t *c, const char *s, size_t n)
{
    if (c->olen + n > c->ocap) {
        c->ocap = (c->olen + n) * 2;
        c->out = realloc(c->out, c->ocap);
        if (!c->out)
            abort();
    }
    memcpy(c->out + c->olen, s, n);
    c->olen += n;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double p)
{
    if (nsamples == 0)
        return 0;
    size_t i = (size_t)(p * (double)(nsamples - 1) + 0.5);
    return samples[i];
}

static void reply_json(conn_t *c, const char *body)
{
    char hdr[128];
    int n =
        snprintf(hdr, sizeof hdr,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                 strlen(body));
    out_append(c, hdr, (size_t)n);
    out_append(c, body, strlen(body));
}

static void handle(conn_t *c, const char *req, size_t hlen, const char *body, size_t blen)
{
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    const char *sp = memchr(req, ' ', hlen);
    const char *path = sp ? sp + 1 : req;
    char buf[512];
    if (strncmp(path, "/_stats", 7) == 0) {
        snprintf(buf, sizeof buf,
                 "{\"count\":%llu,\"first_ns\":%llu,\"last_ns\":%llu,\"samples\":%zu}", count,
                 first_ns, last_ns, nsamples);
        reply_json(c, buf);
        return;
    }
    if (strncmp(path, "/_lat", 5) == 0) {
        qsort(samples, nsamples, sizeof *samples, cmpd);
        snprintf(buf, sizeof buf,
                 "{\"n\":%zu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f}",
                 nsamples, pct(0.5), pct(0.99), pct(0.999), nsamples ? samples[nsamples - 1] : 0.0);
        nsamples = 0;
        reply_json(c, buf);
        return;
    }
    if (strncmp(path, "/_raw", 5) == 0) {
        /* every sample in arrival order, "<intended send time, unix ns> <latency ms>" per line
         * (for looking at a run's timeline; /_lat sorts and forgets them) */
        size_t cap = nsamples * 40 + 1, len = 0;
        char *text = malloc(cap);
        if (!text)
            abort();
        text[0] = '\0';
        for (size_t i = 0; i < nsamples; i++)
            len += (size_t)snprintf(text + len, cap - len, "%llu %.3f\n", sent_at[i], samples[i]);
        char hdr[128];
        int n = snprintf(
            hdr, sizeof hdr,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n", len);
        out_append(c, hdr, (size_t)n);
        out_append(c, text, len);
        free(text);
        return;
    }
    if (strncmp(path, "/_reset", 7) == 0) {
        count = first_ns = last_ns = 0;
        nsamples = 0;
        reply_json(c, "{}");
        return;
    }
    unsigned long long t = now_ns();
    if (count++ == 0)
        first_ns = t;
    last_ns = t;
    const char *m = blen ? memmem(body, blen, "bench.invalid/t/", 16) : NULL;
    if (m && nsamples < MAX_SAMPLES) {
        unsigned long long sent = strtoull(m + 16, NULL, 10);
        if (sent && sent < t + 1000000000ull) {
            sent_at[nsamples] = sent;
            samples[nsamples++] = (double)(long long)(t - sent) / 1e6;
        }
    }
    out_append(c, ok, sizeof ok - 1);
}

/* Parses every complete request in c->in; returns 0, or -1 on a malformed request. */
static int parse(conn_t *c)
{
    size_t off = 0;
    for (;;) {
        char *h = c->in + off;
        size_t avail = c->len - off;
        char *end = avail >= 4 ? memmem(h, avail, "\r\n\r\n", 4) : NULL;
        if (!end)
            break;
        size_t hlen = (size_t)(end - h) + 4, clen = 0;
        for (char *p = h; p < end; p++) {
            if ((*p == '\n') && (size_t)(end - p) > 16 &&
                strncasecmp(p + 1, "content-length:", 15) == 0) {
                clen = strtoul(p + 16, NULL, 10);
                break;
            }
        }
        if (clen > (64u << 20))
            return -1;
        if (avail < hlen + clen)
            break;
        handle(c, h, hlen, h + hlen, clen);
        off += hlen + clen;
    }
    if (off) {
        memmove(c->in, c->in + off, c->len - off);
        c->len -= off;
    }
    return 0;
}

static int flush(conn_t *c)
{
    size_t done = 0;
    while (done < c->olen) {
        ssize_t n = send(c->fd, c->out + done, c->olen - done, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            return -1;
        }
        done += (size_t)n;
    }
    memmove(c->out, c->out + done, c->olen - done);
    c->olen -= done;
    return 0;
}

static void drop(int ep, conn_t *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

int main(int argc, char **argv)
{
    if (argc != 2 || !strchr(argv[1], ':')) {
        fprintf(stderr, "usage: sink HOST:PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    samples = malloc(MAX_SAMPLES * sizeof *samples);
    sent_at = malloc(MAX_SAMPLES * sizeof *sent_at);
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)(strchr(argv[1], ':') - argv[1]), argv[1]);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)atoi(strchr(argv[1], ':') + 1))};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return 2;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) || listen(ls, 4096)) {
        perror("sink: bind/listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conn_t *nc = calloc(1, sizeof *nc);
                    nc->fd = fd;
                    nc->cap = 16384;
                    nc->in = malloc(nc->cap);
                    struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            int bad = 0;
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                for (;;) {
                    if (c->len == c->cap) {
                        c->cap *= 2;
                        c->in = realloc(c->in, c->cap);
                    }
                    ssize_t r = recv(c->fd, c->in + c->len, c->cap - c->len, 0);
                    if (r > 0) {
                        c->len += (size_t)r;
                        continue;
                    }
                    if (r == 0)
                        bad = 1;
                    else if (errno != EAGAIN && errno != EINTR)
                        bad = 1;
                    break;
                }
                if (parse(c) < 0)
                    bad = 1;
            }
            if (!bad && flush(c) < 0)
                bad = 1;
            if (bad) {
                drop(ep, c);
                continue;
            }
            if ((c->olen != 0) != c->armed_out) { /* only when the interest changes */
                c->armed_out = c->olen != 0;
                struct epoll_event e = {
                    .events = EPOLLIN | EPOLLRDHUP | (c->armed_out ? EPOLLOUT : 0u), .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
            }
        }
    }
}
