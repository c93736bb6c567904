#include "daemon_loop.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "ib/log.h"

struct gw_daemon_loop {
    struct MHD_Daemon *daemon;
    int epoll_fd;            /* MHD's, watched by loop_main */
    int wake_fd;             /* eventfd: wakes loop_main (a resume to process, or stop) */
    atomic_int wake_pending; /* wake_fd written and not yet read: further wakes need no write */
    atomic_int stop;
    atomic_int conn_closed; /* a connection closed during this MHD_run() */
    pthread_t thread;
    int started;
};

/* Our own thread runs the daemon, instead of MHD_USE_EPOLL_INTERNAL_THREAD, because of a
 * libmicrohttpd 0.9.75 bug that stalls the internal epoll thread. Its MHD_epoll() drains the
 * epoll set with `while (128 == num_events) epoll_wait(.., 128, timeout)`, passing the same
 * timeout to every call. When exactly 128 (or 256, ...) connections are ready at once, the call
 * after the last full batch finds nothing and blocks for the whole timeout (up to the connection
 * timeout, GATEWAY_IDLE_TIMEOUT), with the batches already fetched unprocessed and the edge-
 * triggered sockets silent from then on: every connection sits with its request unread until some
 * new event (a new connection, a client giving up, a resume) wakes the thread. With 128 or 256
 * busy keep-alive clients this happens at once (GET /interview-templates at 256 connections: ~100
 * req/s instead of ~12,000; 127 connections never hit it). POST hid it: every Kafka ack resumes a
 * connection and so wakes the loop.
 *
 * MHD_run() runs the same MHD_epoll() with a zero timeout, so its drain loop never blocks; the
 * wait happens here, in poll() on MHD's epoll descriptor (readable while any of its descriptors is
 * ready) for at most MHD_get_timeout() (0 while MHD still has ready connections to serve). The
 * wake_fd, polled with it, brings the loop round after MHD_resume_connection() from other threads
 * (gw_daemon_loop_wake) and for stopping. */
static void *loop_main(void *arg)
{
    gw_daemon_loop_t *loop = arg;
    struct pollfd fds[2];
    int again = 0;

    fds[0].fd = loop->epoll_fd;
    fds[0].events = POLLIN;
    fds[1].fd = loop->wake_fd;
    fds[1].events = POLLIN;
    while (!atomic_load(&loop->stop)) {
        MHD_UNSIGNED_LONG_LONG timeout;
        int ms = -1;
        if (again)
            ms = 0;
        else if (MHD_get_timeout(loop->daemon, &timeout) == MHD_YES)
            ms = timeout > (MHD_UNSIGNED_LONG_LONG)INT_MAX ? INT_MAX : (int)timeout;
        if (poll(fds, IB_ARRAY_LEN(fds), ms) < 0 && errno != EINTR) {
            IB_ERROR("poll on the HTTP daemon: %s", strerror(errno));
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (atomic_load(&loop->stop))
            break;
        if (fds[1].revents & POLLIN) {
            uint64_t count; /* reset before MHD_run: a later wake brings us round again */
            if (read(loop->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
                IB_ERROR("read on the HTTP loop's eventfd: %s", strerror(errno));
            /* Cleared after the read, never before: a wake between a clear and the read would
             * have its write consumed here yet leave the flag set, and every later wake would
             * skip its write (lost wake-ups: test_gateway_concurrency). Cleared here, a wake
             * that saw the flag set resumed before this point and is served by the MHD_run
             * below; one after it writes again. */
            atomic_store(&loop->wake_pending, 0);
        }
        /* The round's access log lines leave in a few writes, right after it. */
        ib_log_batch_begin();
        MHD_run(loop->daemon);
        ib_log_batch_end();
        /* At the connection limit MHD takes its listen socket out of the epoll set, and puts it
         * back only at the start of the run after a connection closed: run again at once rather
         * than wait with the listen socket out of the set (a queued client would wait until
         * some other event). */
        again = atomic_exchange(&loop->conn_closed, 0);
    }
    return NULL;
}

gw_daemon_loop_t *gw_daemon_loop_start(struct MHD_Daemon *daemon, char *errstr, size_t errstr_size)
{
    gw_daemon_loop_t *loop = calloc(1, sizeof(*loop));
    if (loop == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    loop->daemon = daemon;
    atomic_init(&loop->wake_pending, 0);
    atomic_init(&loop->stop, 0);
    atomic_init(&loop->conn_closed, 0);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_EPOLL_FD);
    loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (di == NULL || loop->wake_fd < 0) {
        snprintf(errstr, errstr_size, "cannot set up the HTTP event loop");
        goto fail;
    }
    loop->epoll_fd = di->epoll_fd;
    if (pthread_create(&loop->thread, NULL, loop_main, loop) != 0) {
        snprintf(errstr, errstr_size, "cannot start the HTTP thread");
        goto fail;
    }
    loop->started = 1;
    return loop;
fail:
    gw_daemon_loop_free(loop);
    return NULL;
}

void gw_daemon_loop_wake(gw_daemon_loop_t *loop)
{
    uint64_t one = 1;
    if (loop == NULL)
        return;
    /* Coalesced: under load many reports arrive between two rounds of the loop, and one write
     * brings it round for all of them (loop_main clears the flag after it reads the eventfd and
     * before it runs MHD, so a wake after the clear writes again, and one before it is served by
     * that run). */
    if (atomic_exchange(&loop->wake_pending, 1) != 0)
        return;
    if (loop->wake_fd >= 0)
        while (write(loop->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
            ;
}

void gw_daemon_loop_closed(gw_daemon_loop_t *loop)
{
    if (loop != NULL)
        atomic_store(&loop->conn_closed, 1);
}

void gw_daemon_loop_stop(gw_daemon_loop_t *loop)
{
    if (loop == NULL || !loop->started)
        return;
    atomic_store(&loop->stop, 1);
    gw_daemon_loop_wake(loop);
    pthread_join(loop->thread, NULL);
    loop->started = 0;
}

void gw_daemon_loop_free(gw_daemon_loop_t *loop)
{
    if (loop == NULL)
        return;
    gw_daemon_loop_stop(loop);
    if (loop->wake_fd >= 0)
        close(loop->wake_fd);
    free(loop);
}
