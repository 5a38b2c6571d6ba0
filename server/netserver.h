/*
 * memtrace-server's network mode: one event loop (poll) that listens for
 * memtrace, answers discovery, dials out to a listening memtrace, and serves
 * every link at once, each as server/conn.c says. Decodes run beside the
 * loop, in the decode pool (server/pool.h), each thread with a decoder of
 * its own.
 */
#ifndef SRV_NETSERVER_H
#define SRV_NETSERVER_H

#include <signal.h>

#include "decode.h"
#include "net.h"
#include "peer.h"
#include "work.h"

#define SRV_MAX_CLIENTS 64 /* --max-clients' default */
/* --max-pending's default: connections before their hello, apart from the clients' places. */
#define SRV_MAX_PENDING 64
/* The budget of large messages of every peer at once (conn.h, SRV_LINK_LARGE). */
#define SRV_BUDGET (256u << 20)

struct srv_net_options {
	const struct net_hostport *listen;  /* NULL: do not listen */
	const struct net_hostport *connect; /* -c: dial this memtrace; NULL: none */
	const struct net_hostport *group;   /* discovery group; NULL: none (needs listen) */
	const char *token;		    /* NULL: none */
	int max_clients;		    /* links whose hello passed, at once */
	int max_pending;		    /* connections yet without a hello, at once (the oldest goes) */
	const struct srv_work_config *work; /* cores and gdb; NULL: refused */
	struct srv_timeouts timeouts;
	char *const *sysroots;		    /* the decode pool's decoders' (kept by pointer) */
	size_t n_sysroots;
	unsigned decode_threads;	    /* 0: one per core (server/pool.h) */
	const struct net_hostport *metrics; /* --metrics: serve /metrics there; NULL: none */
	int metrics_top;		    /* contexts a device on /metrics (server/metrics.h) */
	/*
	 * The program's, for only a program's main() touches signal
	 * dispositions: STOP is set by its SIGINT and SIGTERM handler (to the
	 * signal); WAIT_MASK is the mask the loop waits with (ppoll), the one
	 * the caller had before it blocked SIGINT and SIGTERM for the whole run
	 * (so a signal ends a wait, never a system call halfway; the decode
	 * pool's threads inherit the blocked mask). SIGPIPE is to be ignored.
	 */
	const volatile sig_atomic_t *stop;
	const sigset_t *wait_mask;
};

/*
 * Serve until *O->stop is set (SIGINT or SIGTERM); D (which opened the sysroots, so they are
 * known good) is not used by the loop itself. Says on stderr, whatever
 * the log level, "listening on ADDR:PORT" (the real port), "discovery on
 * GROUP:PORT" and, with O->metrics, "metrics on http://ADDR:PORT/metrics".
 * Returns the exit status: 0 when stopped by a signal, 1 when the listening
 * socket or the metrics' cannot be set up (logged). Discovery that cannot
 * be set up is a warning, and the server goes on without.
 */
int srv_net_run(const struct srv_net_options *o, struct srv_decoder *d);

#endif
