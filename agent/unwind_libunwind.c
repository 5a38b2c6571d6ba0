/*
 * Table-driven backend ("--unwind libunwind").
 *
 * Everywhere but 32-bit ARM: libunwind's unw_backtrace() walks with DWARF
 * CFI and caches the frame shapes it has seen per thread, so a repeated
 * stack costs a few hash lookups. The cache misses are where libunwind looks
 * modules up (dl_iterate_phdr); docs/architecture.md says why that is safe.
 *
 * 32-bit ARM describes frames with its own EHABI tables (.ARM.exidx, made by
 * -funwind-tables), and there libunwind 1.6 is not fit for an allocator
 * hook: its per-thread cache is a global one behind a lock it holds across
 * dl_iterate_phdr (two threads allocating at once deadlocked, one holding
 * each lock), and without the cache every walk looks for .debug_frame in
 * the module files again (tens of milliseconds an allocation on a board).
 * So on ARM the same walk is done by libgcc's EHABI unwinder,
 * _Unwind_Backtrace, which every ARM program has (libgcc_s) and which takes
 * no lock but the loader's and makes no system call.
 */
#include <errno.h>

#include "agent.h"
#include "fp_frame.h"
#include "loaderlock.h"
#include "unwinder.h"

#ifdef __arm__
#include <unwind.h>

struct walk {
	uintptr_t *pcs;
	int n, max;
};

static _Unwind_Reason_Code on_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct walk *w = arg;
	/* The address without the Thumb bit: where the instruction is. */
	uintptr_t pc = (uintptr_t)_Unwind_GetIP(ctx);

	if (w->n >= w->max || pc == 0)
		return _URC_END_OF_STACK;
	w->pcs[w->n++] = pc;
	return _URC_NO_REASON;
}

static int lu_init(void)
{
	return 0;
}

static inline __attribute__((always_inline)) int backtrace_raw(void **buf, int want)
{
	struct walk w = { (uintptr_t *)buf, 0, want };

	_Unwind_Backtrace(on_frame, &w);
	return w.n;
}
#else
#define UNW_LOCAL_ONLY
#include <libunwind.h>

static int lu_init(void)
{
	if (unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD) != 0)
		return -1;
	unw_set_cache_size(unw_local_addr_space, 1024, 0);
	return 0;
}

static inline __attribute__((always_inline)) int backtrace_raw(void **buf, int want)
{
	return unw_backtrace(buf, want);
}

/*
 * Inside a dl_iterate_phdr callback the loader's list lock is held, and
 * libunwind's cache lock must not be taken after it (loaderlock.h says
 * why): the frame-pointer walk, which takes no lock, does the work there.
 * The hook's mark first (no load of the lock), then the lock's owner.
 */
#define IN_LOADER_LIST_LOCK() (agent_in_phdr != 0 || agent_loader_lock_mine())
#endif

static int lu_capture(uintptr_t *pcs, int max, void *frame)
{
	/* Room for the agent's own frames on top of MAX. */
	void *buf[AGENT_MAX_DEPTH + 16];
	int saved = errno;
	int want = max + 16;
	int n, skip = 0, out = 0;

#ifdef IN_LOADER_LIST_LOCK
	if (IN_LOADER_LIST_LOCK())
		return agent_unwind_fp.capture(pcs, max, frame);
#endif
	(void)frame;
	if (want > (int)(sizeof(buf) / sizeof(buf[0])))
		want = (int)(sizeof(buf) / sizeof(buf[0]));
	n = backtrace_raw(buf, want);
	while (skip < n && agent_in_self((uintptr_t)buf[skip]))
		skip++;
	for (int i = skip; i < n && out < max; i++)
		pcs[out++] = AGENT_LU_RETURN_ADDRESS((uintptr_t)buf[i]);
	errno = saved;
	return out;
}

const struct agent_unwinder agent_unwind_libunwind = {
	.name = "libunwind",
	.init = lu_init,
	.capture = lu_capture,
};
