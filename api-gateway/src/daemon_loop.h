/* Runs a libmicrohttpd daemon started with MHD_USE_EPOLL and no internal thread from a thread of
 * our own (daemon_loop.c says why), and wakes it when another thread resumes a connection. */
#ifndef GW_DAEMON_LOOP_H
#define GW_DAEMON_LOOP_H

#include <stddef.h>

#include <microhttpd.h>

#include "ib/common.h"

typedef struct gw_daemon_loop gw_daemon_loop_t;

/* Starts the thread that runs daemon (borrowed; it must outlive gw_daemon_loop_stop). NULL with
 * errstr on failure. */
gw_daemon_loop_t *gw_daemon_loop_start(struct MHD_Daemon *daemon, char *errstr,
                                       size_t errstr_size) IB_WUR;
/* Makes the thread call MHD_run() soon: needed after MHD_resume_connection() and
 * MHD_quiesce_daemon(), which signal no one with an external loop. Any thread; accepts NULL. */
void gw_daemon_loop_wake(gw_daemon_loop_t *loop);
/* A connection closed (from MHD's connection notification, on the loop's thread): the next round
 * runs at once. Accepts NULL. */
void gw_daemon_loop_closed(gw_daemon_loop_t *loop);
/* Stops and joins the thread: no MHD_run() after it returns. Idempotent; accepts NULL. */
void gw_daemon_loop_stop(gw_daemon_loop_t *loop);
/* Stops (if still running) and frees. Accepts NULL. A wake must not race with it. */
void gw_daemon_loop_free(gw_daemon_loop_t *loop);

#endif
