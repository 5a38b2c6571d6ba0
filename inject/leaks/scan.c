/*
 * The leak scan of a live process (scan.h): stop, collect blocks and roots,
 * judge, let go.
 *
 * What is a root, as valgrind has it (../shared/notes/leak-verdicts.md, 1.1):
 * every stopped thread's general registers, and every readable and
 * writable mapping, less what is not the program's:
 *   - the blocks themselves (a block is reached through other blocks, never
 *     a root) and, where the heap was walked, everything glibc's allocator
 *     owns (its heaps with their free chunks and the main arena's struct,
 *     whose bin pointers point into blocks);
 *   - each thread's stack below its stack pointer (less the ABI's red
 *     zone): dead frames hold stale pointers;
 *   - the agent's own memory (its tables point at every block), its module
 *     and its control thread, as the agent lists them (agent/arena.c);
 *   - device mappings other than /dev/zero (reading them may hang or act)
 *     and the kernel's [vvar] and [vsyscall].
 * The scan reads memory with process_vm_readv while every thread is
 * stopped: a copy of nothing (no fork, no core), pieces of 64 KiB.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "anchor.h"
#include "anchortab.h"
#include "glibcheap.h"
#include "injector/loader.h"
#include "injector/ptrace.h"
#include "injector/regs.h"
#include "leaks/scan.h"
#include "log.h"
#include "util.h"

#define SEIZE_TIMEOUT_MS 5000
/* Tries when a thread is inside the allocator (an arena locked): each lets the process run this long. */
#define HEAP_TRIES 20
#define HEAP_RUN_MS 2
#define MAX_THREADS 4096
#define AGENT_FILE "libmemtrace-agent.so"

struct range {
	uint64_t lo, hi;
};

struct ranges {
	struct range *v;
	size_t n, cap;
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

/* ---------------------------------------------------------------- memory */

struct proc {
	int pid;
	char where[32];		/* "process 1234", for messages */
};

/* process_vm_readv of one range: whole or EFAULT (memsrc.h). */
static int proc_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	const struct proc *p = arg;
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(p->pid, &local, 1, &remote, 1, 0);

	if (n == (ssize_t)len)
		return 0;
	if (n >= 0 || errno == EFAULT || errno == ENOMEM)
		errno = EFAULT;
	return -1;
}

/* process_vm_readv of up to MEMSRC_READV_MAX pieces in one call: all whole, or -1. */
static int proc_readv(void *arg, const struct memsrc_piece *pieces, size_t n)
{
	const struct proc *p = arg;
	struct iovec local[MEMSRC_READV_MAX], remote[MEMSRC_READV_MAX];
	size_t want = 0;
	ssize_t got;

	if (n > MEMSRC_READV_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		local[i] = (struct iovec){ pieces[i].buf, pieces[i].len };
		remote[i] = (struct iovec){ (void *)(uintptr_t)pieces[i].addr, pieces[i].len };
		want += pieces[i].len;
	}
	got = process_vm_readv(p->pid, local, n, remote, n, 0);
	if (got == (ssize_t)want)
		return 0;
	if (got >= 0 || errno == EFAULT || errno == ENOMEM)
		errno = EFAULT;
	return -1;
}

/* ---------------------------------------------------------------- the state of one scan */

struct scan {
	int pid;
	struct proc proc;
	struct memsrc mem;
	struct inj_maps maps;
	uint64_t anchor;
	struct anchortab tab;
	struct ranges own;		/* the agent's memory and thread stack mappings: never roots */
	int control_tid;
	struct range control_stack;	/* the mapping of the control thread's stack, or 0 */
	/* Which thread's registers are root words [first, first + n): for who-points. */
	struct regs_at { int tid; size_t first, n; } *regs;	/* MAX_THREADS of them */
	size_t nregs, nwords;
	struct leak_block *blocks;
	size_t n, cap;
	struct inj_leaks *out;
};

static int block_cmp(const void *a, const void *b)
{
	const struct leak_block *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static struct leak_block *block_push(struct scan *s)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 4096;
		s->blocks = realloc(s->blocks, s->cap * sizeof(*s->blocks));
		if (!s->blocks)
			log_oom();
	}
	memset(&s->blocks[s->n], 0, sizeof(s->blocks[0]));
	return &s->blocks[s->n++];
}

static int take_block(void *arg, const struct anchortab_blk *b)
{
	struct scan *s = arg;
	struct leak_block *lb = block_push(s);

	lb->addr = b->ptr;
	lb->size = b->size;
	lb->ctx = (uint32_t)b->ctx;
	return 0;
}

static const struct inj_map *map_of(const struct inj_maps *m, uint64_t addr)
{
	for (size_t i = 0; i < m->n; i++)
		if (addr >= m->v[i].start && addr < m->v[i].end)
			return &m->v[i];
	return NULL;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* &memtrace_gdb in the process: the agent's module's dynamic symbol. */
static int find_anchor(struct scan *s)
{
	for (size_t i = 0; i < s->maps.n; i++) {
		struct inj_module mod;

		if (strcmp(base_name(s->maps.v[i].path), AGENT_FILE) ||
		    inj_module_of(&s->maps, &s->maps.v[i], &mod) < 0)
			continue;
		if (inj_module_sym(s->pid, &mod, "memtrace_gdb", &s->anchor, NULL) == 1)
			return 0;
	}
	return log_err("leaks: memtrace's agent is not loaded in process %d (or its anchor cannot be read)",
		       s->pid);
}

/* Word K of the 8-byte-word descriptor at D. */
static int desc_word(struct scan *s, uint64_t d, unsigned k, uint64_t *v)
{
	return s->mem.read(s->mem.arg, d + 8ull * k, v, 8);
}

/*
 * The agent's own memory (anchor word ANCHOR_OWN): its mappings, module
 * and control thread, into s->own. An agent without the word (older) is
 * refused: its tables would be taken for roots.
 */
static int read_own(struct scan *s)
{
	uint64_t nfields, d, w[ANCHOR_O_WORDS];
	size_t ps = s->mem.ptr_size;
	unsigned char *maps;

	if (desc_word(s, s->anchor, ANCHOR_NFIELDS, &nfields) < 0 || nfields <= ANCHOR_OWN ||
	    desc_word(s, s->anchor, ANCHOR_OWN, &d) < 0 || !d)
		return log_err("leaks: the agent in process %d does not list its own memory (an older agent): "
			       "detach, and attach with this memtrace", s->pid);
	for (unsigned k = 0; k < ANCHOR_O_WORDS; k++)
		if (desc_word(s, d, k, &w[k]) < 0)
			return log_err("leaks: the agent's memory list is not readable in process %d", s->pid);
	if (w[ANCHOR_O_NMAPS] > w[ANCHOR_O_CAP] || w[ANCHOR_O_CAP] > (1u << 20))
		return log_err("leaks: the agent's memory list in process %d makes no sense", s->pid);
	s->out->own_overflow = w[ANCHOR_O_OVERFLOW] != 0;
	ranges_add(&s->own, w[ANCHOR_O_SELF_LO], w[ANCHOR_O_SELF_HI]);
	maps = xmalloc(w[ANCHOR_O_NMAPS] * 2 * ps + 1);
	if (w[ANCHOR_O_NMAPS] && s->mem.read(s->mem.arg, w[ANCHOR_O_MAPS], maps, w[ANCHOR_O_NMAPS] * 2 * ps) < 0) {
		free(maps);
		return log_err("leaks: the agent's memory list is not readable in process %d", s->pid);
	}
	for (uint64_t i = 0; i < w[ANCHOR_O_NMAPS]; i++)
		ranges_add(&s->own, memsrc_word(&s->mem, maps + 2 * i * ps),
			   memsrc_word(&s->mem, maps + (2 * i + 1) * ps));
	free(maps);
	s->control_tid = (int)w[ANCHOR_O_THREAD_TID];
	if (w[ANCHOR_O_THREAD_STACK]) {
		const struct inj_map *m = map_of(&s->maps, w[ANCHOR_O_THREAD_STACK]);

		if (m) {
			ranges_add(&s->own, m->start, m->end);
			s->control_stack = (struct range){ m->start, m->end };
		}
	}
	return 0;
}

/* What the heap walk calls back with (glibcheap.h). */
struct heap_walk {
	struct scan *s;
	struct ranges *owned;
};

static int heap_chunk(void *arg, const struct glibcheap_chunk *c)
{
	struct heap_walk *hw = arg;
	struct leak_block *b = block_push(hw->s);

	b->addr = c->mem;
	b->size = c->usable;
	b->internal = (uint8_t)c->internal;
	return 0;
}

static void heap_owned(void *arg, const struct glibcheap_range *r)
{
	struct heap_walk *hw = arg;

	ranges_add(hw->owned, r->lo, r->hi);
}

/*
 * Blocks from before the attach: glibc's heap walked for its chunks in use
 * (context 0 until blocks_sort gives the table's blocks their place), and
 * the allocator's ranges into OWNED. 1 walked, 0 not (s->out->heap_note
 * says why), -1 the walk failed (s->out->heap_note says how): a thread may
 * be inside the allocator, so the caller lets the process run a moment and
 * tries again.
 */
static int heap_blocks(struct scan *s, struct ranges *owned)
{
	const uint64_t *h = s->tab.h;
	struct glibcheap_info info = { .main_arena = h[ANCHOR_H_MAIN_ARENA], .tcache_key = h[ANCHOR_H_TCACHE_KEY],
				       .version = (unsigned)h[ANCHOR_H_VERSION] };
	struct heap_walk hw = { s, owned };
	struct glibcheap_walk w = { .chunk = heap_chunk, .owned = heap_owned, .arg = &hw };
	struct glibcheap_map *maps;
	char err[160];
	size_t n0 = s->n;
	int ret;

	if (h[ANCHOR_H_KIND] != ANCHOR_HEAP_GLIBC) {
		snprintf(s->out->heap_note, sizeof(s->out->heap_note),
			 "only blocks allocated since the attach are judged: the allocator is not glibc 2.35 or "
			 "later (or not glibc's own malloc), whose heap memtrace can walk");
		return 0;
	}
	maps = xcalloc(s->maps.n + 1, sizeof(*maps));
	for (size_t i = 0; i < s->maps.n; i++) {
		const struct inj_map *m = &s->maps.v[i];

		maps[i].lo = m->start;
		maps[i].hi = m->end;
		maps[i].anon_rw = !m->path[0] && m->perms[0] == 'r' && m->perms[1] == 'w' && m->perms[3] == 'p';
	}
	ret = glibcheap_walk(&s->mem, &info, maps, s->maps.n, &w, err, sizeof(err));
	free(maps);
	if (ret < 0) {
		s->n = n0;
		owned->n = 0;
		snprintf(s->out->heap_note, sizeof(s->out->heap_note),
			 "only blocks allocated since the attach are judged: glibc's heap could not be walked (%s)",
			 err);
		return -1;
	}
	s->out->heap_note[0] = '\0';
	return 1;
}

/* ---------------------------------------------------------------- roots */

/* sp from /proc/PID/task/TID/syscall of a thread left running; 0 if unknown. */
static uint64_t running_sp(int pid, int tid)
{
	char path[64], buf[512];
	unsigned long long v[9];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	ok = fgets(buf, sizeof(buf), f) &&
	     sscanf(buf, "%llu %llx %llx %llx %llx %llx %llx %llx %llx", &v[0], &v[1], &v[2], &v[3], &v[4],
		    &v[5], &v[6], &v[7], &v[8]) == 9;
	fclose(f);
	return ok ? v[7] : 0;
}

static int is_held(const int *held, size_t n, int tid)
{
	for (size_t i = 0; i < n; i++)
		if (held[i] == tid)
			return 1;
	return 0;
}

/*
 * One thread's roots: its registers (when it is stopped) and its stack from
 * the stack pointer (less the red zone) to the end of that mapping, which
 * then goes into STACKS (not scanned again as plain memory).
 */
static int thread_roots(struct scan *s, struct leak_scan *ls, int tid, int held, struct ranges *stacks)
{
	struct inj_regs r;
	uint64_t sp;
	const struct inj_map *m;

	if (held) {
		size_t ps = s->mem.ptr_size, nw;
		uint64_t words[sizeof(r.w) / 4];

		if (inj_regs_get(tid, &r) < 0) {
			log_warn("leaks: thread %d: its registers cannot be read (%s); its registers and stack "
				 "are left out of the roots", tid, strerror(errno));
			return 0;
		}
		nw = r.len / ps;
		for (size_t i = 0; i < nw; i++)
			words[i] = memsrc_word(&s->mem, (const unsigned char *)r.w + i * ps);
		leak_scan_root_words(ls, words, nw);
		if (s->nregs < MAX_THREADS) {
			s->regs[s->nregs].tid = tid;
			s->regs[s->nregs].first = s->nwords;
			s->regs[s->nregs++].n = nw;
		}
		s->nwords += nw;
		sp = inj_arch_sp(&r);
	} else {
		sp = running_sp(s->pid, tid);
		if (!sp)
			return 0;
		s->out->threads_running++;
	}
	s->out->threads++;
	m = map_of(&s->maps, sp);
	if (!m)
		return 0;
	ranges_add(stacks, m->start, m->end);
	sp = sp - inj_arch_red_zone() > m->start ? sp - inj_arch_red_zone() : m->start;
	s->out->root_ranges++;
	return leak_scan_root_range(ls, &s->mem, sp & ~(uint64_t)(s->mem.ptr_size - 1), m->end);
}

static int threads_roots(struct scan *s, struct inj_task *t, struct leak_scan *ls, struct ranges *stacks)
{
	static int held[MAX_THREADS];
	size_t nheld = inj_task_list(t, held, MAX_THREADS);
	char path[64];
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (nheld > MAX_THREADS)
		return log_err("leaks: process %d has more than %d threads", s->pid, MAX_THREADS);
	snprintf(path, sizeof(path), "/proc/%d/task", s->pid);
	d = opendir(path);
	if (!d)
		return log_err("leaks: cannot list the threads of process %d: %s", s->pid, strerror(errno));
	while (!ret && (de = readdir(d))) {
		int tid = atoi(de->d_name);

		if (tid <= 0 || tid == s->control_tid)
			continue;
		ret = thread_roots(s, ls, tid, is_held(held, nheld, tid), stacks);
	}
	closedir(d);
	return ret < 0 ? log_err("leaks: reading the stacks of process %d failed: %s", s->pid, strerror(errno))
		       : 0;
}

/* A mapping that is never a root: not rw, a device (but /dev/zero), the kernel's. */
static int not_root(const struct inj_map *m)
{
	if (m->perms[0] != 'r' || m->perms[1] != 'w')
		return 1;
	if (!strncmp(m->path, "/dev/", 5) && strcmp(m->path, "/dev/zero") && strncmp(m->path, "/dev/zero ", 10))
		return 1;
	return !strcmp(m->path, "[vvar]") || !strcmp(m->path, "[vsyscall]") || !strcmp(m->path, "[vvar_vclock]");
}

/* The index of the first block ending after ADDR (a zero-size block takes 1 byte); n if none. */
static size_t first_ending_after(const struct scan *s, uint64_t addr)
{
	size_t a = 0, b = s->n;

	while (a < b) {
		size_t mid = a + (b - a) / 2;

		if (s->blocks[mid].addr + (s->blocks[mid].size ? s->blocks[mid].size : 1) <= addr)
			a = mid + 1;
		else
			b = mid;
	}
	return a;
}

/* [LO, HI) less the blocks (sorted) as roots. */
static int root_minus_blocks(struct scan *s, struct leak_scan *ls, uint64_t lo, uint64_t hi)
{
	size_t a = first_ending_after(s, lo);

	for (size_t i = a; i < s->n && lo < hi && s->blocks[i].addr < hi; i++) {
		if (s->blocks[i].addr > lo) {
			s->out->root_ranges++;
			if (leak_scan_root_range(ls, &s->mem, lo, s->blocks[i].addr) < 0)
				return -1;
		}
		if (s->blocks[i].addr + s->blocks[i].size > lo)
			lo = s->blocks[i].addr + s->blocks[i].size;
	}
	if (lo < hi) {
		s->out->root_ranges++;
		return leak_scan_root_range(ls, &s->mem, lo, hi);
	}
	return 0;
}

/* Every rw mapping, less EXCLUDED (sorted, merged) and the blocks. */
static int memory_roots(struct scan *s, struct leak_scan *ls, const struct ranges *excluded)
{
	size_t e = 0;

	for (size_t i = 0; i < s->maps.n; i++) {
		const struct inj_map *m = &s->maps.v[i];
		uint64_t lo = m->start;

		if (not_root(m))
			continue;
		while (e < excluded->n && excluded->v[e].hi <= lo)
			e++;
		for (size_t k = e; k < excluded->n && excluded->v[k].lo < m->end && lo < m->end; k++) {
			if (excluded->v[k].lo > lo && root_minus_blocks(s, ls, lo, excluded->v[k].lo) < 0)
				return -1;
			if (excluded->v[k].hi > lo)
				lo = excluded->v[k].hi;
		}
		if (lo < m->end && root_minus_blocks(s, ls, lo, m->end) < 0)
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- the scan */

/* Blocks, sorted; a block the heap walk and the table both hold is the table's. */
static void blocks_sort(struct scan *s)
{
	size_t k = 0;

	if (!s->n)
		return;
	qsort(s->blocks, s->n, sizeof(*s->blocks), block_cmp);
	for (size_t i = 0; i < s->n; i++) {
		if (k && s->blocks[i].addr < s->blocks[k - 1].addr + (s->blocks[k - 1].size ? s->blocks[k - 1].size : 1)) {
			/* Overlap: keep the one with a context (recorded), else the first. */
			if (!s->blocks[k - 1].ctx && s->blocks[i].ctx)
				s->blocks[k - 1] = s->blocks[i];
			continue;
		}
		s->blocks[k++] = s->blocks[i];
	}
	s->n = k;
}

/* The block holding ADDR, or NULL (the blocks sorted, not overlapping). */
static struct leak_block *block_at(struct scan *s, uint64_t addr)
{
	size_t i = first_ending_after(s, addr);

	return i < s->n && s->blocks[i].addr <= addr ? &s->blocks[i] : NULL;
}

/*
 * The blocks the agent's control thread holds: glibc made them for it
 * (its DTV, calloc'ed by pthread_create and held from the thread's control
 * block at the top of its stack mapping), so they are the agent's, judged
 * but never reported. Every word of that mapping that points into a block
 * marks it.
 */
static void control_blocks(struct scan *s)
{
	unsigned char buf[4096];
	size_t ps = s->mem.ptr_size;

	for (uint64_t at = s->control_stack.lo; at < s->control_stack.hi; at += sizeof(buf)) {
		if (s->mem.read(s->mem.arg, at, buf, sizeof(buf)) < 0)
			continue;
		for (size_t i = 0; i + ps <= sizeof(buf); i += ps) {
			struct leak_block *b = block_at(s, memsrc_word(&s->mem, buf + i));

			if (b && !b->ctx)
				b->internal = 1;
		}
	}
}

static void who_add(void *arg, uint64_t where, uint64_t value, long block)
{
	struct scan *s = arg;
	struct inj_leaks *o = s->out;
	struct inj_leaks_holder *h;

	o->holders = realloc(o->holders, (o->nholders + 1) * sizeof(*o->holders));
	if (!o->holders)
		log_oom();
	h = &o->holders[o->nholders++];
	*h = (struct inj_leaks_holder){ .where = where, .value = value, .block = block < 0 ? -1 : block };
	if (block == LEAK_WHO_REGISTER)
		for (size_t i = 0; i < s->nregs; i++)
			if (where >= s->regs[i].first && where < s->regs[i].first + s->regs[i].n) {
				h->tid = s->regs[i].tid;
				h->where = where - s->regs[i].first;
			}
}

/* WHO's length; 0 asks for the rest of the block holding its address (1 outside any). */
static uint64_t who_len(struct scan *s, const struct inj_leaks_who *who)
{
	const struct leak_block *b = block_at(s, who->addr);

	if (who->len)
		return who->len;
	return b && b->size ? b->addr + b->size - who->addr : 1;
}

/* Everything done while the process is stopped. */
static int judge(struct scan *s, struct inj_task *t, const struct inj_leaks_who *who)
{
	struct ranges owned = { 0 }, stacks = { 0 };
	struct leak_scan *ls = NULL;
	int ret = -1, heap;

	for (int tries = 0;; tries++) {
		int table;

		inj_maps_free(&s->maps);
		s->n = 0;
		owned.n = 0;
		if (inj_maps_read(s->pid, &s->maps) < 0) {
			log_err("leaks: cannot read /proc/%d/maps: %s", s->pid, strerror(errno));
			goto out;
		}
		/* The last try says why the table could not be read. */
		s->tab.quiet = tries < HEAP_TRIES;
		table = anchortab_walk(&s->tab, take_block, s);
		heap = table < 0 ? -1 : heap_blocks(s, &owned);
		if (heap >= 0)
			break;
		/* A thread stopped inside malloc or free leaves its arena locked or a
		 * list half made; one inside a hook, a table of the agent's moving to a
		 * bigger mapping: let the process run a moment and look again. */
		if (tries == HEAP_TRIES ||
		    inj_task_run_a_moment(t, HEAP_RUN_MS, inj_now_ns() + SEIZE_TIMEOUT_MS * 1000000LL) < 0) {
			if (table < 0) {
				log_err("leaks: memtrace's table of process %d was being changed each time it was "
					"looked at (%d tries); try again", s->pid, tries + 1);
				goto out;
			}
			log_info("leaks: %s", s->out->heap_note);
			heap = 0;
			break;
		}
	}
	s->out->before_attach = heap == 1;
	blocks_sort(s);
	control_blocks(s);
	ls = leak_scan_new(s->blocks, s->n, s->mem.ptr_size);
	if (!ls) {
		log_err("leaks: no memory for the scan of %zu blocks", s->n);
		goto out;
	}
	if (threads_roots(s, t, ls, &stacks) < 0)
		goto out;
	for (size_t i = 0; i < stacks.n; i++)
		ranges_add(&owned, stacks.v[i].lo, stacks.v[i].hi);
	for (size_t i = 0; i < s->own.n; i++)
		ranges_add(&owned, s->own.v[i].lo, s->own.v[i].hi);
	ranges_merge(&owned);
	if (memory_roots(s, ls, &owned) < 0 || leak_scan_finish(ls, &s->mem) < 0) {
		log_err("leaks: reading the memory of process %d failed: %s", s->pid, strerror(errno));
		goto out;
	}
	leak_scan_stats(ls, &s->out->st);
	if (who && leak_scan_who_points(ls, &s->mem, who->addr, who_len(s, who), who_add, s) < 0) {
		log_err("leaks: reading the memory of process %d failed: %s", s->pid, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < s->n && log_get_level() >= LOG_DEBUG; i++)
		if (s->blocks[i].verdict != LEAK_REACHABLE)
			log_debug("leaks: 0x%" PRIx64 " %" PRIu64 " bytes, context %u: %s", s->blocks[i].addr,
				  s->blocks[i].size, s->blocks[i].ctx, leak_verdict_text[s->blocks[i].verdict]);
	ret = 0;
out:
	leak_scan_free(ls);
	free(owned.v);
	free(stacks.v);
	return ret;
}

int inj_leaks_scan(int pid, const struct inj_leaks_who *who, struct inj_leaks *out)
{
	struct scan s = { .pid = pid, .control_tid = -1, .out = out };
	struct inj_task *t;
	int64_t t0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	s.proc.pid = pid;
	snprintf(s.proc.where, sizeof(s.proc.where), "process %d", pid);
	s.mem = (struct memsrc){ .read = proc_read, .readv = proc_readv, .arg = &s.proc, .ptr_size = sizeof(void *) };
	t0 = inj_now_ns();
	t = inj_seize(pid, SEIZE_TIMEOUT_MS);
	if (!t) {
		int e = errno;

		return log_err("leaks: cannot stop process %d: %s%s", pid, strerror(e),
			       e == EPERM ? " (is it traced by someone else, e.g. a debugger?)" :
			       e == ETIMEDOUT ? " (a thread did not stop: uninterruptible sleep?)" : "");
	}
	s.regs = xcalloc(MAX_THREADS, sizeof(*s.regs));
	if (inj_maps_read(pid, &s.maps) < 0) {
		log_err("leaks: cannot read /proc/%d/maps: %s", pid, strerror(errno));
		goto out;
	}
	if (find_anchor(&s) < 0)
		goto out;
	s.tab = (struct anchortab){ .m = &s.mem, .where = s.proc.where, .anchor = s.anchor };
	if (anchortab_read(&s.tab) < 0 || read_own(&s) < 0)
		goto out;
	if (judge(&s, t, who) < 0)
		goto out;
	out->blocks = s.blocks;
	out->n = s.n;
	s.blocks = NULL;
	ret = 0;
out:
	if (inj_release(t) < 0)
		log_warn("leaks: process %d: some threads could not be let go cleanly", pid);
	out->stopped_ns = inj_now_ns() - t0;
	inj_maps_free(&s.maps);
	free(s.own.v);
	free(s.blocks);
	free(s.regs);
	return ret;
}

void inj_leaks_free(struct inj_leaks *l)
{
	free(l->blocks);
	free(l->holders);
	l->blocks = NULL;
	l->holders = NULL;
	l->n = l->nholders = 0;
}
