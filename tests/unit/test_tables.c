/*
 * Unit test for the agent's two tables: live blocks (agent/blocks.c) and
 * contexts (agent/contexts.c). Built without sanitizers, as the agent is.
 *
 * Blocks are checked against a reference model (a sorted pool of candidate
 * pointers with a "present" flag each) over 2,000,000 seeded random
 * operations on pointers chosen to collide: thousands in one 64 KiB region
 * (one shard), sixteen per 16-byte granule (one hash), and pointers 2^36
 * apart (one home slot). Then field packing at its limits, foreach that
 * drops every other block, memory per live block, and four threads at once.
 *
 * Contexts: identity of stacks, dense ids, growth to 100,000, creation of
 * the same stacks from four threads, and the per-slot statistics.
 *
 * Last, both tables given back (detach): no byte stays mapped, and they
 * fill again from nothing.
 *
 * The tables are process-global, so the order of the steps matters: the
 * memory figure is taken on a fresh block table, and contexts are counted
 * from id 1.
 *
 * Exit status: 0 pass, 1 fail (one "FAIL file:line" line per failed check),
 * 99 when the harness itself cannot run.
 */
#include "arena.h"
#include "blocks.h"
#include "contexts.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/* Divides the counts of random operations (MEMTRACE_TEST_QUICK: 10). */
static long scale_down = 1;

/* Stop a loop of checks after the first few failures: one bug, not a flood. */
#define CHECK_SOME(budget, ok, ...) \
	do { \
		if (!(ok) && (budget)-- > 0) \
			check_at(0, __FILE__, __LINE__, __VA_ARGS__); \
		else if (ok) \
			checks++; \
	} while (0)

/* A hang (a probe loop that never meets an empty slot) fails with its step's name. */
#define RUN(fn) (check_step(#fn, 60), fn())

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		broken("calloc");
	return p;
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	errno = pthread_create(t, NULL, fn, arg);
	if (errno)
		broken("pthread_create");
}

/* xorshift64*: seeded (check_seed: MEMTRACE_TEST_SEED), so a failure replays. */
static uint64_t rnd_r(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

static uint64_t rng; /* main(): check_seed(), never 0 */

static uint64_t rnd(void)
{
	return rnd_r(&rng);
}

static uint64_t clamp_size(uint64_t size)
{
	return size > AGENT_BLOCK_MAX_SIZE ? AGENT_BLOCK_MAX_SIZE : size;
}

/* ---------------------------------------------------------------- block helpers */

static int drop_all(struct agent_block *b, void *arg)
{
	(void)b;
	(*(size_t *)arg)++;
	return 1;
}

static void clear_blocks(int line)
{
	size_t n = 0;

	agent_blocks_foreach(drop_all, &n);
	check_at(agent_blocks_count() == 0, __FILE__, line, "%zu blocks left after dropping all %zu",
		 agent_blocks_count(), n);
}

struct seen {
	int calls;
	struct agent_block b;
	int ret;
};

static int with_record(struct agent_block *b, void *arg)
{
	struct seen *s = arg;

	s->calls++;
	s->b = *b;
	return s->ret;
}

/* ---------------------------------------------------------------- memory */

static void test_blocks_memory(void)
{
	enum { N = 1000000 };
	uint64_t addr = UINT64_C(0x560000000000);
	size_t before = agent_mem_bytes(AGENT_MEM_BLOCKS), bytes;
	double per;

	CHECK(agent_blocks_count() == 0, "block table not empty at start");
	/* Addresses as an allocator hands them out: 16..256-byte blocks in a row. */
	for (int i = 0; i < N; i++) {
		addr += 16 * (1 + rnd() % 16);
		if (agent_blocks_insert((uintptr_t)addr, 16, 1, (uint64_t)i) < 0) {
			CHECK(0, "insert %d of %d failed", i, N);
			break;
		}
	}
	CHECK(agent_blocks_count() == N, "%zu blocks counted, %d inserted", agent_blocks_count(), N);
	bytes = agent_mem_bytes(AGENT_MEM_BLOCKS) - before;
	per = (double)bytes / N;
	printf("test_tables: %.1f bytes of block table per live block (%d live)\n", per, N);
	CHECK(per <= 48.0, "%.1f bytes per live block, the header promises under 48", per);
	CHECK(agent_mem_total() >= bytes, "agent_mem_total below the block figure");
	clear_blocks(__LINE__);
}

/* ---------------------------------------------------------------- model */

struct mblock {
	uintptr_t ptr;
	int present;
	uint32_t ctx;
	uint64_t size;		/* clamped */
	uint64_t seq;
	int visits;
};

static struct mblock *pool;
static size_t pool_n, model_count;

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = ((const struct mblock *)a)->ptr, y = ((const struct mblock *)b)->ptr;

	return x < y ? -1 : x > y;
}

static struct mblock *model_find(uintptr_t ptr)
{
	size_t lo = 0, hi = pool_n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pool[mid].ptr < ptr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < pool_n && pool[lo].ptr == ptr ? &pool[lo] : NULL;
}

static void make_pool(void)
{
	size_t cap = 320000, n = 0;

	pool = xcalloc(cap, sizeof(*pool));
	/* 100,000 in a row, 16 bytes apart: 25 regions of 64 KiB, 4,096 in each. */
	for (size_t i = 0; i < 100000; i++)
		pool[n++].ptr = (uintptr_t)(UINT64_C(0x555555550000) + i * 16);
	/* All sixteen addresses of 4,096 granules: ptr >> 4 is all the hash sees. */
	for (size_t i = 0; i < 65536; i++)
		pool[n++].ptr = (uintptr_t)(UINT64_C(0x7f0000000000) + i);
	/* 2^36 apart: the same home slot whatever the capacity. */
	for (size_t i = 0; i < 50000; i++)
		pool[n++].ptr = (uintptr_t)((UINT64_C(0x10000) + (i % 100) * 16) + ((uint64_t)(i / 100 + 1) << 36));
	/* The top of the address space, and random 48-bit pointers. */
	for (size_t i = 1; i <= 64; i++)
		pool[n++].ptr = (uintptr_t)(UINT64_MAX - i * 8 + 1);
	while (n < cap)
		pool[n++].ptr = (uintptr_t)(rnd() & UINT64_C(0xfffffffffff0));
	qsort(pool, n, sizeof(*pool), cmp_ptr);
	pool_n = 0;
	for (size_t i = 0; i < n; i++)
		if (pool[i].ptr && (!pool_n || pool[pool_n - 1].ptr != pool[i].ptr))
			pool[pool_n++] = pool[i];
}

static uint64_t random_size(void)
{
	switch (rnd() % 8) {
	case 0: return AGENT_BLOCK_MAX_SIZE;
	case 1: return AGENT_BLOCK_MAX_SIZE + 1 + rnd() % 1000;
	case 2: return UINT64_MAX - rnd() % 3;
	case 3: return rnd() & AGENT_BLOCK_MAX_SIZE;
	case 4: return 0;
	default: return rnd() % 4096;
	}
}

static uint32_t random_ctx(void)
{
	switch (rnd() % 4) {
	case 0: return AGENT_BLOCK_MAX_CTX;
	case 1: return (uint32_t)(rnd() % (AGENT_BLOCK_MAX_CTX + 1));
	case 2: return 0;
	default: return 1 + (uint32_t)(rnd() % 1000);
	}
}

static int same_block(const struct agent_block *b, const struct mblock *m)
{
	return b->ptr == m->ptr && b->seq == m->seq && agent_block_ctx(b) == m->ctx &&
	       agent_block_size(b) == m->size;
}

struct verify {
	int budget;
	size_t visited;
};

static int verify_one(struct agent_block *b, void *arg)
{
	struct verify *v = arg;
	struct mblock *m = model_find((uintptr_t)b->ptr);

	v->visited++;
	CHECK_SOME(v->budget, m && m->present, "foreach visited 0x%" PRIx64 ", which is not live", b->ptr);
	if (m && m->present) {
		CHECK_SOME(v->budget, same_block(b, m),
			   "foreach: 0x%" PRIx64 " has ctx %u size %" PRIu64 " seq %" PRIu64
			   ", want ctx %u size %" PRIu64 " seq %" PRIu64,
			   b->ptr, agent_block_ctx(b), agent_block_size(b), b->seq, m->ctx, m->size, m->seq);
		m->visits++;
	}
	return 0;
}

/* The table holds exactly the model's blocks, each once. */
static void verify_table(int line)
{
	struct verify v = { 5, 0 };
	size_t twice = 0, missing = 0;

	for (size_t i = 0; i < pool_n; i++)
		pool[i].visits = 0;
	agent_blocks_foreach(verify_one, &v);
	for (size_t i = 0; i < pool_n; i++) {
		if (pool[i].present && pool[i].visits == 0)
			missing++;
		if (pool[i].visits > 1)
			twice++;
	}
	check_at(!missing && !twice && v.visited == model_count, __FILE__, line,
		 "foreach saw %zu blocks, the model has %zu (%zu missed, %zu seen twice)", v.visited,
		 model_count, missing, twice);
	check_at(agent_blocks_count() == model_count, __FILE__, line, "agent_blocks_count() = %zu, model %zu",
		 agent_blocks_count(), model_count);
}

static void test_blocks_model(void)
{
	int budget = 10;
	long ops = 2000000 / scale_down;

	make_pool();
	model_count = 0;
	for (long op = 0; op < ops; op++) {
		unsigned r = (unsigned)(rnd() % 100);
		struct mblock *m = &pool[rnd() % pool_n];
		struct agent_block out;

		if (r < 45) {
			uint64_t size = random_size(), seq = rnd();
			uint32_t ctx = random_ctx();

			CHECK_SOME(budget, agent_blocks_insert(m->ptr, size, ctx, seq) == 0,
				   "op %ld: insert 0x%" PRIxPTR " failed", op, m->ptr);
			if (!m->present)
				model_count++;
			m->present = 1;
			m->size = clamp_size(size);
			m->ctx = ctx;
			m->seq = seq;
		} else if (r < 85) {
			int found;

			memset(&out, 0, sizeof(out));
			found = agent_blocks_remove(m->ptr, &out);
			CHECK_SOME(budget, found == m->present, "op %ld: remove 0x%" PRIxPTR " gave %d, model %d",
				   op, m->ptr, found, m->present);
			if (found && m->present) {
				CHECK_SOME(budget, same_block(&out, m),
					   "op %ld: removed 0x%" PRIxPTR " came back as 0x%" PRIx64
					   " ctx %u size %" PRIu64 " seq %" PRIu64 ", want ctx %u size %" PRIu64
					   " seq %" PRIu64, op, m->ptr, out.ptr, agent_block_ctx(&out),
					   agent_block_size(&out), out.seq, m->ctx, m->size, m->seq);
				m->present = 0;
				model_count--;
			}
		} else if (r < 95) {
			struct seen s = { 0, { 0, 0, 0 }, r < 88 ? 1 : 0 };
			int found = agent_blocks_with(m->ptr, with_record, &s);

			CHECK_SOME(budget, found == m->present && s.calls == m->present,
				   "op %ld: with 0x%" PRIxPTR " gave %d with %d calls, model %d", op, m->ptr,
				   found, s.calls, m->present);
			if (found && m->present) {
				CHECK_SOME(budget, same_block(&s.b, m), "op %ld: with 0x%" PRIxPTR " saw a wrong entry",
					   op, m->ptr);
				if (s.ret == 1) {
					m->present = 0;
					model_count--;
				}
			}
		} else {
			/* A pointer the table never had: nothing found, nothing disturbed. */
			uintptr_t p = (uintptr_t)(rnd() & UINT64_C(0xfffffffffff8)) | 8;

			if (!model_find(p)) {
				CHECK_SOME(budget, agent_blocks_remove(p, &out) == 0,
					   "op %ld: removing unknown 0x%" PRIxPTR " found something", op, p);
				CHECK_SOME(budget, agent_blocks_with(p, with_record, &(struct seen){ 0 }) == 0,
					   "op %ld: with on unknown 0x%" PRIxPTR " found something", op, p);
			}
		}
		if (op % 250000 == 249999) {
			CHECK_SOME(budget, agent_blocks_count() == model_count,
				   "op %ld: agent_blocks_count() = %zu, model %zu", op, agent_blocks_count(),
				   model_count);
			verify_table(__LINE__);
		}
	}
	CHECK(model_count > 50000, "the model only reached %zu live blocks", model_count);
}

/* Drop every other block in one pass of foreach. */
struct halve {
	int budget;
	size_t calls, dropped_twice;
};

static int drop_odd(struct agent_block *b, void *arg)
{
	struct halve *h = arg;
	struct mblock *m = model_find((uintptr_t)b->ptr);

	h->calls++;
	if (!m || !m->present) {
		CHECK_SOME(h->budget, 0, "foreach visited 0x%" PRIx64 ", not live", b->ptr);
		return 0;
	}
	CHECK_SOME(h->budget, same_block(b, m), "foreach visited a wrong entry for 0x%" PRIx64, b->ptr);
	m->visits++;
	if ((m - pool) & 1) {
		if (m->visits > 1)
			h->dropped_twice++;
		return 1;
	}
	return 0;
}

static void test_blocks_foreach_drop(void)
{
	struct halve h = { 10, 0, 0 };
	size_t want_left = 0, unvisited = 0, still_there = 0, lost = 0;

	for (size_t i = 0; i < pool_n; i++) {
		pool[i].visits = 0;
		if (pool[i].present && !(i & 1))
			want_left++;
	}
	agent_blocks_foreach(drop_odd, &h);
	for (size_t i = 0; i < pool_n; i++) {
		struct mblock *m = &pool[i];
		struct seen s = { 0, { 0, 0, 0 }, 0 };
		int found;

		if (!m->present)
			continue;
		if (!m->visits)
			unvisited++;
		found = agent_blocks_with(m->ptr, with_record, &s);
		if (i & 1) {
			still_there += found;
			m->present = 0;
			model_count--;
		} else {
			lost += !found || !same_block(&s.b, m);
		}
	}
	CHECK(!unvisited, "foreach never visited %zu live blocks", unvisited);
	CHECK(!h.dropped_twice, "foreach offered %zu blocks again after they were dropped", h.dropped_twice);
	CHECK(!still_there, "%zu blocks dropped by foreach are still in the table", still_there);
	CHECK(!lost, "%zu blocks foreach kept are gone or changed", lost);
	CHECK(agent_blocks_count() == want_left, "after dropping every other block: %zu counted, want %zu",
	      agent_blocks_count(), want_left);
	verify_table(__LINE__);
}

static int stop_at_ten(struct agent_block *b, void *arg)
{
	(void)b;
	return ++*(int *)arg == 10 ? -1 : 0;
}

static int never(struct agent_block *b, void *arg)
{
	(void)b;
	++*(int *)arg;
	return 0;
}

static void test_blocks_foreach_stop(void)
{
	size_t before = agent_blocks_count();
	int calls = 0;

	agent_blocks_foreach(stop_at_ten, &calls);
	CHECK(calls == 10, "foreach went on after -1: %d calls", calls);
	CHECK(agent_blocks_count() == before, "foreach with -1 changed the count");
	clear_blocks(__LINE__);
	for (size_t i = 0; i < pool_n; i++)
		pool[i].present = 0;
	model_count = 0;
	calls = 0;
	agent_blocks_foreach(never, &calls);
	CHECK(calls == 0, "foreach on an empty table called back %d times", calls);
}

/* ---------------------------------------------------------------- edges */

static void test_blocks_edges(void)
{
	static const struct {
		uint64_t size;
		uint32_t ctx;
		uint64_t seq;
		uint64_t want_size;
	} cases[] = {
		{ AGENT_BLOCK_MAX_SIZE, AGENT_BLOCK_MAX_CTX, UINT64_MAX, AGENT_BLOCK_MAX_SIZE },
		{ AGENT_BLOCK_MAX_SIZE - 1, AGENT_BLOCK_MAX_CTX, 0, AGENT_BLOCK_MAX_SIZE - 1 },
		{ AGENT_BLOCK_MAX_SIZE + 1, 5, 1, AGENT_BLOCK_MAX_SIZE },
		{ UINT64_C(1) << 41, AGENT_BLOCK_MAX_CTX, 2, AGENT_BLOCK_MAX_SIZE },
		{ UINT64_MAX, 0, 3, AGENT_BLOCK_MAX_SIZE },
		{ UINT64_MAX, AGENT_BLOCK_MAX_CTX, 3, AGENT_BLOCK_MAX_SIZE },
		{ 0, AGENT_BLOCK_MAX_CTX, 4, 0 },
		{ 0, 0, 0, 0 },
		{ 1, 1, 1, 1 },
		{ UINT64_C(1) << 39, 1u << 23, 5, UINT64_C(1) << 39 },
	};
	uintptr_t p = (uintptr_t)UINT64_C(0x12345670);
	struct agent_block out;

	CHECK(AGENT_BLOCK_MAX_SIZE == (UINT64_C(1) << 40) - 1, "AGENT_BLOCK_MAX_SIZE is 0x%" PRIx64,
	      (uint64_t)AGENT_BLOCK_MAX_SIZE);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(agent_blocks_insert(p, cases[i].size, cases[i].ctx, cases[i].seq) == 0, "insert failed");
		memset(&out, 0, sizeof(out));
		CHECK(agent_blocks_remove(p, &out) == 1, "case %zu: block not found", i);
		CHECK(out.ptr == p && agent_block_size(&out) == cases[i].want_size &&
		      agent_block_ctx(&out) == cases[i].ctx && out.seq == cases[i].seq,
		      "size %" PRIu64 " ctx %u seq %" PRIu64 " came back as size %" PRIu64 " ctx %u seq %" PRIu64,
		      cases[i].size, cases[i].ctx, cases[i].seq, agent_block_size(&out), agent_block_ctx(&out),
		      out.seq);
	}

	/* Re-inserting a live pointer replaces it: one block, the new fields. */
	CHECK(agent_blocks_insert(p, 10, 1, 100) == 0 && agent_blocks_insert(p, 20, 2, 200) == 0,
	      "insert failed");
	CHECK(agent_blocks_count() == 1, "re-insert: %zu blocks counted, want 1", agent_blocks_count());
	CHECK(agent_blocks_remove(p, &out) == 1 && agent_block_size(&out) == 20 &&
	      agent_block_ctx(&out) == 2 && out.seq == 200, "re-insert did not replace the entry");
	CHECK(agent_blocks_remove(p, &out) == 0, "re-inserted block found twice");
	CHECK(agent_blocks_count() == 0, "table not empty: %zu", agent_blocks_count());

	/* with: FN sees the entry, 1 drops it, an unknown pointer calls nothing. */
	{
		struct seen s = { 0, { 0, 0, 0 }, 0 };

		agent_blocks_insert(p, 33, 3, 333);
		CHECK(agent_blocks_with(p, with_record, &s) == 1 && s.calls == 1 && s.b.ptr == p &&
		      agent_block_size(&s.b) == 33 && agent_block_ctx(&s.b) == 3 && s.b.seq == 333,
		      "agent_blocks_with did not show the entry");
		CHECK(agent_blocks_count() == 1, "with returning 0 dropped the block");
		s.ret = 1;
		CHECK(agent_blocks_with(p, with_record, &s) == 1 && s.calls == 2, "second with failed");
		CHECK(agent_blocks_count() == 0, "with returning 1 kept the block");
		CHECK(agent_blocks_with(p, with_record, &s) == 0 && s.calls == 2,
		      "with on a dropped block called FN");
		CHECK(agent_blocks_remove(p, &out) == 0, "block dropped by with still removable");
	}
}

/* ---------------------------------------------------------------- threads */

#define TH 4
#define PER_THREAD (200000 / (size_t)scale_down)

struct blk_thread {
	int t;
	pthread_barrier_t *go;
	int fails;
};

static volatile int writers_done;

/* Where the threads' pointers start: high in a 64-bit address space, and
 * at 1.5 GiB in a 32-bit one. */
#define THREAD_BASE ((uintptr_t)(sizeof(uintptr_t) == 8 ? UINT64_C(0x600000000000) : UINT64_C(0x60000000)))

/* Thread T's pointers interleave with the others', so all four meet in every shard. */
static uintptr_t thread_ptr(int t, size_t i)
{
	return THREAD_BASE + (uintptr_t)((i * TH + (size_t)t) * 16);
}

static uint64_t thread_size(uintptr_t p)
{
	return (uint64_t)(p >> 4) & 0xffffff;
}

static void *blk_worker(void *arg)
{
	struct blk_thread *bt = arg;
	uint64_t s = 0x1234 + (uint64_t)bt->t;
	struct agent_block out;

	pthread_barrier_wait(bt->go);
	for (size_t i = 0; i < PER_THREAD; i++) {
		uintptr_t p = thread_ptr(bt->t, i);

		if (agent_blocks_insert(p, thread_size(p), (uint32_t)bt->t + 1, i) < 0)
			bt->fails++;
		/* The odd ones go again, some after a second insert that replaces. */
		if (i & 1) {
			if (rnd_r(&s) & 1)
				agent_blocks_insert(p, thread_size(p), (uint32_t)bt->t + 1, i);
			if (agent_blocks_remove(p, &out) != 1 || out.ptr != p ||
			    agent_block_ctx(&out) != (uint32_t)bt->t + 1 || out.seq != i)
				bt->fails++;
		}
	}
	return NULL;
}

struct reader {
	size_t seen, bad;
};

static int read_one(struct agent_block *b, void *arg)
{
	struct reader *r = arg;
	uint64_t k = (b->ptr - THREAD_BASE) / 16;

	r->seen++;
	if (b->ptr < THREAD_BASE || b->ptr % 16 ||
	    agent_block_ctx(b) != k % TH + 1 || agent_block_size(b) != thread_size((uintptr_t)b->ptr) ||
	    b->seq != k / TH)
		r->bad++;
	return 0;
}

static void *blk_reader(void *arg)
{
	struct reader *r = arg;

	while (!__atomic_load_n(&writers_done, __ATOMIC_ACQUIRE))
		agent_blocks_foreach(read_one, r);
	return NULL;
}

static void test_blocks_threads(void)
{
	pthread_barrier_t go;
	pthread_t th[TH], rd;
	struct blk_thread bt[TH];
	struct reader r = { 0, 0 };
	size_t missing = 0, extra = 0;

	clear_blocks(__LINE__);
	if (pthread_barrier_init(&go, NULL, TH))
		broken("pthread_barrier_init");
	writers_done = 0;
	start(&rd, blk_reader, &r);
	for (int t = 0; t < TH; t++) {
		bt[t] = (struct blk_thread){ t, &go, 0 };
		start(&th[t], blk_worker, &bt[t]);
	}
	for (int t = 0; t < TH; t++) {
		pthread_join(th[t], NULL);
		CHECK(!bt[t].fails, "thread %d: %d inserts or removes went wrong", t, bt[t].fails);
	}
	__atomic_store_n(&writers_done, 1, __ATOMIC_RELEASE);
	pthread_join(rd, NULL);
	pthread_barrier_destroy(&go);
	CHECK(!r.bad, "a concurrent foreach saw %zu torn or foreign entries (of %zu)", r.bad, r.seen);
	CHECK(agent_blocks_count() == (size_t)TH * PER_THREAD / 2,
	      "after 4 threads: %zu blocks counted, want %zu", agent_blocks_count(), TH * PER_THREAD / 2);
	for (int t = 0; t < TH; t++)
		for (size_t i = 0; i < PER_THREAD; i++) {
			struct seen s = { 0, { 0, 0, 0 }, 0 };
			int found = agent_blocks_with(thread_ptr(t, i), with_record, &s);

			if (i & 1)
				extra += found;
			else
				missing += !found || s.b.seq != i || agent_block_ctx(&s.b) != (uint32_t)t + 1;
		}
	CHECK(!missing && !extra, "after 4 threads: %zu blocks missing or wrong, %zu not removed",
	      missing, extra);
	clear_blocks(__LINE__);
}

/* ---------------------------------------------------------------- contexts */

static struct agent_ctx *get(const uintptr_t *pcs, int depth)
{
	return agent_ctx_get(pcs, depth, agent_stack_hash(pcs, depth));
}

static void test_ctx_identity(void)
{
	uintptr_t s1[6] = { 0x401000, 0x402000, 0x403000, 0x404000, 0x405000, 0 };
	uintptr_t copy[6], s2[5], s5[5];
	struct agent_ctx *c1, *c;
	uint32_t n0 = agent_ctx_count();

	CHECK(n0 == 0, "%u contexts before the first one", n0);
	CHECK(agent_ctx_by_id(0) == NULL && agent_ctx_by_id(1) == NULL, "agent_ctx_by_id on an empty table");

	c1 = get(s1, 5);
	CHECK(c1 && c1->id == 1, "first context has id %u, want 1", c1 ? c1->id : 0);
	if (!c1)
		return;
	CHECK(c1->depth == 5 && !memcmp(c1->pcs, s1, 5 * sizeof(s1[0])), "stack not stored as given");
	CHECK(c1->hash == agent_stack_hash(s1, 5), "hash not stored as given");
	CHECK(!c1->truncated, "new context marked truncated");
	memcpy(copy, s1, sizeof(s1));
	c = get(copy, 5);
	CHECK(c == c1, "the same stack (another array) gave another context");
	CHECK(get(s1, 5) == c1, "the same stack again gave another context");
	CHECK(agent_ctx_count() == 1, "%u contexts after one stack", agent_ctx_count());

	/* Differing only in the last frame, in depth, in order, by one bit. */
	memcpy(s2, s1, sizeof(s2));
	s2[4] ^= 1;
	c = get(s2, 5);
	CHECK(c && c != c1 && c->id == 2, "last frame differs: id %u, want a new id 2", c ? c->id : 0);
	c = get(s1, 4);
	CHECK(c && c != c1 && c->id == 3, "shorter stack: id %u, want a new id 3", c ? c->id : 0);
	c = get(s1, 6);		/* one more frame, and it is 0 */
	CHECK(c && c != c1 && c->id == 4, "stack with an extra 0 frame: id %u, want 4", c ? c->id : 0);
	for (int i = 0; i < 5; i++)
		s5[i] = s1[4 - i];
	c = get(s5, 5);
	CHECK(c && c->id == 5, "reversed stack: id %u, want 5", c ? c->id : 0);
	c = get(s1, 0);
	CHECK(c && c->id == 6 && c->depth == 0, "empty stack: id %u, want 6", c ? c->id : 0);
	CHECK(get(s2, 0) == c, "the empty stack found again through another array");

	/* Two stacks that the caller hashes alike are still two contexts. */
	{
		uintptr_t a[3] = { 1, 2, 3 }, b[3] = { 1, 2, 4 };
		struct agent_ctx *ca = agent_ctx_get(a, 3, 42), *cb = agent_ctx_get(b, 3, 42);

		CHECK(ca && cb && ca != cb && ca->id == 7 && cb->id == 8,
		      "colliding hashes: ids %u and %u, want 7 and 8", ca ? ca->id : 0, cb ? cb->id : 0);
		CHECK(agent_ctx_get(a, 3, 42) == ca && agent_ctx_get(b, 3, 42) == cb,
		      "colliding hashes: lookups mixed the two up");
	}

	/* Ids are dense from 1 and name their context. */
	CHECK(agent_ctx_count() == 8, "%u contexts, want 8", agent_ctx_count());
	for (uint32_t id = 1; id <= 8; id++) {
		c = agent_ctx_by_id(id);
		CHECK(c && c->id == id, "agent_ctx_by_id(%u) gave id %u", id, c ? c->id : 0);
	}
	CHECK(agent_ctx_by_id(1) == c1, "agent_ctx_by_id(1) is not the first context");
	CHECK(agent_ctx_by_id(9) == NULL && agent_ctx_by_id(UINT32_MAX) == NULL,
	      "agent_ctx_by_id past the count found something");
	CHECK(agent_stack_hash(s1, 5) == agent_stack_hash(copy, 5),
	      "agent_stack_hash is not a function of the stack");
	CHECK(agent_stack_hash(s1, 5) != agent_stack_hash(s2, 5) &&
	      agent_stack_hash(s1, 5) != agent_stack_hash(s1, 4) &&
	      agent_stack_hash(s1, 5) != agent_stack_hash(s1, 6),
	      "agent_stack_hash collides on neighbouring stacks");
}

/* Stack number I of a family: depth 1..12, frames that differ between stacks. */
static int stack_of(uint64_t family, uint32_t i, uintptr_t *pcs)
{
	int depth = (int)(i % 12) + 1;
	uint64_t s = family * 1000003 + i + 1;

	for (int j = 0; j < depth; j++)
		pcs[j] = (uintptr_t)(0x400000 + (rnd_r(&s) & 0xffffff));
	/* unique: families 256 MiB apart even in a 32-bit address space */
	pcs[0] = (uintptr_t)(0x10000000 + (uint64_t)i * 16 + family * 0x10000000);
	return depth;
}

struct ctx_thread {
	int t;
	uint32_t n;
	pthread_barrier_t *go;
	struct agent_ctx **got;
	int nulls;
};

static void *ctx_worker(void *arg)
{
	struct ctx_thread *ct = arg;
	uint32_t *order = xcalloc(ct->n, sizeof(*order));
	uint64_t s = 77 + (uint64_t)ct->t;

	/* Each thread asks for the same stacks in its own order. */
	for (uint32_t i = 0; i < ct->n; i++)
		order[i] = i;
	for (uint32_t i = ct->n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(rnd_r(&s) % (i + 1)), x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	pthread_barrier_wait(ct->go);
	for (uint32_t k = 0; k < ct->n; k++) {
		uintptr_t pcs[16];
		uint32_t i = order[k];
		int d = stack_of(1, i, pcs);

		ct->got[i] = get(pcs, d);
		if (!ct->got[i])
			ct->nulls++;
	}
	free(order);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void test_ctx_concurrent(void)
{
	enum { N = 20000 };
	pthread_barrier_t go;
	pthread_t th[TH];
	struct ctx_thread ct[TH];
	uint32_t base = agent_ctx_count(), *ids = xcalloc(N, sizeof(*ids));
	int differ = 0, gaps = 0;

	if (pthread_barrier_init(&go, NULL, TH))
		broken("pthread_barrier_init");
	for (int t = 0; t < TH; t++) {
		ct[t] = (struct ctx_thread){ t, N, &go, xcalloc(N, sizeof(struct agent_ctx *)), 0 };
		start(&th[t], ctx_worker, &ct[t]);
	}
	for (int t = 0; t < TH; t++) {
		pthread_join(th[t], NULL);
		CHECK(!ct[t].nulls, "thread %d: agent_ctx_get returned NULL %d times", t, ct[t].nulls);
	}
	pthread_barrier_destroy(&go);
	CHECK(agent_ctx_count() == base + N, "4 threads creating %d stacks made %u contexts", N,
	      agent_ctx_count() - base);
	for (uint32_t i = 0; i < N; i++) {
		for (int t = 1; t < TH; t++)
			differ += ct[t].got[i] != ct[0].got[i];
		ids[i] = ct[0].got[i] ? ct[0].got[i]->id : 0;
	}
	CHECK(!differ, "%d times two threads got different contexts for one stack", differ);
	qsort(ids, N, sizeof(*ids), cmp_u32);
	for (uint32_t i = 0; i < N; i++)
		gaps += ids[i] != base + 1 + i;
	CHECK(!gaps, "ids of the new contexts are not %u..%u (%d off)", base + 1, base + N, gaps);
	for (uint32_t i = 0; i < N; i++) {
		uintptr_t pcs[16];
		int d = stack_of(1, i, pcs);
		struct agent_ctx *c = ct[0].got[i];

		if (!c || c->depth != d || memcmp(c->pcs, pcs, (size_t)d * sizeof(pcs[0])) ||
		    agent_ctx_by_id(c->id) != c) {
			CHECK(0, "stack %u: context holds the wrong stack or id", i);
			break;
		}
	}
	for (int t = 0; t < TH; t++)
		free(ct[t].got);
	free(ids);
}

static void test_ctx_many(void)
{
	enum { N = 100000 };
	struct agent_ctx **got = xcalloc(N, sizeof(*got));
	uint32_t base = agent_ctx_count();
	int bad = 0;

	for (uint32_t i = 0; i < N; i++) {
		uintptr_t pcs[16];
		int d = stack_of(2, i, pcs);

		got[i] = get(pcs, d);
		if (!got[i] || got[i]->id != base + 1 + i) {
			CHECK(0, "context %u: got id %u, want %u", i, got[i] ? got[i]->id : 0, base + 1 + i);
			break;
		}
	}
	CHECK(agent_ctx_count() == base + N, "%u contexts after adding %d to %u", agent_ctx_count(), N, base);
	/* After the index has grown many times every context is still found. */
	for (uint32_t i = 0; i < N && bad < 3; i++) {
		uintptr_t pcs[16];
		int d = stack_of(2, i, pcs);
		struct agent_ctx *c = get(pcs, d);

		if (c != got[i] || agent_ctx_by_id(base + 1 + i) != got[i]) {
			bad++;
			CHECK(0, "context %u (id %u) not found again after growth", i, base + 1 + i);
		}
	}
	CHECK(agent_ctx_count() == base + N, "looking contexts up created %u more", agent_ctx_count() - base - N);
	/* The first contexts, made before any growth, too. */
	CHECK(agent_ctx_by_id(1) && agent_ctx_by_id(1)->id == 1, "context 1 lost after growth");
	free(got);
}

/* ---------------------------------------------------------------- statistics */

#define CHECK_STATS(c, lb, lby, ta, tb, pk, fn, ln) check_stats_at(c, lb, lby, ta, tb, pk, fn, ln, __LINE__)
static void check_stats_at(const struct agent_ctx *c, int64_t live_blocks, int64_t live_bytes,
			   uint64_t total_allocs, uint64_t total_bytes, int64_t peak, uint64_t first_ns,
			   uint64_t last_ns, int line)
{
	struct agent_ctx_stats st;

	memset(&st, 0x77, sizeof(st));
	agent_ctx_stats(c, &st);
	check_at(st.live_blocks == live_blocks && st.live_bytes == live_bytes &&
		 st.total_allocs == total_allocs && st.total_bytes == total_bytes &&
		 st.peak_live_bytes == peak && st.first_ns == first_ns && st.last_ns == last_ns, __FILE__, line,
		 "stats: live %" PRId64 "/%" PRId64 " total %" PRIu64 "/%" PRIu64 " peak %" PRId64
		 " first %" PRIu64 " last %" PRIu64 "; want live %" PRId64 "/%" PRId64 " total %" PRIu64
		 "/%" PRIu64 " peak %" PRId64 " first %" PRIu64 " last %" PRIu64,
		 st.live_blocks, st.live_bytes, st.total_allocs, st.total_bytes, st.peak_live_bytes,
		 st.first_ns, st.last_ns, live_blocks, live_bytes, total_allocs, total_bytes, peak,
		 first_ns, last_ns);
}

static struct agent_ctx *fresh_ctx(uintptr_t tag)
{
	uintptr_t pcs[2] = { 0xabc000 + tag, 0xdef000 };
	struct agent_ctx *c = get(pcs, 2);

	if (!c)
		broken("agent_ctx_get");
	return c;
}

static void test_ctx_stats(void)
{
	struct agent_ctx *c = fresh_ctx(1);
	int s = agent_ctx_slot_of_thread();

	CHECK(s >= 0 && s < AGENT_CTX_SLOTS, "agent_ctx_slot_of_thread() = %d", s);
	CHECK(agent_ctx_slot_of_thread() == s, "the thread's slot changed between calls");
	CHECK_STATS(c, 0, 0, 0, 0, 0, 0, 0);

	/* Spread over the slots as threads would; frees may land in another slot. */
	agent_ctx_alloc(c, 100, 1000, 0);
	CHECK_STATS(c, 1, 100, 1, 100, 100, 1000, 1000);
	agent_ctx_alloc(c, 50, 2000, 1);
	agent_ctx_alloc(c, 7, 1500, 2);
	CHECK_STATS(c, 3, 157, 3, 157, 157, 1000, 2000);
	agent_ctx_free(c, 100, 3);
	CHECK_STATS(c, 2, 57, 3, 157, 157, 1000, 2000);
	agent_ctx_alloc(c, 1, 1800, 3);
	CHECK_STATS(c, 3, 58, 4, 158, 157, 1000, 2000);

	/* Reset: totals and times to zero, live kept, the peak restarts at live. */
	agent_ctx_reset_totals();
	agent_ctx_reset_peaks();
	CHECK_STATS(c, 3, 58, 0, 0, 58, 0, 0);
	agent_ctx_alloc(c, 10, 5000, 0);
	CHECK_STATS(c, 4, 68, 1, 10, 68, 5000, 5000);
	agent_ctx_free(c, 10, 0);
	agent_ctx_free(c, 50, 1);
	agent_ctx_free(c, 7, 2);
	agent_ctx_free(c, 1, 3);
	CHECK_STATS(c, 0, 0, 1, 10, 68, 5000, 5000);
	agent_ctx_reset_totals();
	agent_ctx_reset_peaks();
	CHECK_STATS(c, 0, 0, 0, 0, 0, 0, 0);
	/* Other contexts are reset too. */
	{
		struct agent_ctx *d = fresh_ctx(2);
		struct agent_ctx_stats st;

		agent_ctx_alloc(d, 4096, 77, s);
		agent_ctx_reset_totals();
		agent_ctx_reset_peaks();
		agent_ctx_stats(d, &st);
		CHECK(st.total_allocs == 0 && st.first_ns == 0 && st.live_bytes == 4096 && st.peak_live_bytes == 4096,
		      "the resets missed a second context");
		agent_ctx_free(d, 4096, s);
	}
}

/* One thread allocating and freeing: the peak is the true maximum. */
static void test_ctx_peak(void)
{
	enum { OPS = 200000, MAXLIVE = 4096 };
	struct agent_ctx *c = fresh_ctx(3);
	uint64_t *live = xcalloc(MAXLIVE, sizeof(*live));
	int slot = agent_ctx_slot_of_thread(), n = 0, bad = 0;
	int64_t bytes = 0, max = 0;
	uint64_t allocs = 0, total = 0;

	for (int op = 0; op < OPS && bad < 3; op++) {
		/* Phases of growth and shrinkage, so the peak is passed again and again. */
		int grow = ((op / 5000) & 1) ? rnd() % 100 < 35 : rnd() % 100 < 65;

		if ((grow && n < MAXLIVE) || n == 0) {
			uint64_t size = 1 + rnd() % (rnd() % 8 ? 512 : 100000);

			live[n++] = size;
			bytes += (int64_t)size;
			allocs++;
			total += size;
			agent_ctx_alloc(c, size, 1000 + (uint64_t)op, slot);
			if (bytes > max)
				max = bytes;
		} else {
			int k = (int)(rnd() % (uint64_t)n);

			bytes -= (int64_t)live[k];
			agent_ctx_free(c, live[k], slot);
			live[k] = live[--n];
		}
		if (op % 1000 == 999) {
			struct agent_ctx_stats st;

			agent_ctx_stats(c, &st);
			if (st.peak_live_bytes != max || st.live_bytes != bytes || st.live_blocks != n ||
			    st.total_allocs != allocs || st.total_bytes != total) {
				bad++;
				CHECK(0, "op %d: peak %" PRId64 " live %" PRId64 "/%" PRId64 " totals %" PRIu64 "/%" PRIu64
				      "; want peak %" PRId64 " live %d/%" PRId64 " totals %" PRIu64 "/%" PRIu64,
				      op, st.peak_live_bytes, st.live_blocks, st.live_bytes, st.total_allocs,
				      st.total_bytes, max, n, bytes, allocs, total);
			}
			CHECK(st.first_ns == 1000, "first_ns %" PRIu64 ", want 1000", st.first_ns);
		}
	}
	free(live);
}

/* Four threads on one context: exact sums, and the peak within its bounds. */
struct stat_thread {
	struct agent_ctx *c;
	pthread_barrier_t *go;
	uint64_t seed;
	int64_t max_live;
	uint64_t allocs, bytes;
	int64_t left_bytes, left_blocks;
};

static void *stat_worker(void *arg)
{
	struct stat_thread *st = arg;
	uint64_t live[256];
	int n = 0, slot = agent_ctx_slot_of_thread();
	int64_t bytes = 0;

	pthread_barrier_wait(st->go);
	for (int op = 0; op < 200000; op++) {
		if (n == 0 || (n < 256 && rnd_r(&st->seed) % 2)) {
			uint64_t size = 1 + rnd_r(&st->seed) % 1000;

			live[n++] = size;
			bytes += (int64_t)size;
			st->allocs++;
			st->bytes += size;
			agent_ctx_alloc(st->c, size, 10 + (uint64_t)op, slot);
			if (bytes > st->max_live)
				st->max_live = bytes;
		} else {
			int k = (int)(rnd_r(&st->seed) % (uint64_t)n);

			bytes -= (int64_t)live[k];
			agent_ctx_free(st->c, live[k], slot);
			live[k] = live[--n];
		}
	}
	st->left_bytes = bytes;
	st->left_blocks = n;
	return NULL;
}

static void test_ctx_threads(void)
{
	struct agent_ctx *c = fresh_ctx(4);
	struct stat_thread st[TH];
	pthread_barrier_t go;
	pthread_t th[TH];
	struct agent_ctx_stats s;
	int64_t max_one = 0, max_sum = 0, left_bytes = 0, left_blocks = 0;
	uint64_t allocs = 0, bytes = 0;

	if (pthread_barrier_init(&go, NULL, TH))
		broken("pthread_barrier_init");
	for (int t = 0; t < TH; t++) {
		st[t] = (struct stat_thread){ c, &go, 99 + (uint64_t)t, 0, 0, 0, 0, 0 };
		start(&th[t], stat_worker, &st[t]);
	}
	for (int t = 0; t < TH; t++) {
		pthread_join(th[t], NULL);
		allocs += st[t].allocs;
		bytes += st[t].bytes;
		left_bytes += st[t].left_bytes;
		left_blocks += st[t].left_blocks;
		max_sum += st[t].max_live;
		if (st[t].max_live > max_one)
			max_one = st[t].max_live;
	}
	pthread_barrier_destroy(&go);
	agent_ctx_stats(c, &s);
	CHECK(s.total_allocs == allocs && s.total_bytes == bytes, "4 threads: totals %" PRIu64 "/%" PRIu64
	      ", want %" PRIu64 "/%" PRIu64, s.total_allocs, s.total_bytes, allocs, bytes);
	CHECK(s.live_blocks == left_blocks && s.live_bytes == left_bytes,
	      "4 threads: live %" PRId64 "/%" PRId64 ", want %" PRId64 "/%" PRId64, s.live_blocks,
	      s.live_bytes, left_blocks, left_bytes);
	CHECK(s.peak_live_bytes >= max_one && s.peak_live_bytes <= max_sum,
	      "4 threads: peak %" PRId64 " outside [%" PRId64 ", %" PRId64 "]", s.peak_live_bytes,
	      max_one, max_sum);
	CHECK(s.first_ns == 10 && s.last_ns >= 10 && s.last_ns < 10 + 200000,
	      "4 threads: first %" PRIu64 " last %" PRIu64, s.first_ns, s.last_ns);
}

/* ---------------------------------------------------------------- release (detach) */

/*
 * After tables full of blocks and contexts (a big context index, retired
 * copies, many id chunks), agent_blocks_release and agent_ctx_release give
 * every byte back: the memory counters are 0, the tables are empty, and
 * they fill again from nothing, ids from 1.
 */
static void test_release(void)
{
	enum { NB = 300000, NC = 20000 };
	uintptr_t pcs[4] = { 0x1000, 0x2000, 0x3000, 0 };
	struct agent_ctx *c;
	int budget = 5;

	for (uint32_t i = 0; i < NC; i++) {
		pcs[3] = 0x10000 + i;
		CHECK_SOME(budget, agent_ctx_get(pcs, 4, agent_stack_hash(pcs, 4)) != NULL, "context %u", i);
	}
	for (uintptr_t i = 0; i < NB; i++)
		CHECK_SOME(budget, agent_blocks_insert(0x10000000 + i * 48, 32, 1 + (uint32_t)(i % NC), i) == 0,
			   "insert %zu", (size_t)i);
	CHECK(agent_blocks_count() >= NB, "%zu blocks before the release", agent_blocks_count());
	CHECK(agent_mem_bytes(AGENT_MEM_BLOCKS) > NB * 24 && agent_mem_bytes(AGENT_MEM_CONTEXTS) > NC * 64,
	      "memory before the release: blocks %zu contexts %zu", agent_mem_bytes(AGENT_MEM_BLOCKS),
	      agent_mem_bytes(AGENT_MEM_CONTEXTS));

	agent_blocks_release();
	agent_ctx_release();
	CHECK(agent_mem_bytes(AGENT_MEM_BLOCKS) == 0, "%zu bytes of block tables after the release",
	      agent_mem_bytes(AGENT_MEM_BLOCKS));
	CHECK(agent_mem_bytes(AGENT_MEM_CONTEXTS) == 0, "%zu bytes of contexts after the release",
	      agent_mem_bytes(AGENT_MEM_CONTEXTS));
	CHECK(agent_blocks_count() == 0, "%zu blocks after the release", agent_blocks_count());
	CHECK(agent_ctx_count() == 0 && agent_ctx_by_id(1) == NULL, "%u contexts after the release",
	      agent_ctx_count());
	CHECK(!agent_blocks_with(0x10000000, with_record, &(struct seen){ 0 }), "a block found after the release");

	/* And again from nothing. */
	c = agent_ctx_get(pcs, 4, agent_stack_hash(pcs, 4));
	CHECK(c && c->id == 1, "the first context after the release has id %u", c ? c->id : 0);
	CHECK(agent_blocks_insert(0x10000000, 64, 1, 7) == 0 && agent_blocks_count() == 1,
	      "insert after the release: %zu blocks", agent_blocks_count());
	agent_blocks_release();
	agent_ctx_release();
	/* Twice is harmless. */
	agent_blocks_release();
	agent_ctx_release();
	CHECK(agent_mem_total() == 0, "%zu bytes mapped after a second release", agent_mem_total());
}

int main(void)
{
	const char *quick = getenv("MEMTRACE_TEST_QUICK");

	setvbuf(stdout, NULL, _IOLBF, 0);
	rng = check_seed(0x243f6a8885a308d3u);
	/* xorshift stays at 0 */
	if (!rng)
		rng = 1;
	/* Under emulation (the ARM VMs) a tenth of the random operations. */
	if (quick && *quick && strcmp(quick, "0"))
		scale_down = 10;

	/* Blocks: the memory figure first, on a fresh table. */
	RUN(test_blocks_memory);
	RUN(test_blocks_edges);
	RUN(test_blocks_model);
	RUN(test_blocks_foreach_drop);
	RUN(test_blocks_foreach_stop);
	/* Races show up now and then, not every time: several rounds. */
	for (int round = 0; round < 4; round++)
		RUN(test_blocks_threads);

	/* Contexts: identity first, so ids count from 1. */
	RUN(test_ctx_identity);
	RUN(test_ctx_concurrent);
	RUN(test_ctx_many);
	RUN(test_ctx_stats);
	RUN(test_ctx_peak);
	RUN(test_ctx_threads);
	/* Last: it empties both tables. */
	RUN(test_release);
	alarm(0);

	free(pool);
	if (failures)
		printf("test_tables: %d of %d checks failed\n", failures, checks);
	return failures ? 1 : 0;
}
