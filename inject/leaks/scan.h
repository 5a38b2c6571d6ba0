/*
 * The leak scan of a live process (docs/architecture.md, "Leak verdicts"):
 * every thread stopped with ptrace, the agent's tables and glibc's heap
 * read from the stopped image through process_vm_readv, the roots scanned
 * (common/leakjudge.h), every thread let go as it was. The verdicts are
 * judged on one consistent moment: a copy of the process the agent's
 * control thread forks while every other thread is stopped (agent/snapshot.h;
 * the process runs on while the copy is judged), or the process itself
 * kept stopped. Nothing of the process runs between the registers and the
 * copy, the agent's control thread only for the fork, except threads waiting in
 * epoll_wait, which a stop would wake with EINTR (they are in the kernel
 * and change nothing; their stack is scanned from the stack pointer the
 * kernel shows, their registers are not known).
 */
#ifndef INJ_LEAKS_SCAN_H
#define INJ_LEAKS_SCAN_H

#include "leakjudge.h"

/* Judge the process stopped throughout, not a copy of it (`leaks --no-fork`). */
#define INJ_LEAKS_NO_FORK 1

/*
 * Scan process PID (attached: the agent loaded, and no tracer on it). The
 * process is stopped while its copy is made or, with FLAGS
 * INJ_LEAKS_NO_FORK or no copy possible (OUT's snapshot_note says why),
 * while the scan runs; a thread found inside
 * glibc's allocator (an arena locked) is let run a few ms, up to a few
 * times, so the heap is walked whole. 0 with *OUT filled (free it with
 * inj_leaks_free), or -1 after logging what failed and what to do; the
 * process is let go in every case. With WHO (may be NULL), the holders of a
 * pointer into WHO's range are listed too, from the same moment.
 */
int inj_leaks_scan(int pid, const struct inj_leaks_who *who, int flags, struct inj_leaks *out);

#endif
