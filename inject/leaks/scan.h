/*
 * The leak scan of a live process (docs/architecture.md, "Leak verdicts"):
 * every thread stopped with ptrace, the agent's tables and glibc's heap
 * read from the stopped image through process_vm_readv, the roots scanned
 * (common/leaks.h), every thread let go as it was. The verdicts are judged
 * on one consistent moment: nothing of the process runs meanwhile, the
 * agent's control thread included, except threads waiting in epoll_wait,
 * which a stop would wake with EINTR (they are in the kernel and change
 * nothing; their stack is scanned from the stack pointer the kernel
 * shows, their registers are not known).
 */
#ifndef INJ_LEAKS_SCAN_H
#define INJ_LEAKS_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "leaks.h"

struct inj_leaks {
	struct leak_block *blocks;	/* sorted by address, each with its verdict */
	size_t n;
	/* Blocks from before the attach: 1 judged too (ctx 0), 0 not (heap_note says why). */
	int before_attach;
	char heap_note[256];
	size_t threads;			/* threads whose registers and stacks were roots */
	size_t threads_running;		/* of which left running (epoll_wait): stack only */
	struct leak_scan_stats st;
	uint64_t root_ranges;		/* memory ranges scanned as roots */
	int64_t stopped_ns;		/* how long the process was stopped */
	int own_overflow;		/* the agent could not list all its memory: verdicts may be kind */
};

/*
 * Scan process PID (attached: the agent loaded, and no tracer on it). The
 * process is stopped at most while the scan runs; a thread found inside
 * glibc's allocator (an arena locked) is let run a few ms, up to a few
 * times, so the heap is walked whole. 0 with *OUT filled (free it with
 * inj_leaks_free), or -1 after logging what failed and what to do; the
 * process is let go in every case.
 */
int inj_leaks_scan(int pid, struct inj_leaks *out);

void inj_leaks_free(struct inj_leaks *l);

#endif
