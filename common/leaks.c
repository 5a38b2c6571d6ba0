/*
 * The leak verdict engine (leaks.h): memcheck's marking and clique passes
 * over a sorted block array, with the world stopped, so built for speed and
 * a small footprint (docs/architecture.md, "Leak verdicts: the engine").
 *
 * - Lookup: a word is first tested against [lowest block, highest block
 *   end), then a slot index gives the first block that can hold it and a
 *   short probe of a compact key per block finds it. Blocks far apart
 *   (64-bit thread heaps, mmapped chunks) are split into clusters, each
 *   with its own index, so the index covers heap, not the holes between
 *   heaps. A binary search over the whole array replaces the index when it
 *   would pass 64 MiB.
 * - Marking: one state byte per block; each block is scanned once (the
 *   reachable flood, then the possibly lost, then the cliques). Pending
 *   blocks are found by sweeps in address order, down and up in turn,
 *   which read the heap in big pieces and follow a list either way; a
 *   stack of uint32 block indices takes what sweeps leave and the cliques.
 *   No recursion.
 * - The caller's array is sorted by leak_blocks_sort, and leak_words keeps
 *   the pointer candidates of what a heap walk read to serve the scan's
 *   reads of them (end of the file).
 * - Memory is read through the memsrc into 64 KiB buffers, many pieces in
 *   one readv where the memsrc has it; a piece that cannot be read is
 *   retried page by page and what still fails is skipped.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "leaks.h"

const char *const leak_verdict_key[LEAK_NVERDICTS] = {
	"still_reachable", "possibly_lost", "indirectly_lost", "definitely_lost",
};
const char *const leak_verdict_text[LEAK_NVERDICTS] = {
	"still reachable", "possibly lost", "indirectly lost", "definitely lost",
};

#define LEAK_PAGE_SHIFT 12
#define LEAK_PAGE (UINT64_C(1) << LEAK_PAGE_SHIFT)
/*
 * The index's slots are pages, or down to 64 bytes for a heap of small
 * blocks: as fine as keeps the index at most 2 bytes a block, so that a
 * slot holds a block or two and the probe touches one or two keys (cache
 * misses are the cost of the scan).
 */
#define SLOT_MAX_SHIFT LEAK_PAGE_SHIFT
#define SLOT_MIN_SHIFT 6
/* Big enough that a read costs little beside the scan of what it brings,
 * small enough to stay in L2 while it is scanned. */
#define BUF_SIZE (64u * 1024)
#define MAX_INDEX_BYTES (UINT64_C(64) << 20)
/*
 * Blocks split into clusters at a gap this wide: a gap kept inside one
 * index costs gap / 1024 bytes of index, so at most 1 KiB, while a cluster
 * costs a struct and a step of the cluster search.
 */
#define CLUSTER_GAP (UINT64_C(1) << 20)
/* Past this many candidates a slot's probe bisects instead of walking. */
#define PROBE_WALK 8
/* Pointer candidates looked up together (visit_batch). */
#define BATCH 32
/*
 * Pending blocks closer than this are read as one piece: copying the gap
 * costs less than another piece (a readv entry, a system call).
 */
#define RUN_GAP 1024
/* The mark stack's first size; it grows (cliques, what sweeps leave). */
#define STACK_FIRST 4096
/* Sweeps over the heap before the stack takes what is left (settle). */
#define MIN_SWEEPS 4
#define SWEEP_YIELD 64

/* Marking states; memcheck's Unreached, Possible, Reachable, IndirectLeak. */
enum { ST_UNREACHED, ST_POSSIBLE, ST_REACHABLE, ST_INDIRECT };
#define ST_MASK 3u
#define ST_PENDING 4u		/* to be scanned */
#define ST_TAKEN 8u		/* in the sweep's batch being read */

struct cluster {
	uint64_t lo, hi;	/* first block's addr, last block's end */
	uint64_t base;		/* lo rounded down to a slot */
	uint32_t last;		/* its last block */
	uint32_t *pidx;		/* per slot from base: first block ending past the slot's start; one more entry past the end */
};

struct root_range {
	uint64_t lo, hi;
};

/* What a scan of memory does with each word. */
enum visit_mode {
	VISIT_MARK,		/* from roots and reachable blocks: reachable or possibly lost */
	VISIT_POSSIBLE,		/* from possibly lost blocks: possibly lost */
	VISIT_CLIQUE,		/* clique phase: absorb unreached blocks into LEADER */
	VISIT_WHO,		/* who_points: report matching words */
};

struct visit {
	enum visit_mode mode;
	uint32_t leader;	/* VISIT_CLIQUE */
	long holder;		/* VISIT_WHO: block index or LEAK_WHO_ROOT */
	uint64_t lo, hi;	/* VISIT_WHO: values that match */
	void (*fn)(void *arg, uint64_t where, uint64_t value, long block);
	void *arg;
	uint64_t *counted;	/* where the bytes read are counted */
	uint64_t *skipped;	/* where the bytes not readable are counted */
};

/* What one sweep reads at once: pieces, each a run of blocks [lo_i, hi_i] in address order. */
struct batch {
	struct memsrc_piece pc[MEMSRC_READV_MAX];
	size_t lo_i[MEMSRC_READV_MAX], hi_i[MEMSRC_READV_MAX];
	int ok[MEMSRC_READV_MAX];	/* the piece was read */
	size_t k;
	uint64_t used;
};

#define PENDING8 (UINT64_C(0x0101010101010101) * ST_PENDING)

static inline uint64_t load8(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

struct leak_scan {
	struct leak_block *b;
	size_t n;
	unsigned ptr_size;
	uint64_t lo, hi;	/* any block's bytes: [b[0].addr, end of b[n-1]) */
	uint8_t *st;		/* per block: ST_* | ST_PENDING */
	uint32_t *stack;	/* the mark stack, grown up to N entries */
	size_t sp, cap_stack;
	size_t npending;	/* blocks with ST_PENDING */
	long plo, phi;		/* every pending block is in [plo, phi] (not every one there is) */
	int use_stack;		/* push onto the stack, not only the bit */
	struct cluster *cl;
	size_t ncl;
	uint32_t *index;	/* every cluster's pidx; NULL: binary search */
	uint32_t *key;		/* with the index: each block's addr less its cluster's lo */
	unsigned shift;		/* log2 of the index's slot */
	unsigned char *buf;	/* BUF_SIZE */
	unsigned char *wbuf;	/* BUF_SIZE: the cliques' read-ahead window */
	struct batch win;	/* what wbuf holds */
	struct root_range *ranges;	/* kept for who_points */
	size_t nranges, cap_ranges;
	uint64_t *words;	/* root words, kept for who_points */
	size_t nwords, cap_words;
	int oom;		/* keeping a root failed: finish says ENOMEM */
	int finished;
	size_t mem;		/* bytes held now */
	struct leak_scan_stats stats;
};

static inline uint64_t block_end(const struct leak_block *b)
{
	return b->addr + (b->size ? b->size : 1);
}

static void mem_add(struct leak_scan *s, size_t bytes)
{
	s->mem += bytes;
	if (s->mem > s->stats.memory)
		s->stats.memory = s->mem;
}

/* ---------------------------------------------------------------- lookup */

/* The last block in [I, J] starting at or below V (B[I].addr <= V). */
static inline size_t probe(const struct leak_block *b, size_t i, size_t j, uint64_t v)
{
	while (j - i > PROBE_WALK) {
		size_t mid = i + (j - i + 1) / 2;

		if (b[mid].addr <= v)
			i = mid;
		else
			j = mid - 1;
	}
	while (i < j && b[i + 1].addr <= v)
		i++;
	return i;
}

/* The cluster that may hold V, in [lo, hi) (a word in it or not), or NULL. */
static inline const struct cluster *cluster_of(const struct leak_scan *s, uint64_t v)
{
	size_t lo = 0, hi = s->ncl - 1;

	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;

		if (s->cl[mid].lo <= v)
			lo = mid;
		else
			hi = mid - 1;
	}
	return v >= s->cl[lo].lo && v < s->cl[lo].hi ? &s->cl[lo] : NULL;
}

/* V's slot of C's index. */
static inline const uint32_t *slot_of(const struct leak_scan *s, const struct cluster *c, uint64_t v)
{
	return c->pidx + ((v - c->base) >> s->shift);
}

/* The block holding V, which falls in C and its slot P, or -1. */
static inline long find_in_slot(const struct leak_scan *s, const struct cluster *c, const uint32_t *p, uint64_t v)
{
	const uint32_t *key = s->key;
	uint32_t off = (uint32_t)(v - c->lo);
	size_t i = p[0], j = p[1] < c->last ? p[1] : c->last;

	if (key[i] > off)
		return -1;
	while (j - i > PROBE_WALK) {
		size_t mid = i + (j - i + 1) / 2;

		if (key[mid] <= off)
			i = mid;
		else
			j = mid - 1;
	}
	while (i < j && key[i + 1] <= off)
		i++;
	/* A start pointer needs no more; only an interior one reads the block's size. */
	return key[i] == off || v < block_end(&s->b[i]) ? (long)i : -1;
}

/* The index of the block holding V ([addr, end)), or -1. */
static long find_block(const struct leak_scan *s, uint64_t v)
{
	const struct cluster *c;
	size_t i;

	if (v < s->lo || v >= s->hi)
		return -1;
	if (!s->index) {
		i = probe(s->b, 0, s->n - 1, v);
		return v < block_end(&s->b[i]) ? (long)i : -1;
	}
	c = cluster_of(s, v);
	return c ? find_in_slot(s, c, slot_of(s, c, v), v) : -1;
}

/* Block I starts a new cluster after the one that starts at FIRST: a wide
 * gap, or offsets in the cluster (key) would pass 32 bits. */
static int new_cluster(const struct leak_block *b, size_t first, size_t i)
{
	return b[i].addr - block_end(&b[i - 1]) >= CLUSTER_GAP || block_end(&b[i]) - b[first].addr > UINT32_MAX;
}

/* The clusters and their page index; without the index when too big. */
static int build_index(struct leak_scan *s)
{
	const struct leak_block *b = s->b;
	uint64_t entries = 0, span = 0, slot;
	size_t i, k, first;

	s->ncl = 0;
	for (i = 0, first = 0; i < s->n; i++)
		if (i == 0 || new_cluster(b, first, i)) {
			s->ncl++;
			first = i;
		}
	s->cl = calloc(s->ncl ? s->ncl : 1, sizeof(*s->cl));
	if (!s->cl)
		return -1;
	mem_add(s, (s->ncl ? s->ncl : 1) * sizeof(*s->cl));
	for (i = 0, k = 0, first = 0; i < s->n; i++) {
		struct cluster *c = &s->cl[k];

		if (i + 1 < s->n && !new_cluster(b, first, i + 1))
			continue;
		c->lo = b[first].addr;
		c->hi = block_end(&b[i]);
		c->last = (uint32_t)i;
		span += c->hi - c->lo;
		k++;
		first = i + 1;
	}
	s->shift = SLOT_MAX_SHIFT;
	while (s->shift > SLOT_MIN_SHIFT && span >> (s->shift - 1) <= s->n / 2)
		s->shift--;
	slot = UINT64_C(1) << s->shift;
	for (k = 0; k < s->ncl; k++) {
		s->cl[k].base = s->cl[k].lo & ~(slot - 1);
		entries += ((s->cl[k].hi - 1 - s->cl[k].base) >> s->shift) + 2;
	}
	if (entries * sizeof(uint32_t) > MAX_INDEX_BYTES)
		return 0;	/* binary search: s->index stays NULL */
	s->index = malloc((size_t)entries * sizeof(uint32_t));
	s->key = malloc(s->n * sizeof(*s->key));
	if (!s->index || !s->key)
		return -1;
	mem_add(s, (size_t)entries * sizeof(uint32_t) + s->n * sizeof(*s->key));
	entries = 0;
	for (k = 0, first = 0; k < s->ncl; k++) {
		struct cluster *c = &s->cl[k];
		size_t npages = ((c->hi - 1 - c->base) >> s->shift) + 1, pg = 0;

		c->pidx = s->index + entries;
		entries += npages + 1;
		for (i = first; i <= c->last; i++)
			s->key[i] = (uint32_t)(b[i].addr - c->lo);
		/* Ends rise with addresses (no overlap), so one pass fills it. */
		for (i = first; i <= c->last; i++)
			while (pg < npages && c->base + ((uint64_t)pg << s->shift) < block_end(&b[i]))
				c->pidx[pg++] = (uint32_t)i;
		while (pg <= npages)
			c->pidx[pg++] = c->last + 1;
		first = c->last + 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- marking */

/* Room for one more on the mark stack (at most N: a block is on it once). */
static int stack_room(struct leak_scan *s)
{
	size_t cap = s->cap_stack * 2 < s->n ? s->cap_stack * 2 : s->n;
	uint32_t *p;

	if (s->sp < s->cap_stack)
		return 0;
	p = realloc(s->stack, cap * sizeof(*p));
	if (!p) {
		s->oom = 1;
		return -1;
	}
	mem_add(s, (cap - s->cap_stack) * sizeof(*p));
	s->stack = p;
	s->cap_stack = cap;
	return 0;
}

/*
 * Block I is to be scanned: found by the next sweep, or on the stack. With
 * no memory to grow the stack it stays pending but unscanned, and
 * leak_scan_finish fails with ENOMEM.
 */
static inline void push(struct leak_scan *s, uint32_t i)
{
	s->st[i] |= ST_PENDING;
	s->npending++;
	if ((long)i < s->plo)
		s->plo = (long)i;
	if ((long)i > s->phi)
		s->phi = (long)i;
	if (s->use_stack && stack_room(s) == 0)
		s->stack[s->sp++] = i;
}

/*
 * memcheck's lc_push_without_clique_if_a_chunk_ptr (leaks.h's rules), in
 * two passes, so that each block is scanned once where memcheck scans a
 * block reached first by an interior pointer twice: first what roots and
 * reachable blocks reach (only reachable blocks are pushed: a start
 * pointer makes one, anything else marks possibly lost), then from every
 * possibly lost block what it reaches (possibly lost too). The same
 * verdicts: possibly lost blocks never make a block reachable.
 */
static inline void mark(struct leak_scan *s, long i, uint64_t v)
{
	unsigned st;

	st = s->st[i] & ST_MASK;	/* pending: a reachable block on the stack */
	if (st == ST_REACHABLE)
		return;
	if (v == s->b[i].addr) {
		s->st[i] = ST_REACHABLE;
		push(s, (uint32_t)i);
	} else if (st == ST_UNREACHED) {
		s->st[i] = ST_POSSIBLE;
	}
}

/* The second pass: the pending bit stays, a block is pushed once. */
static inline void mark_possible(struct leak_scan *s, long i)
{
	if (s->st[i] == ST_UNREACHED) {
		s->st[i] = ST_POSSIBLE;
		push(s, (uint32_t)i);
	}
}

/* memcheck's lc_push_with_clique_if_a_chunk_ptr: start or interior alike. */
static inline void absorb(struct leak_scan *s, long i, uint32_t leader)
{
	struct leak_block *b = s->b;

	if ((uint32_t)i == leader || (s->st[i] & ST_MASK) != ST_UNREACHED)
		return;
	/* An earlier leader brings its clique's bytes with it. */
	b[leader].indirect += b[i].size + b[i].indirect;
	b[i].indirect = 0;
	s->st[i] = ST_INDIRECT;
	/*
	 * An unreached block below the leader led a clique of its own already
	 * (leaders come in address order): all it reaches is taken, so
	 * memcheck's rescan of it would find nothing new. Only blocks above
	 * are scanned.
	 */
	if ((uint32_t)i > leader)
		push(s, (uint32_t)i);
}

/*
 * The K values at V, all in [lo, hi), marked as VI says. They are looked
 * up together, each step for all of them before the next, with the memory
 * the next step reads prefetched: a lookup is a chain of cache misses
 * (the slot, the block array, the state), and this overlaps them.
 */
static void visit_batch(struct leak_scan *s, const struct visit *vi, const uint64_t *v, size_t k)
{
	const struct cluster *c[BATCH];
	const uint32_t *p[BATCH];
	long at[BATCH];
	size_t j;

	if (!s->index) {
		for (j = 0; j < k; j++)
			at[j] = find_block(s, v[j]);
	} else {
		for (j = 0; j < k; j++) {
			c[j] = s->ncl == 1 ? s->cl : cluster_of(s, v[j]);
			if (c[j]) {
				p[j] = slot_of(s, c[j], v[j]);
				__builtin_prefetch(p[j]);
			}
		}
		/* The block is at or just past the slot's first: same lines. */
		for (j = 0; j < k; j++)
			if (c[j]) {
				__builtin_prefetch(&s->key[p[j][0]]);
				__builtin_prefetch(&s->st[p[j][0]], 1);
			}
		for (j = 0; j < k; j++)
			at[j] = c[j] ? find_in_slot(s, c[j], p[j], v[j]) : -1;
	}
	for (j = 0; j < k; j++) {
		if (at[j] < 0)
			continue;
		switch (vi->mode) {
		case VISIT_MARK:
			mark(s, at[j], v[j]);
			break;
		case VISIT_POSSIBLE:
			mark_possible(s, at[j]);
			break;
		case VISIT_CLIQUE:
			absorb(s, at[j], vi->leader);
			break;
		case VISIT_WHO:
			break;
		}
	}
}

/* The LEN bytes at P, read from ADDR (both aligned to the word). */
static void visit_words(struct leak_scan *s, const struct visit *vi, uint64_t addr, const unsigned char *p,
			size_t len)
{
	uint64_t cand[BATCH], span = s->hi - s->lo;
	size_t off, k = 0;

	/* One loop per word size, so that each inner loop is plain. */
#define EACH_WORD(T, BODY)                                                                 \
	for (off = 0; off + sizeof(T) <= len; off += sizeof(T)) {                          \
		T w_;                                                                      \
		uint64_t v;                                                                \
		memcpy(&w_, p + off, sizeof(T));                                           \
		v = w_;                                                                    \
		BODY;                                                                      \
	}
#define BY_SIZE(BODY)                               \
	do {                                        \
		if (s->ptr_size == 8)               \
			EACH_WORD(uint64_t, BODY)   \
		else                                \
			EACH_WORD(uint32_t, BODY)   \
	} while (0)

	if (vi->mode == VISIT_WHO) {
		BY_SIZE(if (v >= vi->lo && v < vi->hi) vi->fn(vi->arg, addr + off, v, vi->holder));
		return;
	}
	/* Most words fall outside the blocks: one compare and on. */
	BY_SIZE(if (v - s->lo < span) {
		cand[k++] = v;
		if (k == BATCH) {
			visit_batch(s, vi, cand, k);
			k = 0;
		}
	});
	if (k)
		visit_batch(s, vi, cand, k);
#undef BY_SIZE
#undef EACH_WORD
}

/* ---------------------------------------------------------------- reading */

/* Read [LO, HI) into the buffer and visit it; EFAULT: a page at a time. */
static int visit_piece(struct leak_scan *s, const struct memsrc *m, const struct visit *vi, uint64_t lo, uint64_t hi)
{
	uint64_t a, e;

	if ((s->stats.reads++, m->read(m->arg, lo, s->buf, (size_t)(hi - lo))) == 0) {
		*vi->counted += hi - lo;
		visit_words(s, vi, lo, s->buf, (size_t)(hi - lo));
		return 0;
	}
	if (errno != EFAULT)
		return -1;
	for (a = lo; a < hi; a = e) {
		e = (a & ~(LEAK_PAGE - 1)) + LEAK_PAGE;
		if (e > hi)
			e = hi;
		if (a == lo && e == hi) {
			/* The piece was within this page: it failed already. */
			*vi->skipped += e - a;
			continue;
		}
		if ((s->stats.reads++, m->read(m->arg, a, s->buf, (size_t)(e - a))) == 0) {
			*vi->counted += e - a;
			visit_words(s, vi, a, s->buf, (size_t)(e - a));
		} else if (errno == EFAULT) {
			*vi->skipped += e - a;
		} else {
			return -1;
		}
	}
	return 0;
}

/* Every aligned word of [LO, HI), in pieces of at most the buffer. */
static int visit_range(struct leak_scan *s, const struct memsrc *m, const struct visit *vi, uint64_t lo, uint64_t hi)
{
	uint64_t mask = s->ptr_size - 1;

	lo = (lo + mask) & ~mask;
	hi &= ~mask;
	while (lo < hi) {
		uint64_t e = hi - lo > BUF_SIZE ? lo + BUF_SIZE : hi;

		if (visit_piece(s, m, vi, lo, e) < 0)
			return -1;
		lo = e;
	}
	return 0;
}

/* Take the top of the mark stack. */
static uint32_t pop(struct leak_scan *s)
{
	uint32_t i = s->stack[--s->sp];

	s->st[i] &= (uint8_t)~ST_PENDING;
	s->npending--;
	return i;
}

/*
 * Blocks from the top of the mark stack whose words fit in the buffer
 * together, at most MEMSRC_READV_MAX, read in one readv and visited; or
 * one by one when the memsrc has no readv or it failed. A block bigger
 * than the buffer is read in pieces.
 */
static int drain_some(struct leak_scan *s, const struct memsrc *m, const struct visit *vi)
{
	struct memsrc_piece pc[MEMSRC_READV_MAX];
	uint64_t mask = s->ptr_size - 1, used = 0;
	size_t k = 0, j;

	while (s->sp && k < MEMSRC_READV_MAX) {
		const struct leak_block *b = &s->b[s->stack[s->sp - 1]];
		uint64_t lo = (b->addr + mask) & ~mask, hi = (b->addr + b->size) & ~mask;
		uint64_t len = hi > lo ? hi - lo : 0;

		if (len > BUF_SIZE - used) {
			if (k)
				break;
			pop(s);
			return visit_range(s, m, vi, b->addr, b->addr + b->size);
		}
		pop(s);
		if (!len)
			continue;
		pc[k].addr = lo;
		pc[k].buf = s->buf + used;
		pc[k++].len = (size_t)len;
		used += len;
	}
	if (k > 1 && m->readv && (s->stats.reads++, m->readv(m->arg, pc, k)) == 0) {
		*vi->counted += used;
		for (j = 0; j < k; j++)
			visit_words(s, vi, pc[j].addr, pc[j].buf, pc[j].len);
		return 0;
	}
	for (j = 0; j < k; j++)
		if (visit_range(s, m, vi, pc[j].addr, pc[j].addr + pc[j].len) < 0)
			return -1;
	return 0;
}

/* Block I's words: [*LO, *HI), aligned inward (empty when HI <= LO). */
static inline void block_words(const struct leak_scan *s, size_t i, uint64_t *lo, uint64_t *hi)
{
	uint64_t mask = s->ptr_size - 1;

	*lo = (s->b[i].addr + mask) & ~mask;
	*hi = (s->b[i].addr + s->b[i].size) & ~mask;
}


/*
 * Take block I (words [LO, HI), at most the buffer) into the batch, going
 * down or up: it joins the last piece when the gap is under RUN_GAP, else
 * it starts a piece. 0 when the batch is full.
 */
static int batch_take(struct leak_scan *s, struct batch *bt, size_t i, uint64_t lo, uint64_t hi, int down)
{
	struct memsrc_piece *p = bt->k ? &bt->pc[bt->k - 1] : NULL;

	if (p && !down && lo - (p->addr + p->len) < RUN_GAP && bt->used + (hi - p->addr - p->len) <= BUF_SIZE) {
		bt->used += hi - p->addr - p->len;
		p->len = (size_t)(hi - p->addr);
		bt->hi_i[bt->k - 1] = i;
	} else if (p && down && p->addr - hi < RUN_GAP && bt->used + (p->addr - lo) <= BUF_SIZE) {
		bt->used += p->addr - lo;
		p->len += (size_t)(p->addr - lo);
		p->addr = lo;
		bt->lo_i[bt->k - 1] = i;
	} else if (bt->k < MEMSRC_READV_MAX && bt->used + (hi - lo) <= BUF_SIZE) {
		p = &bt->pc[bt->k];
		p->addr = lo;
		p->len = (size_t)(hi - lo);
		bt->lo_i[bt->k] = bt->hi_i[bt->k] = i;
		bt->used += hi - lo;
		bt->k++;
	} else {
		return 0;
	}
	return 1;
}

/*
 * Read the batch's pieces into BUF, in one readv or one by one; a piece
 * that cannot be read (EFAULT) has ok cleared. -1 on other errors.
 */
static int batch_read(struct leak_scan *s, const struct memsrc *m, struct batch *bt, unsigned char *buf)
{
	uint64_t off = 0;
	size_t j;

	for (j = 0; j < bt->k; j++) {
		bt->pc[j].buf = buf + off;
		off += bt->pc[j].len;
		bt->ok[j] = 1;
	}
	if (bt->k > 1 && m->readv && (s->stats.reads++, m->readv(m->arg, bt->pc, bt->k)) == 0)
		return 0;
	for (j = 0; j < bt->k; j++) {
		if ((s->stats.reads++, m->read(m->arg, bt->pc[j].addr, bt->pc[j].buf, bt->pc[j].len)) == 0)
			continue;
		if (errno != EFAULT)
			return -1;
		bt->ok[j] = 0;
	}
	return 0;
}

#define UNREACHED8(v) ((((v) | ((v) >> 1)) & UINT64_C(0x0101010101010101)) != UINT64_C(0x0101010101010101))

/*
 * Block I for a clique, through a window read ahead from a leader: the
 * unreached blocks from it on, in runs less than RUN_GAP apart, up to
 * MEMSRC_READV_MAX pieces of the buffer's worth in one readv. The leaders
 * come in address order and most lost blocks are small, so one read serves
 * many (a live process: a system call each otherwise).
 */
static int visit_windowed(struct leak_scan *s, const struct memsrc *m, const struct visit *vi, size_t i)
{
	struct batch *w = &s->win;
	uint64_t lo, hi;
	size_t a = 0, z, x;

	block_words(s, i, &lo, &hi);
	if (hi <= lo)
		return 0;
	if (hi - lo > BUF_SIZE)
		return visit_range(s, m, vi, lo, hi);
	/* The piece holding block I: the last that starts at or below it. */
	for (z = w->k; a < z;) {
		size_t mid = a + (z - a) / 2;

		if (w->lo_i[mid] <= i)
			a = mid + 1;
		else
			z = mid;
	}
	if (!(a && i <= w->hi_i[a - 1] && w->ok[a - 1])) {
		if (i != vi->leader) {
			/* Inside a clique blocks come in any order: no read-ahead. */
			if ((s->stats.reads++, m->read(m->arg, lo, s->buf, (size_t)(hi - lo))) == 0) {
				*vi->counted += hi - lo;
				visit_words(s, vi, lo, s->buf, (size_t)(hi - lo));
				return 0;
			}
			if (errno != EFAULT)
				return -1;
			return visit_range(s, m, vi, lo, hi);
		}
		w->k = 0;
		w->used = 0;
		for (x = i; x < s->n; x++) {
			uint64_t xlo, xhi;

			/* Eight a step where none is unreached. */
			while ((x & 7) == 0 && x + 8 <= s->n && !UNREACHED8(load8(s->st + x)))
				x += 8;
			if (x >= s->n)
				break;
			if ((s->st[x] & ST_MASK) != ST_UNREACHED)
				continue;
			block_words(s, x, &xlo, &xhi);
			if (xhi <= xlo)
				continue;
			if (xhi - xlo > BUF_SIZE || !batch_take(s, w, x, xlo, xhi, 0))
				break;
		}
		if (batch_read(s, m, w, s->wbuf) < 0)
			return -1;
		a = 1;
		if (!w->ok[0])
			return visit_range(s, m, vi, lo, hi);
	}
	*vi->counted += hi - lo;
	visit_words(s, vi, lo, (const unsigned char *)w->pc[a - 1].buf + (lo - w->pc[a - 1].addr), (size_t)(hi - lo));
	return 0;
}

/* Scan what the mark stack holds, each block as VI says. */
static int drain(struct leak_scan *s, const struct memsrc *m, const struct visit *vi)
{
	while (s->sp) {
		if (vi->mode != VISIT_CLIQUE) {
			if (drain_some(s, m, vi) < 0)
				return -1;
		} else if (visit_windowed(s, m, vi, pop(s)) < 0) {
			return -1;
		}
	}
	return 0;
}

/* VI, or for who_points a copy in TMP that names block I as the holder. */
static const struct visit *holding(const struct visit *vi, struct visit *tmp, size_t i)
{
	if (vi->mode != VISIT_WHO)
		return vi;
	*tmp = *vi;
	tmp->holder = (long)i;
	return tmp;
}

/* Visit the blocks taken in [FIRST, LAST], whose words RUN_LO on are at BUF. */
static void visit_taken(struct leak_scan *s, const struct visit *vi, size_t first, size_t last, uint64_t run_lo,
			const unsigned char *buf)
{
	uint64_t mask = s->ptr_size - 1;
	size_t i;

	for (i = first; i <= last; i++) {
		const struct leak_block *b = &s->b[i];
		uint64_t lo = (b->addr + mask) & ~mask, hi = (b->addr + b->size) & ~mask;

		if (!(s->st[i] & ST_TAKEN))
			continue;
		s->st[i] &= (uint8_t)~ST_TAKEN;
		if (hi > lo) {
			struct visit tmp;

			*vi->counted += hi - lo;
			visit_words(s, holding(vi, &tmp, i), lo, buf + (lo - run_lo), (size_t)(hi - lo));
		}
	}
}


/* Block I leaves the pending set: taken by a sweep, to be visited now. */
static inline void unpend(struct leak_scan *s, size_t i, size_t *done)
{
	s->st[i] &= (uint8_t)~ST_PENDING;
	if (!--s->npending) {
		s->plo = LONG_MAX;
		s->phi = -1;
	}
	++*done;
}

/*
 * The first pending block from I on, upwards, or downwards when DOWN; -1
 * if none. Only [plo, phi] is looked at, and what is found empty leaves it:
 * a sweep that follows a list takes one block at a time, and looks again
 * from where its batch began each time.
 */
static long next_pending(struct leak_scan *s, long i, int down)
{
	long from = i;

	/* Eight states a step where none is pending: the array of blocks is not touched. */
	if (!down) {
		for (i = i < s->plo ? s->plo : i; i <= s->phi; i++) {
			while ((i & 7) == 0 && i + 8 <= s->phi && !(load8(s->st + i) & PENDING8))
				i += 8;
			if (i <= s->phi && (s->st[i] & ST_PENDING))
				return i;
		}
		if (from <= s->phi)
			s->phi = from - 1;
		return -1;
	}
	for (i = i > s->phi ? s->phi : i; i >= s->plo; i--) {
		while (i - 7 >= s->plo && (i & 7) == 7 && !(load8(s->st + i - 7) & PENDING8))
			i -= 8;
		if (i >= s->plo && (s->st[i] & ST_PENDING))
			return i;
	}
	if (from >= s->plo)
		s->plo = from + 1;
	return -1;
}

/*
 * Read the batch (one readv, or piece by piece) and visit its blocks in
 * order. A piece that cannot be read is visited block by block, each read
 * page by page through the start of the buffer: what the buffer held is
 * then lost (ok cleared), and batch_again does nothing.
 */
static int batch_visit(struct leak_scan *s, const struct memsrc *m, const struct visit *vi, struct batch *bt)
{
	struct visit tmp;
	uint64_t off = 0;
	size_t j, x;
	int lost = 0;

	for (j = 0; j < bt->k; j++) {
		bt->pc[j].buf = s->buf + off;
		off += bt->pc[j].len;
		bt->ok[j] = 1;
	}
	if (bt->k > 1 && m->readv && (s->stats.reads++, m->readv(m->arg, bt->pc, bt->k)) == 0) {
		for (j = 0; j < bt->k; j++)
			visit_taken(s, vi, bt->lo_i[j], bt->hi_i[j], bt->pc[j].addr, bt->pc[j].buf);
		return 0;
	}
	for (j = 0; j < bt->k; j++) {
		if ((s->stats.reads++, m->read(m->arg, bt->pc[j].addr, bt->pc[j].buf, bt->pc[j].len)) == 0) {
			visit_taken(s, vi, bt->lo_i[j], bt->hi_i[j], bt->pc[j].addr, bt->pc[j].buf);
			continue;
		}
		if (errno != EFAULT)
			return -1;
		lost = 1;
		for (x = bt->lo_i[j]; x <= bt->hi_i[j]; x++) {
			if (!(s->st[x] & ST_TAKEN))
				continue;
			s->st[x] &= (uint8_t)~ST_TAKEN;
			if (visit_range(s, m, holding(vi, &tmp, x), s->b[x].addr, s->b[x].addr + s->b[x].size) < 0)
				return -1;
		}
	}
	for (j = 0; lost && j < bt->k; j++)
		bt->ok[j] = 0;
	return 0;
}

/*
 * Blocks the batch made pending inside the pieces it read: visited from
 * the buffer, no read, in the sweep's direction first (a list followed
 * that way is done in one round), a few rounds at most (what is left goes
 * to the next batch).
 */
static void batch_again(struct leak_scan *s, const struct visit *vi, struct batch *bt, int down, size_t *done)
{
	struct visit tmp;
	int round, more = 1;

	for (round = 0; more && round < 4; round++, down = !down) {
		more = 0;
		for (size_t j = 0; j < bt->k; j++) {
			size_t a = bt->lo_i[j], z = bt->hi_i[j];

			if (!bt->ok[j] || z - a < 1)
				continue;
			for (size_t c = 0; c <= z - a; c++) {
				size_t x = down ? z - c : a + c;
				uint64_t lo, hi;

				if (!(s->st[x] & ST_PENDING))
					continue;
				unpend(s, x, done);
				block_words(s, x, &lo, &hi);
				if (hi > lo) {
					*vi->counted += hi - lo;
					visit_words(s, holding(vi, &tmp, x), lo,
						    (const unsigned char *)bt->pc[j].buf + (lo - bt->pc[j].addr),
						    (size_t)(hi - lo));
				}
				more = 1;
			}
		}
	}
}

/*
 * One sweep over the pending blocks, up or down in address order: runs of
 * pending blocks with less than RUN_GAP between them are read as one piece,
 * up to MEMSRC_READV_MAX pieces (the buffer's worth) in one readv. Blocks a
 * batch makes pending inside what it read are visited from the buffer; the
 * sweep then goes on from where the batch began, so that it also takes
 * what the batch made pending among and ahead of its blocks. A block made
 * pending behind waits for the next sweep, which goes the other way: a
 * list linked backwards in memory is followed by one sweep down, a list
 * linked forwards by one sweep up.
 */
static int sweep(struct leak_scan *s, const struct memsrc *m, const struct visit *vi, int down, size_t *done)
{
	struct visit tmp;
	long start = down ? (long)s->n - 1 : 0;

	while (s->npending && (start = next_pending(s, start, down)) >= 0) {
		struct batch bt;
		long x;

		bt.k = 0;
		bt.used = 0;
		for (x = start; x >= 0; x = next_pending(s, down ? x - 1 : x + 1, down)) {
			uint64_t lo, hi;

			block_words(s, (size_t)x, &lo, &hi);
			if (hi <= lo) {
				unpend(s, (size_t)x, done);
			} else if (hi - lo > BUF_SIZE) {
				if (bt.k)
					break;
				unpend(s, (size_t)x, done);
				if (visit_range(s, m, holding(vi, &tmp, (size_t)x), lo, hi) < 0)
					return -1;
			} else if (batch_take(s, &bt, (size_t)x, lo, hi, down)) {
				s->st[x] |= ST_TAKEN;
				unpend(s, (size_t)x, done);
			} else {
				break;
			}
		}
		if (!bt.k)
			continue;
		if (batch_visit(s, m, vi, &bt) < 0)
			return -1;
		batch_again(s, vi, &bt, down, done);
	}
	return 0;
}

/*
 * Scan every pending block, and those it makes pending, as VI says: sweeps
 * (they read the heap in big pieces, what a live process read from outside
 * needs: a system call per block costs more than the scan), at least
 * MIN_SWEEPS and then while one scans at least 1/SWEEP_YIELD of the blocks
 * (so at most SWEEP_YIELD more sweeps over the state array); then the
 * stack for what is left (a list linked backwards in memory takes a sweep
 * per block).
 */
static int settle(struct leak_scan *s, const struct memsrc *m, const struct visit *vi)
{
	size_t i, done = SIZE_MAX;
	int n;

	for (n = 0; s->npending && (n < MIN_SWEEPS || done >= s->n / SWEEP_YIELD); n++) {
		done = 0;
		if (sweep(s, m, vi, !(n & 1), &done) < 0)
			return -1;
	}
	if (!s->npending)
		return 0;
	s->use_stack = 1;
	for (i = 0; i < s->n; i++)
		if (s->st[i] & ST_PENDING)
			if (stack_room(s) == 0)
				s->stack[s->sp++] = (uint32_t)i;
	if (drain(s, m, vi) < 0)
		return -1;
	s->use_stack = 0;
	return 0;
}

/* ---------------------------------------------------------------- API */

struct leak_scan *leak_scan_new(struct leak_block *blocks, size_t n, unsigned ptr_size)
{
	struct leak_scan *s;
	size_t i;

	if ((ptr_size != 4 && ptr_size != 8) || n >= UINT32_MAX)
		goto out_inval;
	/* One pass over the array (a million blocks are 32 MB): checked and reset. */
	for (i = 0; i < n; i++) {
		/* A block may not wrap past the top of the address space. */
		if (blocks[i].size > UINT64_MAX - blocks[i].addr)
			goto out_inval;
		if (i && blocks[i].addr < block_end(&blocks[i - 1]))
			goto out_inval;
		blocks[i].indirect = 0;
		blocks[i].verdict = LEAK_DEFINITE;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	mem_add(s, sizeof(*s));
	s->b = blocks;
	s->n = n;
	s->ptr_size = ptr_size;
	if (n) {
		s->lo = blocks[0].addr;
		s->hi = block_end(&blocks[n - 1]);
	}
	s->plo = LONG_MAX;
	s->phi = -1;
	s->st = calloc(n ? n : 1, 1);
	s->cap_stack = n < STACK_FIRST ? (n ? n : 1) : STACK_FIRST;
	s->stack = malloc(s->cap_stack * sizeof(*s->stack));
	s->buf = malloc(BUF_SIZE);
	s->wbuf = malloc(BUF_SIZE);
	if (!s->st || !s->stack || !s->buf || !s->wbuf)
		goto out_free;
	mem_add(s, (n ? n : 1) + s->cap_stack * sizeof(*s->stack) + 2 * BUF_SIZE);
	if (n && build_index(s) < 0)
		goto out_free;
	return s;

out_free:
	leak_scan_free(s);
	errno = ENOMEM;
	return NULL;
out_inval:
	errno = EINVAL;
	return NULL;
}

/* Keep what who_points rereads; a failure shows at leak_scan_finish. */
static void *keep(struct leak_scan *s, void *arr, size_t n, size_t *cap, size_t add, size_t size)
{
	size_t want = *cap ? *cap : 16;
	void *p;

	if (n + add <= *cap)
		return arr;
	while (want < n + add)
		want *= 2;
	p = realloc(arr, want * size);
	if (!p) {
		s->oom = 1;
		return NULL;
	}
	mem_add(s, (want - *cap) * size);
	*cap = want;
	return p;
}

void leak_scan_root_words(struct leak_scan *s, const uint64_t *words, size_t n)
{
	uint64_t mask = s->ptr_size == 4 ? UINT32_MAX : UINT64_MAX;
	uint64_t *w = keep(s, s->words, s->nwords, &s->cap_words, n, sizeof(*words));
	size_t i;

	if (w) {
		s->words = w;
		memcpy(s->words + s->nwords, words, n * sizeof(*words));
	}
	/* Counted even when not kept: who_points numbers them over all calls. */
	s->nwords += w ? n : 0;
	for (i = 0; i < n; i++) {
		long at = find_block(s, words[i] & mask);

		if (at >= 0)
			mark(s, at, words[i] & mask);
	}
}

int leak_scan_root_range(struct leak_scan *s, const struct memsrc *m, uint64_t lo, uint64_t hi)
{
	struct visit vi = {
		.mode = VISIT_MARK,
		.counted = &s->stats.root_bytes, .skipped = &s->stats.unreadable,
	};
	struct root_range *r;

	if (lo >= hi)
		return 0;
	r = keep(s, s->ranges, s->nranges, &s->cap_ranges, 1, sizeof(*r));
	if (!r) {
		errno = ENOMEM;
		return -1;
	}
	s->ranges = r;
	s->ranges[s->nranges].lo = lo;
	s->ranges[s->nranges++].hi = hi;
	return visit_range(s, m, &vi, lo, hi);
}

int leak_scan_finish(struct leak_scan *s, const struct memsrc *m)
{
	static const uint8_t verdict[] = {
		[ST_UNREACHED] = LEAK_DEFINITE,
		[ST_POSSIBLE] = LEAK_POSSIBLE,
		[ST_REACHABLE] = LEAK_REACHABLE,
		[ST_INDIRECT] = LEAK_INDIRECT,
	};
	struct visit vi = { .counted = &s->stats.block_bytes, .skipped = &s->stats.unreadable };
	size_t i;

	if (!s->finished) {
		vi.mode = VISIT_MARK;
		if (settle(s, m, &vi) < 0)
			return -1;
		/* Every possibly lost block is still to be scanned. */
		vi.mode = VISIT_POSSIBLE;
		for (i = 0; i < s->n; i++)
			if (s->st[i] == ST_POSSIBLE)
				push(s, (uint32_t)i);
		if (settle(s, m, &vi) < 0)
			return -1;
		/* Cliques, in address order: a leader stays unreached. */
		vi.mode = VISIT_CLIQUE;
		s->use_stack = 1;
		for (i = 0; i < s->n; i++) {
			if ((s->st[i] & ST_MASK) != ST_UNREACHED)
				continue;
			vi.leader = (uint32_t)i;
			push(s, (uint32_t)i);
			if (drain(s, m, &vi) < 0)
				return -1;
		}
		for (i = 0; i < s->n; i++)
			s->b[i].verdict = verdict[s->st[i] & ST_MASK];
		s->finished = 1;
	}
	if (s->oom) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void leak_scan_stats(const struct leak_scan *s, struct leak_scan_stats *st)
{
	*st = s->stats;
}

void leak_scan_free(struct leak_scan *s)
{
	if (!s)
		return;
	free(s->st);
	free(s->stack);
	free(s->buf);
	free(s->wbuf);
	free(s->cl);
	free(s->index);
	free(s->key);
	free(s->ranges);
	free(s->words);
	free(s);
}

int leak_scan_who_points(struct leak_scan *s, const struct memsrc *m, uint64_t addr, uint64_t len,
			 void (*fn)(void *arg, uint64_t where, uint64_t value, long block), void *arg)
{
	uint64_t mask = s->ptr_size == 4 ? UINT32_MAX : UINT64_MAX;
	uint64_t ignored = 0;	/* the scan's figures count the scan only */
	struct visit vi = {
		.mode = VISIT_WHO, .lo = addr, .hi = len > 1 ? addr + len : addr + 1,
		.fn = fn, .arg = arg, .counted = &ignored, .skipped = &ignored,
	};
	uint64_t reads = s->stats.reads;
	size_t i, done = 0;
	int rc = -1;

	if (!s->finished) {
		errno = EINVAL;
		return -1;
	}
	if (vi.hi < vi.lo)	/* wrapped past the top: up to the top */
		vi.hi = UINT64_MAX;
	for (i = 0; i < s->nwords; i++) {
		uint64_t v = s->words[i] & mask;

		if (v >= vi.lo && v < vi.hi)
			fn(arg, i, v, LEAK_WHO_REGISTER);
	}
	vi.holder = LEAK_WHO_ROOT;
	for (i = 0; i < s->nranges; i++)
		if (visit_range(s, m, &vi, s->ranges[i].lo, s->ranges[i].hi) < 0)
			goto out;
	/* Every block, by the sweep's runs: a read per 64 KiB, not per block. */
	for (i = 0; i < s->n; i++)
		s->st[i] |= ST_PENDING;
	s->npending = s->n;
	s->plo = 0;
	s->phi = (long)s->n - 1;
	while (s->npending)
		if (sweep(s, m, &vi, 0, &done) < 0)
			goto out;
	rc = 0;
out:
	for (i = 0; i < s->n; i++)
		s->st[i] &= ST_MASK;
	s->npending = 0;
	s->stats.reads = reads;
	return rc;
}

/* ---------------------------------------------------------------- the caller's array */

/* Runs at least this long are kept as they come; shorter ones are sorted together. */
#define SORT_RUN_MIN 64
#define SORT_SMALL 16

/*
 * X goes before Y: a lower address; at one address, a block with a context
 * first, then by context, size, internal (a total order: the result is the
 * same whatever order the blocks came in).
 */
static inline int blk_before(const struct leak_block *x, const struct leak_block *y)
{
	if (x->addr != y->addr)
		return x->addr < y->addr;
	if (!x->ctx != !y->ctx)
		return x->ctx != 0;
	if (x->ctx != y->ctx)
		return x->ctx < y->ctx;
	if (x->size != y->size)
		return x->size < y->size;
	return x->internal < y->internal;
}

static inline void blk_swap(struct leak_block *x, struct leak_block *y)
{
	struct leak_block t = *x;

	*x = *y;
	*y = t;
}

static void blk_insertion(struct leak_block *b, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct leak_block t = b[i];
		size_t j = i;

		for (; j && blk_before(&t, &b[j - 1]); j--)
			b[j] = b[j - 1];
		b[j] = t;
	}
}

/* Move B[I] down the heap of N (the later block on top) to where it belongs. */
static void blk_sift(struct leak_block *b, size_t i, size_t n)
{
	for (size_t c = 2 * i + 1; c < n; i = c, c = 2 * i + 1) {
		c += c + 1 < n && blk_before(&b[c], &b[c + 1]);
		if (!blk_before(&b[i], &b[c]))
			break;
		blk_swap(&b[i], &b[c]);
	}
}

static void blk_heapsort(struct leak_block *b, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		blk_sift(b, i, n);
	for (size_t i = n; i-- > 1;) {
		blk_swap(&b[0], &b[i]);
		blk_sift(b, 0, i);
	}
}

/*
 * Introsort in place: quicksort on a median of three, heapsort past DEPTH
 * levels, insertion sort for the small ends. The comparison inlined and no
 * memory: glibc's qsort took 240 ms (and a copy of the array) for the 1.5 M
 * blocks of a heap walk and a table.
 */
static void blk_introsort(struct leak_block *b, size_t n, unsigned depth)
{
	while (n > SORT_SMALL) {
		size_t m = n / 2, i = 0, j = n - 1;
		struct leak_block p;

		if (!depth--) {
			blk_heapsort(b, n);
			return;
		}
		if (blk_before(&b[m], &b[0]))
			blk_swap(&b[m], &b[0]);
		if (blk_before(&b[n - 1], &b[m])) {
			blk_swap(&b[n - 1], &b[m]);
			if (blk_before(&b[m], &b[0]))
				blk_swap(&b[m], &b[0]);
		}
		p = b[m];
		for (;;) {
			while (blk_before(&b[i], &p))
				i++;
			while (blk_before(&p, &b[j]))
				j--;
			if (i >= j)
				break;
			blk_swap(&b[i++], &b[j--]);
		}
		/* [0, j] before or as p, [j + 1, n) as or after: the smaller side recursively. */
		if (j + 1 < n - j - 1) {
			blk_introsort(b, j + 1, depth);
			b += j + 1;
			n -= j + 1;
		} else {
			blk_introsort(b + j + 1, n - j - 1, depth);
			n = j + 1;
		}
	}
	blk_insertion(b, n);
}

/* Merge the sorted [B, B + A) and [B + A, B + A + C), stably, through TMP (min(A, C) blocks). */
static void blk_merge(struct leak_block *b, size_t a, size_t c, struct leak_block *tmp)
{
	size_t i, j, k;

	if (a <= c) {
		memcpy(tmp, b, a * sizeof(*b));
		for (i = 0, j = a, k = 0; i < a && j < a + c;)
			b[k++] = blk_before(&b[j], &tmp[i]) ? b[j++] : tmp[i++];
		while (i < a)
			b[k++] = tmp[i++];
		return;
	}
	memcpy(tmp, b + a, c * sizeof(*b));
	for (i = a, j = c, k = a + c; i && j;)
		b[--k] = blk_before(&tmp[j - 1], &b[i - 1]) ? b[--i] : tmp[--j];
	while (j)
		b[--k] = tmp[--j];
}

/* The end of the ascending run that starts at I. */
static size_t run_end(const struct leak_block *b, size_t n, size_t i)
{
	for (i++; i < n && !blk_before(&b[i], &b[i - 1]); i++)
		;
	return i;
}

/*
 * Sorted segments: the long runs as they are, each stretch of short ones
 * sorted in place; then merged pairwise, smaller side copied out. -1 (the
 * array unchanged in content) without memory.
 */
static int blk_sort_runs(struct leak_block *b, size_t n)
{
	size_t *seg = NULL, nseg = 0, cap = 0, i = 0, tcap = 0;
	struct leak_block *tmp = NULL;
	unsigned depth = 0;
	int ret = -1;

	for (size_t x = n; x; x >>= 1)
		depth += 2;
	while (i < n) {
		size_t j = run_end(b, n, i), k = j;

		if (j - i < SORT_RUN_MIN) {
			while (k < n) {
				size_t r = run_end(b, n, k);

				if (r - k >= SORT_RUN_MIN)
					break;
				k = r;
			}
			blk_introsort(b + i, k - i, depth);
		}
		if (nseg + 2 > cap) {
			size_t *ns = realloc(seg, (cap = cap ? 2 * cap : 64) * sizeof(*seg));

			if (!ns)
				goto out;
			seg = ns;
		}
		seg[nseg++] = i;
		i = k;
	}
	seg[nseg] = n;
	/* Pairwise, bottom up: segment s is [seg[s], seg[s + 1]). */
	while (nseg > 1) {
		size_t out = 0;

		for (size_t s = 0; s < nseg; s += 2) {
			if (s + 1 < nseg) {
				size_t a = seg[s + 1] - seg[s], c = seg[s + 2] - seg[s + 1], t = a < c ? a : c;

				if (blk_before(&b[seg[s + 1]], &b[seg[s + 1] - 1])) {
					if (t > tcap) {
						free(tmp);
						tmp = malloc(t * sizeof(*tmp));
						if (!tmp)
							goto out;
						tcap = t;
					}
					blk_merge(b + seg[s], a, c, tmp);
				}
			}
			seg[out++] = seg[s];
		}
		seg[out] = n;
		nseg = out;
	}
	ret = 0;
out:
	free(tmp);
	free(seg);
	return ret;
}

size_t leak_blocks_sort(struct leak_block *b, size_t n)
{
	size_t i, k = 0;

	if (n < 2)
		return n;	/* sorted; and no segment to merge (blk_sort_runs wants one) */
	if (blk_sort_runs(b, n) < 0) {
		unsigned depth = 0;

		for (size_t x = n; x; x >>= 1)
			depth += 2;
		blk_introsort(b, n, depth);
	}
	for (i = 0; i < n; i++) {
		if (k && b[i].addr < block_end(&b[k - 1])) {
			/* Overlap: the one with a context (recorded) stays, else the first. */
			if (!b[k - 1].ctx && b[i].ctx)
				b[k - 1] = b[i];
			continue;
		}
		b[k++] = b[i];
	}
	return k;
}

/* ---------------------------------------------------------------- words read ahead */

/*
 * A live scan reads the heap twice: the walk for the chunk headers (every
 * page of a heap of small chunks holds some), the scan for the blocks'
 * words. What the scan can use of the first read is small: the words whose
 * value may be a pointer to a block (a few a block; the rest is zeros to
 * it). Kept as (address, value) pairs by span of memory read, they serve
 * the scan's reads of that memory, zeros around them.
 */

/* A range kept: [lo, hi), its words at[first, first + n). */
struct words_span {
	uint64_t lo, hi;
	size_t first, n;
};

struct leak_words {
	const struct memsrc *under;
	uint64_t lo, hi;	/* values kept */
	size_t budget;		/* bytes of words at most */
	struct words_span *span;
	size_t nspan, cap_span;
	uint32_t *at;		/* the words kept, span by span, ascending in each: offsets in the span */
	uint64_t *val;		/* and their values (12 bytes a word) */
	size_t n, cap;
	int full;		/* out of budget (or memory): nothing more is kept */
	int sorted;		/* spans sorted by lo and checked not to overlap */
	uint64_t covered;
};

struct leak_words *leak_words_new(const struct memsrc *under, uint64_t lo, uint64_t hi, size_t budget)
{
	struct leak_words *w = calloc(1, sizeof(*w));

	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	w->under = under;
	w->lo = lo;
	w->hi = hi;
	w->budget = budget;
	return w;
}

/* Room for one more span and one more word; 0, or -1 (then full). */
static int words_room(struct leak_words *w)
{
	if (w->nspan == w->cap_span) {
		size_t cap = w->cap_span ? 2 * w->cap_span : 64;
		struct words_span *p = realloc(w->span, cap * sizeof(*p));

		if (!p)
			return w->full = 1, -1;
		w->span = p;
		w->cap_span = cap;
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 4096;
		uint32_t *a;
		uint64_t *v;

		if (cap * 12 + w->cap_span * sizeof(*w->span) > w->budget)
			cap = w->cap + 4096;
		if (cap * 12 + w->cap_span * sizeof(*w->span) > w->budget)
			return w->full = 1, -1;
		a = realloc(w->at, cap * sizeof(*a));
		if (a)
			w->at = a;
		v = a ? realloc(w->val, cap * sizeof(*v)) : NULL;
		if (!v)
			return w->full = 1, -1;
		w->val = v;
		w->cap = cap;
	}
	return 0;
}

void leak_words_add(void *arg, uint64_t addr, const void *buf, size_t len)
{
	struct leak_words *w = arg;
	unsigned ps = w->under->ptr_size;
	uint64_t mask = ps - 1, lo = (addr + mask) & ~mask, hi = (addr + len) & ~mask, p;
	struct words_span *sp = w->nspan ? &w->span[w->nspan - 1] : NULL;

	if (w->full || hi <= lo)
		return;
	if (sp && lo >= sp->lo && lo <= sp->hi) {
		if (hi <= sp->hi)
			return;
		lo = sp->hi;	/* the part past what the last read kept */
	} else {
		if (words_room(w) < 0)
			return;
		sp = &w->span[w->nspan++];
		*sp = (struct words_span){ .lo = lo, .hi = lo, .first = w->n };
		w->sorted = 0;
	}
	for (p = lo; p < hi; p += ps) {
		const unsigned char *at = (const unsigned char *)buf + (p - addr);
		uint64_t v;

		/* Most words are no candidate: skip them a word size at a time. */
		if (ps == 8) {
			uint64_t v64;

			for (; p < hi; p += 8, at += 8) {
				memcpy(&v64, at, 8);
				if (v64 - w->lo < w->hi - w->lo)
					break;
			}
			if (p >= hi)
				break;
			v = v64;
		} else {
			uint32_t v32;

			for (; p < hi; p += 4, at += 4) {
				memcpy(&v32, at, 4);
				if ((uint64_t)v32 - w->lo < w->hi - w->lo)
					break;
			}
			if (p >= hi)
				break;
			v = v32;
		}
		/* words_room may move the spans: SP again after it. */
		if (w->n == w->cap && words_room(w) < 0)
			break;
		sp = &w->span[w->nspan - 1];
		if (p - sp->lo > UINT32_MAX) {
			/* Offsets are 32 bits: a span of more than 4 GiB goes on in another. */
			if (words_room(w) < 0)
				break;
			sp = &w->span[w->nspan - 1];
			w->covered += p - sp->hi;
			sp->hi = p;
			sp = &w->span[w->nspan++];
			*sp = (struct words_span){ .lo = p, .hi = p, .first = w->n };
		}
		w->at[w->n] = (uint32_t)(p - sp->lo);
		w->val[w->n++] = v;
		sp->n++;
	}
	sp = &w->span[w->nspan - 1];
	w->covered += p - sp->hi;
	sp->hi = p;
}

static int span_cmp(const void *a, const void *b)
{
	const struct words_span *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The span holding [ADDR, ADDR + LEN) whole, or NULL (then UNDER reads it). */
static const struct words_span *words_span_of(struct leak_words *w, uint64_t addr, size_t len)
{
	size_t a = 0, z;

	if (!w->sorted) {
		if (w->nspan)
			qsort(w->span, w->nspan, sizeof(*w->span), span_cmp);
		for (size_t i = 1; i < w->nspan; i++)
			if (w->span[i].lo < w->span[i - 1].hi)
				w->nspan = 0;	/* overlapping reads: keep nothing, read all */
		w->sorted = 1;
	}
	for (z = w->nspan; a < z;) {
		size_t mid = a + (z - a) / 2;

		if (w->span[mid].lo <= addr)
			a = mid + 1;
		else
			z = mid;
	}
	if (!a || addr + len > w->span[a - 1].hi || addr + len < addr)
		return NULL;
	return &w->span[a - 1];
}

/* The kept words of SP in [ADDR, ADDR + LEN) into BUF, zeros elsewhere. */
static void words_fill(const struct leak_words *w, const struct words_span *sp, uint64_t addr, void *buf, size_t len)
{
	size_t a = sp->first, z = sp->first + sp->n;

	memset(buf, 0, len);
	while (a < z) {
		size_t mid = a + (z - a) / 2;

		if (sp->lo + w->at[mid] < addr)
			a = mid + 1;
		else
			z = mid;
	}
	for (; a < sp->first + sp->n && sp->lo + w->at[a] + w->under->ptr_size <= addr + len; a++) {
		unsigned char *to = (unsigned char *)buf + (sp->lo + w->at[a] - addr);

		if (w->under->ptr_size == 4) {
			uint32_t v32 = (uint32_t)w->val[a];

			memcpy(to, &v32, 4);
		} else {
			memcpy(to, &w->val[a], 8);
		}
	}
}

static int words_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct leak_words *w = arg;
	const struct words_span *sp = words_span_of(w, addr, len);

	if (!sp)
		return w->under->read(w->under->arg, addr, buf, len);
	words_fill(w, sp, addr, buf, len);
	return 0;
}

static int words_readv(void *arg, const struct memsrc_piece *pieces, size_t n)
{
	struct leak_words *w = arg;
	struct memsrc_piece left[MEMSRC_READV_MAX];
	size_t k = 0;

	if (n > MEMSRC_READV_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct words_span *sp = words_span_of(w, pieces[i].addr, pieces[i].len);

		if (sp)
			words_fill(w, sp, pieces[i].addr, pieces[i].buf, pieces[i].len);
		else
			left[k++] = pieces[i];
	}
	if (k > 1 && w->under->readv)
		return w->under->readv(w->under->arg, left, k);
	for (size_t i = 0; i < k; i++)
		if (w->under->read(w->under->arg, left[i].addr, left[i].buf, left[i].len) < 0)
			return -1;
	return 0;
}

struct memsrc leak_words_memsrc(struct leak_words *w)
{
	return (struct memsrc){ .read = words_read, .readv = words_readv, .arg = w, .ptr_size = w->under->ptr_size };
}

void leak_words_stats(const struct leak_words *w, size_t *memory, uint64_t *covered)
{
	*memory = sizeof(*w) + w->cap_span * sizeof(*w->span) + w->cap * (sizeof(*w->at) + sizeof(*w->val));
	*covered = w->covered;
}

void leak_words_free(struct leak_words *w)
{
	if (w) {
		free(w->span);
		free(w->at);
		free(w->val);
	}
	free(w);
}
