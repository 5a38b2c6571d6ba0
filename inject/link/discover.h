/*
 * Finding a memtrace-server on the local network with UDP multicast
 * (docs/protocol.md, "Discovery"). Private to the server link (srvlink.c).
 */
#ifndef INJ_DISCOVER_H
#define INJ_DISCOVER_H

#include <stddef.h>

#include "net.h"

/* Answers kept from one discovery: a server on several networks answers on each. */
#define INJ_FOUND_MAX 4

struct inj_found {
	struct net_hostport server;	/* the answer's source address, at its TCP port */
	char version[32];
	int token;			/* the server wants a token */
};

/*
 * Ask GROUP (an IPv4 multicast group and UDP port) on every IPv4 interface
 * that is up, loopback included. Queries go out every 500 ms, three times
 * at most, and the wait ends after TOTAL_MS in all. The first answer to
 * this query ends it, with those that come in the next 50 ms (the same
 * server answering on another network, which may not be where it listens).
 * Returns how many answers are in FOUND (1 to INJ_FOUND_MAX), first first,
 * or -1 with ERR saying why.
 */
int inj_discover(const struct net_hostport *group, int total_ms, struct inj_found found[INJ_FOUND_MAX], char *err,
		 size_t errlen);

#endif
