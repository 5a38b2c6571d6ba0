/*
 * glibc's heap walked from outside (glibcheap.h): the arenas from
 * main_arena around the `next` ring, the chunks of each heap one after the
 * other, the mmapped chunks found page by page. Layouts and rules are those
 * of ../shared/notes/leak-verdicts.md, section 4, for glibc 2.35 and later.
 *
 * Every read goes through the memsrc and is checked; every loop is bounded
 * by the mappings (a chunk is at least MINSIZE bytes, a heap is a mapping,
 * an arena lives in a heap): a corrupt heap, or one a running thread is
 * changing, ends the walk with a message, never with a crash or a hang.
 *
 * Scratch memory (the set of free chunks that look in use) comes from
 * malloc: this runs in memtrace or memtrace-server, never in the target.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glibcheap.h"
#include "glibcheap_layout.h"

/* malloc_state.flags: the main arena left brk for mmap (not handled). */
#define NONCONTIGUOUS_BIT 2u

/* A tcache list longer than this is broken: counts are uint16_t. */
#define TCACHE_MAX_COUNT 65535
/* mmapped chunks are whole pages; 4 KiB divides every page size. */
#define MMAP_STEP 4096u
/* Bytes read at once along a heap: one read per window, not per chunk. */
#define WINDOW 65536

/* A sorted set of chunk addresses: the free chunks that look in use. */
struct addrset {
	uint64_t *a;
	size_t n, cap;
	int sorted;
};

struct walker {
	const struct memsrc *m;
	const struct glibcheap_layout *l;
	const struct glibcheap_info *info;
	const struct glibcheap_map *maps;
	size_t nmaps;
	struct glibcheap_walk *w;
	char *err;
	size_t errlen;
	struct addrset freed;	/* fastbin and tcache members */
	struct addrset tstructs;	/* the tcache structs */
	/* The maps chunks() made of each heap walked, for report(). */
	struct heapbits {
		uint64_t first;		/* bit 0 */
		size_t nbits;
		uint64_t *start, *used;	/* one allocation */
	} *hb;
	size_t nhb;
	/* Heaps already walked, to leave them out of the mmapped-chunk scan. */
	struct glibcheap_range *heaps;
	size_t nheaps;
	/* The read window. */
	uint64_t win_lo, win_hi;
	unsigned char win[WINDOW];
};

static int __attribute__((format(printf, 2, 3))) fail(struct walker *k, const char *fmt, ...)
{
	va_list ap;

	if (k->errlen) {
		va_start(ap, fmt);
		vsnprintf(k->err, k->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The mapping holding ADDR, or NULL. MAPS are sorted by lo. */
static const struct glibcheap_map *map_of(const struct walker *k, uint64_t addr)
{
	size_t lo = 0, hi = k->nmaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < k->maps[mid].lo)
			hi = mid;
		else if (addr >= k->maps[mid].hi)
			lo = mid + 1;
		else
			return &k->maps[mid];
	}
	return NULL;
}

static int word(struct walker *k, uint64_t addr, uint64_t *v)
{
	return memsrc_read_word(k->m, addr, v);
}

/*
 * The word at ADDR, read through the window over [ADDR, LIMIT): one read
 * of up to WINDOW bytes serves the chunks after it. LIMIT is readable as
 * far as the caller knows; a window that fails is retried word by word.
 */
static int wword(struct walker *k, uint64_t addr, uint64_t limit, uint64_t *v)
{
	unsigned ws = k->l->w;

	if (addr < k->win_lo || addr + ws > k->win_hi) {
		uint64_t len = limit > addr ? limit - addr : 0;

		if (len > WINDOW)
			len = WINDOW;
		if (len < ws || k->m->read(k->m->arg, addr, k->win, (size_t)len) < 0) {
			k->win_lo = k->win_hi = 0;
			return word(k, addr, v);
		}
		k->win_lo = addr;
		k->win_hi = addr + len;
		if (k->w->read)
			k->w->read(k->w->arg, addr, k->win, (size_t)len);
	}
	*v = memsrc_word(k->m, k->win + (addr - k->win_lo));
	return 0;
}

static int set_add(struct walker *k, struct addrset *s, uint64_t a)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		uint64_t *na = realloc(s->a, cap * sizeof(*na));

		if (!na)
			return fail(k, "out of memory for the free-chunk list");
		s->a = na;
		s->cap = cap;
	}
	s->a[s->n++] = a;
	s->sorted = 0;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int set_has(struct addrset *s, uint64_t a)
{
	size_t lo = 0, hi;

	if (!s->sorted) {
		if (s->n)
			qsort(s->a, s->n, sizeof(*s->a), cmp_u64);
		s->sorted = 1;
	}
	hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->a[mid] == a)
			return 1;
		if (s->a[mid] < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static void owned(struct walker *k, uint64_t lo, uint64_t hi)
{
	struct glibcheap_range r = { lo, hi };

	if (k->w->owned)
		k->w->owned(k->w->arg, &r);
}

/* Safe-linking (glibc 2.32+): a list link at ADDR is stored XOR (ADDR >> 12). */
static uint64_t reveal(uint64_t addr, uint64_t stored)
{
	return (addr >> 12) ^ stored;
}

/* Brent's cycle test along a list: CY zeroed first, then each node in
 * turn; nonzero once the list came back to a node it passed. */
struct cycle {
	uint64_t saved;
	size_t power, lam;
};

static int cycle_seen(struct cycle *cy, uint64_t node)
{
	if (cy->power && node == cy->saved)
		return 1;
	if (++cy->lam >= cy->power) {
		cy->saved = node;
		cy->power = cy->power ? 2 * cy->power : 1;
		cy->lam = 0;
	}
	return 0;
}

/* Whether [LO, HI) is inside a heap already walked. */
static int in_heaps(const struct walker *k, uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < k->nheaps; i++)
		if (lo < k->heaps[i].hi && hi > k->heaps[i].lo)
			return 1;
	return 0;
}

/* An arena's fastbin lists into k->freed, each member inside a heap. A broken list is an error: pops
 * happen under the arena's mutex, pushes are one atomic store. */
static int fastbins(struct walker *k, uint64_t arena, const unsigned char *st, size_t limit)
{
	const struct glibcheap_layout *l = k->l;

	for (int i = 0; i < GLIBCHEAP_NFASTBINS; i++) {
		uint64_t c = memsrc_word(k->m, st + l->off_fastbins + (size_t)i * l->w);
		struct cycle cy = { 0 };
		size_t steps = 0;

		while (c) {
			uint64_t link;

			if (c % l->align || ++steps > limit || cycle_seen(&cy, c) || !in_heaps(k, c, c + l->minsize) ||
			    word(k, c + 2 * l->w, &link) < 0)
				return fail(k, "arena 0x%" PRIx64 ": fastbin %d is broken at 0x%" PRIx64, arena, i, c);
			if (set_add(k, &k->freed, c) < 0)
				return -1;
			c = reveal(c + 2 * l->w, link);
		}
	}
	return 0;
}

/*
 * Whether the chunk at C of size SZ is a thread's tcache_perthread_struct
 * (uint16_t counts[64]; entries[64] pointers to mem), by its shape: the
 * size, entries[i] == 0 exactly when counts[i] == 0, and the first entry of
 * each bin a chunk of that bin's size. An all-zero struct (a thread that
 * never freed) is told from a zeroed user block only by its place, the
 * first chunk of an arena's heap (FIRST): elsewhere it counts as the
 * user's. If it is one, its lists go into k->freed (a list cut short by a
 * thread stopped inside tcache_put or tcache_get only ends early: those
 * take no lock) and C into k->tstructs.
 */
static int tcache_struct(struct walker *k, uint64_t c, uint64_t sz, int first)
{
	const struct glibcheap_layout *l = k->l;
	unsigned char buf[128 + GLIBCHEAP_TCACHE_BINS * 8];
	uint16_t counts[GLIBCHEAP_TCACHE_BINS];
	uint64_t mem = c + 2 * l->w;
	int any = 0;

	if (sz != l->tcache_chunk || k->m->read(k->m->arg, mem, buf, 128 + GLIBCHEAP_TCACHE_BINS * l->w) < 0)
		return 0;
	memcpy(counts, buf, sizeof(counts));
	for (int i = 0; i < GLIBCHEAP_TCACHE_BINS; i++) {
		uint64_t e = memsrc_word(k->m, buf + 128 + (size_t)i * l->w), hdr;

		if (!e != !counts[i])
			return 0;
		if (!e)
			continue;
		any = 1;
		if (e % l->align || word(k, e - l->w, &hdr) < 0 ||
		    (hdr & ~(uint64_t)GLIBCHEAP_FLAGS) != l->minsize + (uint64_t)i * l->align)
			return 0;
	}
	if (!any && !first)
		return 0;
	if (set_add(k, &k->tstructs, c) < 0)
		return -1;
	for (int i = 0; i < GLIBCHEAP_TCACHE_BINS; i++) {
		uint64_t e = memsrc_word(k->m, buf + 128 + (size_t)i * l->w);
		struct cycle cy = { 0 };

		for (unsigned n = 0; e && n < counts[i] && n < TCACHE_MAX_COUNT; n++) {
			uint64_t link;

			if (e % l->align || cycle_seen(&cy, e) || !in_heaps(k, e - 2 * l->w, e + l->w) ||
			    word(k, e, &link) < 0)
				break;
			if (set_add(k, &k->freed, e - 2 * l->w) < 0)
				return -1;
			e = reveal(e, link);
		}
	}
	return 0;
}

/* A bit of a heap's map (heapbits): word I / 64, bit I % 64. */
static inline void bit_set(uint64_t *v, size_t i)
{
	v[i / 64] |= UINT64_C(1) << (i % 64);
}

/* The first set bit of V at or after I, below N (N if none). */
static size_t bit_next(const uint64_t *v, size_t i, size_t n)
{
	uint64_t w;

	if (i >= n)
		return n;
	w = v[i / 64] & (~UINT64_C(0) << (i % 64));
	for (i -= i % 64; !w; w = v[i / 64]) {
		i += 64;
		if (i >= n)
			return n;
	}
	i += (size_t)__builtin_ctzll(w);
	return i < n ? i : n;
}

/*
 * The chunks of one heap from FIRST up to TOP (the arena's top chunk, when
 * it is in this heap) or to the fencepost ending an older heap, all below
 * LIMIT, read once. ARENA_START: FIRST is the first chunk of its arena
 * (where a thread's first malloc put its tcache struct). The tcache structs
 * are found on the way (their lists make chunks free, before or after them
 * in any heap); what is in use is kept in two bitmaps of the heap, one bit
 * per MALLOC_ALIGNMENT, for report() once every heap was walked: where a
 * chunk begins (and the walk ended), and which chunks are in use as far as
 * the next chunk's PREV_INUSE and the tcache key say. The heap is read
 * once, not once to find the structs and again to report.
 */
static int chunks(struct walker *k, uint64_t first, int arena_start, uint64_t top, uint64_t limit)
{
	const struct glibcheap_layout *l = k->l;
	struct heapbits *hb;
	uint64_t c = first;
	size_t words;

	hb = realloc(k->hb, (k->nhb + 1) * sizeof(*hb));
	if (!hb)
		return fail(k, "out of memory");
	k->hb = hb;
	hb = &k->hb[k->nhb];
	hb->first = first;
	hb->nbits = limit > first ? (size_t)((limit - first) / l->align) + 1 : 1;
	words = (hb->nbits + 63) / 64;
	hb->start = calloc(2 * words, sizeof(uint64_t));
	if (!hb->start)
		return fail(k, "out of memory for the map of a heap of 0x%" PRIx64 " bytes", limit - first);
	hb->used = hb->start + words;
	k->nhb++;
	k->win_lo = k->win_hi = 0;
	while (c != top) {
		uint64_t size, sz, next, nsize, key = 0;
		int keyed = 0;

		if (c + 2 * l->w > limit || wword(k, c + l->w, limit, &size) < 0)
			return fail(k, "chunk at 0x%" PRIx64 " cannot be read (heap ends at 0x%" PRIx64 ")", c, limit);
		bit_set(hb->start, (size_t)((c - first) / l->align));
		sz = size & ~(uint64_t)GLIBCHEAP_FLAGS;
		if (sz == 0 && top == 0)
			return 0;	/* the end of an older heap */
		if (sz < 2 * l->w || sz % l->align || sz > limit - c || (size & GLIBCHEAP_IS_MMAPPED))
			return fail(k, "chunk at 0x%" PRIx64 " has a size field 0x%" PRIx64 " that makes no sense",
				    c, size);
		/* Word 1 before the next header: the window only moves forwards (read
		 * after it, it moved back at each window's last chunk and read 64 KiB
		 * again). */
		if (sz >= l->minsize && k->info->tcache_key && k->m->ptr_size == 8)
			keyed = wword(k, c + 3 * l->w, limit, &key) == 0 && key == k->info->tcache_key;
		next = c + sz;
		if (next + 2 * l->w > limit || wword(k, next + l->w, limit, &nsize) < 0)
			return fail(k, "chunk at 0x%" PRIx64 " runs past its heap", c);
		/* A fencepost: the 2W chunk (or a tiny old top) before the size-0 end. */
		if (top == 0 && (nsize & ~(uint64_t)GLIBCHEAP_FLAGS) == 0)
			return 0;
		if (sz < l->minsize)
			return fail(k, "chunk at 0x%" PRIx64 " is smaller than a chunk can be (0x%" PRIx64 ")", c, sz);
		if (!(nsize & GLIBCHEAP_PREV_INUSE)) {
			k->w->n_free++;
		} else if (tcache_struct(k, c, sz, arena_start && c == first) < 0) {
			return -1;
		} else if (keyed) {
			/* A tcache member of a list not walked (its struct not recognised). */
			k->w->n_free++;
		} else {
			bit_set(hb->used, (size_t)((c - first) / l->align));
		}
		c = next;
	}
	bit_set(hb->start, (size_t)((c - first) / l->align));
	return 0;
}

/*
 * The chunks in use of a heap chunks() walked, in address order, now that
 * every tcache list is known: those on none is reported. 1 when the
 * caller's callback stopped the walk.
 */
static int report(struct walker *k, const struct heapbits *hb)
{
	const struct glibcheap_layout *l = k->l;

	for (size_t i = bit_next(hb->used, 0, hb->nbits); i < hb->nbits; i = bit_next(hb->used, i + 1, hb->nbits)) {
		uint64_t c = hb->first + (uint64_t)i * l->align;
		uint64_t sz = (uint64_t)(bit_next(hb->start, i + 1, hb->nbits) - i) * l->align;
		struct glibcheap_chunk ch = { .mem = c + 2 * l->w, .usable = sz - l->w };

		if (set_has(&k->freed, c)) {
			k->w->n_free++;
			continue;
		}
		ch.internal = set_has(&k->tstructs, c);
		k->w->n_used++;
		if (k->w->chunk && k->w->chunk(k->w->arg, &ch))
			return 1;
	}
	return 0;
}

/* The first chunk at or after A whose mem (chunk + 2W) is aligned. */
static uint64_t align_chunk(const struct glibcheap_layout *l, uint64_t a)
{
	uint64_t mem = a + 2 * l->w;

	mem = (mem + l->align - 1) & ~(uint64_t)(l->align - 1);
	return mem - 2 * l->w;
}

/* An arena's heap list, newest first. */
struct heap {
	uint64_t h, size, first, top;
	int arena_start;	/* the arena's first heap, which holds its struct */
};

/*
 * The heaps of the non-main ARENA whose top chunk is TOP, newest first,
 * into *HS (malloc'ed), checked: each heap_info names the arena, lies in a
 * mapping, and the list is no longer than the mappings are many.
 */
static int arena_heaps(struct walker *k, uint64_t arena, uint64_t top, struct heap **hs, size_t *nh)
{
	const struct glibcheap_layout *l = k->l;
	uint64_t h = top & ~(l->heap_max - 1);
	struct heap *v = NULL;
	size_t n = 0;

	while (h) {
		unsigned char hi[48];
		uint64_t ar, prev, size;
		const struct glibcheap_map *mp = map_of(k, h);
		struct heap *nv;

		if (n > k->nmaps || !mp || k->m->read(k->m->arg, h, hi, 3 * l->w) < 0)
			goto bad;
		ar = memsrc_word(k->m, hi);
		prev = memsrc_word(k->m, hi + l->w);
		size = memsrc_word(k->m, hi + 2 * l->w);
		if (ar != arena || size > l->heap_max || size < l->heap_info_size || (prev & (l->heap_max - 1)))
			goto bad;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			return fail(k, "out of memory");
		}
		v = nv;
		v[n].h = h;
		v[n].size = size;
		v[n].top = n == 0 ? top : 0;
		/* The arena's struct sits in its first heap, after heap_info. */
		v[n].arena_start = !prev && arena == h + l->heap_info_size;
		if (v[n].arena_start)
			v[n].first = align_chunk(l, arena + l->state_size);
		else
			v[n].first = h + l->heap_info_size;
		n++;
		h = prev;
	}
	/* The oldest heap holds the arena; top is in the newest. */
	if (!n || arena != v[n - 1].h + l->heap_info_size || top < v[0].first || top >= v[0].h + v[0].size) {
		h = n ? v[0].h : h;
		goto bad;
	}
	*hs = v;
	*nh = n;
	return 0;
bad:
	free(v);
	return fail(k, "arena 0x%" PRIx64 ": its heap list (heap_info at 0x%" PRIx64 ") does not check out", arena, h);
}

/* Bytes in the heaps so far: no list of chunks is longer than they hold. */
static size_t heap_bytes(const struct walker *k)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < k->nheaps; i++)
		sum += k->heaps[i].hi - k->heaps[i].lo;
	return sum > SIZE_MAX ? SIZE_MAX : (size_t)sum;
}

static int add_heap(struct walker *k, uint64_t lo, uint64_t hi)
{
	struct glibcheap_range *n = realloc(k->heaps, (k->nheaps + 1) * sizeof(*n));

	if (!n)
		return fail(k, "out of memory");
	k->heaps = n;
	k->heaps[k->nheaps].lo = lo;
	k->heaps[k->nheaps].hi = hi;
	k->nheaps++;
	owned(k, lo, hi);
	return 0;
}

/*
 * The headers of the pages at P[0..N) into HDR (16 bytes each), in one
 * readv when the memsrc has it; OK[i] cleared for a page that cannot be
 * read.
 */
static void page_headers(struct walker *k, const uint64_t *p, size_t n, unsigned char (*hdr)[16], int *ok)
{
	struct memsrc_piece pc[MEMSRC_READV_MAX];
	size_t i;

	for (i = 0; i < n; i++) {
		pc[i] = (struct memsrc_piece){ .addr = p[i], .buf = hdr[i], .len = 2 * k->l->w };
		ok[i] = 1;
	}
	if (n > 1 && k->m->readv && k->m->readv(k->m->arg, pc, n) == 0)
		return;
	for (i = 0; i < n; i++)
		ok[i] = k->m->read(k->m->arg, p[i], hdr[i], 2 * k->l->w) == 0;
}

/*
 * mmapped chunks: prev_size 0, size a multiple of the page with only
 * GLIBCHEAP_IS_MMAPPED set, the whole chunk inside the mapping. Page by page, since
 * neighbouring anonymous mappings merge into one line of maps; the pages'
 * headers MEMSRC_READV_MAX at a time (a thread's 8 MiB stack is 2048
 * pages: a system call each otherwise).
 */
static int mmapped(struct walker *k)
{
	const struct glibcheap_layout *l = k->l;

	for (size_t i = 0; i < k->nmaps; i++) {
		const struct glibcheap_map *mp = &k->maps[i];
		uint64_t p = mp->lo;

		if (!mp->anon_rw)
			continue;
		while (p + 2 * l->w <= mp->hi) {
			uint64_t at[MEMSRC_READV_MAX];
			unsigned char hdr[MEMSRC_READV_MAX][16];
			int ok[MEMSRC_READV_MAX];
			size_t n = 0, j;

			for (; n < MEMSRC_READV_MAX && p + 2 * l->w <= mp->hi; p += MMAP_STEP)
				if (!in_heaps(k, p, p + MMAP_STEP))
					at[n++] = p;
			page_headers(k, at, n, hdr, ok);
			for (j = 0; j < n; j++) {
				uint64_t prev, size, sz;

				if (!ok[j])
					continue;
				prev = memsrc_word(k->m, hdr[j]);
				size = memsrc_word(k->m, hdr[j] + l->w);
				sz = size & ~(uint64_t)GLIBCHEAP_FLAGS;
				if (prev || (size & GLIBCHEAP_FLAGS) != GLIBCHEAP_IS_MMAPPED || sz < MMAP_STEP ||
				    sz % MMAP_STEP || sz > mp->hi - at[j])
					continue;
				{
					struct glibcheap_chunk ch = { .mem = at[j] + 2 * l->w, .usable = sz - 2 * l->w };

					k->w->n_mmapped++;
					k->w->n_used++;
					owned(k, at[j], at[j] + sz);
					if (k->w->chunk && k->w->chunk(k->w->arg, &ch))
						return 1;
				}
				/* The chunk's own pages are not headers: on after it. */
				p = at[j] + sz;
				break;
			}
		}
	}
	return 0;
}

/* One arena's struct: read, its mutex free. */
static int arena_read(struct walker *k, uint64_t arena, unsigned char *st)
{
	uint32_t mutex;

	if (k->m->read(k->m->arg, arena, st, k->l->state_size) < 0)
		return fail(k, "arena 0x%" PRIx64 " cannot be read", arena);
	memcpy(&mutex, st, sizeof(mutex));
	if (mutex)
		return fail(k, "a thread is inside malloc (arena 0x%" PRIx64 " is locked); let the process run a moment and try again",
			    arena);
	return 0;
}

/*
 * The main arena's heap: it ends with top, and begins system_mem bytes
 * before that (what sbrk gave it, trims taken off), which is sbrk_base for
 * a contiguous arena nobody else moved brk under. That is the start of the
 * mapping holding top, unless the [heap] merged with the program's .bss
 * before it (no brk randomisation: qemu-user, ASLR off); there the start of
 * the mapping would be wrong, so the mapping only bounds it.
 */
static int main_heap(struct walker *k, const unsigned char *st, uint64_t *lo, uint64_t *first, uint64_t *top,
		     uint64_t *end)
{
	const struct glibcheap_layout *l = k->l;
	const struct glibcheap_map *mp;
	uint64_t tsize, sysmem, start;
	uint32_t flags;

	memcpy(&flags, st + 4, sizeof(flags));
	*top = memsrc_word(k->m, st + l->off_top);
	*lo = *first = *end = 0;
	/* No malloc yet in the main arena: top is the unsorted bin's fake chunk. */
	if (*top == k->info->main_arena + l->off_top)
		return 0;
	if (flags & NONCONTIGUOUS_BIT)
		return fail(k, "the main arena is not contiguous (brk failed and it went on in mmap'ed memory): not handled");
	mp = map_of(k, *top);
	if (!mp || word(k, *top + l->w, &tsize) < 0)
		return fail(k, "main arena: its top chunk 0x%" PRIx64 " is not in memory", *top);
	tsize &= ~(uint64_t)GLIBCHEAP_FLAGS;
	if (tsize < l->minsize || tsize > mp->hi - *top)
		return fail(k, "main arena: top chunk 0x%" PRIx64 " of 0x%" PRIx64 " bytes runs past its mapping", *top, tsize);
	*end = *top + tsize;
	sysmem = memsrc_word(k->m, st + l->off_system_mem);
	start = *end - sysmem;
	if (sysmem > *end - mp->lo || start > *top)
		return fail(k, "main arena: 0x%" PRIx64 " bytes from the system do not fit in its mapping 0x%" PRIx64
			    "-0x%" PRIx64 " (another user of brk?)", sysmem, mp->lo, mp->hi);
	*lo = start;
	*first = align_chunk(l, start);
	return 0;
}

int glibcheap_walk(const struct memsrc *m, const struct glibcheap_info *info,
		   const struct glibcheap_map *maps, size_t n, struct glibcheap_walk *w, char *err,
		   size_t errlen)
{
	struct walker *k;
	unsigned char *st = NULL;
	uint64_t arena, mlo = 0, mfirst = 0, mtop = 0, mend = 0;
	struct {
		uint64_t arena;
		struct heap *hs;
		size_t nh;
	} *ar = NULL;
	size_t nar = 0;
	int ret = -1, r;

	if (errlen)
		err[0] = 0;
	if (m->ptr_size != 4 && m->ptr_size != 8) {
		snprintf(err, errlen, "pointers of %u bytes: not a glibc heap this reads", m->ptr_size);
		return -1;
	}
	if (info->version < 235) {
		snprintf(err, errlen, "glibc %u.%u: the heap is read for glibc 2.35 and later only",
			 info->version / 100, info->version % 100);
		return -1;
	}
	if (!info->main_arena) {
		snprintf(err, errlen, "where glibc's main arena is was not found");
		return -1;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	k->m = m;
	k->l = glibcheap_layout(m->ptr_size);
	k->info = info;
	k->maps = maps;
	k->nmaps = n;
	k->w = w;
	k->err = err;
	k->errlen = errlen;
	st = malloc(k->l->state_size);
	if (!st) {
		fail(k, "out of memory");
		goto out;
	}
	owned(k, info->main_arena, info->main_arena + k->l->state_size);

	/* The ring: every arena's struct, fastbins and heaps, before any chunk. */
	arena = info->main_arena;
	do {
		uint64_t next;
		void *na;

		if (nar > n) {
			fail(k, "the arena list does not come back to main_arena 0x%" PRIx64, info->main_arena);
			goto out;
		}
		if (arena_read(k, arena, st) < 0)
			goto out;
		na = realloc(ar, (nar + 1) * sizeof(*ar));
		if (!na) {
			fail(k, "out of memory");
			goto out;
		}
		ar = na;
		ar[nar].arena = arena;
		ar[nar].hs = NULL;
		ar[nar].nh = 0;
		nar++;
		if (arena == info->main_arena) {
			if (main_heap(k, st, &mlo, &mfirst, &mtop, &mend) < 0)
				goto out;
			if (mend && add_heap(k, mlo, mend) < 0)
				goto out;
			if (mend)
				w->n_heaps++;
		} else {
			uint64_t top = memsrc_word(k->m, st + k->l->off_top);

			if (arena_heaps(k, arena, top, &ar[nar - 1].hs, &ar[nar - 1].nh) < 0)
				goto out;
			for (size_t i = 0; i < ar[nar - 1].nh; i++) {
				if (add_heap(k, ar[nar - 1].hs[i].h, ar[nar - 1].hs[i].h + k->l->heap_max) < 0)
					goto out;
				w->n_heaps++;
			}
		}
		/* Fastbin lists are bounded by the chunks the heaps can hold. */
		if (fastbins(k, arena, st, heap_bytes(k) / k->l->minsize) < 0)
			goto out;
		next = memsrc_word(k->m, st + k->l->off_next);
		arena = next;
	} while (arena != info->main_arena);
	w->n_arenas = nar;

	if (mend && chunks(k, mfirst, 1, mtop, mend) < 0)
		goto out;
	for (size_t a = 0; a < nar; a++)
		for (size_t i = 0; i < ar[a].nh; i++) {
			const struct heap *h = &ar[a].hs[i];

			if (chunks(k, h->first, h->arena_start, h->top, h->h + h->size) < 0)
				goto out;
		}
	for (size_t i = 0; i < k->nhb; i++) {
		r = report(k, &k->hb[i]);
		if (r > 0)
			goto done;
	}
	if (mmapped(k) < 0)
		goto out;
done:
	ret = 0;
out:
	for (size_t a = 0; a < nar; a++)
		free(ar[a].hs);
	free(ar);
	free(st);
	free(k->freed.a);
	free(k->tstructs.a);
	free(k->heaps);
	for (size_t i = 0; i < k->nhb; i++)
		free(k->hb[i].start);
	free(k->hb);
	free(k);
	return ret;
}
