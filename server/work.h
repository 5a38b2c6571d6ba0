/*
 * A peer's gdb work: the requests that drive gdb (docs/protocol.md, "Cores
 * and gdb") run in a thread of their own per peer, so that opening a core,
 * or a `finish` that waits for the program, never holds up the event loop
 * and the other peers. The loop hands a request over and polls the work's
 * fd; the reply comes back as JSON, and the peer reads nothing more from
 * its link meanwhile (one request at a time, as for decode).
 *
 * The work owns at most one gdb "view" at a time: a core the peer sent, or
 * the live process through gdbserver on the device (`gdb` console).
 */
#ifndef SRV_WORK_H
#define SRV_WORK_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "corebudget.h"

struct srv_work_config {
	char *const *sysroots; /* where the device's program is found (as for decoding) */
	size_t n_sysroots;
	const char *gdb;  /* NULL: gdb from PATH */
	const char *self; /* memtrace-server's own path, for gdb's relay (--rsp-relay) */
	const char *cores_dir; /* --cores: received cores are kept there; NULL: removed */
	/* The disk every peer's cores may take, checked before one is read (corebudget.h); NULL: none. */
	struct srv_corebudget *budget;
};

/* The work of peer NAME (in logs). CFG must outlive every work (srv_work_drain). Exits on ENOMEM. */
struct srv_work *srv_work_new(const struct srv_work_config *cfg, const char *name);

/* Readable when a reply is ready (srv_work_take). */
int srv_work_fd(const struct srv_work *w);

/*
 * Hand over request MSG (taken) of id ID and command CMD, with CHAN the
 * channel socket it names (taken; -1 when none). One at a time: the
 * previous reply must have been taken.
 */
void srv_work_submit(struct srv_work *w, cJSON *msg, double id, const char *cmd, int chan);

/* The reply, once the fd was readable; NULL when not ready yet. The caller deletes it. */
cJSON *srv_work_take(struct srv_work *w);

/*
 * The peer is gone: the work finishes what it does, closes its gdb (a live
 * program is detached and runs on) and frees itself. W is gone for the
 * caller. NULL is a no-op.
 */
void srv_work_free(struct srv_work *w);

/* Wait up to TIMEOUT_MS for every freed work to be done (the server is stopping). */
void srv_work_drain(int timeout_ms);

#endif
