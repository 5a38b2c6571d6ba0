/*
 * memtrace's tables as a core or a stopped process holds them, read through
 * the agent's exported anchor, `memtrace_gdb` (docs/architecture.md, "For
 * debuggers"): raw memory reads (a struct memsrc: gdb on a core for
 * memtrace-server, process_vm_readv for memtrace's leak scan) of the
 * descriptors the anchor points at, decoded here, which is what
 * gdbinit/memtrace.gdb does with gdb expressions but one read per table
 * instead of some 30 us of script per slot. The anchor is self-describing (every offset and stride is in it),
 * so only its field order is shared with the agent: common/anchor.h.
 * Everything read is checked against limits far above what the agent
 * makes: a damaged core is refused, never trusted. Errors are logged,
 * naming T->where ("the core", "process 1234").
 */
#ifndef MEMTRACE_ANCHORTAB_H
#define MEMTRACE_ANCHORTAB_H

#include <stdint.h>

#include "anchor.h"
#include "memsrc.h"

/* The deepest callstack read. */
#define ANCHORTAB_MAX_DEPTH 256

struct anchortab {
	const struct memsrc *m;	 /* reads go through it; not owned */
	const char *where;	 /* "the core", "process 1234": for messages */
	int quiet;		 /* walk failures logged at debug: the caller retries (a live process) */
	uint64_t anchor;	 /* &memtrace_gdb, set by the caller */
	uint64_t ps;		 /* the target's pointer size */
	uint64_t b[ANCHOR_B_WORDS], c[ANCHOR_C_WORDS]; /* the descriptors (anchor.h) */
	/* The heap descriptor (enum anchor_heap_word): all 0 (kind unknown)
	 * when the agent is older than it or it is not in the memory. */
	uint64_t h[ANCHOR_H_WORDS];
};

struct anchortab_blk {
	uint64_t ptr, size, seq;
	uint64_t ctx;
};

/* Read the anchor at T->anchor, its two table descriptors and the heap
 * descriptor when the anchor has one (its nfields says); -1 (logged) when
 * the tables are not memtrace's or make no sense. */
int anchortab_read(struct anchortab *t);

/* Context ID: its address in *ADDR, 0 when there is no such context, -1 on
 * a read error (logged). */
int anchortab_ctx_addr(const struct anchortab *t, unsigned long id, uint64_t *addr);

/* The return addresses of context ID into PCS (ANCHORTAB_MAX_DEPTH),
 * their count in *DEPTH. -1 logged. */
int anchortab_ctx_pcs(const struct anchortab *t, unsigned long id, uint64_t *pcs, unsigned *depth);

/* Every live block, to FN(ARG, block) until it returns nonzero (then that
 * value is returned). -1 (logged) when the tables cannot be read. */
int anchortab_walk(const struct anchortab *t, int (*fn)(void *arg, const struct anchortab_blk *b),
		     void *arg);

#endif
