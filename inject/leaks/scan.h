/*
 * The leak scan of a live process (docs/architecture.md, "Leak verdicts"):
 * every thread stopped with ptrace, the agent's tables and glibc's heap
 * read from the stopped image through process_vm_readv, the roots scanned
 * (common/leakjudge.h), every thread let go as it was. The verdicts are
 * judged on one consistent moment: nothing of the process runs meanwhile,
 * the agent's control thread included, except threads waiting in
 * epoll_wait, which a stop would wake with EINTR (they are in the kernel
 * and change nothing; their stack is scanned from the stack pointer the
 * kernel shows, their registers are not known).
 */
#ifndef INJ_LEAKS_SCAN_H
#define INJ_LEAKS_SCAN_H

#include "leakjudge.h"

/*
 * Scan process PID (attached: the agent loaded, and no tracer on it). The
 * process is stopped at most while the scan runs; a thread found inside
 * glibc's allocator (an arena locked) is let run a few ms, up to a few
 * times, so the heap is walked whole. 0 with *OUT filled (free it with
 * inj_leaks_free), or -1 after logging what failed and what to do; the
 * process is let go in every case. With WHO (may be NULL), the holders of a
 * pointer into WHO's range are listed too, read while still stopped.
 */
int inj_leaks_scan(int pid, const struct inj_leaks_who *who, struct inj_leaks *out);

#endif
