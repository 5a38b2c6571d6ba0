/*
 * The leak scan of a live process (scan.h): stop, fill the image of the
 * stopped process (common/leakjudge.h: maps, threads' registers and stack
 * pointers, memory through process_vm_readv), judge, let go.
 *
 * The scan reads memory with process_vm_readv while every thread is
 * stopped: a copy of nothing (no fork, no core), pieces of 64 KiB.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

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

/* ---------------------------------------------------------------- the image */

struct scan {
	int pid;
	struct proc proc;
	struct memsrc mem;
	struct inj_maps maps;
	struct leak_image img;
	struct leak_map *lmaps;
	struct leak_thread *threads;
	uint64_t *words;		/* the stopped threads' registers, as words */
	size_t nthreads;
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* /proc/PID/maps (again: the process may have run), as the image's maps. */
static int read_maps(struct scan *s)
{
	inj_maps_free(&s->maps);
	if (inj_maps_read(s->pid, &s->maps) < 0)
		return log_err("leaks: cannot read /proc/%d/maps: %s", s->pid, strerror(errno));
	free(s->lmaps);
	s->lmaps = xcalloc(s->maps.n + 1, sizeof(*s->lmaps));
	for (size_t i = 0; i < s->maps.n; i++) {
		const struct inj_map *m = &s->maps.v[i];

		s->lmaps[i] = (struct leak_map){ .lo = m->start, .hi = m->end, .path = m->path };
		memcpy(s->lmaps[i].perms, m->perms, sizeof(s->lmaps[i].perms));
	}
	s->img.maps = s->lmaps;
	s->img.nmaps = s->maps.n;
	return 0;
}

/* &memtrace_gdb in the process: the agent's module's dynamic symbol. */
static int find_anchor(struct scan *s)
{
	for (size_t i = 0; i < s->maps.n; i++) {
		struct inj_module mod;

		if (strcmp(base_name(s->maps.v[i].path), AGENT_FILE) ||
		    inj_module_of(&s->maps, &s->maps.v[i], &mod) < 0)
			continue;
		if (inj_module_sym(s->pid, &mod, "memtrace_gdb", &s->img.anchor, NULL) == 1)
			return 0;
	}
	return log_err("leaks: memtrace's agent is not loaded in process %d (or its anchor cannot be read)",
		       s->pid);
}

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

/* One thread: its registers as words when it is held, else its stack pointer as the kernel shows it. */
static void add_thread(struct scan *s, int tid, int held)
{
	struct leak_thread *t = &s->threads[s->nthreads];
	size_t ps = s->mem.ptr_size;
	struct inj_regs r;

	*t = (struct leak_thread){ .tid = tid };
	if (!held) {
		t->sp = running_sp(s->pid, tid);
	} else if (inj_regs_get(tid, &r) < 0) {
		log_warn("leaks: thread %d: its registers cannot be read (%s); its registers and stack "
			 "are left out of the roots", tid, strerror(errno));
		return;
	} else {
		uint64_t *w = &s->words[s->nthreads * (sizeof(r.w) / 4)];

		t->nregs = r.len / ps;
		for (size_t i = 0; i < t->nregs; i++)
			w[i] = memsrc_word(&s->mem, (const unsigned char *)r.w + i * ps);
		t->regs = w;
		t->sp = inj_arch_sp(&r);
	}
	s->nthreads++;
}

/* Every thread of the stopped process (the one T holds), into s->threads. */
static int read_threads(struct scan *s, struct inj_task *t)
{
	static int held[MAX_THREADS];
	size_t nheld = inj_task_list(t, held, MAX_THREADS);
	char path[64];
	struct dirent *de;
	DIR *d;

	if (nheld > MAX_THREADS)
		return log_err("leaks: process %d has more than %d threads", s->pid, MAX_THREADS);
	snprintf(path, sizeof(path), "/proc/%d/task", s->pid);
	d = opendir(path);
	if (!d)
		return log_err("leaks: cannot list the threads of process %d: %s", s->pid, strerror(errno));
	while ((de = readdir(d)) && s->nthreads < MAX_THREADS) {
		int tid = atoi(de->d_name);

		if (tid > 0)
			add_thread(s, tid, is_held(held, nheld, tid));
	}
	closedir(d);
	return 0;
}

/* ---------------------------------------------------------------- the scan */

/* The blocks, the process let run a moment while a thread is inside the allocator. */
static int blocks(struct scan *s, struct inj_task *t, struct leak_judge *j, struct inj_leaks *out)
{
	for (int tries = 0;; tries++) {
		/* The last try says why the table could not be read. */
		int r = leak_judge_blocks(j, tries < HEAP_TRIES);

		if (r >= 0) {
			out->before_attach = r == 1;
			return 0;
		}
		/* A thread stopped inside malloc or free leaves its arena locked or a
		 * list half made; one inside a hook, a table of the agent's moving to a
		 * bigger mapping: let the process run a moment and look again. */
		if (tries == HEAP_TRIES ||
		    inj_task_run_a_moment(t, HEAP_RUN_MS, inj_now_ns() + SEIZE_TIMEOUT_MS * 1000000LL) < 0) {
			if (r == -1)
				return log_err("leaks: memtrace's table of process %d was being changed each time it "
					       "was looked at (%d tries); try again", s->pid, tries + 1);
			/* The table's blocks are kept: they are judged alone. */
			log_info("leaks: %s", out->heap_note);
			return 0;
		}
		if (read_maps(s) < 0)
			return -1;
	}
}

/*
 * An allocator whose own memory keeps pointers to the blocks it handed out
 * (jemalloc: its thread caches' stacks and its extents), which the scan
 * cannot tell from the program's: found by its mallctl export in a module
 * of process PID. Looked for only when glibc's heap was not walked.
 */
static const char *kind_allocator(int pid)
{
	struct inj_maps maps;
	const char *found = NULL, *last = "";

	if (inj_maps_read(pid, &maps) < 0)
		return NULL;
	for (size_t i = 0; i < maps.n && !found; i++) {
		struct inj_module mod;
		uint64_t addr;

		if (maps.v[i].path[0] != '/' || !strcmp(maps.v[i].path, last) ||
		    inj_module_of(&maps, &maps.v[i], &mod) < 0)
			continue;
		last = maps.v[i].path;
		if (inj_module_sym(pid, &mod, "mallctl", &addr, NULL) == 1 ||
		    inj_module_sym(pid, &mod, "je_mallctl", &addr, NULL) == 1)
			found = "jemalloc";
	}
	inj_maps_free(&maps);
	return found;
}

int inj_leaks_scan(int pid, const struct inj_leaks_who *who, struct inj_leaks *out)
{
	struct scan s = { .pid = pid };
	struct leak_judge *j = NULL;
	struct inj_task *t;
	int64_t t0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	s.proc.pid = pid;
	snprintf(s.proc.where, sizeof(s.proc.where), "process %d", pid);
	s.mem = (struct memsrc){ .read = proc_read, .readv = proc_readv, .arg = &s.proc, .ptr_size = sizeof(void *) };
	s.img = (struct leak_image){ .mem = &s.mem, .where = s.proc.where, .red_zone = inj_arch_red_zone() };
	t0 = inj_now_ns();
	t = inj_seize(pid, SEIZE_TIMEOUT_MS);
	if (!t) {
		int e = errno;

		return log_err("leaks: cannot stop process %d: %s%s", pid, strerror(e),
			       e == EPERM ? " (is it traced by someone else, e.g. a debugger?)" :
			       e == ETIMEDOUT ? " (a thread did not stop: uninterruptible sleep?)" : "");
	}
	s.threads = xcalloc(MAX_THREADS, sizeof(*s.threads));
	s.words = xcalloc(MAX_THREADS, sizeof(((struct inj_regs *)0)->w) / 4 * sizeof(*s.words));
	if (read_maps(&s) < 0 || find_anchor(&s) < 0)
		goto out;
	j = leak_judge_new(&s.img, out);
	if (!j || blocks(&s, t, j, out) < 0 || read_threads(&s, t) < 0)
		goto out;
	ret = leak_judge_run(j, s.threads, s.nthreads, who);
out:
	if (inj_release(t) < 0)
		log_warn("leaks: process %d: some threads could not be let go cleanly", pid);
	out->stopped_ns = inj_now_ns() - t0;
	/* Once the process runs again: the files of its modules are read. */
	if (ret == 0 && !out->before_attach)
		out->kind_allocator = kind_allocator(pid);
	leak_judge_free(j);
	inj_maps_free(&s.maps);
	free(s.lmaps);
	free(s.threads);
	free(s.words);
	return ret;
}
