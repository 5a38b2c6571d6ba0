/*
 * Unit test for the leak verdict engine (common/leaks.c), over a fake
 * address space: a few segments, each backed by a buffer of the test,
 * read through a struct memsrc whose read copies from them (EFAULT outside
 * them and on pages marked unreadable).
 *
 * 1. Hand-built heaps whose verdicts are those of the notes' victim table
 *    (../shared/notes/leak-verdicts.md 6.1, valgrind with heuristics
 *    none): a lone lost block, a lost tree, a lost 2-cycle, interior and
 *    start pointers, a zero-size block, 32-bit blocks at the top of the
 *    address space, a block read in pieces past an unreadable page, a list
 *    linked backwards (past the sweeps), a lost fan of 10,000 blocks (the
 *    stack grows), heaps spread over 5 GiB (clusters split at 4 GiB) and
 *    68 GiB (binary search), and the refusals of bad input.
 * 2. A model check: random heaps, both pointer sizes, the engine's
 *    verdicts and indirect bytes against a brute-force reference written
 *    here (a fixpoint over memcheck's rules on an explicit pointer graph,
 *    then the clique pass), plus the byte balance of the cliques.
 * 3. who_points on the same random heaps, against a plain walk.
 *
 * MEMTRACE_TEST_SEED replays a failed run (check_seed).
 */
#include "leaks.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define PAGE 4096u

/* ---------------------------------------------------------------- the fake address space */

struct seg {
	uint64_t lo;
	size_t len;
	unsigned char *mem;
};

struct space {
	unsigned ps;
	struct seg seg[4];
	int nseg;
	uint64_t bad[4];	/* unreadable pages (their first byte) */
	int nbad;
	int no_readv;		/* the memsrc offers no readv */
	unsigned long readvs;	/* readv calls */
};

static int space_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	const struct space *sp = arg;
	int i;

	for (i = 0; i < sp->nbad; i++)
		if (addr < sp->bad[i] + PAGE && addr + len > sp->bad[i])
			goto fault;
	for (i = 0; i < sp->nseg; i++)
		if (addr >= sp->seg[i].lo && addr + len <= sp->seg[i].lo + sp->seg[i].len) {
			memcpy(buf, sp->seg[i].mem + (addr - sp->seg[i].lo), len);
			return 0;
		}
fault:
	errno = EFAULT;
	return -1;
}

/* As process_vm_readv: all or an error; counts its calls. */
static int space_readv(void *arg, const struct memsrc_piece *pc, size_t n)
{
	struct space *sp = arg;
	size_t i;

	sp->readvs++;
	if (n > MEMSRC_READV_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++)
		if (space_read(arg, pc[i].addr, pc[i].buf, pc[i].len) < 0)
			return -1;
	return 0;
}

/* The space's memsrc: with readv, or now and then without (the engine reads one by one). */
static struct memsrc space_src(struct space *sp)
{
	struct memsrc m = { .read = space_read, .arg = sp, .ptr_size = sp->ps };

	if (!sp->no_readv)
		m.readv = space_readv;
	return m;
}

static void space_add(struct space *sp, uint64_t lo, size_t len)
{
	struct seg *s = &sp->seg[sp->nseg++];

	s->lo = lo;
	s->len = len;
	s->mem = calloc(1, len);
	if (!s->mem)
		broken("calloc");
}

static void space_free(struct space *sp)
{
	int i;

	for (i = 0; i < sp->nseg; i++)
		free(sp->seg[i].mem);
	memset(sp, 0, sizeof(*sp));
}

/* The word at ADDR as the reference reads it: 1 when readable. */
static int space_word(const struct space *sp, uint64_t addr, uint64_t *v)
{
	unsigned char buf[8];

	if (space_read((void *)sp, addr, buf, sp->ps) < 0)
		return 0;
	if (sp->ps == 4) {
		uint32_t w;

		memcpy(&w, buf, 4);
		*v = w;
	} else {
		memcpy(v, buf, 8);
	}
	return 1;
}

static void put(struct space *sp, uint64_t addr, uint64_t v)
{
	int i;

	for (i = 0; i < sp->nseg; i++)
		if (addr >= sp->seg[i].lo && addr + sp->ps <= sp->seg[i].lo + sp->seg[i].len) {
			if (sp->ps == 4) {
				uint32_t w = (uint32_t)v;

				memcpy(sp->seg[i].mem + (addr - sp->seg[i].lo), &w, 4);
			} else {
				memcpy(sp->seg[i].mem + (addr - sp->seg[i].lo), &v, 8);
			}
			return;
		}
	errno = EINVAL;
	broken("put outside the fake space");
}

/* ---------------------------------------------------------------- a heap and its roots */

struct range {
	uint64_t lo, hi;
};

struct heap {
	struct space sp;
	struct leak_block *b;
	size_t n, cap;
	uint64_t regs[8];
	size_t nregs;
	struct range roots[8];
	size_t nroots;
};

static size_t add_block(struct heap *h, uint64_t addr, uint64_t size)
{
	h->b = check_grow(h->b, h->n, &h->cap, 64, sizeof(*h->b));
	memset(&h->b[h->n], 0, sizeof(h->b[h->n]));
	h->b[h->n].addr = addr;
	h->b[h->n].size = size;
	h->b[h->n].verdict = 0xee;	/* the scan must write every one */
	h->b[h->n].indirect = 12345;
	return h->n++;
}

static void heap_free(struct heap *h)
{
	space_free(&h->sp);
	free(h->b);
	memset(h, 0, sizeof(*h));
}

/* Runs the engine over H: 0, or -1 when a call failed. */
static int run_engine(struct heap *h, struct leak_scan **out)
{
	struct memsrc m = space_src(&h->sp);
	struct leak_scan *s = leak_scan_new(h->b, h->n, h->sp.ps);
	size_t i;

	*out = s;
	if (!s)
		return -1;
	if (h->nregs)
		leak_scan_root_words(s, h->regs, h->nregs);
	for (i = 0; i < h->nroots; i++)
		if (leak_scan_root_range(s, &m, h->roots[i].lo, h->roots[i].hi) < 0)
			return -1;
	return leak_scan_finish(s, &m);
}

/* ---------------------------------------------------------------- the reference */

static long ref_find(const struct heap *h, uint64_t v)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (v >= h->b[i].addr && v < h->b[i].addr + (h->b[i].size ? h->b[i].size : 1))
			return (long)i;
	return -1;
}

/* One pointer: from a root (SRC -1) or a block, to a block, at its start or not. */
struct edge {
	long src;
	size_t dst;
	int start;
};

struct graph {
	struct edge *e;
	size_t n, cap;
};

static void ref_edge(const struct heap *h, struct graph *g, long src, uint64_t v)
{
	long d = ref_find(h, v);

	if (d < 0)
		return;
	g->e = check_grow(g->e, g->n, &g->cap, 256, sizeof(*g->e));
	g->e[g->n].src = src;
	g->e[g->n].dst = (size_t)d;
	g->e[g->n++].start = v == h->b[d].addr;
}

/* Every aligned whole word of [LO, HI) that can be read. */
static void ref_words(const struct heap *h, struct graph *g, long src, uint64_t lo, uint64_t hi)
{
	uint64_t a, v, ps = h->sp.ps;

	for (a = (lo + ps - 1) / ps * ps; a + ps <= hi; a += ps)
		if (space_word(&h->sp, a, &v))
			ref_edge(h, g, src, v);
}

static void ref_graph(const struct heap *h, struct graph *g)
{
	uint64_t mask = h->sp.ps == 4 ? UINT32_MAX : UINT64_MAX;
	size_t i;

	for (i = 0; i < h->nregs; i++)
		ref_edge(h, g, -1, h->regs[i] & mask);
	for (i = 0; i < h->nroots; i++)
		ref_words(h, g, -1, h->roots[i].lo, h->roots[i].hi);
	for (i = 0; i < h->n; i++)
		ref_words(h, g, (long)i, h->b[i].addr, h->b[i].addr + h->b[i].size);
}

/* A clique member's pointers, depth first (recursion: the heaps are small). */
static void ref_clique(const struct heap *h, const struct graph *g, uint8_t *v, uint64_t *ind, size_t leader,
		       size_t from)
{
	size_t k;

	for (k = 0; k < g->n; k++) {
		size_t d = g->e[k].dst;

		if (g->e[k].src != (long)from || d == leader || v[d] != LEAK_DEFINITE)
			continue;
		ind[leader] += h->b[d].size + ind[d];
		ind[d] = 0;
		v[d] = LEAK_INDIRECT;
		ref_clique(h, g, v, ind, leader, d);
	}
}

/*
 * memcheck's verdicts by brute force: states rise until nothing changes
 * (a start pointer from a root or a reachable block: reachable; any other
 * pointer from a root or a block reached at all: possibly lost when not
 * reached yet), then the cliques in address order. V holds LEAK_DEFINITE
 * for "not reached" until the cliques.
 */
static void ref_verdicts(const struct heap *h, uint8_t *v, uint64_t *ind)
{
	struct graph g = { 0 };
	size_t i, k;
	int changed;

	ref_graph(h, &g);
	for (i = 0; i < h->n; i++) {
		v[i] = LEAK_DEFINITE;
		ind[i] = 0;
	}
	do {
		changed = 0;
		for (k = 0; k < g.n; k++) {
			const struct edge *e = &g.e[k];
			int from_reached = e->src < 0 || v[e->src] == LEAK_REACHABLE || v[e->src] == LEAK_POSSIBLE;
			int definite = e->src < 0 || v[e->src] == LEAK_REACHABLE;

			if (!from_reached || v[e->dst] == LEAK_REACHABLE)
				continue;
			if (definite && e->start) {
				v[e->dst] = LEAK_REACHABLE;
				changed = 1;
			} else if (v[e->dst] == LEAK_DEFINITE) {
				v[e->dst] = LEAK_POSSIBLE;
				changed = 1;
			}
		}
	} while (changed);
	for (i = 0; i < h->n; i++)
		if (v[i] == LEAK_DEFINITE)
			ref_clique(h, &g, v, ind, i, i);
	free(g.e);
}

/* ---------------------------------------------------------------- hand-built heaps */

static const char *vname(unsigned v)
{
	return v < LEAK_NVERDICTS ? leak_verdict_key[v] : "(not written)";
}

/* One segment at LO of LEN bytes; ROOT bytes at its start are a root range. */
static void heap_init(struct heap *h, unsigned ps, uint64_t lo, size_t len, size_t root)
{
	memset(h, 0, sizeof(*h));
	h->sp.ps = ps;
	space_add(&h->sp, lo, len);
	if (root) {
		h->roots[0].lo = lo;
		h->roots[0].hi = lo + root;
		h->nroots = 1;
	}
}

#define EXPECT(h, i, want, want_ind)                                                                        \
	CHECK((h)->b[i].verdict == (want) && (h)->b[i].indirect == (want_ind),                              \
	      "%s: block %zu: %s, %" PRIu64 " indirect; expected %s, %" PRIu64, what, (size_t)(i),       \
	      vname((h)->b[i].verdict), (h)->b[i].indirect, vname(want), (uint64_t)(want_ind))

static void run_hand(struct heap *h, const char *what)
{
	struct leak_scan *s;

	CHECK(run_engine(h, &s) == 0, "%s: scan: %s", what, strerror(errno));
	leak_scan_free(s);
}

/*
 * A heap described by a table: blocks at offsets from the segment's base
 * (its first 64 bytes are the root range), pointers as (holder, word,
 * target, bytes into it), the verdicts expected. A holder of -1 is the
 * root range; words count in pointers, so a case serves both sizes.
 */
#define ROOT (-1)
struct hand_case {
	const char *what;
	struct {
		unsigned off, size;
	} block[9];
	struct {
		int from, word, to, plus;
	} ptr[9];
	struct {
		uint8_t verdict;
		unsigned indirect;
	} want[9];
	int nblocks, nptrs;
};

static const struct hand_case hand[] = {
	{ "lone lost block", { { 256, 24 } }, { { 0 } }, { { LEAK_DEFINITE, 0 } }, 1, 0 },
	/* A list with its head last in memory: a leader absorbed. */
	{ "lost list, head above its tail",
	  { { 512, 32 }, { 576, 40 }, { 640, 48 } },
	  { { 2, 0, 1, 0 }, { 1, 0, 0, 8 } },	/* interior: the same as a start here */
	  { { LEAK_INDIRECT, 0 }, { LEAK_INDIRECT, 0 }, { LEAK_DEFINITE, 72 } }, 3, 2 },
	/* The notes' 64 (32 direct, 32 indirect). */
	{ "lost 2-cycle",
	  { { 512, 32 }, { 1024, 32 } },
	  { { 0, 0, 1, 0 }, { 1, 0, 0, 0 } },
	  { { LEAK_DEFINITE, 32 }, { LEAK_INDIRECT, 0 } }, 2, 2 },
	/*
	 * Root -> +16 into 0 (possibly lost); 0 -> start of 1 (possibly lost:
	 * 0 is no definite source); root -> start of 2 (reachable), 2 -> start
	 * of 3 (reachable), 2 -> +8 into 4 (possibly lost); zero-size 5 from
	 * the root (reachable) and 6 only past its one byte (definitely lost);
	 * 7 points at itself (definitely lost, alone).
	 */
	{ "interior, start, zero-size",
	  { { 256, 64 }, { 384, 16 }, { 512, 32 }, { 576, 8 }, { 640, 24 }, { 672, 0 }, { 680, 0 }, { 688, 32 } },
	  { { ROOT, 0, 0, 16 }, { 0, 2, 1, 0 }, { ROOT, 1, 2, 0 }, { 2, 0, 3, 0 }, { 2, 1, 4, 8 },
	    { ROOT, 2, 5, 0 }, { 7, 1, 7, 0 }, { 1, 1, 6, 1 } },
	  { { LEAK_POSSIBLE, 0 }, { LEAK_POSSIBLE, 0 }, { LEAK_REACHABLE, 0 }, { LEAK_REACHABLE, 0 },
	    { LEAK_POSSIBLE, 0 }, { LEAK_REACHABLE, 0 }, { LEAK_DEFINITE, 0 }, { LEAK_DEFINITE, 0 } }, 8, 8 },
	/* Root -> inside 0, 0 -> 2 (possible while 0 is); root -> 1 -> start of 0: all rise. */
	{ "possible then reachable",
	  { { 256, 32 }, { 512, 32 }, { 768, 32 } },
	  { { ROOT, 0, 0, 8 }, { 0, 0, 2, 0 }, { ROOT, 1, 1, 0 }, { 1, 0, 0, 0 } },
	  { { LEAK_REACHABLE, 0 }, { LEAK_REACHABLE, 0 }, { LEAK_REACHABLE, 0 } }, 3, 4 },
};

static void run_table(const struct hand_case *c, unsigned ps, uint64_t base)
{
	const char *what = c->what;
	struct heap h;
	int i;

	heap_init(&h, ps, base, 2 * PAGE, 64);
	for (i = 0; i < c->nblocks; i++)
		add_block(&h, base + c->block[i].off, c->block[i].size);
	for (i = 0; i < c->nptrs; i++) {
		uint64_t at = c->ptr[i].from == ROOT ? base : h.b[c->ptr[i].from].addr;

		put(&h.sp, at + (uint64_t)ps * (unsigned)c->ptr[i].word, h.b[c->ptr[i].to].addr + (unsigned)c->ptr[i].plus);
	}
	run_hand(&h, what);
	for (i = 0; i < c->nblocks; i++)
		EXPECT(&h, i, c->want[i].verdict, c->want[i].indirect);
	heap_free(&h);
}

static void test_hand(unsigned ps)
{
	uint64_t base = ps == 8 ? UINT64_C(0x5555aaaa0000) : 0x10000;
	struct heap h;
	size_t a, b, c, i, t[7];
	const char *what;

	for (i = 0; i < sizeof(hand) / sizeof(hand[0]); i++)
		run_table(&hand[i], ps, base);

	/* A 7-node tree of 32-byte blocks: the notes' 224 (32 direct, 192 indirect). */
	what = "lost tree";
	heap_init(&h, ps, base, 2 * PAGE, 64);
	for (i = 0; i < 7; i++)
		t[i] = add_block(&h, base + 512 + 64 * i, 32);
	for (i = 1; i < 7; i++)
		put(&h.sp, h.b[t[(i - 1) / 2]].addr + ps * (1 + (i - 1) % 2), h.b[t[i]].addr);
	{
		struct leak_scan_stats st;
		struct leak_scan *s;

		CHECK(run_engine(&h, &s) == 0, "%s: scan: %s", what, strerror(errno));
		leak_scan_stats(s, &st);
		/* The root, then the whole clique through one read-ahead window. */
		CHECK(st.reads == 2, "%s: %" PRIu64 " reads, expected 2", what, st.reads);
		leak_scan_free(s);
	}
	EXPECT(&h, t[0], LEAK_DEFINITE, 192);
	for (i = 1; i < 7; i++)
		EXPECT(&h, t[i], LEAK_INDIRECT, 0);
	heap_free(&h);

	/*
	 * A list linked backwards in memory, its head last: a sweep in
	 * address order reaches one more node each time, so the stack takes
	 * over; its tail points inside a lost block.
	 */
	what = "list linked backwards";
	heap_init(&h, ps, base, 2 * PAGE, 64);
	a = add_block(&h, base + 256, 32);
	for (i = 0; i < 40; i++) {
		b = add_block(&h, base + 512 + 48 * i, 40);
		put(&h.sp, h.b[b].addr + ps, i ? h.b[b - 1].addr : h.b[a].addr + 4);
	}
	put(&h.sp, base, h.b[b].addr);
	run_hand(&h, what);
	EXPECT(&h, a, LEAK_POSSIBLE, 0);
	for (i = 1; i <= 40; i++)
		EXPECT(&h, i, LEAK_REACHABLE, 0);
	heap_free(&h);

	/* Registers are roots; a block read in pieces past an unreadable page. */
	what = "registers, big block, unreadable page";
	heap_init(&h, ps, base, 200 * 1024, 0);
	a = add_block(&h, base + 4096, 150 * 1024);
	b = add_block(&h, base + 160 * 1024, 16);
	c = add_block(&h, base + 170 * 1024, 16);
	h.regs[h.nregs++] = h.b[a].addr;
	h.sp.bad[h.sp.nbad++] = base + 64 * 1024;
	put(&h.sp, h.b[a].addr + 140 * 1024, h.b[b].addr);	/* in the last piece */
	put(&h.sp, base + 64 * 1024 + 8, h.b[c].addr);	/* in the unreadable page */
	{
		struct leak_scan *s;
		struct leak_scan_stats st;

		CHECK(run_engine(&h, &s) == 0, "%s: scan: %s", what, strerror(errno));
		leak_scan_stats(s, &st);
		CHECK(st.unreadable == PAGE, "%s: %" PRIu64 " bytes unreadable, expected %u", what, st.unreadable,
		      PAGE);
		/* a less its unreadable page, b, and c as a clique leader. */
		CHECK(st.block_bytes == 150 * 1024 - PAGE + 16 + 16, "%s: %" PRIu64 " block bytes read", what,
		      st.block_bytes);
		leak_scan_free(s);
	}
	EXPECT(&h, a, LEAK_REACHABLE, 0);
	EXPECT(&h, b, LEAK_REACHABLE, 0);
	EXPECT(&h, c, LEAK_DEFINITE, 0);
	heap_free(&h);

	if (ps == 4) {
		/* The top of a 32-bit address space: the last block ends at 2^32. */
		what = "32-bit top of the address space";
		heap_init(&h, 4, UINT64_C(0x100000000) - PAGE, PAGE, 16);
		a = add_block(&h, UINT64_C(0xfffff800), 64);
		c = add_block(&h, UINT64_C(0xfffffc00), 16);
		b = add_block(&h, UINT64_C(0xffffffe0), 32);
		put(&h.sp, UINT64_C(0xfffff000), UINT64_C(0xfffffffc));	/* into b's last word */
		put(&h.sp, UINT64_C(0xfffffffc), UINT64_C(0xfffffc00));	/* b -> c, from a possible block */
		/* A 32-bit target's register is 32 bits: the upper half is dropped. */
		h.regs[h.nregs++] = UINT64_C(0x1fffff800);
		run_hand(&h, what);
		EXPECT(&h, b, LEAK_POSSIBLE, 0);
		EXPECT(&h, c, LEAK_POSSIBLE, 0);
		EXPECT(&h, a, LEAK_REACHABLE, 0);
		heap_free(&h);
	}
}

/*
 * Blocks less than 1 MiB apart over NBLOCKS MiB: one cluster but for the
 * 4 GiB a cluster's keys reach (5,400 blocks: two clusters, indexed), or
 * an index past 64 MiB (70,000: binary search). Pointers to both ends, to
 * the middle block from a root, inside.
 */
static void test_spread(size_t nblocks, int indexed)
{
	const char *what = indexed ? "spread heap (split at 4 GiB)" : "spread heap (binary search)";
	uint64_t base = UINT64_C(0x100000000), stride = (UINT64_C(1) << 20) - PAGE;
	size_t mid = nblocks / 2 + 7, wrap, i;
	struct leak_scan_stats st;
	struct leak_scan *s;
	struct heap h;

	heap_init(&h, 8, base, PAGE, 16);
	space_add(&h.sp, base + stride * mid, PAGE);
	for (i = 0; i < nblocks; i++)
		add_block(&h, base + 64 + stride * i, 32);
	put(&h.sp, base, h.b[mid].addr + 8);
	put(&h.sp, h.b[mid].addr, h.b[nblocks - 1].addr);
	put(&h.sp, h.b[mid].addr + 8, h.b[0].addr);
	put(&h.sp, h.b[mid].addr + 16, h.b[4100].addr + 31);
	/* The last block before 4 GiB from the first: keys there would wrap. */
	wrap = (size_t)(((UINT64_C(1) << 32) - 64 + stride - 1) / stride) - 1;
	put(&h.sp, h.b[mid].addr + 24, h.b[wrap].addr);
	CHECK(run_engine(&h, &s) == 0, "%s: scan: %s", what, strerror(errno));
	leak_scan_stats(s, &st);
	if (indexed)
		CHECK(st.memory > nblocks * 4, "%s: %zu bytes of scan memory: no index", what, st.memory);
	else
		CHECK(st.memory < 2u << 20, "%s: %zu bytes of scan memory: an index was built", what, st.memory);
	leak_scan_free(s);
	EXPECT(&h, mid, LEAK_POSSIBLE, 0);
	EXPECT(&h, nblocks - 1, LEAK_POSSIBLE, 0);
	EXPECT(&h, 0, LEAK_POSSIBLE, 0);
	EXPECT(&h, 4100, LEAK_POSSIBLE, 0);
	EXPECT(&h, wrap, LEAK_POSSIBLE, 0);
	EXPECT(&h, 1, LEAK_DEFINITE, 0);
	heap_free(&h);
}

/* A lost block pointing at 10,000 others: the clique's stack grows. */
static void test_wide(void)
{
	const char *what = "wide lost fan";
	uint64_t base = 0x40000000, sum = 0;
	size_t n = 10000, i;
	struct heap h;

	heap_init(&h, 8, base, 8 * n + 64 * n + 2 * PAGE, 16);
	add_block(&h, base + 64, 8 * n);
	for (i = 0; i < n; i++) {
		add_block(&h, base + 64 + 8 * n + 64 + 48 * i, 40);
		put(&h.sp, base + 64 + 8 * i, h.b[i + 1].addr + (i & 7));
		sum += 40;
	}
	run_hand(&h, what);
	EXPECT(&h, 0, LEAK_DEFINITE, sum);
	for (i = 1; i <= n; i += 999)
		EXPECT(&h, i, LEAK_INDIRECT, 0);
	heap_free(&h);
}

static void on_hit(void *arg, uint64_t where, uint64_t value, long block);

static void test_invalid(void)
{
	struct leak_block b[2] = { { .addr = 0x1000, .size = 16 }, { .addr = 0x1008, .size = 16 } };

	errno = 0;
	CHECK(!leak_scan_new(b, 2, 8) && errno == EINVAL, "overlapping blocks accepted");
	b[1].addr = 0x800;
	errno = 0;
	CHECK(!leak_scan_new(b, 2, 8) && errno == EINVAL, "unsorted blocks accepted");
	b[1].addr = 0x1010;
	errno = 0;
	CHECK(!leak_scan_new(b, 2, 2) && errno == EINVAL, "pointer size 2 accepted");
	b[1].addr = UINT64_MAX - 4;
	errno = 0;
	CHECK(!leak_scan_new(b, 2, 8) && errno == EINVAL, "a block wrapping past 2^64 accepted");
	{
		struct leak_scan *s = leak_scan_new(b, 0, 8);
		struct space sp = { .ps = 8 };
		struct memsrc m = space_src(&sp);

		CHECK(s && leak_scan_finish(s, &m) == 0, "no blocks: %s", strerror(errno));
		leak_scan_free(s);
		b[1].addr = 0x1010;
		s = leak_scan_new(b, 2, 8);
		errno = 0;
		CHECK(s && leak_scan_who_points(s, &m, 0x1000, 1, on_hit, NULL) < 0 && errno == EINVAL,
		      "who_points before leak_scan_finish accepted");
		leak_scan_free(s);
	}
	leak_scan_free(NULL);
}

/* ---------------------------------------------------------------- random heaps */

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * UINT64_C(0x2545F4914F6CDD1D);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* A value for a word: a pointer to a block (start, inside, just past), or not. */
static uint64_t random_value(const struct heap *h, unsigned density)
{
	const struct leak_block *b;
	uint64_t top = h->sp.seg[h->sp.nseg - 1].lo + h->sp.seg[h->sp.nseg - 1].len;

	if (!h->n || below(100) >= density)
		return below(4) ? 0 : below(4) ? below(1000) : h->sp.seg[0].lo + below(top - h->sp.seg[0].lo);
	b = &h->b[below(h->n)];
	switch (below(10)) {
	case 0:
		return b->addr + (b->size ? b->size : 1);
	case 1:
	case 2:
	case 3:
		return b->addr + below(b->size ? b->size : 1);
	default:
		return b->addr;
	}
}

static void random_heap(struct heap *h, unsigned ps)
{
	static const uint64_t gaps32[] = { 0, 4096, (1u << 20) + 8192, UINT64_C(1) << 28 };
	static const uint64_t gaps64[] = { 0, 4096, (1u << 20) + 8192, UINT64_C(1) << 30, UINT64_C(1) << 40 };
	const uint64_t *gaps = ps == 4 ? gaps32 : gaps64;
	size_t ngaps = ps == 4 ? 4 : 5, maxblocks = 1 + below(below(4) ? 40 : 200);
	unsigned density = (unsigned[]){ 2, 10, 30, 60 }[below(4)];
	uint64_t lo = ps == 4 ? 0x10000 + PAGE * below(64) : UINT64_C(0x555500000000) + PAGE * below(64);
	int nseg = 1 + (int)below(3), i;
	size_t k;

	memset(h, 0, sizeof(*h));
	h->sp.ps = ps;
	for (i = 0; i < nseg; i++) {
		space_add(&h->sp, lo, PAGE * (1 + below(4)));
		lo += h->sp.seg[i].len + gaps[below(ngaps)];
	}
	/* 32-bit: now and then the last segment ends at 2^32. */
	if (ps == 4 && !below(4)) {
		uint64_t shift = UINT64_C(0x100000000) - (h->sp.seg[nseg - 1].lo + h->sp.seg[nseg - 1].len);

		for (i = 0; i < nseg; i++)
			h->sp.seg[i].lo += shift;
	}
	for (i = 0; i < nseg; i++) {
		struct seg *s = &h->sp.seg[i];
		uint64_t root = below(3) ? ps * below(16) : 0, a = s->lo + root;

		if (root && h->nroots < 8) {
			h->roots[h->nroots].lo = s->lo;
			h->roots[h->nroots++].hi = s->lo + root;
		}
		while (h->n < maxblocks) {
			uint64_t size = below(10) == 0 ? 0 : below(20) == 0 ? PAGE + below(2 * PAGE) : below(96);

			a += below(3) ? ps * below(4) : 0;
			if (ps == 8 && !below(8))
				a = (a + 3) & ~UINT64_C(3);	/* 4-aligned on a 64-bit heap */
			else
				a = (a + ps - 1) & ~(uint64_t)(ps - 1);
			if (a + (size ? size : 1) > s->lo + s->len)
				break;
			add_block(h, a, size);
			a += size ? size : 1;
		}
	}
	/* Words, once every block is known. */
	for (i = 0; i < nseg; i++) {
		struct seg *s = &h->sp.seg[i];
		uint64_t a;

		for (a = s->lo; a + ps <= s->lo + s->len; a += ps)
			put(&h->sp, a, random_value(h, density));
	}
	/* Roots are sparser, so that something is lost. */
	for (k = 0; k < h->nroots; k++) {
		uint64_t a;

		for (a = h->roots[k].lo; a < h->roots[k].hi; a += ps)
			put(&h->sp, a, below(3) ? 0 : random_value(h, 50));
	}
	h->nregs = below(5);
	for (k = 0; k < h->nregs; k++)
		h->regs[k] = random_value(h, 50) | (ps == 4 && below(2) ? UINT64_C(0xdead00000000) : 0);
	/* A root that runs off its segment's end, an empty one, one over blocks. */
	if (!below(4) && h->nroots < 8) {
		struct seg *s = &h->sp.seg[below((uint64_t)nseg)];

		h->roots[h->nroots].lo = s->lo + s->len - ps * below(8);
		h->roots[h->nroots++].hi = s->lo + s->len + PAGE + below(64);
	}
	if (!below(8) && h->nroots < 8) {
		h->roots[h->nroots].lo = h->sp.seg[0].lo + 64;
		h->roots[h->nroots++].hi = h->sp.seg[0].lo + 64;
	}
	if (!below(10) && h->nroots < 8) {
		h->roots[h->nroots].lo = h->sp.seg[0].lo + below(64);
		h->roots[h->nroots++].hi = h->sp.seg[0].lo + 256 + below(256);
	}
	if (!below(4)) {
		struct seg *s = &h->sp.seg[below((uint64_t)nseg)];

		h->sp.bad[h->sp.nbad++] = s->lo + PAGE * below(s->len / PAGE);
	}
	h->sp.no_readv = !below(3);
}

/* who_points: what the engine calls back with, and the plain walk's. */
struct hit {
	uint64_t where, value;
	long block;
};

struct hits {
	struct hit *h;
	size_t n, cap;
};

static void hits_add(struct hits *hs, uint64_t where, uint64_t value, long block)
{
	hs->h = check_grow(hs->h, hs->n, &hs->cap, 16, sizeof(*hs->h));
	hs->h[hs->n].where = where;
	hs->h[hs->n].value = value;
	hs->h[hs->n++].block = block;
}

static void on_hit(void *arg, uint64_t where, uint64_t value, long block)
{
	hits_add(arg, where, value, block);
}

static void ref_who_range(const struct heap *h, struct hits *hs, long holder, uint64_t lo, uint64_t hi,
			  uint64_t from, uint64_t to)
{
	uint64_t a, v, ps = h->sp.ps;

	for (a = (lo + ps - 1) / ps * ps; a + ps <= hi; a += ps)
		if (space_word(&h->sp, a, &v) && v >= from && v < to)
			hits_add(hs, a, v, holder);
}

static void check_who(struct heap *h, struct leak_scan *s, uint64_t seed)
{
	struct memsrc m = space_src(&h->sp);
	struct hits got = { 0 }, want = { 0 };
	uint64_t mask = h->sp.ps == 4 ? UINT32_MAX : UINT64_MAX, addr, len, to;
	size_t i;

	if (!h->n)
		return;
	addr = h->b[below(h->n)].addr + (below(4) ? 0 : below(16));
	len = below(2) ? 1 : below(64);
	to = len > 1 ? addr + len : addr + 1;
	for (i = 0; i < h->nregs; i++)
		if ((h->regs[i] & mask) >= addr && (h->regs[i] & mask) < to)
			hits_add(&want, i, h->regs[i] & mask, LEAK_WHO_REGISTER);
	for (i = 0; i < h->nroots; i++)
		ref_who_range(h, &want, LEAK_WHO_ROOT, h->roots[i].lo, h->roots[i].hi, addr, to);
	for (i = 0; i < h->n; i++)
		ref_who_range(h, &want, (long)i, h->b[i].addr, h->b[i].addr + h->b[i].size, addr, to);
	CHECK(leak_scan_who_points(s, &m, addr, len, on_hit, &got) == 0, "case %" PRIu64 ": who_points: %s",
	      seed, strerror(errno));
	for (i = 0; got.n == want.n && i < got.n; i++)
		if (got.h[i].where != want.h[i].where || got.h[i].value != want.h[i].value ||
		    got.h[i].block != want.h[i].block)
			break;
	CHECK(got.n == want.n && i == got.n,
	      "case %" PRIu64 ": who_points 0x%" PRIx64 " len %" PRIu64 ": %zu hits, expected %zu", seed, addr,
	      len, got.n, want.n);
	free(got.h);
	free(want.h);
}

/*
 * The same heap judged again through leak_words: the memory offered to it
 * in pieces of random lengths in address order (as a heap walk's windows,
 * overlapping now and then, unreadable ones left out), under a budget that
 * is sometimes too small for all of it. The verdicts must not move.
 */
static void check_words(struct heap *h, const uint8_t *v, const uint64_t *ind, unsigned ps, unsigned c,
			uint64_t seed)
{
	struct memsrc under = space_src(&h->sp), m;
	struct leak_words *w;
	struct leak_scan *s;
	unsigned char *buf = malloc(16384);
	size_t i, bad = 0;

	if (!h->n || !buf)
		goto out;
	w = leak_words_new(&under, h->b[0].addr, h->b[h->n - 1].addr + (h->b[h->n - 1].size ? h->b[h->n - 1].size : 1),
			   below(3) ? SIZE_MAX : (size_t)below(8192));
	CHECK(w != NULL, "leak_words_new: %s", strerror(errno));
	if (!w)
		goto out;
	for (int g = 0; g < h->sp.nseg; g++) {
		uint64_t a = h->sp.seg[g].lo, end = a + h->sp.seg[g].len;

		while (a < end) {
			size_t len = (size_t)(1 + below(16384));

			if (len > end - a)
				len = (size_t)(end - a);
			if (space_read(&h->sp, a, buf, len) == 0)
				leak_words_add(w, a, buf, len);
			a += len;
			if (a < end && !below(4))
				a -= below(a - h->sp.seg[g].lo < 16 ? a - h->sp.seg[g].lo : 16);
		}
	}
	m = leak_words_memsrc(w);
	s = leak_scan_new(h->b, h->n, ps);
	CHECK(s != NULL, "leak_scan_new: %s", strerror(errno));
	if (s) {
		if (h->nregs)
			leak_scan_root_words(s, h->regs, h->nregs);
		for (i = 0; i < h->nroots; i++)
			leak_scan_root_range(s, &m, h->roots[i].lo, h->roots[i].hi);
		CHECK(leak_scan_finish(s, &m) == 0, "words, case %u: finish: %s", c, strerror(errno));
		for (i = 0; i < h->n; i++)
			if ((h->b[i].verdict != v[i] || h->b[i].indirect != ind[i]) && bad++ < 3)
				CHECK(0, "ptr size %u, case %u (rng %" PRIu64 ") through leak_words: block %zu: %s %" PRIu64
				      ", reference %s %" PRIu64, ps, c, seed, i, vname(h->b[i].verdict), h->b[i].indirect,
				      vname(v[i]), ind[i]);
		leak_scan_free(s);
	}
	leak_words_free(w);
out:
	free(buf);
}

static void test_model(unsigned ps, unsigned cases)
{
	uint8_t *v = NULL;
	uint64_t *ind = NULL;
	size_t cap = 0;
	unsigned long readvs = 0;
	unsigned c;

	for (c = 0; c < cases; c++) {
		uint64_t seed = rng, dl = 0, lost = 0;
		struct leak_scan *s;
		struct heap h;
		size_t i, bad = 0;

		random_heap(&h, ps);
		if (h.n > cap) {
			cap = h.n;
			v = realloc(v, cap);
			ind = realloc(ind, cap * sizeof(*ind));
			if (!v || !ind)
				broken("realloc");
		}
		ref_verdicts(&h, v, ind);
		if (run_engine(&h, &s) < 0) {
			CHECK(0, "ptr size %u, case %u (rng %" PRIu64 "): scan: %s", ps, c, seed, strerror(errno));
			leak_scan_free(s);
			heap_free(&h);
			continue;
		}
		for (i = 0; i < h.n; i++) {
			if (h.b[i].verdict == v[i] && h.b[i].indirect == ind[i])
				continue;
			if (bad++ < 3)
				CHECK(0, "ptr size %u, case %u (rng %" PRIu64 "): block %zu/%zu 0x%" PRIx64 "+%" PRIu64
				      ": %s %" PRIu64 ", reference %s %" PRIu64, ps, c, seed, i, h.n, h.b[i].addr,
				      h.b[i].size, vname(h.b[i].verdict), h.b[i].indirect, vname(v[i]), ind[i]);
		}
		/* The cliques' balance: every lost byte is a leader's, once. */
		for (i = 0; i < h.n; i++) {
			if (h.b[i].verdict == LEAK_DEFINITE)
				dl += h.b[i].size + h.b[i].indirect;
			if (h.b[i].verdict == LEAK_DEFINITE || h.b[i].verdict == LEAK_INDIRECT)
				lost += h.b[i].size;
		}
		CHECK(dl == lost, "ptr size %u, case %u: lost %" PRIu64 " bytes, leaders hold %" PRIu64, ps, c, lost,
		      dl);
		check_who(&h, s, c);
		readvs += h.sp.readvs;
		leak_scan_free(s);
		check_words(&h, v, ind, ps, c, seed);
		heap_free(&h);
	}
	CHECK(!cases || readvs > 0, "ptr size %u: readv never used", ps);
	free(v);
	free(ind);
}

/* ---------------------------------------------------------------- leak_blocks_sort */

/* leaks.h's order, written out: address, context first, context, size, internal. */
static int ref_before(const struct leak_block *x, const struct leak_block *y)
{
	uint64_t kx[5] = { x->addr, !x->ctx, x->ctx, x->size, x->internal };
	uint64_t ky[5] = { y->addr, !y->ctx, y->ctx, y->size, y->internal };

	for (int i = 0; i < 5; i++)
		if (kx[i] != ky[i])
			return kx[i] < ky[i];
	return 0;
}

/* The reference: a stable sort (insertion, on indices) by address, a block with a context first at one address, then the overlaps dropped. */
static size_t ref_sort(struct leak_block *b, size_t n)
{
	size_t i, k = 0;

	for (i = 1; i < n; i++) {
		struct leak_block t = b[i];
		size_t j = i;

		for (; j && ref_before(&t, &b[j - 1]); j--)
			b[j] = b[j - 1];
		b[j] = t;
	}
	for (i = 0; i < n; i++) {
		if (k && b[i].addr < b[k - 1].addr + (b[k - 1].size ? b[k - 1].size : 1)) {
			if (!b[k - 1].ctx && b[i].ctx)
				b[k - 1] = b[i];
			continue;
		}
		b[k++] = b[i];
	}
	return k;
}

/*
 * Arrays shaped as the live scan makes them (the agent's table in hash
 * order, then the heap walk's chunks in ascending runs, heap by heap, most
 * at the table's addresses with other sizes), plus random overlaps and
 * sorted stretches, against the reference.
 */
static void test_sort(unsigned cases)
{
	for (unsigned c = 0; c < cases; c++) {
		size_t n = 0, cap = 1 + below(c % 10 == 0 ? 5000 : 600), nt, i, k1, k2;
		struct leak_block *a = calloc(cap, sizeof(*a)), *r = calloc(cap, sizeof(*r));
		uint64_t at = 0x10000;

		/* The heap walk's chunks: runs of ascending addresses, ctx 0. */
		while (n < cap) {
			size_t run = 1 + below(below(2) ? 8 : 400);
			uint64_t base = below(3) ? at : 0x10000 + below(1u << 24) * 16;

			for (i = 0; i < run && n < cap; i++) {
				a[n] = (struct leak_block){ .addr = base, .size = below(5) ? 16 + below(200) : below(3) };
				base += 16 + below(4) * 16 + (below(4) ? a[n].size : 0);
				n++;
			}
			at = base;
		}
		/* The table: some of those addresses, with a context, moved to the front in random order. */
		nt = below(n + 1);
		for (i = 0; i < nt; i++) {
			struct leak_block t = a[below(n)];

			t.ctx = (uint32_t)(1 + below(5));
			t.size = below(4) ? t.size : below(300);
			t.internal = (uint8_t)!below(8);
			if (!below(20))
				t.addr += 16 * below(3);
			if (!below(10))
				t.ctx = 0;
			a[i] = t;
		}
		for (i = nt; i > 1; i--) {
			size_t j = below(i);
			struct leak_block t = a[i - 1];

			a[i - 1] = a[j];
			a[j] = t;
		}
		memcpy(r, a, n * sizeof(*a));
		k1 = leak_blocks_sort(a, n);
		k2 = ref_sort(r, n);
		CHECK(k1 == k2 && !memcmp(a, r, k1 * sizeof(*a)), "sort case %u: %zu blocks, %zu left, expected %zu", c,
		      n, k1, k2);
		free(a);
		free(r);
	}
	/* No block, one block: a process that recorded nothing since the attach. */
	{
		struct leak_block one = { .addr = 0x1000, .size = 8 };

		CHECK(leak_blocks_sort(NULL, 0) == 0, "sorting no block");
		CHECK(leak_blocks_sort(&one, 1) == 1 && one.addr == 0x1000, "sorting one block");
	}
}

int main(int argc, char **argv)
{
	unsigned cases = argc > 1 ? (unsigned)atoi(argv[1]) : 3000;

	rng = check_seed(0) | 1;
	check_step("hand-built heaps", 30);
	test_hand(8);
	test_hand(4);
	test_invalid();
	check_step("sorting the caller's array", 30);
	test_sort(cases / 10);
	check_step("spread heaps", 60);
	test_spread(5400, 1);
	test_spread(70000, 0);
	test_wide();
	check_step("model check, 64-bit", 120);
	test_model(8, cases);
	check_step("model check, 32-bit", 120);
	test_model(4, cases);
	check_step("done", 0);
	return check_done();
}
