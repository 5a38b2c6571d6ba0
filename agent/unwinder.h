/*
 * Callstack capture. Interchangeable backends behind one const struct,
 * chosen when the agent starts:
 *   fp         walks the frame-pointer chain, bounds-checked against the
 *              thread's stack mapping: ~1 ns a frame, true only for code
 *              built with frame pointers;
 *   libunwind  unw_backtrace() from libunwind with its per-thread cache:
 *              slower, but true through code without frame pointers
 *              (Debian's libc and libstdc++) wherever unwind tables exist;
 *   tables     the same stacks from .eh_frame (.ARM.exidx on 32-bit ARM:
 *              arch/arm/cfi_exidx.c) compiled into compact rows per
 *              module (cfi.h), walked by lookup; libunwind (libgcc on
 *              32-bit ARM) walks the stacks the rows cannot describe.
 */
#ifndef AGENT_UNWINDER_H
#define AGENT_UNWINDER_H

#include <stdint.h>

#include "cfi.h"

struct agent_unwinder {
	const char *name;
	/* Once, at agent start, outside any hook. 0 or -1. */
	int (*init)(void);
	/*
	 * Fill PCS with at most MAX return addresses, the first being the
	 * allocator's caller. FRAME is the frame address of the hook the
	 * application called (the fp backend starts there). Returns the count.
	 * Must not allocate through malloc, lock, or clobber errno.
	 */
	int (*capture)(uintptr_t *pcs, int max, void *frame);
	/* Why init fails in this process (a static text), or NULL; optional. */
	const char *(*why_not)(void);
};

extern const struct agent_unwinder agent_unwind_fp;

/*
 * Nonzero in a thread while it is inside dl_iterate_phdr through the
 * agent's hook (got.c): its callbacks run with the loader's list lock held,
 * where libunwind's walk must not run (table_walk_libunwind.h).
 */
extern __thread int agent_in_phdr;
extern const struct agent_unwinder agent_unwind_libunwind;

extern const struct agent_unwinder agent_unwind_tables;

/*
 * Set by the tables backend's capture in its thread: 1 when the stack it
 * gave ends at a frame whose code has no unwind info (no row, and
 * libunwind got no further), not at the outermost frame; the hook that
 * called the capture reads it and clears it. The report says so for the
 * context. Not for 32-bit ARM's EXIDX_CANTUNWIND: libgcc ends a
 * stack there as at its outermost frame, and a C library's start code is
 * marked so, which would put the note on every stack.
 */
extern __thread int agent_unwind_blind;

/* What the tables backend has done so far, for status (any thread). */
struct agent_tables_stats {
	unsigned long bytes;		/* the rows' memory */
	unsigned long modules, modules_failed;	/* compiled; without usable tables */
	unsigned long fdes, fallback_fdes;	/* functions; those with a fallback row */
	unsigned long rows;
	unsigned long fallback_stacks;	/* stacks libunwind walked instead */
	unsigned long unknown_pcs;	/* lookups of an address in no compiled module */
	unsigned long host_modules;	/* modules given rows compiled on the host */
	unsigned long host_rows;	/* the rows the host sent for them */
};
void agent_unwind_tables_stats(struct agent_tables_stats *s);

/* Up to MAX of the last addresses (in the order kept) whose rule made a stack fall back: how many. */
unsigned agent_unwind_tables_fallback_pcs(uintptr_t *out, unsigned max);

/* The name of the I-th module without usable tables (its link map's: "" for
 * the program), or NULL past the last. Any thread. */
const char *agent_unwind_tables_without(unsigned long i);

/* A loaded module as the tables see it (agent_unwind_tables_modules). */
struct agent_tables_module {
	uintptr_t addr;			/* its start: where the loader mapped it */
	const char *name;		/* its link map's name ("" for the program) */
	int ready;			/* rows to walk by (its own or the host's) */
	unsigned coverage;		/* per mille of its code those rows say */
	uint32_t rows;
	uint32_t host_rows;		/* rows from the host in them (0: none) */
};

/*
 * Every loaded module compiled now, if no walk did yet, and FN called for
 * each, all with the loader's lock held (dl_iterate_phdr: no module is
 * unmapped meanwhile; FN must not take it again). For the control thread;
 * the tables backend must have started. The modules listed, or -1.
 */
int agent_unwind_tables_modules(void (*fn)(const struct agent_tables_module *mod, void *arg), void *arg);

/*
 * Rows compiled on the host for the module holding ADDR (N rows keyed by
 * link-time address, sorted: cfi.h's agent_cfi_merge) merged into its own
 * and used from the next walk on; *MOD (if MOD) says the module after.
 * The control thread, with the loader's lock held meanwhile (as above).
 * 0, or -1 with *WHY (static): no such module, a module compiling in
 * another thread, rows outside it, out of memory.
 */
int agent_unwind_tables_adopt(uintptr_t addr, const struct agent_cfi_row *rows, uint32_t n,
			      struct agent_tables_module *mod, const char **why);

/* Backend by name ("fp", "libunwind", "tables"); NULL if unknown. */
const struct agent_unwinder *agent_unwinder_find(const char *name);

/*
 * Backend NAME (or AGENT_UNWIND_AUTO) started: its init run once, outside
 * any hook. NULL when NAME is unknown or cannot start here.
 */
const struct agent_unwinder *agent_unwinder_start(const char *name);

/* The agent's own code range, skipped at the start of captured stacks. */
void agent_set_self_range(uintptr_t lo, uintptr_t hi);
extern uintptr_t agent_self_lo, agent_self_hi;	/* agent_set_self_range's */

/* Inline: the walks ask it for their first frames on every capture. */
static inline int agent_in_self(uintptr_t pc)
{
	return pc >= agent_self_lo && pc < agent_self_hi;
}

#endif
