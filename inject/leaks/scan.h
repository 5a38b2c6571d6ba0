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

/* A holder of a pointer into the block asked about (inj_leaks_scan's WHO). */
struct inj_leaks_holder {
	uint64_t where;		/* the word's address; for a register, its index in the thread's regset */
	uint64_t value;		/* what it holds */
	int tid;		/* a register: the thread's; else 0 */
	long block;		/* the holding block's index in blocks, or -1 for root memory or a register */
};

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
	/* With WHO: every word of the roots and blocks pointing into it. */
	struct inj_leaks_holder *holders;
	size_t nholders;
};

/* A who-points question: pointers into [addr, addr + len) (len 1: to addr
 * only; 0: from addr to the end of the block holding it, else to addr only). */
struct inj_leaks_who {
	uint64_t addr, len;
};

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

void inj_leaks_free(struct inj_leaks *l);

#endif
