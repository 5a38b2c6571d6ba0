/*
 * libunwind backend: unw_backtrace() walks with DWARF CFI and caches the
 * frame shapes it has seen per thread, so a repeated stack costs a few
 * hash lookups. The cache misses are where libunwind looks modules up
 * (dl_iterate_phdr); docs/architecture.md says why that is safe here.
 */
#define UNW_LOCAL_ONLY
#include <errno.h>
#include <libunwind.h>

#include "agent.h"
#include "unwind.h"

static int lu_init(void)
{
	if (unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD) != 0)
		return -1;
	unw_set_cache_size(unw_local_addr_space, 1024, 0);
	return 0;
}

static int lu_capture(uintptr_t *pcs, int max, void *frame)
{
	/* Room for the agent's own frames on top of MAX. */
	void *buf[AGENT_MAX_DEPTH + 16];
	int saved = errno;
	int want = max + 16;
	int n, skip = 0, out = 0;

	(void)frame;
	if (want > (int)(sizeof(buf) / sizeof(buf[0])))
		want = (int)(sizeof(buf) / sizeof(buf[0]));
	n = unw_backtrace(buf, want);
	while (skip < n && agent_in_self((uintptr_t)buf[skip]))
		skip++;
	for (int i = skip; i < n && out < max; i++)
		pcs[out++] = (uintptr_t)buf[i];
	errno = saved;
	return out;
}

const struct agent_unwinder agent_unwind_libunwind = {
	.name = "libunwind",
	.init = lu_init,
	.capture = lu_capture,
};
