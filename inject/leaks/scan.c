/*
 * The leak scan of a live process (scan.h): stop, fill the image of the
 * stopped process (common/leakjudge.h: maps, threads' registers and stack
 * pointers, memory through process_vm_readv), judge, let go.
 *
 * By default the judge reads a copy: while every thread is stopped, the
 * agent's control thread forks the process (agent/snapshot.h), and the
 * process is let go at once; the copy, frozen at that instant, is read
 * with process_vm_readv and killed after. The process is stopped for the
 * fork (page tables copied), not for the judge (memory below: read
 * without making the kernel copy the shared pages). Where no copy can be made
 * (a seccomp filter that may kill for the system calls it needs, no room
 * for a process, --no-fork), the process stays stopped for the judge, as
 * it did before copies.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "injector/loader.h"
#include "injector/ptrace.h"
#include "injector/regs.h"
#include "injector/remote.h"
#include "injector/seccomp.h"
#include "ns.h"
#include "leaks/scan.h"
#include "log.h"
#include "util.h"

#define SEIZE_TIMEOUT_MS 5000
/* Tries when a thread is inside the allocator (an arena locked): each lets the process run this long. */
#define HEAP_TRIES 20
#define HEAP_RUN_MS 2
#define MAX_THREADS 4096
#define AGENT_FILE "libmemtrace-agent.so"
/* The fork in the control thread: it copies the page tables, long for a large process on a slow board. */
#define COPY_CALL_MS 10000

/* ---------------------------------------------------------------- memory */

/*
 * Since Linux 5.19, process_vm_readv pins what it reads, and pinning a page
 * shared copy-on-write with another process (the scan's copy, or a child
 * the program forked, as a pre-forking server does) makes the kernel give
 * the reader's side its own copy of it first (measured: reading a fork child's
 * 100 MiB that way left it 100 MiB of Private_Dirty). Reading the copy so
 * would copy the whole heap into it; reading a process with forked
 * children would grow its RSS. pread of /proc/PID/mem reads without
 * pinning, but a call a piece where process_vm_readv takes 64: the copy,
 * and a process with children, are read with pread; a process without,
 * whose pages no other process maps, with process_vm_readv (at 100 MiB
 * stopped 86 ms instead of 135).
 */
struct proc {
	int pid;
	int fd;			/* /proc/PID/mem */
	int pinless;		/* read with pread of fd */
	char where[32];		/* "process 1234", for messages */
};

/* Whether process PID has a child process (it shares copy-on-write pages with it, maybe). */
static int has_children(int pid)
{
	char path[64], c = 0;
	struct dirent *de;
	int found = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 1;
	while (!found && (de = readdir(d))) {
		char file[300];
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "/proc/%d/task/%s/children", pid, de->d_name);
		f = fopen(file, "re");
		/* Unknown (a kernel without CONFIG_PROC_CHILDREN): as if it had. */
		found = !f || (fread(&c, 1, 1, f) == 1 && c >= '0' && c <= '9');
		if (f)
			fclose(f);
	}
	closedir(d);
	return found;
}

/* /proc/PID/mem opened into P (the process or its copy), PINLESS saying how to read: 0, or -1 with errno. */
static int proc_open(struct proc *p, int pid, int pinless)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_LARGEFILE);
	if (fd < 0)
		return -1;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = fd;
	p->pid = pid;
	p->pinless = pinless;
	return 0;
}

static void proc_close(struct proc *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* One range with pread: whole, or -1 with EFAULT (not mapped, or cut short). */
static int pread_range(const struct proc *p, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread64(p->fd, (char *)buf + done, len - done, (off64_t)(addr + done));

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		/* EIO: nothing mapped there; 0: cut at the end of what is. */
		if (n == 0 || errno == EIO || errno == EFAULT || errno == ENOMEM)
			errno = EFAULT;
		return -1;
	}
	return 0;
}

/* One range: whole or EFAULT (memsrc.h). */
static int proc_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	const struct proc *p = arg;
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n;

	if (p->pinless)
		return pread_range(p, addr, buf, len);
	n = process_vm_readv(p->pid, &local, 1, &remote, 1, 0);
	if (n == (ssize_t)len)
		return 0;
	if (n >= 0 || errno == EFAULT || errno == ENOMEM)
		errno = EFAULT;
	return -1;
}

/* process_vm_readv of up to MEMSRC_READV_MAX pieces in one call: all whole, or -1. */
static int vm_readv(const struct proc *p, const struct memsrc_piece *pieces, size_t n)
{
	struct iovec local[MEMSRC_READV_MAX], remote[MEMSRC_READV_MAX];
	size_t want = 0;
	ssize_t got;

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

/* Pieces closer than this are read in one go, the bytes between them read and dropped. */
#define READ_GAP 512
#define READ_SPAN (16 * 1024)

/*
 * Up to MEMSRC_READV_MAX pieces: all whole, or -1. With pread, a read costs
 * a system call where process_vm_readv took 64 pieces in one: pieces near each
 * other (a list's nodes, a heap's neighbours) are read as one span. A gap
 * under READ_GAP never holds a whole page, so a span whose pieces are
 * mapped is mapped; a span that fails all the same is read piece by piece.
 */
static int proc_readv(void *arg, const struct memsrc_piece *pieces, size_t n)
{
	static unsigned char span[READ_SPAN];
	size_t ix[MEMSRC_READV_MAX];

	if (n > MEMSRC_READV_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (!((const struct proc *)arg)->pinless)
		return vm_readv(arg, pieces, n);
	/* By address (insertion sort: 64 at most). */
	for (size_t i = 0; i < n; i++) {
		size_t k = i;

		while (k > 0 && pieces[ix[k - 1]].addr > pieces[i].addr) {
			ix[k] = ix[k - 1];
			k--;
		}
		ix[k] = i;
	}
	for (size_t i = 0; i < n;) {
		const struct memsrc_piece *a = &pieces[ix[i]];
		uint64_t lo = a->addr, hi = a->addr + a->len;
		size_t j = i + 1;

		while (j < n) {
			const struct memsrc_piece *b = &pieces[ix[j]];
			uint64_t end = b->addr + b->len > hi ? b->addr + b->len : hi;

			if (b->addr > hi + READ_GAP || end - lo > READ_SPAN)
				break;
			hi = end;
			j++;
		}
		if (j == i + 1 || pread_range(arg, lo, span, (size_t)(hi - lo)) < 0) {
			for (size_t k = i; k < j; k++)
				if (pread_range(arg, pieces[ix[k]].addr, pieces[ix[k]].buf, pieces[ix[k]].len) < 0)
					return -1;
		} else {
			for (size_t k = i; k < j; k++)
				memcpy(pieces[ix[k]].buf, span + (pieces[ix[k]].addr - lo), pieces[ix[k]].len);
		}
		i = j;
	}
	return 0;
}

/* ---------------------------------------------------------------- the image */

struct scan {
	int pid;
	int copy;			/* the copy judged (its pid), 0: the process itself */
	int64_t held_since;		/* when the process was stopped last */
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

/* The agent module's dynamic symbol NAME in the process: 0 with *ADDR, or -1. */
static int agent_sym(struct scan *s, const char *name, uint64_t *addr)
{
	for (size_t i = 0; i < s->maps.n; i++) {
		struct inj_module mod;

		if (strcmp(base_name(s->maps.v[i].path), AGENT_FILE) ||
		    inj_module_of(&s->maps, &s->maps.v[i], &mod) < 0)
			continue;
		if (inj_module_sym(s->pid, &mod, name, addr, NULL) == 1)
			return 0;
	}
	return -1;
}

/* &memtrace_gdb in the process: the agent's anchor. */
static int find_anchor(struct scan *s)
{
	if (agent_sym(s, "memtrace_gdb", &s->img.anchor) == 0)
		return 0;
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

/* Whether T holds thread TID stopped. */
static int is_held_tid(struct inj_task *t, int tid)
{
	static int held[MAX_THREADS];
	size_t n = inj_task_list(t, held, MAX_THREADS);

	return is_held(held, n < MAX_THREADS ? n : MAX_THREADS, tid);
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

	s->nthreads = 0;
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

/* ---------------------------------------------------------------- the copy */

/* What the copy and its reaping need of the control thread (agent/snapshot.c, control.c). */
static const int copy_nrs[] = { SYS_clone, SYS_ppoll, SYS_prctl, SYS_wait4, SYS_kill, SYS_read, SYS_write };

/* The copy's pid from the return register: a long of the process's width. */
static long ret_long(const struct scan *s, uint64_t ret)
{
	return s->mem.ptr_size == 4 ? (long)(int32_t)(uint32_t)ret : (long)ret;
}

/*
 * A copy of process S (held by T) made by the agent's control thread, every
 * other thread kept stopped: its pid, seized with PTRACE_O_EXITKILL (if
 * memtrace dies, so does the copy); or -1 with NOTE (LEN bytes) saying why
 * not (the scan then judges the process stopped).
 */
static int copy_make(struct scan *s, struct inj_task *t, int control_tid, char *note, size_t len)
{
	enum inj_seccomp_verdict v[sizeof(copy_nrs) / sizeof(copy_nrs[0])];
	struct inj_call_fault f;
	enum inj_call_status st;
	struct inj_call *c;
	uint64_t fn, ret = 0;
	char why[160] = "";
	long pid;
	int host;

	if (control_tid <= 0 || !is_held_tid(t, control_tid)) {
		snprintf(note, len, "the agent's control thread is not stopped (%d)", control_tid);
		return -1;
	}
	if (inj_ns_own_pid(s->pid) < 0) {
		snprintf(note, len, "the process's PID namespace does not show its numbers (a kernel before 4.1)");
		return -1;
	}
	if (agent_sym(s, "memtrace_agent_snapshot", &fn) < 0) {
		snprintf(note, len, "the agent in the process makes no copies (an older agent)");
		return -1;
	}
	switch (inj_seccomp_judge(s->pid, &control_tid, 1, copy_nrs, sizeof(copy_nrs) / sizeof(copy_nrs[0]), v,
				  why, sizeof(why))) {
	case INJ_SECCOMP_NO_FILTER:
	case INJ_SECCOMP_ALLOWS:
		break;
	default:
		snprintf(note, len, "a seccomp filter may refuse the copy's system calls (%s)", why);
		return -1;
	}
	c = inj_task_follow_clones(t, control_tid, 0) == 0 ? inj_call_begin(t, control_tid) : NULL;
	if (!c) {
		snprintf(note, len, "the control thread cannot make a call: %s", strerror(errno));
		inj_task_follow_clones(t, control_tid, 1);
		return -1;
	}
	inj_call_hold_others(c);
	st = inj_call(c, fn, NULL, 0, COPY_CALL_MS, &ret, &f);
	if (inj_call_end(c) < 0 || inj_task_follow_clones(t, control_tid, 1) < 0)
		log_warn("leaks: the agent's control thread in process %d may not be as it was", s->pid);
	pid = ret_long(s, ret);
	if (st != INJ_CALL_OK) {
		snprintf(note, len, "the fork in the control thread did not return (status %d, signal %d)", (int)st,
			 f.sig);
		return -1;
	}
	if (pid <= 0) {
		snprintf(note, len, "the process could not be forked: %s", strerror(pid < 0 ? (int)-pid : EINVAL));
		return -1;
	}
	/* Numbered in the process's PID namespace: memtrace's number for it (a container's differ). */
	host = inj_ns_host_child(s->pid, control_tid, (int)pid);
	if (host <= 0) {
		snprintf(note, len, "its copy (%ld in the process's PID namespace) is not found among the control "
			 "thread's children", pid);
		return -1; /* the agent kills it when it is too old, and reaps it */
	}
	if (ptrace(PTRACE_SEIZE, host, 0, PTRACE_O_EXITKILL) < 0) {
		snprintf(note, len, "its copy (%d) could not be seized: %s", host, strerror(errno));
		kill(host, SIGKILL); /* the agent reaps it */
		return -1;
	}
	log_debug("leaks: process %d copied into process %d", s->pid, host);
	return host;
}

/* The copy killed; the agent's control thread reaps it (its parent is the process). */
static void copy_end(struct scan *s)
{
	int st;

	if (!s->copy)
		return;
	kill(s->copy, SIGKILL);
	while (waitpid(s->copy, &st, __WALL) < 0 && errno == EINTR)
		;
	s->copy = 0;
	if (proc_open(&s->proc, s->pid, has_children(s->pid)) < 0)
		proc_close(&s->proc); /* the process is gone: its reads fail */
}

/* Let T's process go, counting the time it was held. */
static void let_go(struct scan *s, struct inj_task **t, struct inj_leaks *out)
{
	if (!*t)
		return;
	if (inj_release(*t) < 0)
		log_warn("leaks: process %d: some threads could not be let go cleanly", s->pid);
	*t = NULL;
	out->stopped_ns += inj_now_ns() - s->held_since;
}

/* Stop the process (again): *T, or -1 after logging. */
static int hold(struct scan *s, struct inj_task **t)
{
	s->held_since = inj_now_ns();
	*t = inj_seize(s->pid, SEIZE_TIMEOUT_MS);
	if (*t)
		return 0;
	return log_err("leaks: cannot stop process %d: %s%s", s->pid, strerror(errno),
		       errno == EPERM ? " (is it traced by someone else, e.g. a debugger?)" :
		       errno == ETIMEDOUT ? " (a thread did not stop: uninterruptible sleep?)" : "");
}

/*
 * With the process held: its threads, then a copy of it to judge and the
 * process let go; or, with no copy, the process kept held. -1 only when
 * the threads cannot be listed.
 */
static int take(struct scan *s, struct inj_task **t, struct leak_judge *j, int flags, struct inj_leaks *out)
{
	if (read_threads(s, *t) < 0)
		return -1;
	if (flags & INJ_LEAKS_NO_FORK) {
		snprintf(out->snapshot_note, sizeof(out->snapshot_note), "asked to (--no-fork)");
		return 0;
	}
	s->copy = copy_make(s, *t, leak_judge_control_tid(j), out->snapshot_note, sizeof(out->snapshot_note));
	if (s->copy <= 0) {
		s->copy = 0;
		log_info("leaks: judging process %d stopped: %s", s->pid, out->snapshot_note);
		return 0;
	}
	if (proc_open(&s->proc, s->copy, 1) < 0) {
		snprintf(out->snapshot_note, sizeof(out->snapshot_note), "its copy's memory cannot be opened: %s",
			 strerror(errno));
		log_info("leaks: judging process %d stopped: %s", s->pid, out->snapshot_note);
		copy_end(s);
		return 0;
	}
	out->snapshot_note[0] = '\0';
	let_go(s, t, out);
	return 0;
}

/*
 * Before another try at the blocks: the process run a moment, stopped again
 * and, judging copies, copied again. The maps are read again.
 */
static int again(struct scan *s, struct inj_task **t, struct leak_judge *j, int flags, struct inj_leaks *out)
{
	struct timespec moment = { 0, HEAP_RUN_MS * 1000000L };

	if (!s->copy)
		return inj_task_run_a_moment(*t, HEAP_RUN_MS, inj_now_ns() + SEIZE_TIMEOUT_MS * 1000000LL) < 0 ||
		       read_maps(s) < 0 ? -1 : 0;
	copy_end(s);
	nanosleep(&moment, NULL);
	if (hold(s, t) < 0 || read_maps(s) < 0)
		return -1;
	return take(s, t, j, flags, out);
}

/* The blocks, the process let run a moment while a thread is inside the allocator. */
static int blocks(struct scan *s, struct inj_task **t, struct leak_judge *j, int flags, struct inj_leaks *out)
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
		if (tries == HEAP_TRIES || again(s, t, j, flags, out) < 0) {
			if (r == -1)
				return log_err("leaks: memtrace's table of process %d was being changed each time it "
					       "was looked at (%d tries); try again", s->pid, tries + 1);
			/* The table's blocks are kept: they are judged alone. */
			log_info("leaks: %s", out->heap_note);
			return 0;
		}
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

int inj_leaks_scan(int pid, const struct inj_leaks_who *who, int flags, struct inj_leaks *out)
{
	struct scan s = { .pid = pid };
	struct leak_judge *j = NULL;
	struct inj_task *t = NULL;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	s.proc.fd = -1;
	snprintf(s.proc.where, sizeof(s.proc.where), "process %d", pid);
	s.mem = (struct memsrc){ .read = proc_read, .readv = proc_readv, .arg = &s.proc, .ptr_size = sizeof(void *) };
	s.img = (struct leak_image){ .mem = &s.mem, .where = s.proc.where, .red_zone = inj_arch_red_zone() };
	if (hold(&s, &t) < 0)
		return -1;
	if (proc_open(&s.proc, pid, has_children(pid)) < 0) {
		log_err("leaks: cannot read the memory of process %d (/proc/%d/mem): %s", pid, pid, strerror(errno));
		let_go(&s, &t, out);
		return -1;
	}
	s.threads = xcalloc(MAX_THREADS, sizeof(*s.threads));
	s.words = xcalloc(MAX_THREADS, sizeof(((struct inj_regs *)0)->w) / 4 * sizeof(*s.words));
	if (read_maps(&s) < 0 || find_anchor(&s) < 0)
		goto out;
	j = leak_judge_new(&s.img, out);
	/* The agent numbers its control thread in the process's PID namespace. */
	if (j && leak_judge_control_tid(j) > 0)
		leak_judge_set_control_tid(j, inj_ns_host_tid(pid, leak_judge_control_tid(j)));
	if (!j || take(&s, &t, j, flags, out) < 0 || blocks(&s, &t, j, flags, out) < 0)
		goto out;
	/* Judging the process itself: its threads as they are after the last try. */
	if (t && !s.copy && read_threads(&s, t) < 0)
		goto out;
	ret = leak_judge_run(j, s.threads, s.nthreads, who);
	out->snapshot = s.copy != 0;
out:
	let_go(&s, &t, out);
	copy_end(&s);
	/* Once the process runs again: the files of its modules are read. */
	if (ret == 0 && !out->before_attach)
		out->kind_allocator = kind_allocator(pid);
	leak_judge_free(j);
	inj_maps_free(&s.maps);
	free(s.lmaps);
	free(s.threads);
	free(s.words);
	proc_close(&s.proc);
	return ret;
}
