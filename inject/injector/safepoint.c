/*
 * The safe point of a remote call.
 *
 * A stripped C library names only its exported functions; the allocator's
 * own workers (_int_malloc, _int_free, sysmalloc, malloc_consolidate...),
 * the loader's and thread creation's are not in .dynsym. Rather than guess
 * their ranges, a thread's stack is read as runs of C library frames: each
 * run was entered from the program through the run's outermost frame, an
 * exported function, and everything inside the run is that function's
 * doing. A run is safe to call beside only when it is
 *   - the bottom of the stack (the thread's start code, which called the
 *     program and holds nothing), or
 *   - the innermost run, entered through a function on a short list of
 *     calls a thread blocks in (read, poll, nanosleep, pthread_cond_wait...)
 *     that never take the allocator's, the loader's or thread creation's
 *     locks.
 * Any other run (malloc, printf, qsort calling back, an unknown entry) is
 * not proved safe. Independently, every frame is checked against the code
 * that is critical outright - the exported allocator, loader and thread
 * functions, the loader's whole code, any preloaded allocator's whole code
 * - so a frame there is caught even where runs cannot be told apart (a
 * walk cut short, a tail call). Above the last frame a walk reached, the
 * stack's words are checked against that critical code too: a return
 * address there means a frame the walk did not see.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "log.h"
#include "injector/regs.h"
#include "injector/safepoint.h"

enum {
	F_CRITICAL = 1, /* takes the allocator's, the loader's or thread creation's locks */
	F_BLOCKING = 2, /* a call a thread may be stopped in while a remote call runs */
	F_LOADER = 4,   /* ... the loader's */
};

enum region_kind {
	R_SYSTEM,    /* the C library: judged by runs */
	R_LOADER,    /* the dynamic loader: every byte critical */
	R_ALLOCATOR, /* a preloaded or linked allocator: every byte critical */
};

struct region {
	uint64_t start, end;
	uint64_t base;	/* start of the module's mapping at offset 0 (its ELF header) */
	enum region_kind kind;
	const char *what;	/* "the dynamic loader", a path */
};

struct fn {
	uint64_t start, end;
	unsigned flags;
	char *name;
};

struct inj_codemap {
	int pid;
	/* The C library is its loader too and shows nothing of its internals
	 * (musl): a thread there may hold any of its locks unseen. */
	int opaque_libc;
	char **paths;	/* the paths regions name, owned */
	size_t npaths;
	struct region *regions;
	size_t nregions, capregions;
	struct fn *fns;
	size_t nfns, capfns;
};

/*
 * Critical entry points of the C library. The allocator, by every name
 * glibc, musl and uClibc export it under; the loader's public face; what
 * creates, joins or frees threads (glibc's stack cache lock, which the
 * agent's pthread_create takes), forks or spawns (a vfork child runs on
 * the parent's stack), registers fork handlers (the agent does), or ends
 * the process.
 */
static const char *const critical_names[] = {
	"malloc", "free", "calloc", "realloc", "reallocarray", "memalign", "posix_memalign",
	"aligned_alloc", "valloc", "pvalloc", "cfree", "malloc_trim", "malloc_usable_size",
	"mallinfo", "mallinfo2", "malloc_stats", "malloc_info", "mallopt",
	"pthread_create", "pthread_join", "pthread_tryjoin_np", "pthread_timedjoin_np",
	"pthread_clockjoin_np", "pthread_detach", "pthread_exit", "pthread_atfork",
	"register_atfork", "fork", "_Fork", "vfork", "posix_spawn", "posix_spawnp",
	"system", "popen", "exit", "_exit", "_Exit", "quick_exit", "abort",
};

/* The loader's public face in the C library: they take the loader's locks. */
static const char *const loader_names[] = {
	"dlopen", "dlclose", "dlsym", "dlvsym", "dladdr", "dladdr1", "dlinfo", "dlmopen", "dlerror",
	"dl_iterate_phdr", "_dl_find_object", "dlopen_mode",
};

/*
 * Calls a thread is commonly stopped in that touch none of that state: the
 * blocking system calls and the waits of pthreads. (pthread_join is not
 * here: it frees the joined thread's stack under the stack cache lock.)
 */
static const char *const blocking_names[] = {
	"read", "readv", "pread", "pread64", "preadv", "preadv64", "preadv2", "preadv64v2",
	"write", "writev", "pwrite", "pwrite64", "pwritev", "pwritev64", "pwritev2",
	"pwritev64v2", "recv", "recvfrom", "recvmsg", "recvmmsg", "send", "sendto", "sendmsg",
	"sendmmsg", "accept", "accept4", "connect", "poll", "ppoll", "select", "pselect",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "nanosleep", "clock_nanosleep", "sleep",
	"usleep", "pause", "sigsuspend", "sigwait", "sigwaitinfo", "sigtimedwait", "wait",
	"waitpid", "waitid", "wait3", "wait4", "pthread_cond_wait", "pthread_cond_timedwait",
	"pthread_cond_clockwait", "pthread_mutex_lock", "pthread_mutex_timedlock",
	"pthread_mutex_clocklock", "pthread_rwlock_rdlock", "pthread_rwlock_wrlock",
	"pthread_rwlock_timedrdlock", "pthread_rwlock_timedwrlock", "pthread_rwlock_clockrdlock",
	"pthread_rwlock_clockwrlock", "pthread_barrier_wait", "pthread_spin_lock", "sem_wait",
	"sem_timedwait", "sem_clockwait", "msgrcv", "msgsnd", "semop", "semtimedop",
	"mq_receive", "mq_timedreceive", "mq_send", "mq_timedsend", "ioctl", "fcntl", "fcntl64",
	"flock", "lockf", "lockf64", "fsync", "fdatasync", "tcdrain", "syscall", "sched_yield",
	"open", "open64", "openat", "openat64", "close", "getrandom", "io_getevents",
	"clock_gettime", "gettimeofday", "time",
};

/* glibc exports many functions also as __NAME and __libc_NAME. */
static const char *plain_name(const char *name)
{
	if (!strncmp(name, "__libc_", 7))
		return name + 7;
	if (!strncmp(name, "__", 2))
		return name + 2;
	return name;
}

static int listed(const char *name, const char *const *list, size_t n)
{
	const char *p = plain_name(name);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, list[i]) || !strcmp(p, list[i]))
			return 1;
	return 0;
}

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static unsigned flags_of(const char *name)
{
	unsigned f = 0;

	if (listed(name, critical_names, NELEMS(critical_names)))
		f |= F_CRITICAL;
	if (listed(name, loader_names, NELEMS(loader_names)))
		f |= F_CRITICAL | F_LOADER;
	if (listed(name, blocking_names, NELEMS(blocking_names)))
		f |= F_BLOCKING;
	return f;
}

static int is_malloc_family(const char *name)
{
	static const char *const names[] = {
		"malloc", "free", "calloc", "realloc", "memalign", "posix_memalign",
		"aligned_alloc", "valloc", "pvalloc",
	};

	for (size_t i = 0; i < NELEMS(names); i++)
		if (!strcmp(name, names[i]))
			return 1;
	return 0;
}

static int add_region(struct inj_codemap *cm, const struct region *r)
{
	if (cm->nregions == cm->capregions) {
		size_t cap = cm->capregions ? 2 * cm->capregions : 16;
		struct region *v = realloc(cm->regions, cap * sizeof(*v));

		if (!v)
			return -1;
		cm->regions = v;
		cm->capregions = cap;
	}
	cm->regions[cm->nregions++] = *r;
	return 0;
}

static int add_fn(struct inj_codemap *cm, const char *name, uint64_t start, uint64_t size,
		  unsigned flags)
{
	struct fn *f;

	if (cm->nfns == cm->capfns) {
		size_t cap = cm->capfns ? 2 * cm->capfns : 256;
		struct fn *v = realloc(cm->fns, cap * sizeof(*v));

		if (!v)
			return -1;
		cm->fns = v;
		cm->capfns = cap;
	}
	f = &cm->fns[cm->nfns];
	f->name = strdup(name);
	if (!f->name)
		return -1;
	f->start = start;
	f->end = start + size;
	f->flags = flags;
	cm->nfns++;
	return 0;
}

/* Every function of a C library module, with its flags. */
static int system_fn(const char *name, uint64_t addr, uint64_t size, void *arg)
{
	/* A symbol without a size cannot contain anything: its run is unknown. */
	if (!size)
		return 0;
	return add_fn(arg, name, addr, size, flags_of(name)) < 0 ? -2 : 0;
}

struct scan {
	struct inj_codemap *cm;
	int exports_malloc;
	int is_exe;
};

/* Another module's malloc family (a linked allocator in the executable). */
static int other_fn(const char *name, uint64_t addr, uint64_t size, void *arg)
{
	struct scan *s = arg;

	if (!is_malloc_family(name))
		return 0;
	s->exports_malloc = 1;
	if (s->is_exe && size && add_fn(s->cm, name, addr, size, F_CRITICAL) < 0)
		return -2;
	return 0;
}

static int by_start_region(const void *a, const void *b)
{
	const struct region *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int by_start_fn(const void *a, const void *b)
{
	const struct fn *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* The widest first, so lookups land on a symbol that has a size. */
	return x->end > y->end ? -1 : x->end < y->end;
}

/*
 * Several names for one address (malloc, __libc_malloc): one entry with
 * their flags together, named by the first plain name.
 */
static void merge_aliases(struct inj_codemap *cm)
{
	size_t k = 0;

	for (size_t i = 0; i < cm->nfns; i++) {
		if (k && cm->fns[k - 1].start == cm->fns[i].start) {
			struct fn *keep = &cm->fns[k - 1];

			keep->flags |= cm->fns[i].flags;
			if (keep->end < cm->fns[i].end)
				keep->end = cm->fns[i].end;
			if (!strncmp(keep->name, "__", 2) && strncmp(cm->fns[i].name, "__", 2)) {
				free(keep->name);
				keep->name = cm->fns[i].name;
			} else {
				free(cm->fns[i].name);
			}
			continue;
		}
		cm->fns[k++] = cm->fns[i];
	}
	cm->nfns = k;
}

/* The inode of the executable of PID, to tell it from the libraries. */
static uint64_t exe_inode(int pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static int add_module_code(struct inj_codemap *cm, const struct inj_maps *m,
			   const struct inj_module *mod, enum region_kind kind, const char *what)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct inj_map *e = &m->v[i];
		struct region r;

		if (e->inode != mod->inode || e->major != mod->major || e->minor != mod->minor ||
		    e->perms[2] != 'x')
			continue;
		r.start = e->start;
		r.end = e->end;
		r.base = mod->base;
		r.kind = kind;
		r.what = what;
		if (add_region(cm, &r) < 0)
			return -1;
	}
	return 0;
}

static const char *own_path(struct inj_codemap *cm, const char *path)
{
	char **v = realloc(cm->paths, (cm->npaths + 1) * sizeof(*v));

	if (!v)
		return NULL;
	cm->paths = v;
	v[cm->npaths] = strdup(path);
	return v[cm->npaths] ? v[cm->npaths++] : NULL;
}

static int seen_module(const struct inj_module *mods, size_t n, const struct inj_map *e)
{
	for (size_t i = 0; i < n; i++)
		if (mods[i].inode == e->inode && mods[i].major == e->major &&
		    mods[i].minor == e->minor)
			return 1;
	return 0;
}

static int loader_inode(int pid, const char *interp, struct stat *st)
{
	char path[PATH_MAX + 64];

	if (!interp || interp[0] != '/')
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/root%s", pid, interp);
	return stat(path, st);
}

struct inj_codemap *inj_codemap_new(int pid, const struct inj_maps *m, const char *interp)
{
	struct inj_codemap *cm = calloc(1, sizeof(*cm));
	struct inj_module *mods = NULL;
	size_t nmods = 0;
	uint64_t exe = exe_inode(pid);
	struct stat ld;
	int have_ld = loader_inode(pid, interp, &ld) == 0;

	if (!cm)
		return NULL;
	cm->pid = pid;
	mods = calloc(m->n + 1, sizeof(*mods));
	if (!mods)
		goto fail;
	for (size_t i = 0; i < m->n; i++) {
		const struct inj_map *e = &m->v[i];
		struct inj_module *mod = &mods[nmods];
		int system;

		if (e->path[0] != '/' || !e->inode || seen_module(mods, nmods, e) ||
		    inj_module_of(m, e, mod) < 0)
			continue;
		nmods++;
		system = inj_is_system_lib(mod->path);
		if (have_ld && mod->inode == ld.st_ino && !system) {
			if (add_module_code(cm, m, mod, R_LOADER, "the dynamic loader") < 0)
				goto fail;
			continue;
		}
		if (system) {
			/* musl's libc is its loader too: judged by its exported entries. */
			if (have_ld && mod->inode == ld.st_ino)
				cm->opaque_libc = 1;
			if (add_module_code(cm, m, mod, R_SYSTEM, "the C library") < 0)
				goto fail;
			if (inj_module_funcs(pid, mod, system_fn, cm) == -2)
				goto fail;
			continue;
		}
		{
			struct scan s = { cm, 0, mod->inode == exe };
			int r = inj_module_funcs(pid, mod, other_fn, &s);

			if (r == -2)
				goto fail;
			if (r < 0)
				log_debug("process %d: cannot read the symbols of %s", pid, mod->path);
			/* A library that exports malloc is an allocator: all of it. */
			if (s.exports_malloc && !s.is_exe) {
				const char *path = own_path(cm, mod->path);

				if (!path || add_module_code(cm, m, mod, R_ALLOCATOR, path) < 0)
					goto fail;
			}
		}
	}
	free(mods);
	qsort(cm->regions, cm->nregions, sizeof(*cm->regions), by_start_region);
	qsort(cm->fns, cm->nfns, sizeof(*cm->fns), by_start_fn);
	merge_aliases(cm);
	log_debug("process %d: code map of %zu regions, %zu functions", pid, cm->nregions,
		  cm->nfns);
	return cm;
fail:
	free(mods);
	inj_codemap_free(cm);
	errno = ENOMEM;
	return NULL;
}

void inj_codemap_free(struct inj_codemap *cm)
{
	if (!cm)
		return;
	for (size_t i = 0; i < cm->npaths; i++)
		free(cm->paths[i]);
	for (size_t i = 0; i < cm->nfns; i++)
		free(cm->fns[i].name);
	free(cm->paths);
	free(cm->regions);
	free(cm->fns);
	free(cm);
}

static const struct region *region_at(const struct inj_codemap *cm, uint64_t a)
{
	size_t lo = 0, hi = cm->nregions;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (a < cm->regions[mid].start)
			hi = mid;
		else if (a >= cm->regions[mid].end)
			lo = mid + 1;
		else
			return &cm->regions[mid];
	}
	return NULL;
}

static const struct fn *fn_at(const struct inj_codemap *cm, uint64_t a)
{
	size_t lo = 0, hi = cm->nfns;

	/* The last function starting at or below A. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cm->fns[mid].start <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	/* Sizes are exact and functions do not nest: only the nearest can hold A. */
	return a < cm->fns[lo - 1].end ? &cm->fns[lo - 1] : NULL;
}

/*
 * Critical code at A: a critical region (not its ELF header, which the
 * auxiliary vector points at), or a critical function. INJ_IN_LOADER,
 * INJ_IN_ALLOCATOR (WHAT says which), or INJ_SAFE. SCANNED: A is a word
 * found on a stack above the frames walked, where the loader's own code is
 * left out: its startup leaves return addresses near the top of the main
 * thread's stack that stay there for good (an armhf process showed one in
 * every look), and a thread the program sent into the loader got there
 * through the C library's exported dl* functions, which still count.
 */
static enum inj_safety critical_at(const struct inj_codemap *cm, uint64_t a, int scanned,
				   char *what, size_t len)
{
	const struct region *r = region_at(cm, a);
	const struct fn *f;

	if (r && r->kind != R_SYSTEM && a != r->base && !(scanned && r->kind == R_LOADER)) {
		snprintf(what, len, "%s", r->what);
		return r->kind == R_LOADER ? INJ_IN_LOADER : INJ_IN_ALLOCATOR;
	}
	f = fn_at(cm, a);
	if (f && (f->flags & F_CRITICAL)) {
		snprintf(what, len, "%s", f->name);
		return f->flags & F_LOADER ? INJ_IN_LOADER : INJ_IN_ALLOCATOR;
	}
	return INJ_SAFE;
}

static void describe(const struct inj_codemap *cm, uint64_t a, char *buf, size_t len)
{
	const struct fn *f = fn_at(cm, a);

	if (f)
		snprintf(buf, len, "%s+%#" PRIx64, f->name, a - f->start);
	else
		snprintf(buf, len, "%#" PRIx64, a);
}

/* The end of the mapping of NOW that holds A, or 0. */
static uint64_t mapping_end(const struct inj_maps *now, uint64_t a)
{
	for (size_t i = 0; i < now->n; i++)
		if (a >= now->v[i].start && a < now->v[i].end)
			return now->v[i].end;
	return 0;
}

/*
 * The words of the stack from FROM to the end of its mapping, or to the
 * thread's control block where that is above FROM in the same mapping: a
 * return address into critical code is a frame there the walk did not
 * reach. (Stacks a program maps for its threads one after the other make
 * one mapping: the words above a thread's control block are another
 * thread's frames, live or stale; busy_alloc's four threads on one MIPS
 * CPU were refused one attach in two for them.) Returns its kind (WHAT
 * says where), INJ_SAFE, or INJ_NOT_PROVEN when the stack cannot be read.
 */
static enum inj_safety scan_stack(const struct inj_codemap *cm, int tid, uint64_t from,
				  const struct inj_maps *now, char *what, size_t len)
{
	uint64_t end = mapping_end(now, from), a, block;
	size_t w = sizeof(void *);
	unsigned char buf[4096];

	if (!end)
		return INJ_NOT_PROVEN;
	if (inj_arch_thread_block(tid, &block) == 0 && block > from && block < end)
		end = block;
	from = (from + w - 1) & ~(uint64_t)(w - 1);
	for (a = from; a < end;) {
		size_t chunk = end - a < sizeof(buf) ? (size_t)(end - a) : sizeof(buf);
		struct iovec l = { buf, chunk }, r = { (void *)(uintptr_t)a, chunk };
		ssize_t got = process_vm_readv(tid, &l, 1, &r, 1, 0);

		if (got <= 0)
			return INJ_NOT_PROVEN;
		for (size_t k = 0; k + w <= (size_t)got; k += w) {
			enum inj_safety v;
			uint64_t word = 0;

			memcpy(&word, buf + k, w);
			/* A pointer into the code that no call left there is not a frame:
			 * __libc_start_main keeps the loader's _dl_fini, for one. */
			if (word && (v = critical_at(cm, word, 1, what, len)) != INJ_SAFE &&
			    inj_arch_after_call(tid, word)) {
				size_t l = strlen(what);

				snprintf(what + l, len - l, ": %#" PRIx64 " at %#" PRIx64, word,
					 a + k);
				return v;
			}
		}
		a += (uint64_t)got;
	}
	return INJ_SAFE;
}

/*
 * System calls made only to wait (for time, descriptors, signals or
 * children), which the allocator, the loader and thread creation never
 * make while they hold their locks: those make mmap, munmap, mprotect,
 * brk, madvise, clone, open, fstat, close, futex (a lock's wait), and read
 * regular files. Numbers differ by architecture; some calls exist only on
 * some (select, poll, pause and epoll_wait have newer forms everywhere).
 */
static const long wait_syscalls[] = {
	SYS_nanosleep, SYS_clock_nanosleep, SYS_ppoll, SYS_pselect6, SYS_epoll_pwait,
	SYS_rt_sigsuspend, SYS_rt_sigtimedwait, SYS_wait4, SYS_waitid, SYS_accept4,
	SYS_recvfrom, SYS_recvmsg, SYS_recvmmsg, SYS_sendto, SYS_sendmsg, SYS_connect,
	SYS_msgrcv, SYS_msgsnd,
#ifdef SYS_semtimedop /* not on MIPS o32: semtimedop_time64 */
	SYS_semtimedop,
#endif
/* 32-bit architectures' forms with 64-bit times, which glibc 2.34 and later call. */
#ifdef SYS_semtimedop_time64
	SYS_semtimedop_time64, SYS_clock_nanosleep_time64, SYS_ppoll_time64, SYS_pselect6_time64,
	SYS_rt_sigtimedwait_time64, SYS_recvmmsg_time64,
#endif
#ifdef SYS_poll
	SYS_poll,
#endif
#ifdef SYS_select
	SYS_select,
#endif
#ifdef SYS__newselect
	SYS__newselect,
#endif
#ifdef SYS_pause
	SYS_pause,
#endif
#ifdef SYS_epoll_wait
	SYS_epoll_wait,
#endif
#ifdef SYS_accept
	SYS_accept,
#endif
#ifdef SYS_recv
	SYS_recv,
#endif
#ifdef SYS_send
	SYS_send,
#endif
#ifdef SYS_semop
	SYS_semop,
#endif
#ifdef SYS_epoll_pwait2
	SYS_epoll_pwait2,
#endif
};

/* Reads and writes, which wait only on what is not a regular file. */
static const long io_syscalls[] = {
	SYS_read, SYS_readv, SYS_write, SYS_writev,
};

/*
 * Whether thread TID of process PID is stopped in a system call that only
 * waits, outside every lock of the C library: a wait above, or a read or
 * write of a pipe, socket or terminal (the loader reads only regular files).
 * From /proc/PID/task/TID/syscall ("NR ARG0 ..." while in a call).
 */
static int waits_unlocked(int pid, int tid)
{
	char path[96], buf[256];
	unsigned long long fd = 0;
	long nr = -1;
	struct stat st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%ld %llx", &nr, &fd) < 1)
		nr = -1;
	fclose(f);
	if (nr < 0)
		return 0;
	for (size_t i = 0; i < sizeof(wait_syscalls) / sizeof(wait_syscalls[0]); i++)
		if (nr == wait_syscalls[i])
			return 1;
	for (size_t i = 0; i < sizeof(io_syscalls) / sizeof(io_syscalls[0]); i++)
		if (nr == io_syscalls[i]) {
			snprintf(path, sizeof(path), "/proc/%d/fd/%llu", pid, fd);
			return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
		}
	return 0;
}

/*
 * An address inside frame I's call: its pc for the innermost frame and a
 * frame a signal interrupted, else just before the return address (a call
 * that ends a function returns past its end).
 */
static uint64_t frame_addr(const struct inj_frame *f, int i)
{
	return i == 0 || f[i - 1].signal ? f[i].pc : f[i].pc - 1;
}

/* Frame I is in the C library; a kernel helper is where its caller is. */
static int in_system(const struct inj_codemap *cm, const struct inj_frame *f, int n, int i)
{
	const struct region *r;

	if (f[i].helper && i + 1 < n)
		i++;
	r = region_at(cm, frame_addr(f, i));

	return r && r->kind == R_SYSTEM;
}

enum inj_safety inj_codemap_judge(const struct inj_codemap *cm, int tid, const struct inj_frame *f,
				  int n, const struct inj_maps *now, char *why, size_t len)
{
	char what[256], where[300];
	enum inj_safety v;
	int i, last_sys, blind;

	if (n < 1) {
		snprintf(why, len, "its stack could not be read");
		return INJ_NOT_PROVEN;
	}
	/* Every frame against critical code. */
	for (i = 0; i < n; i++) {
		uint64_t a = frame_addr(f, i);

		v = critical_at(cm, a, 0, what, sizeof(what));
		if (v != INJ_SAFE) {
			describe(cm, a, where, sizeof(where));
			snprintf(why, len, "frame %d is in %s (%s)", i, what, where);
			return v;
		}
	}
	/*
	 * Where the C library has no unwind tables and hides its system call
	 * wrappers (Debian's musl), the innermost frame is a wrapper no
	 * exported function holds, and the C library frames a walk gives
	 * above it are guesses: the system call it stopped in says what it
	 * waits for (none the allocator, the loader or thread creation makes
	 * holding a lock), and the runs of C library frames are not judged.
	 * Every frame was checked against critical code above, and the stack
	 * beyond the last is read as always. (Not the words between the
	 * wrapper and the program's frame: those hold stale return addresses,
	 * left by the calls the program made there before.) On MIPS the same
	 * where the walk ends in its first frame, in the C library, and no
	 * prologue gave its caller (walk_on): Debian's MIPS glibc has unwind
	 * tables for a quarter of its code, not for its system call wrappers.
	 */
#ifdef __mips__
	blind = in_system(cm, f, n, 0) && (!fn_at(cm, frame_addr(f, 0)) || n == 1) &&
		waits_unlocked(cm->pid, tid);
#else
	blind = in_system(cm, f, n, 0) && !fn_at(cm, frame_addr(f, 0)) && waits_unlocked(cm->pid, tid);
#endif
	/* Above the last frame: what the walk did not reach. */
	v = scan_stack(cm, tid, f[n - 1].sp, now, what, sizeof(what));
	if (v == INJ_NOT_PROVEN) {
		snprintf(why, len, "its stack above frame %d could not be read", n - 1);
		return v;
	}
	if (v != INJ_SAFE) {
		snprintf(why, len, "its stack above frame %d holds a return address into %s", n - 1, what);
		return v;
	}
	if (blind)
		return INJ_SAFE;
	/* Runs of C library frames, innermost first; a signal frame ends a run. */
	last_sys = -1;
	for (i = 0; i < n; i++)
		if (in_system(cm, f, n, i))
			last_sys = i;
	for (i = 0; i < n;) {
		const struct fn *entry;
		int a = i, b;
		uint64_t pc;

		if (!in_system(cm, f, n, a) || f[a].signal) {
			i++;
			continue;
		}
		for (b = a; b + 1 < n && !f[b].signal && in_system(cm, f, n, b + 1); b++)
			;
		i = b + 1;
		pc = frame_addr(f, b);
		entry = fn_at(cm, pc);
		/*
		 * The innermost run, a wait the program called. Its caller may be
		 * out of sight (a walk cut short at a wrapper without unwind
		 * tables, on 32-bit ARM): no thread starts in such a call, so
		 * there is one, and what lies above was scanned for critical code.
		 */
		if (a == 0 && entry && (entry->flags & F_BLOCKING))
			continue;
		/* The outermost run: the thread's start code, which called the program. */
		if (b == last_sys && a > 0)
			continue;
		describe(cm, pc, where, sizeof(where));
		if (a == 0 && b == last_sys)
			snprintf(why, len, "it runs only C library code (%s): starting, ending, or a "
				 "thread of the library's own", where);
		else
			snprintf(why, len, "frame %d is in the C library's %s, a call not known to be "
				 "safe to run beside", b, where);
		return INJ_NOT_PROVEN;
	}
	return INJ_SAFE;
}

/* ---------------------------------------------------------------- the choice */

#define MAX_FRAMES 256
/* Run between looks: from 1 ms, doubling up to this. */
#define MAX_RUN_MS 16
/*
 * Looks made before giving up, however long they took: the budget is time,
 * but a slow machine must get the chances a fast one gets. A look is 0.1-1
 * ms here; in the ARM VMs (emulation, on a shared machine) one took over a
 * second and the 2.5 s budget gave 2 looks, too few for a process whose
 * threads are in the allocator or the loader nearly all the time.
 */
#define MIN_LOOKS 8
#define STOP_TIMEOUT_MS 2000

/*
 * A fingerprint of the executable mappings: when it changes, the stack
 * walker forgets the unwind tables it read (a module was mapped or unmapped).
 */
static uint64_t code_fingerprint(const struct inj_maps *m)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].perms[2] != 'x')
			continue;
		h = (h ^ m->v[i].start) * 1099511628211ULL;
		h = (h ^ m->v[i].inode) * 1099511628211ULL;
	}
	return h;
}

/* Lower is better: blocked in a system call, then in user code; the main thread wins ties. */
static int rank(const struct inj_thread_info *ti)
{
	return (ti->syscall >= 0 ? 0 : 2) + !ti->main;
}

static const char *const verdict_names[] = {
	[INJ_SAFE] = "safe", [INJ_IN_LOADER] = "in the loader",
	[INJ_IN_ALLOCATOR] = "in the allocator", [INJ_NOT_PROVEN] = "not proven",
};

/* The frames of a stack judged, for -v -v. */
static void log_frames(const struct inj_codemap *cm, const struct inj_frame *f, int n)
{
	char where[300];

	if (log_get_level() < LOG_DEBUG)
		return;
	for (int i = 0; i < n; i++) {
		describe(cm, frame_addr(f, i), where, sizeof(where));
		char fp[32] = "";

		if (f[i].fp)
			snprintf(fp, sizeof(fp), " fp %#" PRIx64, f[i].fp);
		log_debug("  #%-2d pc %#" PRIx64 " sp %#" PRIx64 "%s %s%s", i, f[i].pc, f[i].sp, fp,
			  region_at(cm, frame_addr(f, i)) ? where : "(program)",
			  f[i].signal ? " [signal frame]" : f[i].helper ? " [kernel helper]" : "");
	}
}

/* One look at every thread. */
struct look {
	int best;
	int critical;      /* threads in the loader or the allocator */
	int frozen_loader; /* ... in the loader and stopped by job control (or where that
			    * cannot be told, in the C library: musl's) */
	int movable;       /* threads that can be let run */
	char reason[4][320];
	int reason_tid[4];
};

static int by_rank(const void *a, const void *b)
{
	return rank(a) - rank(b);
}

#ifdef INJ_ARCH_OWN_REGS
/*
 * MIPS: a walk that ends in a frame without unwind tables goes on from the
 * caller that its function's prologue gives (inj_arch_prologue_caller),
 * through at most 16 such frames (libunwind-ptrace on MIPS finds no
 * tables for a PIE program's frames either). Debian's MIPS glibc has tables for a
 * quarter of its code and not for its system call wrappers, so the walk of
 * a thread waiting in one ends in its first frame, and the stack above it,
 * read word by word, holds the return addresses of the program's earlier
 * calls into malloc or dl_iterate_phdr: no thread could ever be proven
 * safe. A caller is taken only where the return address follows a call.
 */
static int walk_on(const struct inj_codemap *cm, struct inj_stackwalk *w, int tid,
		   struct inj_frame *f, int nf, int *end)
{
	struct inj_regs r;
	uint64_t ra = 0;

	if (nf < 1 || inj_regs_get(tid, &r) < 0 || inj_arch_gpr(&r, 31, &ra) < 0)
		return nf;
	for (int k = 0; k < 16 && nf < MAX_FRAMES; k++) {
		const struct fn *fn = fn_at(cm, f[nf - 1].pc);
		uint64_t pc, sp, fp, start = 0;
		int e = 0, m;

		/* The C library's functions by their symbols, the program's by its code. */
		if (fn && region_at(cm, f[nf - 1].pc) && (fn->end <= fn->start || f[nf - 1].pc <= fn->end))
			start = fn->start;
		if (!inj_arch_prologue_caller(tid, start, f[nf - 1].pc, f[nf - 1].sp, nf == 1 ? ra : 0,
					      f[nf - 1].fp, &pc, &sp, &fp))
			break;
		m = inj_stackwalk_thread_from(w, tid, pc, sp, fp, f + nf, MAX_FRAMES - nf, &e);
		if (m < 1)
			break;
		nf += m;
		*end = e;
	}
	return nf;
}
#endif

/*
 * Walk the stopped threads best first (blocked in a system call, then the
 * main thread): the first that is safe is the choice, and the others need
 * no walk, unless the process is stopped by job control, where a thread in
 * the loader refuses the call whatever else is safe. A walk costs little
 * on a board and much under emulation.
 */
static int look_once(struct inj_task *t, const struct inj_codemap *cm, struct inj_stackwalk *w,
		     struct inj_frame *f, struct look *lk, struct inj_safepoint_stats *st)
{
	int pid = inj_task_pid(t), frozen = 0;
	struct inj_thread_info *info;
	struct inj_maps now;
	size_t n, cap;

	lk->best = -1;
	lk->critical = lk->frozen_loader = lk->movable = 0;
	if (inj_maps_read(pid, &now) < 0)
		return -1;
	cap = inj_task_info(t, NULL, 0);
	info = calloc(cap + 1, sizeof(*info));
	if (!info) {
		inj_maps_free(&now);
		return -1;
	}
	n = inj_task_info(t, info, cap);
	if (n > cap)
		n = cap;
	qsort(info, n, sizeof(*info), by_rank);
	for (size_t i = 0; i < n; i++) {
		lk->movable += !info[i].group_stop;
		frozen += info[i].group_stop;
	}
	st->rounds++;
	for (size_t i = 0; i < n; i++) {
		const struct inj_thread_info *ti = &info[i];
		enum inj_safety v;
		char why[320];
		int end = 0, nf;

		if (lk->best > 0 && !frozen)
			break;
		nf = inj_stackwalk_thread(w, ti->tid, f, MAX_FRAMES, &end);
#ifdef INJ_ARCH_OWN_REGS
		nf = walk_on(cm, w, ti->tid, f, nf, &end);
#endif
		st->walks++;
		if (nf < 0) {
			v = INJ_NOT_PROVEN;
			snprintf(why, sizeof(why), "its registers cannot be read");
		} else {
			v = inj_codemap_judge(cm, ti->tid, f, nf, &now, why, sizeof(why));
		}
		log_debug("thread %d: %s%s%s (%d frames%s)", ti->tid, verdict_names[v],
			  v == INJ_SAFE ? "" : ": ", v == INJ_SAFE ? "" : why, nf,
			  end ? "" : ", walk cut short");
		log_frames(cm, f, nf);
		if (v != INJ_SAFE) {
			snprintf(lk->reason[v], sizeof(lk->reason[v]), "%s", why);
			lk->reason_tid[v] = ti->tid;
		}
		lk->critical += v == INJ_IN_LOADER || v == INJ_IN_ALLOCATOR;
		lk->frozen_loader += (v == INJ_IN_LOADER || (v == INJ_NOT_PROVEN && cm->opaque_libc)) &&
				     ti->group_stop;
		if (v == INJ_NOT_PROVEN && cm->opaque_libc && ti->group_stop)
			snprintf(lk->reason[INJ_IN_LOADER], sizeof(lk->reason[INJ_IN_LOADER]), "%s", why);
		if (v == INJ_NOT_PROVEN && cm->opaque_libc && ti->group_stop)
			lk->reason_tid[INJ_IN_LOADER] = ti->tid;
		if (v == INJ_SAFE && !ti->at_entry && lk->best < 0)
			lk->best = ti->tid;
	}
	free(info);
	inj_maps_free(&now);
	return 0;
}

int inj_safepoint_pick(struct inj_task *t, const struct inj_codemap *cm, int budget_ms,
		       char *why, size_t len, struct inj_safepoint_stats *st)
{
	int64_t t0 = inj_now_ns(), deadline = t0 + (int64_t)budget_ms * 1000000;
	struct inj_safepoint_stats spare;
	struct inj_frame *f = malloc(MAX_FRAMES * sizeof(*f));
	struct inj_stackwalk *w = inj_stackwalk_new(inj_task_pid(t));
	struct look lk;
	int pid = inj_task_pid(t), tid = -1, run_ms = 1;
	uint64_t fp = 0;

	if (!st)
		st = &spare;
	memset(st, 0, sizeof(*st));
	memset(&lk, 0, sizeof(lk));
	snprintf(why, len, "out of memory");
	if (!f || !w)
		goto out;
	for (;;) {
		struct inj_maps m;

		/* A module mapped or unmapped since the last look: read its tables afresh. */
		if (inj_maps_read(pid, &m) == 0) {
			uint64_t h = code_fingerprint(&m);

			if (st->rounds && h != fp)
				inj_stackwalk_flush(w);
			fp = h;
			inj_maps_free(&m);
		}
		if (look_once(t, cm, w, f, &lk, st) < 0) {
			snprintf(why, len, "the threads of process %d cannot be looked at: %s", pid,
				 strerror(errno));
			goto out;
		}
		if (lk.frozen_loader) {
			/* It cannot be let run: the call would wait for its lock for ever. */
			snprintf(why, len, "process %d is stopped (by SIGSTOP or a terminal) while "
				 "thread %d is inside %s (%s): continue it (kill -CONT %d) and attach again",
				 pid, lk.reason_tid[INJ_IN_LOADER],
				 cm->opaque_libc ? "the C library, which may hold its allocator's or loader's lock"
						 : "the dynamic loader",
				 lk.reason[INJ_IN_LOADER], pid);
			goto out;
		}
		if (lk.best > 0) {
			tid = lk.best;
			st->others_critical = lk.critical;
			goto out;
		}
		if ((inj_now_ns() >= deadline && st->rounds >= MIN_LOOKS) || !lk.movable)
			break;
		if (inj_task_run_a_moment(t, run_ms, inj_now_ns() + STOP_TIMEOUT_MS * 1000000LL) < 0) {
			snprintf(why, len, "a thread of process %d did not stop again after running "
				 "for %d ms", pid, run_ms);
			goto out;
		}
		if (run_ms < MAX_RUN_MS)
			run_ms *= 2;
	}
	{
		char parts[3][360] = { "", "", "" };
		const enum inj_safety kinds[3] = { INJ_IN_ALLOCATOR, INJ_IN_LOADER, INJ_NOT_PROVEN };

		for (int k = 0; k < 3; k++)
			if (lk.reason_tid[kinds[k]])
				snprintf(parts[k], sizeof(parts[k]), "; thread %d: %s",
					 lk.reason_tid[kinds[k]], lk.reason[kinds[k]]);
		snprintf(why, len, "no thread of process %d came to a safe point for the remote call "
			 "in %d ms (%d looks%s)%s%s%s", pid, (int)((inj_now_ns() - t0) / 1000000), st->rounds,
			 lk.movable ? "" : ", the process is stopped", parts[0], parts[1], parts[2]);
	}
out:
	st->search_us = (inj_now_ns() - t0) / 1000;
	free(f);
	inj_stackwalk_free(w);
	return tid;
}
