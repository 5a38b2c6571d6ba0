/*
 * A connected peer: the socket side of a server link (server/conn.c is the
 * protocol side). Non-blocking reads and writes, the input not yet taken by
 * the protocol, and the three time limits of the contract: the hello, a
 * message stalled halfway, a reply left unread.
 */
#ifndef SRV_PEER_H
#define SRV_PEER_H

#include <stdint.h>

#include "conn.h"

struct srv_timeouts {
	int hello_ms;  /* from the connection to a hello done (10 s) */
	int stall_ms;  /* a message begun and no byte of it since (30 s) */
	int unread_ms; /* a reply waiting and no byte of it taken since (30 s) */
};

struct srv_peer;

/*
 * The peer on connected socket FD (non-blocking; the peer owns it from now
 * on and closes it), named NAME in logs, speaking the link as CFG says
 * (kept by pointer). NOW: the monotonic clock in ms.
 */
struct srv_peer *srv_peer_new(int fd, const struct srv_conn_config *cfg, const char *name, int64_t now);
/* Close the socket and free. NULL is a no-op. */
void srv_peer_free(struct srv_peer *p);

int srv_peer_fd(const struct srv_peer *p);
/* The link's protocol side. */
struct srv_conn *srv_peer_conn(struct srv_peer *p);
/* Take the socket away (a channel, handed over): the peer no longer closes it. */
int srv_peer_take_fd(struct srv_peer *p);
const char *srv_peer_name(const struct srv_peer *p);
/* When it connected (the NOW of srv_peer_new). */
int64_t srv_peer_since(const struct srv_peer *p);

/* The link's SRV_CONN_* flags (conn.h). */
unsigned srv_peer_flags(const struct srv_peer *p);

/* The poll events the peer waits for now (POLLIN, POLLOUT, or 0). */
short srv_peer_events(const struct srv_peer *p);

/*
 * Do what can be done: read if REVENTS says so and the link takes input,
 * hand the input to the protocol, write what is queued. 0 to go on, -1 when
 * the peer is done (closed, or an error, logged): free it.
 */
int srv_peer_run(struct srv_peer *p, short revents, int64_t now);

/*
 * Check the time limits at NOW: -1 (logged) when one has run out and the
 * peer must be freed, else 0 with *NEXT lowered to the next time the peer
 * must be looked at (if sooner).
 */
int srv_peer_timers(struct srv_peer *p, const struct srv_timeouts *t, int64_t now, int64_t *next);

#endif
