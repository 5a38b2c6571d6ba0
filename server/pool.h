/*
 * The decode pool: a few threads, as many as the host has cores (at most
 * SRV_POOL_MAX), that run the link's long requests (conn.h's offload:
 * decodes, and messages too large to parse in the event loop) so that the
 * loop only moves bytes and answers what is quick. One peer's 40,000-frame
 * report then costs the others a core's share, never the loop: a ping is
 * answered in the time of a poll round whatever the others send.
 *
 * Each thread has its own decoder over the same sysroots (decoders are not
 * thread-safe: docs/server.md says what that costs). Jobs are taken in the
 * order given; the loop learns of finished ones through one fd.
 */
#ifndef SRV_POOL_H
#define SRV_POOL_H

#include <stddef.h>

#include "request.h"

#define SRV_POOL_MAX 16

struct srv_pool;

/*
 * A pool of THREADS threads (0: one per online core, at most SRV_POOL_MAX)
 * decoding with the N sysroots SYSROOTS (kept by pointer: they must outlive
 * the pool). Threads inherit the caller's signal mask. NULL with the cause
 * logged when a thread or the fd cannot be made.
 */
struct srv_pool *srv_pool_new(char *const *sysroots, size_t n, unsigned threads);

/* How many threads it runs. */
unsigned srv_pool_threads(const struct srv_pool *p);

/* Readable when a job is done (srv_pool_take). */
int srv_pool_fd(const struct srv_pool *p);

/* Queue J (the pool's until srv_pool_take gives it back). Never blocks. */
void srv_pool_submit(struct srv_pool *p, struct srv_request_job *j);

/* A finished job, oldest first, or NULL when none is (the fd is then drained). The caller owns it. */
struct srv_request_job *srv_pool_take(struct srv_pool *p);

/*
 * Stop: jobs not begun are dropped, the threads finish the ones they run
 * (a decode: at most some seconds) and end; every job left is freed. NULL
 * is a no-op.
 */
void srv_pool_free(struct srv_pool *p);

#endif
