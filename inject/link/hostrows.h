/*
 * Unwind rows compiled on the host for the device's modules that lack
 * unwind tables (hostrows.c; docs/architecture.md, "Tables from the
 * host"): with the tables unwinder and a link to memtrace-server.
 */
#ifndef INJ_HOSTROWS_H
#define INJ_HOSTROWS_H

#include "link/srvlink.h"
#include "session.h"

struct inj_symcache;

/*
 * Ask the agent of session S (process PID) which modules its own tables say
 * less than 90 % of, ask the server linked by L for each one's rows (by its
 * path and the build-id SYMS reads, NULL: none) and give them to the agent,
 * each agent request within TIMEOUT_MS. What is not had is said at info
 * level, and the stacks through that code stay as short as before. The
 * modules given rows; 0 when there were none to give or the agent does not
 * walk by tables.
 */
int inj_hostrows(struct inj_session *s, struct inj_link *l, struct inj_symcache *syms, int pid, int timeout_ms);

#endif
