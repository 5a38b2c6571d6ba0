/*
 * The leak judge over a stopped image (leakjudge.h): blocks from the
 * agent's table and glibc's heap, roots chosen as valgrind chooses them,
 * verdicts from common/leaks.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchor.h"
#include "anchortab.h"
#include "glibcheap.h"
#include "leakjudge.h"
#include "log.h"
#include "util.h"

/* Threads whose registers who-points can name. */
#define MAX_REG_THREADS 4096

struct range {
	uint64_t lo, hi;
};

struct ranges {
	struct range *v;
	size_t n, cap;
};

struct leak_judge {
	const struct leak_image *img;
	const struct memsrc *mem;
	struct anchortab tab;
	struct ranges own;		/* the agent's memory and thread stack mappings: never roots */
	struct ranges owned;		/* the allocator's ranges, from the heap walk */
	int control_tid;
	struct range control_stack;	/* the mapping of the control thread's stack, or 0 */
	/* Which thread's registers are root words [first, first + n): for who-points. */
	struct regs_at { int tid; size_t first, n; } *regs;	/* MAX_REG_THREADS of them */
	size_t nregs, nwords;
	struct leak_block *blocks;
	size_t n, cap;
	struct inj_leaks *out;
	struct leak_words *words;	/* the heap's words, kept by the walk (leaks.h) */
	uint64_t words_lo, words_hi;
	/* The table's blocks, sorted at the front of blocks, and a cursor in them
	 * for the heap walk's chunks, which come in ascending runs (a heap each). */
	size_t ntab, tcur;
	uint64_t tlast;
};

static void ranges_add(struct ranges *r, uint64_t lo, uint64_t hi)
{
	if (lo >= hi)
		return;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		if (!r->v)
			log_oom();
	}
	r->v[r->n++] = (struct range){ lo, hi };
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorted, overlaps merged. */
static void ranges_merge(struct ranges *r)
{
	size_t k = 0;

	if (!r->n)
		return;
	qsort(r->v, r->n, sizeof(*r->v), range_cmp);
	for (size_t i = 1; i < r->n; i++) {
		if (r->v[i].lo <= r->v[k].hi) {
			if (r->v[i].hi > r->v[k].hi)
				r->v[k].hi = r->v[i].hi;
		} else {
			r->v[++k] = r->v[i];
		}
	}
	r->n = k + 1;
}

static int map_cmp(const void *key, const void *elem)
{
	uint64_t addr = *(const uint64_t *)key;
	const struct leak_map *m = elem;

	return addr < m->lo ? -1 : addr >= m->hi;
}

const struct leak_map *leak_map_of(const struct leak_map *maps, size_t n, uint64_t addr)
{
	return n ? bsearch(&addr, maps, n, sizeof(*maps), map_cmp) : NULL;
}

static const struct leak_map *map_of(const struct leak_image *img, uint64_t addr)
{
	return leak_map_of(img->maps, img->nmaps, addr);
}

/* ---------------------------------------------------------------- blocks */

/* The index of the first of the N blocks at B ending after ADDR (a zero-size block takes 1 byte); N if none. */
static size_t ending_after(const struct leak_block *b, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b[mid].addr + (b[mid].size ? b[mid].size : 1) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}


static struct leak_block *block_push(struct leak_judge *j)
{
	if (j->n == j->cap) {
		j->cap = j->cap ? 2 * j->cap : 4096;
		j->blocks = realloc(j->blocks, j->cap * sizeof(*j->blocks));
		if (!j->blocks)
			log_oom();
	}
	memset(&j->blocks[j->n], 0, sizeof(j->blocks[0]));
	return &j->blocks[j->n++];
}

static int take_block(void *arg, const struct anchortab_blk *b)
{
	struct leak_block *lb = block_push(arg);

	lb->addr = b->ptr;
	lb->size = b->size;
	lb->ctx = (uint32_t)b->ctx;
	return 0;
}

/* Word K of the 8-byte-word descriptor at D. */
static int desc_word(struct leak_judge *j, uint64_t d, unsigned k, uint64_t *v)
{
	return j->mem->read(j->mem->arg, d + 8ull * k, v, 8);
}

/*
 * The agent's own memory (anchor word ANCHOR_OWN): its mappings, module
 * and control thread, into j->own. An agent without the word (older) is
 * refused: its tables would be taken for roots.
 */
static int read_own(struct leak_judge *j)
{
	uint64_t nfields, d, w[ANCHOR_O_WORDS];
	size_t ps = j->mem->ptr_size;
	const char *where = j->img->where;
	unsigned char *maps;

	if (desc_word(j, j->img->anchor, ANCHOR_NFIELDS, &nfields) < 0 || nfields <= ANCHOR_OWN ||
	    desc_word(j, j->img->anchor, ANCHOR_OWN, &d) < 0 || !d)
		return log_err("leaks: the agent in %s does not list its own memory (an older agent): "
			       "detach, and attach with this memtrace", where);
	for (unsigned k = 0; k < ANCHOR_O_WORDS; k++)
		if (desc_word(j, d, k, &w[k]) < 0)
			return log_err("leaks: the agent's memory list is not readable in %s", where);
	if (w[ANCHOR_O_NMAPS] > w[ANCHOR_O_CAP] || w[ANCHOR_O_CAP] > (1u << 20))
		return log_err("leaks: the agent's memory list in %s makes no sense", where);
	j->out->own_overflow = w[ANCHOR_O_OVERFLOW] != 0;
	ranges_add(&j->own, w[ANCHOR_O_SELF_LO], w[ANCHOR_O_SELF_HI]);
	maps = xmalloc(w[ANCHOR_O_NMAPS] * 2 * ps + 1);
	if (w[ANCHOR_O_NMAPS] && j->mem->read(j->mem->arg, w[ANCHOR_O_MAPS], maps, w[ANCHOR_O_NMAPS] * 2 * ps) < 0) {
		free(maps);
		return log_err("leaks: the agent's memory list is not readable in %s", where);
	}
	for (uint64_t i = 0; i < w[ANCHOR_O_NMAPS]; i++)
		ranges_add(&j->own, memsrc_word(j->mem, maps + 2 * i * ps),
			   memsrc_word(j->mem, maps + (2 * i + 1) * ps));
	free(maps);
	j->control_tid = (int)w[ANCHOR_O_THREAD_TID];
	if (w[ANCHOR_O_THREAD_STACK]) {
		const struct leak_map *m = map_of(j->img, w[ANCHOR_O_THREAD_STACK]);

		if (m) {
			ranges_add(&j->own, m->lo, m->hi);
			j->control_stack = (struct range){ m->lo, m->hi };
		}
	}
	return 0;
}

int leak_judge_control_tid(const struct leak_judge *j)
{
	return j->control_tid;
}

void leak_judge_set_control_tid(struct leak_judge *j, int tid)
{
	j->control_tid = tid;
}

struct leak_judge *leak_judge_new(const struct leak_image *img, struct inj_leaks *out)
{
	struct leak_judge *j = xcalloc(1, sizeof(*j));

	memset(out, 0, sizeof(*out));
	j->img = img;
	j->mem = img->mem;
	j->out = out;
	j->control_tid = -1;
	j->tab = (struct anchortab){ .m = img->mem, .where = img->where, .anchor = img->anchor };
	if (anchortab_read(&j->tab) < 0 || read_own(j) < 0) {
		leak_judge_free(j);
		return NULL;
	}
	return j;
}

/*
 * Whether a block of the table lies in [LO, HI): the chunk there is the
 * table's block (recorded, with its context), and is not pushed again
 * (a third of the array less where half the heap was recorded, its pages
 * never touched). The cursor moves forwards along a heap, and is found
 * again by bisection when the walk goes on to the next heap.
 */
static int table_holds(struct leak_judge *j, uint64_t lo, uint64_t hi)
{
	if (!j->ntab)
		return 0;
	if (lo < j->tlast)
		j->tcur = ending_after(j->blocks, j->ntab, lo);
	while (j->tcur < j->ntab &&
	       j->blocks[j->tcur].addr + (j->blocks[j->tcur].size ? j->blocks[j->tcur].size : 1) <= lo)
		j->tcur++;
	j->tlast = lo;
	return j->tcur < j->ntab && j->blocks[j->tcur].addr < hi;
}

static int heap_chunk(void *arg, const struct glibcheap_chunk *c)
{
	struct leak_judge *j = arg;
	struct leak_block *b;

	if (table_holds(j, c->mem, c->mem + (c->usable ? c->usable : 1)))
		return 0;
	b = block_push(j);
	b->addr = c->mem;
	b->size = c->usable;
	b->internal = (uint8_t)c->internal;
	return 0;
}

static void heap_read(void *arg, uint64_t addr, const void *buf, size_t len)
{
	struct leak_judge *j = arg;

	leak_words_add(j->words, addr, buf, len);
}

/*
 * What the heap walk reads kept for the scan (leak_words), so the heap is
 * read once, not twice: the words of the writable anonymous memory and
 * [heap] that could be pointers, within 1/48 of that memory (12 bytes a
 * word kept: with the engine's own, under 7 % of the heap, the scan stays
 * under 10 %). Not for an image whose reads cost nothing (a core).
 */
static void words_start(struct leak_judge *j, struct glibcheap_walk *w)
{
	uint64_t lo = UINT64_MAX, hi = 0, bytes = 0;

	leak_words_free(j->words);
	j->words = NULL;
	if (j->img->cheap_reads)
		return;
	for (size_t i = 0; i < j->img->nmaps; i++) {
		const struct leak_map *m = &j->img->maps[i];

		if (m->perms[0] != 'r' || m->perms[1] != 'w' || (m->path[0] && strcmp(m->path, "[heap]")))
			continue;
		lo = m->lo < lo ? m->lo : lo;
		hi = m->hi > hi ? m->hi : hi;
		bytes += m->hi - m->lo;
	}
	if (lo < hi && (j->words = leak_words_new(j->mem, lo, hi, (size_t)(bytes / 48))))
		w->read = heap_read;
	j->words_lo = lo;
	j->words_hi = hi;
}

static void heap_owned(void *arg, const struct glibcheap_range *r)
{
	struct leak_judge *j = arg;

	ranges_add(&j->owned, r->lo, r->hi);
}

/* Whether [LO, HI) is one of the agent's own mappings: no chunk of glibc's is looked for there. */
static int owned_by_agent(const struct leak_judge *j, uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < j->own.n; i++)
		if (j->own.v[i].lo <= lo && hi <= j->own.v[i].hi)
			return 1;
	return 0;
}

/* glibc's heap walked (leak_judge_blocks's 1, 0 or -2). */
static int heap_blocks(struct leak_judge *j)
{
	const uint64_t *h = j->tab.h;
	struct glibcheap_info info = { .main_arena = h[ANCHOR_H_MAIN_ARENA], .tcache_key = h[ANCHOR_H_TCACHE_KEY],
				       .version = (unsigned)h[ANCHOR_H_VERSION] };
	struct glibcheap_walk w = { .chunk = heap_chunk, .owned = heap_owned, .arg = j };
	struct glibcheap_map *maps;
	char err[160];
	size_t n0 = j->n;
	int ret;

	if (h[ANCHOR_H_KIND] == ANCHOR_HEAP_SECCOMP) {
		snprintf(j->out->heap_note, sizeof(j->out->heap_note),
			 "only blocks allocated since the attach are judged: the process runs under a seccomp "
			 "filter, and memtrace does not measure glibc's heap there (its probe's system call "
			 "could be one the filter kills for)");
		return 0;
	}
	if (h[ANCHOR_H_KIND] != ANCHOR_HEAP_GLIBC) {
		snprintf(j->out->heap_note, sizeof(j->out->heap_note),
			 "only blocks allocated since the attach are judged: the allocator is not glibc 2.35 or "
			 "later (or not glibc's own malloc), whose heap memtrace can walk");
		return 0;
	}
	maps = xcalloc(j->img->nmaps + 1, sizeof(*maps));
	for (size_t i = 0; i < j->img->nmaps; i++) {
		const struct leak_map *m = &j->img->maps[i];

		maps[i].lo = m->lo;
		maps[i].hi = m->hi;
		maps[i].anon_rw = !m->path[0] && m->perms[0] == 'r' && m->perms[1] == 'w' && m->perms[3] == 'p' &&
				  !owned_by_agent(j, m->lo, m->hi);
	}
	words_start(j, &w);
	ret = glibcheap_walk(j->mem, &info, maps, j->img->nmaps, &w, err, sizeof(err));
	free(maps);
	if (ret < 0) {
		leak_words_free(j->words);
		j->words = NULL;
		j->n = n0;
		j->owned.n = 0;
		snprintf(j->out->heap_note, sizeof(j->out->heap_note),
			 "only blocks allocated since the attach are judged: glibc's heap could not be walked (%s)",
			 err);
		return -2;
	}
	j->out->heap_note[0] = '\0';
	return 1;
}

int leak_judge_blocks(struct leak_judge *j, int quiet)
{
	j->n = 0;
	j->owned.n = 0;
	j->tab.quiet = quiet;
	if (anchortab_walk(&j->tab, take_block, j) < 0)
		return -1;
	j->n = leak_blocks_sort(j->blocks, j->n);
	j->ntab = j->n;
	j->tcur = 0;
	j->tlast = 0;
	return heap_blocks(j);
}

static size_t first_ending_after(const struct leak_judge *j, uint64_t addr)
{
	return ending_after(j->blocks, j->n, addr);
}

/* The block holding ADDR, or NULL (the blocks sorted, not overlapping). */
static struct leak_block *block_at(struct leak_judge *j, uint64_t addr)
{
	size_t i = first_ending_after(j, addr);

	return i < j->n && j->blocks[i].addr <= addr ? &j->blocks[i] : NULL;
}

/*
 * The blocks the agent's control thread holds: glibc made them for it
 * (its DTV, calloc'ed by pthread_create and held from the thread's control
 * block at the top of its stack mapping), so they are the agent's, judged
 * but never reported. Every word of that mapping that points into a block
 * marks it.
 */
static void control_blocks(struct leak_judge *j)
{
	enum { PIECE = 64 << 10 };
	unsigned char *buf = xmalloc(PIECE);
	size_t ps = j->mem->ptr_size;

	for (uint64_t at = j->control_stack.lo; at < j->control_stack.hi; at += PIECE) {
		size_t len = j->control_stack.hi - at < PIECE ? (size_t)(j->control_stack.hi - at) : PIECE;

		if (j->mem->read(j->mem->arg, at, buf, len) < 0)
			continue;	/* a guard page in it: nothing of the thread's there */
		for (size_t i = 0; i + ps <= len; i += ps) {
			struct leak_block *b = block_at(j, memsrc_word(j->mem, buf + i));

			if (b && !b->ctx)
				b->internal = 1;
		}
	}
	free(buf);
}

/* ---------------------------------------------------------------- roots */

/*
 * One thread's roots: its registers (when it is stopped) and its stack from
 * the stack pointer (less the red zone) to the end of that mapping, which
 * then goes into STACKS (not scanned again as plain memory).
 */
static int thread_roots(struct leak_judge *j, struct leak_scan *ls, const struct leak_thread *t,
			struct ranges *stacks)
{
	const struct leak_map *m;
	uint64_t sp = t->sp;

	if (!t->regs && !sp)
		return 0;	/* running, and where its stack is is not known */
	if (t->regs) {
		leak_scan_root_words(ls, t->regs, t->nregs);
		if (j->nregs < MAX_REG_THREADS) {
			j->regs[j->nregs].tid = t->tid;
			j->regs[j->nregs].first = j->nwords;
			j->regs[j->nregs++].n = t->nregs;
		}
		j->nwords += t->nregs;
	} else {
		j->out->threads_running++;
	}
	j->out->threads++;
	m = sp ? map_of(j->img, sp) : NULL;
	if (!m)
		return 0;
	ranges_add(stacks, m->lo, m->hi);
	sp = sp - j->img->red_zone > m->lo ? sp - j->img->red_zone : m->lo;
	j->out->root_ranges++;
	return leak_scan_root_range(ls, j->mem, sp & ~(uint64_t)(j->mem->ptr_size - 1), m->hi);
}

/* A mapping that is never a root: not rw, a device (but /dev/zero), the kernel's. */
static int not_root(const struct leak_map *m)
{
	if (m->perms[0] != 'r' || m->perms[1] != 'w')
		return 1;
	if (!strncmp(m->path, "/dev/", 5) && strcmp(m->path, "/dev/zero") && strncmp(m->path, "/dev/zero ", 10))
		return 1;
	return !strcmp(m->path, "[vvar]") || !strcmp(m->path, "[vsyscall]") || !strcmp(m->path, "[vvar_vclock]");
}

/* [LO, HI) less the blocks (sorted) as roots. */
static int root_minus_blocks(struct leak_judge *j, struct leak_scan *ls, uint64_t lo, uint64_t hi)
{
	size_t a = first_ending_after(j, lo);

	for (size_t i = a; i < j->n && lo < hi && j->blocks[i].addr < hi; i++) {
		if (j->blocks[i].addr > lo) {
			j->out->root_ranges++;
			if (leak_scan_root_range(ls, j->mem, lo, j->blocks[i].addr) < 0)
				return -1;
		}
		if (j->blocks[i].addr + j->blocks[i].size > lo)
			lo = j->blocks[i].addr + j->blocks[i].size;
	}
	if (lo < hi) {
		j->out->root_ranges++;
		return leak_scan_root_range(ls, j->mem, lo, hi);
	}
	return 0;
}

/* Every rw mapping, less EXCLUDED (sorted, merged) and the blocks. */
static int memory_roots(struct leak_judge *j, struct leak_scan *ls, const struct ranges *excluded)
{
	size_t e = 0;

	for (size_t i = 0; i < j->img->nmaps; i++) {
		const struct leak_map *m = &j->img->maps[i];
		uint64_t lo = m->lo;

		if (not_root(m))
			continue;
		while (e < excluded->n && excluded->v[e].hi <= lo)
			e++;
		for (size_t k = e; k < excluded->n && excluded->v[k].lo < m->hi && lo < m->hi; k++) {
			if (excluded->v[k].lo > lo && root_minus_blocks(j, ls, lo, excluded->v[k].lo) < 0)
				return -1;
			if (excluded->v[k].hi > lo)
				lo = excluded->v[k].hi;
		}
		if (lo < m->hi && root_minus_blocks(j, ls, lo, m->hi) < 0)
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- who points */

static void who_add(void *arg, uint64_t where, uint64_t value, long block)
{
	struct leak_judge *j = arg;
	struct inj_leaks *o = j->out;
	struct inj_leaks_holder *h;

	o->holders = realloc(o->holders, (o->nholders + 1) * sizeof(*o->holders));
	if (!o->holders)
		log_oom();
	h = &o->holders[o->nholders++];
	*h = (struct inj_leaks_holder){ .where = where, .value = value, .block = block < 0 ? -1 : block };
	if (block == LEAK_WHO_REGISTER)
		for (size_t i = 0; i < j->nregs; i++)
			if (where >= j->regs[i].first && where < j->regs[i].first + j->regs[i].n) {
				h->tid = j->regs[i].tid;
				h->where = where - j->regs[i].first;
			}
}

/* WHO's length; 0 asks for the rest of the block holding its address (1 outside any). */
static uint64_t who_len(struct leak_judge *j, const struct inj_leaks_who *who)
{
	const struct leak_block *b = block_at(j, who->addr);

	if (who->len)
		return who->len;
	return b && b->size ? b->addr + b->size - who->addr : 1;
}

/* ---------------------------------------------------------------- signatures */

/*
 * The first word of every lost block of context 0 (no callstack there: what
 * it points to, a vtable, an ops table, is the next best name), read now,
 * while the process is still stopped, 64 blocks a read when the memsrc
 * can. A block that cannot be read gets none.
 */
static void first_words(struct leak_judge *j)
{
	struct inj_leaks *o = j->out;
	struct memsrc_piece pc[MEMSRC_READV_MAX];
	unsigned char buf[MEMSRC_READV_MAX][8];
	size_t idx[MEMSRC_READV_MAX], ps = j->mem->ptr_size, want = 0, k = 0;

	for (size_t i = 0; i < j->n; i++)
		want += !j->blocks[i].ctx && !j->blocks[i].internal && j->blocks[i].verdict != LEAK_REACHABLE &&
			j->blocks[i].size >= ps;
	if (!want)
		return;
	o->firsts = xcalloc(want, sizeof(*o->firsts));
	for (size_t i = 0; i <= j->n; i++) {
		const struct leak_block *b = i < j->n ? &j->blocks[i] : NULL;

		if (b && !b->ctx && !b->internal && b->verdict != LEAK_REACHABLE && b->size >= ps) {
			pc[k] = (struct memsrc_piece){ b->addr, buf[k], ps };
			idx[k++] = i;
		}
		if (k == MEMSRC_READV_MAX || (!b && k)) {
			int whole = j->mem->readv && j->mem->readv(j->mem->arg, pc, k) == 0;

			for (size_t m = 0; m < k; m++)
				if (whole || j->mem->read(j->mem->arg, pc[m].addr, buf[m], ps) == 0)
					o->firsts[o->nfirsts++] = (struct inj_leaks_first){ idx[m], memsrc_word(j->mem, buf[m]) };
			k = 0;
		}
	}
}

/* ---------------------------------------------------------------- the judgement */

int leak_judge_run(struct leak_judge *j, const struct leak_thread *t, size_t n, const struct inj_leaks_who *who)
{
	struct ranges stacks = { 0 };
	struct leak_scan *ls = NULL;
	const char *where = j->img->where;
	struct memsrc wm;
	int ret = -1;

	/* Sorted; a block the heap walk and the table both hold is the table's. */
	j->n = leak_blocks_sort(j->blocks, j->n);
	control_blocks(j);
	ls = leak_scan_new(j->blocks, j->n, j->mem->ptr_size);
	if (!ls) {
		log_err("leaks: no memory for the scan of %zu blocks", j->n);
		goto out;
	}
	j->regs = xcalloc(MAX_REG_THREADS, sizeof(*j->regs));
	for (size_t i = 0; i < n; i++) {
		if (t[i].tid == j->control_tid)
			continue;
		if (thread_roots(j, ls, &t[i], &stacks) < 0) {
			log_err("leaks: reading the stacks of %s failed: %s", where, strerror(errno));
			goto out;
		}
	}
	for (size_t i = 0; i < stacks.n; i++)
		ranges_add(&j->owned, stacks.v[i].lo, stacks.v[i].hi);
	for (size_t i = 0; i < j->own.n; i++)
		ranges_add(&j->owned, j->own.v[i].lo, j->own.v[i].hi);
	ranges_merge(&j->owned);
	/* The blocks are read from the words the walk kept, when they are all in their range. */
	if (j->words && j->n && (j->blocks[0].addr < j->words_lo ||
				 j->blocks[j->n - 1].addr + j->blocks[j->n - 1].size > j->words_hi)) {
		leak_words_free(j->words);
		j->words = NULL;
	}
	wm = j->words ? leak_words_memsrc(j->words) : *j->mem;
	if (memory_roots(j, ls, &j->owned) < 0 || leak_scan_finish(ls, &wm) < 0) {
		log_err("leaks: reading the memory of %s failed: %s", where, strerror(errno));
		goto out;
	}
	leak_scan_stats(ls, &j->out->st);
	if (j->words) {
		size_t wmem;
		uint64_t covered;

		leak_words_stats(j->words, &wmem, &covered);
		j->out->st.memory += wmem;
	}
	first_words(j);
	if (who && leak_scan_who_points(ls, j->mem, who->addr, who_len(j, who), who_add, j) < 0) {
		log_err("leaks: reading the memory of %s failed: %s", where, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < j->n && log_get_level() >= LOG_DEBUG; i++)
		if (j->blocks[i].verdict != LEAK_REACHABLE)
			log_debug("leaks: 0x%" PRIx64 " %" PRIu64 " bytes, context %u: %s", j->blocks[i].addr,
				  j->blocks[i].size, j->blocks[i].ctx, leak_verdict_text[j->blocks[i].verdict]);
	j->out->blocks = j->blocks;
	j->out->n = j->n;
	j->blocks = NULL;
	j->n = j->cap = 0;
	ret = 0;
out:
	leak_scan_free(ls);
	free(stacks.v);
	return ret;
}

void leak_judge_free(struct leak_judge *j)
{
	if (!j)
		return;
	free(j->own.v);
	free(j->owned.v);
	leak_words_free(j->words);
	free(j->regs);
	free(j->blocks);
	free(j);
}

void inj_leaks_free(struct inj_leaks *l)
{
	free(l->blocks);
	free(l->holders);
	free(l->firsts);
	l->blocks = NULL;
	l->holders = NULL;
	l->firsts = NULL;
	l->n = l->nholders = l->nfirsts = 0;
}
