/*
 * The table-driven walk by libunwind (table_walk.h), for every
 * architecture that brings none of its own (its arch/ARCH/table_walk_arch.h
 * includes this): unw_backtrace() walks with DWARF CFI and caches the
 * frame shapes it has seen per thread, so a repeated stack costs a few hash
 * lookups. The cache misses are where libunwind looks modules up
 * (dl_iterate_phdr); docs/architecture.md says why that is safe.
 * Inline, so the walk's first frame is the capture function itself, which
 * the agent's own range drops.
 */
#ifndef AGENT_TABLE_WALK_LIBUNWIND_H
#define AGENT_TABLE_WALK_LIBUNWIND_H

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "loaderlock.h"
#include "unwinder.h"

/*
 * Stack the walk may use below the capture's frame: unw_backtrace's own
 * frame (Debian 12's libunwind 1.6.2: x86_64 3 KiB, aarch64 5 KiB; on MIPS
 * its cursor alone is 4096 words: mipsel 32 KiB, mips64el 64 KiB), what it
 * calls, and room to spare. Where a thread has less, the walk does not run
 * (unwind_libunwind.c): a 64 KiB stack overflowed on mips64el.
 */
#if defined(__mips__) && _MIPS_SIM == _ABI64
#define AGENT_TABLE_WALK_STACK (96 * 1024)
#elif defined(__mips__)
#define AGENT_TABLE_WALK_STACK (48 * 1024)
#else
#define AGENT_TABLE_WALK_STACK (16 * 1024)
#endif

static inline int agent_table_walk_init(void)
{
	if (unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD) != 0)
		return -1;
	unw_set_cache_size(unw_local_addr_space, 1024, 0);
	return 0;
}

static inline __attribute__((always_inline)) int agent_table_walk(void **buf, int want)
{
	return unw_backtrace(buf, want);
}

/*
 * Inside a dl_iterate_phdr callback the loader's list lock is held, and
 * libunwind's cache lock must not be taken after it (loaderlock.h says
 * why): the frame-pointer walk, which takes no lock, does the work there.
 * The hook's mark first (no load of the lock), then the lock's owner.
 */
static inline int agent_table_walk_may_run(void)
{
	return agent_in_phdr == 0 && !agent_loader_lock_mine();
}

#endif
