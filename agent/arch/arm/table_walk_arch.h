/*
 * The table-driven walk on 32-bit ARM (table_walk.h). ARM describes frames
 * with its own EHABI tables (.ARM.exidx, made by -funwind-tables), and
 * there libunwind 1.6 is not fit for an allocator hook: its per-thread
 * cache is a global one behind a lock it holds across dl_iterate_phdr (two
 * threads allocating at once deadlocked, one holding each lock), and
 * without the cache every walk looks for .debug_frame in the module files
 * again (tens of milliseconds an allocation on a board). So the walk is
 * libgcc's EHABI unwinder, _Unwind_Backtrace, which every ARM program has
 * (libgcc_s) and which takes no lock but the loader's and makes no system
 * call: it may run anywhere, under the loader's list lock too.
 * Inline, so the walk's first frame is the capture function itself, which
 * the agent's own range drops.
 */
#ifndef AGENT_ARCH_TABLE_WALK_ARCH_H
#define AGENT_ARCH_TABLE_WALK_ARCH_H

#include <stdint.h>
#include <unwind.h>

struct walk {
	uintptr_t *pcs;
	int n, max;
};

static inline _Unwind_Reason_Code on_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct walk *w = arg;
	/* The address without the Thumb bit: where the instruction is. */
	uintptr_t pc = (uintptr_t)_Unwind_GetIP(ctx);

	if (w->n >= w->max || pc == 0)
		return _URC_END_OF_STACK;
	w->pcs[w->n++] = pc;
	return _URC_NO_REASON;
}

/* Stack the walk may use below the capture's frame (libgcc's context: about 1 KiB). */
#define AGENT_TABLE_WALK_STACK (8 * 1024)

static inline int agent_table_walk_init(void)
{
	return 0;
}

static inline __attribute__((always_inline)) int agent_table_walk(void **buf, int want)
{
	struct walk w = { (uintptr_t *)buf, 0, want };

	_Unwind_Backtrace(on_frame, &w);
	return w.n;
}

static inline int agent_table_walk_may_run(void)
{
	return 1;
}

#endif
