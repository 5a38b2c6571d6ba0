/*
 * Report building: sums the contexts for the heap summary, picks the
 * contexts with the most live bytes (heap sort on a mapped array: qsort may
 * allocate), and maps every frame to module + offset with a snapshot of the
 * loaded modules.
 */
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "blocks.h"
#include "contexts.h"
#include "modules.h"
#include "report.h"
#include "state.h"

/* A context's figures, taken once: ranked and written from the same snapshot. */
struct rank {
	int64_t live_bytes;
	uint32_t id;
	struct agent_ctx_stats st;
};

/* A before B in the report: more live bytes first, then older contexts. */
static int rank_before(const struct rank *a, const struct rank *b)
{
	return a->live_bytes != b->live_bytes ? a->live_bytes > b->live_bytes : a->id < b->id;
}

static void sift_down(struct rank *r, size_t start, size_t n)
{
	size_t root = start;

	for (;;) {
		size_t child = 2 * root + 1;
		struct rank t;

		if (child >= n)
			return;
		/* Heap with the entry that comes *last* on top. */
		if (child + 1 < n && rank_before(&r[child], &r[child + 1]))
			child++;
		if (!rank_before(&r[root], &r[child]))
			return;
		t = r[root];
		r[root] = r[child];
		r[child] = t;
		root = child;
	}
}

static void rank_sort(struct rank *r, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(r, i, n);
	for (size_t end = n; end > 1; end--) {
		struct rank t = r[0];

		r[0] = r[end - 1];
		r[end - 1] = t;
		sift_down(r, 0, end - 1);
	}
}

struct totals {
	int64_t live_bytes, live_blocks;
	uint64_t total_allocs, total_bytes;
	uint32_t live_contexts;
};

static void add_context(struct agent_ctx *c, void *arg)
{
	struct totals *t = arg;
	struct agent_ctx_stats st;

	agent_ctx_stats(c, &st);
	t->live_blocks += st.live_blocks;
	t->live_bytes += st.live_bytes;
	t->total_allocs += st.total_allocs;
	t->total_bytes += st.total_bytes;
	if (st.live_blocks > 0)
		t->live_contexts++;
}

static void sum_contexts(struct totals *t)
{
	memset(t, 0, sizeof(*t));
	agent_ctx_foreach(agent_ctx_count(), add_context, t);
}

static int64_t since_start_ms(uint64_t ns)
{
	return ns >= agent_state.start_ns ? (int64_t)((ns - agent_state.start_ns) / 1000000) : 0;
}

/* Where the last stacks that fell back could not be walked: module and offset. */
static void fallback_pcs_write(struct jsonw *w)
{
	uintptr_t pcs[8];
	unsigned n = agent_unwind_tables_fallback_pcs(pcs, 8);
	struct agent_modules mods;
	int have = n && agent_modules_snapshot(&mods) == 0;

	jsonw_key(w, "fallback_at");
	jsonw_arr(w);
	for (unsigned i = 0; i < n; i++) {
		int m = have ? agent_modules_find(&mods, pcs[i]) : -1;

		jsonw_obj(w);
		jsonw_kv_str(w, "module", m >= 0 ? mods.mods[m].path : "");
		jsonw_key(w, "offset");
		jsonw_hex(w, m >= 0 ? pcs[i] - mods.mods[m].bias : pcs[i]);
		jsonw_obj_end(w);
	}
	jsonw_arr_end(w);
	if (have)
		agent_modules_release(&mods);
}

/* The compact tables' work (--unwind tables): their memory and fallbacks. */
static void tables_write(struct jsonw *w)
{
	struct agent_tables_stats t;

	agent_unwind_tables_stats(&t);
	jsonw_key(w, "tables");
	jsonw_obj(w);
	jsonw_kv_u64(w, "bytes", t.bytes);
	jsonw_kv_u64(w, "modules", t.modules);
	jsonw_kv_u64(w, "modules_without", t.modules_failed);
	jsonw_key(w, "modules_without_names");
	jsonw_arr(w);
	for (unsigned long i = 0; i < 8 && agent_unwind_tables_without(i); i++)
		jsonw_str(w, agent_unwind_tables_without(i));
	jsonw_arr_end(w);
	jsonw_kv_u64(w, "functions", t.fdes);
	jsonw_kv_u64(w, "functions_fallback", t.fallback_fdes);
	jsonw_kv_u64(w, "rows", t.rows);
	jsonw_kv_u64(w, "fallback_stacks", t.fallback_stacks);
	fallback_pcs_write(w);
	jsonw_kv_u64(w, "unknown_pcs", t.unknown_pcs);
	jsonw_kv_u64(w, "host_modules", t.host_modules);
	jsonw_kv_u64(w, "host_rows", t.host_rows);
	jsonw_obj_end(w);
}

/* One context's entry of a sample, when it holds live blocks. */
static void sample_context(struct agent_ctx *c, void *arg)
{
	struct jsonw *w = arg;
	struct agent_ctx_stats st;

	agent_ctx_stats(c, &st);
	if (st.live_blocks <= 0)
		return;
	jsonw_arr(w);
	jsonw_u64(w, c->id);
	jsonw_i64(w, st.live_bytes);
	jsonw_i64(w, st.live_blocks);
	jsonw_arr_end(w);
}

int agent_sample_write(struct jsonw *w)
{
	struct totals t;

	sum_contexts(&t);
	jsonw_kv_i64(w, "uptime_ms", since_start_ms(agent_now_ns()));
	jsonw_kv_i64(w, "in_use_bytes", t.live_bytes);
	jsonw_kv_i64(w, "in_use_blocks", t.live_blocks);
	jsonw_kv_u64(w, "contexts_total", agent_ctx_count());
	jsonw_key(w, "contexts");
	jsonw_arr(w);
	agent_ctx_foreach(agent_ctx_count(), sample_context, w);
	jsonw_arr_end(w);
	return w->failed ? -1 : 0;
}

void agent_status_write(struct jsonw *w)
{
	struct totals t;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = '\0';
	sum_contexts(&t);
	jsonw_kv_i64(w, "pid", getpid());
	jsonw_kv_str(w, "program", exe);
	jsonw_kv_str(w, "since", agent_state.since ? agent_state.since : "start");
	jsonw_kv_str(w, "unwinder", agent_state.unwinder ? agent_state.unwinder->name : "none");
	jsonw_kv_i64(w, "depth", agent_state.depth);
	jsonw_kv_i64(w, "start_wall_ms", agent_state.start_wall_ms);
	jsonw_kv_i64(w, "uptime_ms", since_start_ms(agent_now_ns()));

	jsonw_key(w, "summary");
	jsonw_obj(w);
	jsonw_kv_i64(w, "in_use_bytes", t.live_bytes);
	jsonw_kv_i64(w, "in_use_blocks", t.live_blocks);
	jsonw_kv_u64(w, "total_allocs", t.total_allocs);
	jsonw_key(w, "total_frees");
	/* Counters reset by a clear can briefly trail blocks allocated meanwhile. */
	jsonw_i64(w, (int64_t)t.total_allocs > t.live_blocks ? (int64_t)t.total_allocs - t.live_blocks : 0);
	jsonw_kv_u64(w, "total_bytes", t.total_bytes);
	jsonw_kv_u64(w, "contexts", t.live_contexts);
	jsonw_kv_u64(w, "contexts_total", agent_ctx_count());
	jsonw_obj_end(w);

	jsonw_key(w, "agent");
	jsonw_obj(w);
	jsonw_kv_u64(w, "memory_bytes", agent_mem_total());
	jsonw_kv_u64(w, "blocks_bytes", agent_mem_bytes(AGENT_MEM_BLOCKS));
	jsonw_kv_u64(w, "contexts_bytes", agent_mem_bytes(AGENT_MEM_CONTEXTS));
	jsonw_kv_u64(w, "other_bytes", agent_mem_bytes(AGENT_MEM_OTHER));
	jsonw_kv_u64(w, "unwind_bytes", agent_mem_bytes(AGENT_MEM_UNWIND));
	jsonw_kv_u64(w, "tracked_blocks", agent_blocks_count());
	jsonw_kv_bool(w, "recording", __atomic_load_n(&agent_state.recording, __ATOMIC_RELAXED));
	jsonw_key(w, "failure");
	if (agent_state.failure)
		jsonw_str(w, agent_state.failure);
	else
		jsonw_null(w);
	jsonw_obj_end(w);
	if (agent_state.unwinder == &agent_unwind_tables)
		tables_write(w);
}

static void write_context(struct jsonw *w, const struct agent_ctx *c, const struct agent_ctx_stats *stp,
			  const struct agent_modules *mods)
{
	const struct agent_ctx_stats st = *stp;

	jsonw_obj(w);
	jsonw_kv_u64(w, "id", c->id);
	jsonw_kv_i64(w, "live_blocks", st.live_blocks);
	jsonw_kv_i64(w, "live_bytes", st.live_bytes);
	jsonw_kv_u64(w, "total_allocs", st.total_allocs);
	jsonw_kv_u64(w, "total_bytes", st.total_bytes);
	jsonw_kv_i64(w, "peak_live_bytes", st.peak_live_bytes);
	jsonw_key(w, "first_ms");
	if (st.first_ns)
		jsonw_i64(w, since_start_ms(st.first_ns));
	else
		jsonw_null(w);
	jsonw_key(w, "last_ms");
	if (st.last_ns)
		jsonw_i64(w, since_start_ms(st.last_ns));
	else
		jsonw_null(w);
	jsonw_kv_bool(w, "truncated", c->truncated == 1);
	if (c->truncated == AGENT_CTX_NO_UNWIND_INFO)
		jsonw_kv_bool(w, "no_unwind_info", 1);
	/* Frames as [addr, module index or -1, offset in the module]. */
	jsonw_key(w, "frames");
	jsonw_arr(w);
	for (int i = 0; i < c->depth; i++) {
		uintptr_t pc = c->pcs[i];
		int m = agent_modules_find(mods, pc);

		jsonw_arr(w);
		jsonw_hex(w, pc);
		jsonw_i64(w, m);
		jsonw_hex(w, m >= 0 ? pc - mods->mods[m].bias : pc);
		jsonw_arr_end(w);
	}
	jsonw_arr_end(w);
	jsonw_obj_end(w);
}

struct ranking {
	struct rank *r;
	size_t n;
};

/* Rank C if it holds live blocks. */
static void rank_context(struct agent_ctx *c, void *arg)
{
	struct ranking *k = arg;
	struct agent_ctx_stats st;

	agent_ctx_stats(c, &st);
	if (st.live_blocks > 0) {
		k->r[k->n].id = c->id;
		k->r[k->n].live_bytes = st.live_bytes;
		k->r[k->n].st = st;
		k->n++;
	}
}

int agent_report_write(struct jsonw *w, int count)
{
	uint32_t n = agent_ctx_count();
	size_t ranks_size = ((size_t)n + 1) * sizeof(struct rank);
	struct rank *ranks;
	struct agent_modules mods;
	struct ranking k;
	size_t live;

	agent_status_write(w);
	ranks = agent_map(ranks_size, AGENT_MEM_OTHER);
	if (!ranks)
		return -1;
	if (agent_modules_snapshot(&mods) < 0) {
		agent_unmap(ranks, ranks_size, AGENT_MEM_OTHER);
		return -1;
	}
	k.r = ranks;
	k.n = 0;
	agent_ctx_foreach(n, rank_context, &k);
	live = k.n;
	rank_sort(ranks, live);
	if (count > 0 && (size_t)count < live)
		live = (size_t)count;

	jsonw_key(w, "modules");
	jsonw_arr(w);
	for (int i = 0; i < mods.n; i++) {
		jsonw_obj(w);
		jsonw_kv_str(w, "path", mods.mods[i].path);
		jsonw_key(w, "base");
		jsonw_hex(w, mods.mods[i].bias);
		jsonw_obj_end(w);
	}
	jsonw_arr_end(w);

	jsonw_key(w, "contexts");
	jsonw_arr(w);
	for (size_t i = 0; i < live; i++)
		write_context(w, agent_ctx_by_id(ranks[i].id), &ranks[i].st, &mods);
	jsonw_arr_end(w);

	agent_modules_release(&mods);
	agent_unmap(ranks, ranks_size, AGENT_MEM_OTHER);
	return w->failed ? -1 : 0;
}
