/*
 * mmap-backed memory for the agent, with counters per kind. The bump arena
 * serves small objects that live until the next detach from 1 MiB chunks,
 * all given back at once by agent_arena_release; big tables map their own
 * memory so they can be given back when they grow.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arena.h"
#include "gdb.h"
#include "lock.h"

static size_t mem_bytes[AGENT_MEM_KINDS];
static size_t page_size;

/* Where a debugger finds the counters (agent/gdb.h). */
struct agent_gdb_memory agent_gdb_memory = {
	.bytes = AGENT_GDB_PTR(mem_bytes),
	.kinds = AGENT_MEM_KINDS,
	.kind_blocks = AGENT_MEM_BLOCKS,
	.kind_contexts = AGENT_MEM_CONTEXTS,
};

/*
 * The agent's own memory, listed for the leak scan (docs/architecture.md,
 * "Leak verdicts"): the tables point at every live block, so memory the
 * agent owns must never be taken for the program's roots. Every mapping
 * agent_map makes, the agent's module and the control thread's stack are
 * kept here and read by memtrace from the stopped process through the
 * anchor. A kernel that names anonymous mappings (PR_SET_VMA_ANON_NAME)
 * would do, but embedded kernels older than 5.17 cannot, so the list is
 * ours. Full (OWN_MAPS_MAX mappings, far above what the tables make), it
 * says so: the scan then warns that its verdicts may be too kind.
 */
#define OWN_MAPS_MAX 4096
static uintptr_t own_maps[OWN_MAPS_MAX][2];	/* [lo, hi) */
static agent_lock_t own_lock;

struct agent_gdb_own agent_gdb_own = {
	.maps = AGENT_GDB_PTR(own_maps),
	.cap = OWN_MAPS_MAX,
};

static void own_add(void *p, size_t size)
{
	agent_lock(&own_lock);
	if (agent_gdb_own.nmaps < OWN_MAPS_MAX) {
		own_maps[agent_gdb_own.nmaps][0] = (uintptr_t)p;
		own_maps[agent_gdb_own.nmaps][1] = (uintptr_t)p + size;
		/* The count last: a reader stops the process (ptrace) and sees stores
		 * in program order, so only the compiler must keep them in order.
		 * Plain 64-bit stores: 32-bit ARM has no atomic one, and the high
		 * half never changes. */
		__atomic_signal_fence(__ATOMIC_RELEASE);
		agent_gdb_own.nmaps++;
	} else {
		agent_gdb_own.overflow = 1;
	}
	agent_unlock(&own_lock);
}

static void own_remove(void *p)
{
	agent_lock(&own_lock);
	for (uint64_t i = 0; i < agent_gdb_own.nmaps; i++) {
		if (own_maps[i][0] != (uintptr_t)p)
			continue;
		/* The last one takes its place; for a moment it is listed twice. */
		own_maps[i][0] = own_maps[agent_gdb_own.nmaps - 1][0];
		own_maps[i][1] = own_maps[agent_gdb_own.nmaps - 1][1];
		__atomic_signal_fence(__ATOMIC_RELEASE);
		agent_gdb_own.nmaps--;
		break;
	}
	agent_unlock(&own_lock);
}

void agent_mem_own_module(uintptr_t lo, uintptr_t hi)
{
	agent_gdb_own.self_lo = lo;
	agent_gdb_own.self_hi = hi;
}

void agent_mem_own_thread(int tid, const void *on_stack)
{
	agent_gdb_own.thread_stack = (uintptr_t)on_stack;
	__atomic_signal_fence(__ATOMIC_RELEASE);
	agent_gdb_own.thread_tid = (uint64_t)tid;
}

#define ARENA_CHUNK (1u << 20)
/* Room at the start of every mapping the arena makes: the link that lets
 * agent_arena_release find it again, padded to the largest alignment. */
#define ARENA_HEADER 64

struct chunk {
	struct chunk *next;
	size_t size;			/* of the whole mapping */
};

struct bump {
	agent_lock_t lock;
	char *cur;
	char *end;
	struct chunk *chunks;		/* every mapping of this kind */
};
static struct bump bumps[AGENT_MEM_KINDS];

size_t agent_page_size(void)
{
	size_t ps = __atomic_load_n(&page_size, __ATOMIC_RELAXED);

	if (!ps) {
		long v = sysconf(_SC_PAGESIZE);

		ps = v > 0 ? (size_t)v : 4096;
		__atomic_store_n(&page_size, ps, __ATOMIC_RELAXED);
	}
	return ps;
}

static size_t round_pages(size_t size)
{
	size_t ps = agent_page_size();

	return (size + ps - 1) & ~(ps - 1);
}

void *agent_map(size_t size, enum agent_mem_kind kind)
{
	void *p;

	size = round_pages(size);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	own_add(p, size);
	__atomic_add_fetch(&mem_bytes[kind], size, __ATOMIC_RELAXED);
	return p;
}

void agent_unmap(void *p, size_t size, enum agent_mem_kind kind)
{
	if (!p)
		return;
	size = round_pages(size);
	own_remove(p);
	munmap(p, size);
	__atomic_sub_fetch(&mem_bytes[kind], size, __ATOMIC_RELAXED);
}

void *agent_remap(void *p, size_t old_size, size_t new_size, enum agent_mem_kind kind)
{
	void *q;

	old_size = round_pages(old_size);
	new_size = round_pages(new_size);
	q = mremap(p, old_size, new_size, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		return NULL;
	own_remove(p);
	own_add(q, new_size);
	if (new_size > old_size)
		__atomic_add_fetch(&mem_bytes[kind], new_size - old_size, __ATOMIC_RELAXED);
	else
		__atomic_sub_fetch(&mem_bytes[kind], old_size - new_size, __ATOMIC_RELAXED);
	return q;
}

void agent_pages_zeroed(void *p, size_t size)
{
	uintptr_t ps = agent_page_size();
	uintptr_t lo = ((uintptr_t)p + ps - 1) & ~(ps - 1);
	uintptr_t hi = ((uintptr_t)p + size) & ~(ps - 1);

	/* Whole pages of a zero-initialised object lie past the file's part
	 * of the segment, in anonymous memory: they come back as zeros. */
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

size_t agent_mem_bytes(enum agent_mem_kind kind)
{
	return __atomic_load_n(&mem_bytes[kind], __ATOMIC_RELAXED);
}

size_t agent_mem_total(void)
{
	size_t sum = 0;

	for (int k = 0; k < AGENT_MEM_KINDS; k++)
		sum += agent_mem_bytes((enum agent_mem_kind)k);
	return sum;
}

/* A mapping of SIZE bytes (header included) on B's list; its first usable byte. */
static char *arena_chunk(struct bump *b, size_t size, enum agent_mem_kind kind)
{
	struct chunk *c = agent_map(size, kind);

	if (!c)
		return NULL;
	c->size = size;
	c->next = b->chunks;
	b->chunks = c;
	return (char *)c + ARENA_HEADER;
}

void *agent_arena_alloc(size_t size, size_t align, enum agent_mem_kind kind)
{
	struct bump *b = &bumps[kind];
	uintptr_t p;
	void *ret = NULL;

	agent_lock(&b->lock);
	if (size > ARENA_CHUNK / 4) {
		/* Big: a mapping of its own (ARENA_HEADER keeps the alignment). */
		ret = arena_chunk(b, size + ARENA_HEADER, kind);
		goto out;
	}
	p = ((uintptr_t)b->cur + align - 1) & ~(uintptr_t)(align - 1);
	if (!b->cur || p + size > (uintptr_t)b->end) {
		char *chunk = arena_chunk(b, ARENA_CHUNK, kind);

		if (!chunk)
			goto out;
		b->cur = chunk;
		b->end = chunk + ARENA_CHUNK - ARENA_HEADER;
		p = ((uintptr_t)b->cur + align - 1) & ~(uintptr_t)(align - 1);
	}
	b->cur = (char *)(p + size);
	ret = (void *)p;
out:
	agent_unlock(&b->lock);
	return ret;
}

void agent_arena_release(enum agent_mem_kind kind)
{
	struct bump *b = &bumps[kind];
	struct chunk *c;

	agent_lock(&b->lock);
	c = b->chunks;
	b->chunks = NULL;
	b->cur = b->end = NULL;
	agent_unlock(&b->lock);
	while (c) {
		struct chunk *next = c->next;

		agent_unmap(c, c->size, kind);
		c = next;
	}
}
