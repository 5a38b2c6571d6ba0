/*
 * The allocator the agent stands in front of: the functions the process
 * would have called without memtrace, looked up once in the modules loaded
 * after the agent (as RTLD_NEXT would), else in any module but the agent.
 */
#ifndef AGENT_REAL_H
#define AGENT_REAL_H

#include <stddef.h>

#include "cxx_ops.h"

struct agent_real {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);	/* NULL where the libc has none (musl) */
	/* Not an allocator: the exit status for the exit report (lifecycle.c).
	 * NULL where the libc has none (musl). */
	int (*on_exit)(void (*)(int, void *), void *);
	/* Not an allocator either: glibc 2.35's _dl_find_object, for the compact
	 * unwind tables (unwind_tables.c); NULL in an older libc. Resolved here,
	 * with the rest, while the loader's lock holds the list still. */
	int (*dl_find_object)(void *pc, void *result);
	/* The C++ operators by enum agent_cxx_op; NULL until found (a C
	 * program has none until it loads libstdc++). */
	void *cxx[AGENT_CXX_NOPS];
};

extern struct agent_real agent_real;

/*
 * Fill agent_real. Idempotent and safe to race (every thread finds the same
 * answers). 0, or -1 when malloc/free/calloc/realloc/memalign are missing.
 */
int agent_real_resolve(void);

/*
 * The real C++ operator OP: agent_real.cxx[OP], looked up and kept the
 * first time it is asked for. NULL if no loaded module defines it.
 */
void *agent_real_cxx(enum agent_cxx_op op);

/* NAME as the process would find it without the agent (RTLD_NEXT order). NULL if none. */
void *agent_real_lookup(const char *name);

#endif
