/*
 * memtrace-server -c HOST[:PORT]: dialing out to a memtrace that listens
 * (memtrace --listen), again and again. The connect (name lookup included)
 * runs in a thread of its own, so that a slow name server or an address
 * that does not answer never holds up the event loop; the thread only
 * connects and hands the socket over through a pipe.
 */
#ifndef SRV_DIALER_H
#define SRV_DIALER_H

#include <stdint.h>

#include "net.h"

struct srv_dialer;

/* A dialer for HP (copied), idle until srv_dialer_tick. NULL (logged) when no pipe or thread can be had. */
struct srv_dialer *srv_dialer_new(const struct net_hostport *hp);
/* NULL is a no-op. A connect under way is abandoned (its socket is closed when it ends). */
void srv_dialer_free(struct srv_dialer *d);

/* "HOST:PORT" as dialed. */
const char *srv_dialer_name(const struct srv_dialer *d);

/* The descriptor to poll for POLLIN while a connect is under way, else -1. */
int srv_dialer_fd(const struct srv_dialer *d);

/*
 * At NOW, with no link up: start a connect when it is time. Lowers *NEXT
 * to the next time it must be called (if sooner).
 */
void srv_dialer_tick(struct srv_dialer *d, int64_t now, int64_t *next);

/*
 * srv_dialer_fd() is readable: the connect ended. Returns the connected
 * socket (non-blocking; the caller owns it), or -1 when it failed (logged
 * when the failure is new) and the next try is planned.
 */
int srv_dialer_result(struct srv_dialer *d, int64_t now);

/*
 * The link ended at NOW: dial again after a second, or later when it ended
 * because the hello was refused (REFUSED: 1), which will not change soon.
 */
void srv_dialer_link_ended(struct srv_dialer *d, int64_t now, int refused);

#endif
