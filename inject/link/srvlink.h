/*
 * memtrace's link to memtrace-server (docs/protocol.md, "Server link"):
 * dial a server (--connect, or one found with --multicast) or wait for one
 * to dial in (--listen), say hello, and have reports decoded on the host.
 *
 * The link is never needed: whenever it cannot be had or breaks, a warning
 * says so once and reports stay raw. Nothing here waits without a deadline.
 */
#ifndef INJ_SRVLINK_H
#define INJ_SRVLINK_H

#include <cjson/cJSON.h>
#include <poll.h>
#include <stdint.h>

#include "net.h"

enum inj_link_mode {
	INJ_LINK_NONE,
	INJ_LINK_CONNECT,	/* --connect HOST[:PORT] */
	INJ_LINK_MULTICAST,	/* --multicast[=GROUP[:PORT]] */
	INJ_LINK_LISTEN,	/* --listen ADDR[:PORT] */
};

struct inj_link_opts {
	enum inj_link_mode mode;
	struct net_hostport addr;	/* the server, the discovery group, or where to listen */
	char *token;			/* --token / --token-file (malloc'ed), or NULL */
};

/* File descriptors the link may want polled at once (listener, link, dial-ins). */
#define INJ_LINK_MAX_FDS 6

struct inj_link;

/*
 * A link as OPTS say (copied; the token is copied too) for the traced
 * process PID running PROGRAM (both go in the hello). NULL when OPTS->mode
 * is INJ_LINK_NONE. Never fails otherwise (memory runs out: memtrace exits).
 */
struct inj_link *inj_link_new(const struct inj_link_opts *opts, int pid, const char *program);

/*
 * First attempt, within BUDGET_MS: dial and say hello (--connect,
 * --multicast), or open the listening socket (--listen; prints the address
 * on stderr unless -q). 0, or -1 with a warning saying reports stay raw.
 */
int inj_link_start(struct inj_link *l, int budget_ms);

/* Say bye when linked, close every socket, free L. NULL is a no-op. */
void inj_link_free(struct inj_link *l);

/*
 * REPORT (a public report, not consumed) decoded by the server: a new
 * report the caller deletes. NULL when there is no server to ask (L NULL,
 * or not linked after a retry) or it could not decode: the caller prints
 * REPORT raw. Unlinked with --connect/--multicast, it first tries to link
 * again, at most once every 10 s. A link that fails here (closed, error,
 * no reply within 60 s, garbled reply) is dropped with one warning.
 */
cJSON *inj_link_decode(struct inj_link *l, const cJSON *report);

/* 1 when linked now (unlinked --connect/--multicast try again first, as for decode). */
int inj_link_linked(struct inj_link *l);

/*
 * Send request CMD with the members of ARGS (taken; may be NULL). Its id,
 * or -1 logged (not linked, or the link broke: it is dropped).
 */
long inj_link_send(struct inj_link *l, const char *cmd, cJSON *args);

/*
 * The reply to request ID, within TIMEOUT_MS (caller deletes; "ok" may be
 * false). NULL logged when the link broke or went silent (it is dropped).
 */
cJSON *inj_link_wait(struct inj_link *l, long id, int timeout_ms);

/*
 * A channel: a second connection to the linked server, said hello to with
 * a new random KEY (KLEN > NET_CHANNEL_KEY bytes) that a request then
 * names; raw bytes from now on. The blocking socket, or -1 logged (only a
 * link memtrace dialed has channels).
 */
int inj_link_channel(struct inj_link *l, char *key, size_t klen);

/* The link's state for `status` (without "server: "), in BUF. Returns BUF. L may be NULL. */
const char *inj_link_describe(const struct inj_link *l, char *buf, size_t len);

/*
 * For the event loop: fill PFD (room for INJ_LINK_MAX_FDS) with what the
 * link waits on; returns how many. *TIMEOUT_MS (-1: none) is lowered to
 * the link's next deadline (a dial-in's hello). L may be NULL (0).
 */
int inj_link_pollfds(struct inj_link *l, struct pollfd *pfd, int64_t now_ms, int *timeout_ms);

/* Serve the N entries inj_link_pollfds filled, after poll(): dial-ins, hellos, a closed link. */
void inj_link_serve(struct inj_link *l, const struct pollfd *pfd, int n);

#endif
