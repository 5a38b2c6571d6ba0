/*
 * main_arena, the tcache key and glibc's version, measured in the process
 * (glibc_heap.h) with the notes' tricks (leak-verdicts.md 4.3c, 4.5): a
 * freed 2000-byte block sits in its arena's unsorted bin, whose bk is
 * &arena->top; a freed 24-byte block sits in a tcache with the key in its
 * second word.
 *
 * Nothing here trusts an address before it is known to be there: a word of
 * a freed block is read only once mincore() says its page is mapped (a
 * block merged into top may be trimmed away), and an arena candidate is
 * read only once it is inside libc's writable segment or right after a
 * heap_info that names it. Other threads may run meanwhile and take the
 * block back: each answer is checked, and the unsorted trick is tried a
 * few times.
 */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dynelf.h"
#include "gdb.h"
#include "glibc_heap.h"
#include "glibcheap_layout.h"
#include "quiesce.h"
#include "real.h"

/* Attempts at the unsorted-bin trick: a block another thread freed or
 * took meanwhile spoils one. */
#define TRIES 4
/* More arenas than glibc makes (8 per core): a ring longer is broken. */
#define MAX_ARENAS 4096
/* The block the trick frees: above every tcache and fastbin size. */
#define BIG 2000

struct agent_gdb_heap agent_gdb_heap;

static const struct glibcheap_layout *lay(void)
{
	return glibcheap_layout(sizeof(void *));
}

/* Whether [A, A + LEN) is mapped: mincore fails with ENOMEM where it is not. */
static int mapped(uintptr_t a, size_t len)
{
	uintptr_t pg = (uintptr_t)getpagesize(), lo = a & ~(pg - 1);
	unsigned char vec[4];
	size_t span = ((a + len - lo) + pg - 1) & ~(pg - 1);

	if (a + len < a)
		return 0;
	while (span) {
		size_t n = span > 4 * pg ? 4 * pg : span;

		if (mincore((void *)lo, n, vec) < 0)
			return 0;
		lo += n;
		span -= n;
	}
	return 1;
}

static uintptr_t rd(uintptr_t a)
{
	return *(const volatile uintptr_t *)a;
}

/* The module that defines gnu_get_libc_version: glibc's libc. */
static const struct link_map *libc_module(const char *(**version)(void))
{
	for (const struct link_map *lm = agent_link_map(); lm; lm = lm->l_next) {
		void *p = agent_dynsym(lm, "gnu_get_libc_version");

		if (p) {
			*version = (const char *(*)(void))p;
			return lm;
		}
	}
	return NULL;
}

/* LM's writable PT_LOAD (main_arena is in its .data), from the ELF header
 * its first segment maps at the load bias. 0, or -1 if not found. */
static int rw_segment(const struct link_map *lm, uintptr_t *lo, uintptr_t *hi)
{
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)lm->l_addr;
	const ElfW(Phdr) *ph;

	if (!lm->l_addr || !mapped(lm->l_addr, sizeof(*eh)) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_phentsize != sizeof(*ph))
		return -1;
	ph = (const ElfW(Phdr) *)(lm->l_addr + eh->e_phoff);
	if (!mapped((uintptr_t)ph, eh->e_phnum * sizeof(*ph)))
		return -1;
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_W)) {
			*lo = lm->l_addr + ph[i].p_vaddr;
			*hi = *lo + ph[i].p_memsz;
			return 0;
		}
	return -1;
}

/* "2.36" as 236; 0 if it does not read as a version. */
static unsigned parse_version(const char *s)
{
	unsigned major = 0, minor = 0;

	if (!s || *s < '0' || *s > '9')
		return 0;
	while (*s >= '0' && *s <= '9')
		major = major * 10 + (unsigned)(*s++ - '0');
	if (*s++ != '.')
		return 0;
	while (*s >= '0' && *s <= '9')
		minor = minor * 10 + (unsigned)(*s++ - '0');
	return minor < 100 ? major * 100 + minor : 0;
}

/* Whether X is a non-main arena: the struct right after the heap_info of
 * its first heap, which names it. */
static int nonmain_arena(uintptr_t x)
{
	const struct glibcheap_layout *l = lay();
	uintptr_t h = x & ~(uintptr_t)(l->heap_max - 1);

	return x == h + l->heap_info_size && mapped(h, l->heap_info_size + l->state_size) && rd(h) == x;
}

/*
 * [A, A + LEN) lies within [LO, HI), without overflow: a candidate read
 * from the heap can be anything (another thread may have taken the block
 * back and written it), and on 32 bits bk 0 gives the arena 0 - off_top,
 * which A + LEN wrapped into the range (a crash of memtrace_agent_start
 * in the armel VM, reading its next pointer at 0x410).
 */
static int within(uintptr_t a, uintptr_t len, uintptr_t lo, uintptr_t hi)
{
	return a >= lo && a < hi && hi - a >= len;
}

/*
 * Around the ring from arena START (already checked): every member is
 * either in libc's writable segment [LO, HI) (the main arena, exactly
 * one) or a non-main arena, and the ring closes. The main arena, or 0.
 */
static uintptr_t ring_main(uintptr_t start, uintptr_t lo, uintptr_t hi)
{
	const struct glibcheap_layout *l = lay();
	uintptr_t a = start, main = 0;

	for (int n = 0; n < MAX_ARENAS; n++) {
		if (within(a, l->state_size, lo, hi)) {
			if (main)
				return 0;
			main = a;
		} else if (!nonmain_arena(a)) {
			return 0;
		}
		a = rd(a + l->off_next);
		if (a == start)
			return main;
	}
	return 0;
}

/*
 * One try of the unsorted-bin trick: B and G are two BIG blocks, G right
 * after B, so that B freed merges with neither neighbour and stays mapped
 * in the unsorted bin; its bk is then &arena->top. *KEEP gets what to free
 * afterwards. The main arena, or 0.
 */
static uintptr_t unsorted_try(const struct agent_glibc_alloc *al, uintptr_t lo, uintptr_t hi, void **keep)
{
	const struct glibcheap_layout *l = lay();
	unsigned char *b = al->malloc(BIG), *g = al->malloc(BIG);
	uintptr_t hdr, size, bk, arena;

	keep[0] = g;
	keep[1] = b;
	if (!b || !g || !mapped((uintptr_t)b - l->w, l->w))
		return 0;
	hdr = rd((uintptr_t)b - l->w);
	size = hdr & ~(uintptr_t)GLIBCHEAP_FLAGS;
	if ((hdr & GLIBCHEAP_IS_MMAPPED) || !(hdr & GLIBCHEAP_PREV_INUSE) || b + size != g)
		return 0;	/* keep B: a neighbour could take it in */
	keep[1] = NULL;
	al->free(b);
	if (!mapped((uintptr_t)b, 2 * l->w))
		return 0;
	bk = rd((uintptr_t)b + l->w);
	arena = bk - l->off_top;
	if (!(hdr & GLIBCHEAP_NON_MAIN_ARENA)) {
		if (!within(arena, l->state_size, lo, hi))
			return 0;
	} else {
		/* B's heap names its arena: only then is the candidate read. */
		uintptr_t h = ((uintptr_t)b - 2 * l->w) & ~(uintptr_t)(l->heap_max - 1);

		if (!mapped(h, l->w) || rd(h) != arena || !mapped(arena, l->state_size))
			return 0;
	}
	return ring_main(arena, lo, hi);
}

/*
 * The tcache key: the second word of two freed 24-byte blocks, equal,
 * nonzero and no address of a mapping (with tcache off, freed blocks keep
 * stale pointers there). 0 when it does not check out.
 */
static uint64_t tcache_key(const struct agent_glibc_alloc *al)
{
	uintptr_t *p1 = al->malloc(24), *p2 = al->malloc(24), k1 = 0, k2 = 1;

	if (p2)
		al->free(p2);
	if (p1)
		al->free(p1);
	if (!p1 || !p2 || !mapped((uintptr_t)p1, 2 * sizeof(*p1)) || !mapped((uintptr_t)p2, 2 * sizeof(*p2)))
		return 0;
	k1 = p1[1];
	k2 = p2[1];
	if (k1 != k2 || !k1 || mapped(k1, 1))
		return 0;
	return k1;
}

int agent_glibc_heap_find(const struct agent_glibc_alloc *a, struct glibcheap_info *out)
{
	const char *(*version)(void) = NULL;
	const struct link_map *libc = libc_module(&version);
	void *keep[2 * TRIES] = { NULL };
	uintptr_t lo, hi, main = 0;

	memset(out, 0, sizeof(*out));
	if (!libc || rw_segment(libc, &lo, &hi) < 0)
		return -1;
	/* The allocator measured must be glibc's, not one preloaded before it. */
	if (agent_dynsym(libc, "malloc") != (void *)a->malloc || agent_dynsym(libc, "free") != (void *)a->free)
		return -1;
	out->version = parse_version(version());
	/* Older glibc lays malloc_state out otherwise: nothing to measure. */
	if (out->version < 235)
		return -1;
	for (int i = 0; i < TRIES && !main; i++)
		main = unsorted_try(a, lo, hi, keep + 2 * i);
	for (int i = 0; i < 2 * TRIES; i++)
		if (keep[i])
			a->free(keep[i]);
	if (!main)
		return -1;
	out->main_arena = main;
	out->tcache_key = tcache_key(a);
	return 0;
}

void agent_glibc_heap_publish(void)
{
	static int done;
	struct agent_glibc_alloc a = { agent_real.malloc, agent_real.free };
	struct glibcheap_info info;

	if (__atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL) || !a.malloc || !a.free)
		return;
	/* mincore may be a call the process's filter does not expect: a SIGSYS
	 * would kill it. Then blocks from before the attach are not judged. */
	if (agent_seccomp_filtered()) {
		agent_gdb_heap.kind = ANCHOR_HEAP_SECCOMP;	/* so that leaks can say why */
		return;
	}
	if (agent_glibc_heap_find(&a, &info) < 0)
		return;
	agent_gdb_heap.version = info.version;
	agent_gdb_heap.main_arena = info.main_arena;
	agent_gdb_heap.tcache_key = info.tcache_key;
	/* Kind last: a reader that sees it sees the rest. A fence and a plain
	 * store, as armel has no 64-bit atomic store. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	agent_gdb_heap.kind = ANCHOR_HEAP_GLIBC;
}
