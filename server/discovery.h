/*
 * Answering discovery (docs/protocol.md, "Server link", "Discovery"): a UDP
 * socket joined to the multicast group on every IPv4 interface that is up
 * (loopback included), answering well-formed queries by unicast with the
 * server's TCP port, at most 50 a second. Anything else is ignored.
 */
#ifndef SRV_DISCOVERY_H
#define SRV_DISCOVERY_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "net.h"

#define SRV_DISCOVERY_RATE 50 /* answers a second, at most */

struct srv_discovery;

/*
 * Join GROUP (an IPv4 multicast address and the UDP port) and answer for the
 * server listening on TCP port TCP_PORT, which wants a token when TOKEN is
 * 1. ONLY (network order) is the address the server listens on, or
 * INADDR_ANY: a query that arrived on another address is not answered (the
 * querier could not connect). NULL with ERR (ERRLEN bytes) saying why.
 */
struct srv_discovery *srv_discovery_new(const struct net_hostport *group, int tcp_port, int token, in_addr_t only,
					char *err, size_t errlen);
/* NULL is a no-op. */
void srv_discovery_free(struct srv_discovery *d);

/* The socket to poll for POLLIN. */
int srv_discovery_fd(const struct srv_discovery *d);

/* Read the datagrams waiting (a bounded number) and answer the queries among them. */
void srv_discovery_run(struct srv_discovery *d, int64_t now);

/*
 * The answer to datagram DGRAM (LEN bytes) for a server on TCP port PORT
 * wanting a token or not, written into OUT (OUTLEN bytes, NUL-terminated).
 * Returns its length, or -1 when DGRAM is not a well-formed query (or the
 * answer does not fit). Pure: no socket.
 */
int srv_discovery_answer(const char *dgram, size_t len, int port, int token, char *out, size_t outlen);

#endif
