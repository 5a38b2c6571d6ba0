/*
 * A copy of the process for the leak scan to judge while the process runs
 * on (docs/architecture.md, "Leak verdicts: the snapshot").
 *
 * memtrace stops every thread, takes their registers, then calls
 * memtrace_agent_snapshot() in the control thread (a remote call, the
 * others held): the process forks without fork(). The copy is made by the
 * kernel at that instant, copy-on-write; memtrace lets the process go at
 * once and reads the copy at leisure. The copy is a process that runs
 * nothing of the program:
 *   - clone with no exit signal: the process gets no SIGCHLD for it, and
 *     wait() without __WALL/__WCLONE never sees it;
 *   - CLONE_FILES: it shares the descriptor table instead of holding copies,
 *     so a pipe or socket the program closes is closed at once (a copy of a
 *     write end would hold back the reader's end of file);
 *   - every signal blocked (the control thread's mask), so a signal sent to
 *     the process group (a terminal's ^C) runs no handler in it: it sleeps
 *     in ppoll until SIGKILL, PR_SET_PDEATHSIG tied to the control thread;
 *   - no atfork handler, no lock, no allocation: system calls only.
 * memtrace seizes the copy with PTRACE_O_EXITKILL (if memtrace dies, the
 * kernel kills the copy) and kills it when the judge is done. Its parent
 * is the process, so the control thread reaps it (waitpid with __WALL),
 * polling every SNAP_REAP_MS while a copy is outstanding; a copy older
 * than AGENT_SNAPSHOT_MAX_MS is killed here, whoever forgot it.
 */
#ifndef AGENT_SNAPSHOT_H
#define AGENT_SNAPSHOT_H

#include "agent.h"

/* Longest a copy may live (10 min): a judge of a core-sized heap on a slow board takes seconds. */
#define AGENT_SNAPSHOT_MAX_MS (10 * 60 * 1000)

/*
 * The remote call (exported): fork the process now, the copy sleeping.
 * The copy's pid, or -errno (-EBUSY: too many copies outstanding). The
 * control thread only (memtrace calls it there, the process stopped).
 */
AGENT_EXPORT long memtrace_agent_snapshot(void);

/* At the control thread's start: the eventfd that wakes it when a copy is made. 0 or -1 with errno. */
int agent_snapshot_init(void);

/* The control thread polls this for POLLIN (-1: none). */
int agent_snapshot_fd(void);

/*
 * The control thread, on waking (for any reason): reap the copies that
 * died, kill those too old. Returns the longest it may sleep before the
 * next call, in ms, or -1 when no copy is outstanding.
 */
int agent_snapshot_tick(void);

#endif
