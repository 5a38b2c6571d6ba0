/*
 * Rows compiled on the host, merged into a module's own (cfi.h). A device's
 * binaries often lack unwind tables where its host's copies have them:
 * GCC's default on 32-bit ARM marks most of a C library EXIDX_CANTUNWIND,
 * and code built with -fno-asynchronous-unwind-tables has only
 * .debug_frame, which stripping removes. memtrace-server compiles the host
 * copy's tables into the same rows (server/cfi_host.c), memtrace hands them
 * to the agent, and here they fill the module's holes: wherever the
 * module's own rule is FALLBACK (no row, or one the compact form cannot
 * say) or a hidden end (CANTUNWIND) and the host's is not FALLBACK, the
 * host's rule; everywhere else the module's own, which describes the very
 * code that runs.
 */
#include <errno.h>

#include "arena.h"
#include "cfi.h"

/* Where the module's own rule gives way to the host's. */
static int weak(uint32_t rule)
{
	return AGENT_CFI_KIND(rule) == AGENT_CFI_FALLBACK || rule == AGENT_CFI_END_HIDDEN;
}

/* Host row K's offset from the module's start (checked to fit first). */
#define HOST_OFF(k) ((uint32_t)((uintptr_t)host[k].off + bias - base))

int agent_cfi_merge(const struct agent_cfi_table *own, uintptr_t base, uintptr_t end, uintptr_t bias,
		    const struct agent_cfi_row *host, uint32_t nhost, struct agent_cfi_table *out,
		    const char **why)
{
	const struct agent_cfi_row *a = own ? own->rows : NULL;
	uint32_t na = own ? own->nrows : 0, ia = 0, ib = 0, n = 0;
	uint64_t cap = (uint64_t)na + nhost;
	struct agent_cfi_row *rows;
	size_t size;

	/* Link-time addresses to offsets from the module's start, checked. */
	for (uint32_t k = 0; k < nhost; k++) {
		uintptr_t at = (uintptr_t)host[k].off + bias;

		if (at < base || at >= end || at - base > UINT32_MAX) {
			*why = "a host row lies outside the module";
			errno = EINVAL;
			return -1;
		}
		if (k && host[k].off <= host[k - 1].off) {
			*why = "the host rows are not sorted";
			errno = EINVAL;
			return -1;
		}
	}
	if (cap == 0 || cap > UINT32_MAX / 2) {
		*why = "no rows";
		errno = EINVAL;
		return -1;
	}
	size = (size_t)cap * sizeof(*rows);
	rows = agent_map(size, AGENT_MEM_UNWIND);
	if (!rows) {
		*why = "out of memory";
		return -1;
	}
	/* Every offset where either side's rule changes, in order. */
	while (ia < na || ib < nhost) {
		uint32_t oa = ia < na ? a[ia].off : UINT32_MAX;
		uint32_t ob = ib < nhost ? HOST_OFF(ib) : UINT32_MAX;
		uint32_t off = oa < ob ? oa : ob, ra, rb, rule;

		while (ia < na && a[ia].off <= off)
			ia++;
		while (ib < nhost && HOST_OFF(ib) <= off)
			ib++;
		ra = ia ? a[ia - 1].rule : AGENT_CFI_FALLBACK;
		rb = ib ? host[ib - 1].rule : AGENT_CFI_FALLBACK;
		/* The host's where it says something: a hidden end (_start's
		 * CANTUNWIND) stays one where the host has no row either. */
		rule = weak(ra) && AGENT_CFI_KIND(rb) != AGENT_CFI_FALLBACK ? rb : ra;
		if (!n || rows[n - 1].rule != rule)
			rows[n++] = (struct agent_cfi_row){ off, rule };
	}
	rows = agent_cfi_rows_trim(rows, &size, n);
	*out = (struct agent_cfi_table){
		.base = base,
		.end = end,
		.rows = rows,
		.nrows = n,
		.map_size = size,
		.fdes = own ? own->fdes : 0,
		.fallback_fdes = own ? own->fallback_fdes : 0,
	};
	return 0;
}

unsigned agent_cfi_coverage(const struct agent_cfi_table *t, uintptr_t text_lo, uintptr_t text_hi)
{
	uint64_t good = 0;

	if (!t || text_hi <= text_lo)
		return 0;
	for (uint32_t i = 0; i < t->nrows; i++) {
		uintptr_t lo = t->base + t->rows[i].off;
		uintptr_t hi = i + 1 < t->nrows ? t->base + t->rows[i + 1].off : t->end;

		if (weak(t->rows[i].rule))
			continue;
		lo = lo < text_lo ? text_lo : lo;
		hi = hi > text_hi ? text_hi : hi;
		if (hi > lo)
			good += hi - lo;
	}
	return (unsigned)(good * 1000 / (text_hi - text_lo));
}
