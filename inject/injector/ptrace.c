/*
 * Holding a whole process with ptrace, and letting it go unharmed.
 *
 * Every ptrace-stop counts as "stopped": PTRACE_INTERRUPT is consumed by
 * whatever stop comes first. A signal-delivery-stop therefore leaves a thread
 * stopped with a signal already dequeued; that signal is kept and given back
 * at PTRACE_DETACH. The one stop a thread is never left in is a
 * PTRACE_EVENT_CLONE stop: it sits inside clone(), where a remote call would
 * have the system call's result written over it, so such a thread is resumed
 * and interrupted again.
 *
 * Events are collected per known thread with waitpid(TID, __WALL|WNOHANG)
 * and never with waitpid(-1), so the caller's own children are left alone;
 * between passes the thread sleeps in sigtimedwait(SIGCHLD).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "monotime.h"
#include "injector/ptrace.h"
#include "injector/regs.h"

#define NS_PER_S 1000000000LL
/* Longest sleep between passes, in case SIGCHLD goes to another thread of ours. */
#define MAX_SLEEP_NS 10000000LL
#define RELEASE_TIMEOUT_NS (2 * NS_PER_S)

enum thr_state {
	THR_STOPPING, /* seized and interrupted, stop not seen yet */
	THR_NEW,      /* attached by a clone, first stop not seen yet */
	THR_STOPPED,
	THR_RUNNING,  /* let run by inj_task_resume_others() */
	THR_CALL,     /* running a remote call: its stops go to the caller */
	THR_GONE,
};

struct thr {
	int tid;
	enum thr_state state;
	int group_stop;  /* stopped in a group-stop (the process was stopped) */
	int signal_stop; /* the latest stop is a signal-delivery-stop */
	int run;         /* created by a remote call: let it run from its first stop */
	int tracesys;    /* running under PTRACE_SYSCALL (inj_task_run_a_moment) */
	int in_sys;      /* ... and between a system call's entry and exit stops */
	int at_entry;    /* stopped at a syscall-enter-stop that could not be cancelled */
	long before_nr;  /* stopped at the entry of this system call, cancelled: the thread
			  * makes it afresh when it goes on; -1 if none */
	int skip_exit;   /* resumed under PTRACE_SYSCALL, it reports the cancelled call's exit */
	long seen_nr;    /* the system call /proc showed it in just before the seize, or -1 */
	uint64_t seen_arg0; /* and its first argument */
	siginfo_t held;  /* signal to give back at detach; si_signo 0 if none */
	uint64_t resend; /* further held signals, bit N-1 for signal N */
};

struct inj_task {
	int pid;
	struct thr *thr;
	size_t n, cap;
	int others_run;
	int spare_waiters;	/* leave threads in epoll waits alone (see seize_listed) */
	int spared;		/* how many were left alone in the last pass */
	int leave_running;	/* inj_release leaves threads that run to this process's exit */
	sigset_t old_mask;
};

int64_t inj_now_ns(void)
{
	return monotime_ns();
}

int inj_task_pid(const struct inj_task *t)
{
	return t->pid;
}

size_t inj_task_threads(const struct inj_task *t)
{
	size_t k = 0;

	for (size_t i = 0; i < t->n; i++)
		k += t->thr[i].state != THR_GONE;
	return k;
}

size_t inj_task_list(const struct inj_task *t, int *tids, size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (t->thr[i].state != THR_STOPPED)
			continue;
		if (k < max)
			tids[k] = t->thr[i].tid;
		k++;
	}
	return k;
}

static struct thr *find(struct inj_task *t, int tid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->thr[i].tid == tid)
			return &t->thr[i];
	return NULL;
}

/* May move the array: callers re-find their pointers afterwards. */
static struct thr *add(struct inj_task *t, int tid, enum thr_state state)
{
	struct thr *th = find(t, tid);

	if (!th) {
		if (t->n == t->cap) {
			size_t cap = t->cap ? 2 * t->cap : 16;
			struct thr *v = realloc(t->thr, cap * sizeof(*v));

			if (!v)
				return log_err_null("out of memory");
			t->thr = v;
			t->cap = cap;
		}
		th = &t->thr[t->n++];
	}
	memset(th, 0, sizeof(*th));
	th->tid = tid;
	th->state = state;
	th->seen_nr = -1;
	th->before_nr = -1;
	return th;
}

static long pt(int req, int tid, unsigned long addr, unsigned long data)
{
	return ptrace(req, tid, (void *)addr, (void *)data);
}

/* Let TH go on from its stop, the way it runs now, delivering SIG. */
static long resume(const struct thr *th, int sig)
{
	return pt(th->tracesys ? PTRACE_SYSCALL : PTRACE_CONT, th->tid, 0, (unsigned long)sig);
}

/*
 * Let stopped thread TH run, the way th->tracesys says: the signal it was
 * stopped for is delivered now, and any more it held are sent again, as
 * nothing will stop it before this process lets go of it. 0, or -1.
 */
static int let_go(struct inj_task *t, struct thr *th)
{
	int sig = th->signal_stop ? th->held.si_signo : 0;

	th->in_sys = th->tracesys && th->skip_exit;
	if (resume(th, sig) < 0) {
		th->tracesys = th->in_sys = 0;
		return -1;
	}
	if (sig)
		th->held.si_signo = 0;
	else if (th->held.si_signo)
		th->resend |= 1ULL << (th->held.si_signo - 1);
	th->held.si_signo = 0;
	for (int s = 1; s <= 64; s++)
		if (th->resend & (1ULL << (s - 1)))
			syscall(SYS_tgkill, t->pid, th->tid, s);
	th->resend = 0;
	th->skip_exit = 0;
	th->before_nr = -1;
	th->signal_stop = 0;
	th->state = THR_RUNNING;
	return 0;
}

/* A syscall-enter-stop or syscall-exit-stop (PTRACE_O_TRACESYSGOOD). */
static int syscall_stop(int st)
{
	return WIFSTOPPED(st) && WSTOPSIG(st) == (SIGTRAP | 0x80);
}

/*
 * System calls that a ptrace stop ends with EINTR seen by the program:
 * the kernel never restarts them (signal(7): epoll waits, System V
 * semaphores, sigtimedwait, io_getevents). A thread blocked in one is left
 * alone; one that enters one while stopped is made to enter it again.
 */
static int eintr_visible(long nr)
{
	static const long nrs[] = {
#ifdef SYS_epoll_wait
		SYS_epoll_wait,
#endif
#ifdef SYS_epoll_pwait
		SYS_epoll_pwait,
#endif
#ifdef SYS_epoll_pwait2
		SYS_epoll_pwait2,
#endif
#ifdef SYS_semop
		SYS_semop,
#endif
#ifdef SYS_semtimedop
		SYS_semtimedop,
#endif
#ifdef SYS_semtimedop_time64
		SYS_semtimedop_time64,
#endif
#ifdef SYS_rt_sigtimedwait
		SYS_rt_sigtimedwait,
#endif
#ifdef SYS_rt_sigtimedwait_time64
		SYS_rt_sigtimedwait_time64,
#endif
#ifdef SYS_io_getevents
		SYS_io_getevents,
#endif
#ifdef SYS_io_pgetevents
		SYS_io_pgetevents,
#endif
	};

	if (nr < 0)
		return 0;
	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++)
		if (nrs[i] == nr)
			return 1;
	return 0;
}

/*
 * The system call TID is blocked in (/proc/PID/task/TID/syscall), with its
 * first argument in *ARG0 (may be NULL), or -1 when it runs user code.
 */
static long current_syscall(int pid, int tid, uint64_t *arg0)
{
	char path[64], buf[256];
	unsigned long long a0 = 0;
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && buf[0] != 'r' &&
	    sscanf(buf, "%ld %llx", &nr, &a0) < 1)
		nr = -1;
	fclose(f);
	if (arg0)
		*arg0 = a0;
	return nr;
}

/* The one epoll descriptor of process PID, or -1 if it has none or several. */
static long only_epoll_fd(int pid)
{
	char path[64], link[64];
	struct dirent *de;
	long fd = -1;
	int count = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)) && count < 2) {
		char full[64 + sizeof(de->d_name)];
		ssize_t n;

		snprintf(full, sizeof(full), "%s/%s", path, de->d_name);
		n = readlink(full, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (!strcmp(link, "anon_inode:[eventpoll]")) {
			fd = atol(de->d_name);
			count++;
		}
	}
	closedir(d);
	return count == 1 ? fd : -1;
}

/* A signal the program would take is pending for TID: not blocked, not ignored. */
static int signal_waiting(int pid, int tid)
{
	unsigned long long pnd = 0, shd = 0, blk = 0, ign = 0, v;
	char path[80], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return 1; /* unknown: assume it is the signal's doing */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "SigPnd: %llx", &v) == 1)
			pnd = v;
		else if (sscanf(line, "ShdPnd: %llx", &v) == 1)
			shd = v;
		else if (sscanf(line, "SigBlk: %llx", &v) == 1)
			blk = v;
		else if (sscanf(line, "SigIgn: %llx", &v) == 1)
			ign = v;
	}
	fclose(f);
	return ((pnd | shd) & ~blk & ~ign) != 0;
}

/*
 * TH has just stopped for our interrupt. If that stop cut short a wait the
 * kernel never restarts (it returned -EINTR, and no signal is waiting that
 * would have done so anyway), set the thread back on the system call
 * instruction with its arguments, so it waits again when let go, as if
 * the stop had not happened. The wait starts again with its full timeout.
 * On aarch64 the first argument is gone from the registers: it comes from
 * what /proc showed before the seize, or from the process's only epoll
 * descriptor; without either the EINTR stays (logged).
 */
static void redo_cut_wait(struct inj_task *t, struct thr *th)
{
	struct inj_regs r;
	uint64_t arg0 = 0;
	int have = 0;
	long nr, fd;

	if (inj_regs_get(th->tid, &r) < 0 || !inj_arch_syscall_eintr(th->tid, &r, &nr) ||
	    !eintr_visible(nr) || signal_waiting(t->pid, th->tid))
		return;
	if (th->seen_nr == nr) {
		arg0 = th->seen_arg0;
		have = 1;
	} else if ((fd = only_epoll_fd(t->pid)) >= 0) {
		arg0 = (uint64_t)fd;
		have = 1;
	}
	if (inj_arch_syscall_redo(&r, have ? &arg0 : NULL) < 0 || inj_regs_set(th->tid, &r) < 0) {
		log_warn("thread %d of process %d: its system call %ld was cut short by the stop "
			 "and cannot be made again here: the program sees EINTR", th->tid, t->pid, nr);
		return;
	}
	log_debug("thread %d: system call %ld cut short by the stop, made again", th->tid, nr);
}

/* Keep the signal of a signal-delivery-stop so it can be given back. */
static void hold_signal(struct thr *th, int sig)
{
	siginfo_t si;

	if (pt(PTRACE_GETSIGINFO, th->tid, 0, (unsigned long)&si) < 0) {
		memset(&si, 0, sizeof(si));
		si.si_signo = sig;
		si.si_code = SI_USER;
	}
	if (!th->held.si_signo)
		th->held = si;
	else if (sig >= 1 && sig <= 64)
		th->resend |= 1ULL << (sig - 1);
}

static void on_clone(struct inj_task *t, size_t i)
{
	enum thr_state parent = t->thr[i].state;
	unsigned long child = 0;
	int tid = t->thr[i].tid;

	if (pt(PTRACE_GETEVENTMSG, tid, 0, (unsigned long)&child) == 0 && child > 0) {
		struct thr *c = find(t, (int)child);

		if (!c || c->state == THR_GONE)
			c = add(t, (int)child, THR_NEW);
		/*
		 * A thread the remote call starts (the agent's own) holds none of the
		 * program's locks and the call may wait for it: it runs at once.
		 */
		if (c)
			c->run = parent == THR_CALL;
		log_debug("thread %d cloned thread %lu", tid, child);
	}
	resume(find(t, tid), 0); /* add() may have moved the array */
	if (parent == THR_STOPPING)
		pt(PTRACE_INTERRUPT, tid, 0, 0);
}

/*
 * A system call stop of a thread run with PTRACE_SYSCALL. Entry and exit
 * stops look alike: the thread's own count tells them apart. A thread that
 * is being stopped stops at an entry: the call is cancelled and the thread
 * set back on its instruction, so it is stopped as if just before it and
 * makes the call when it goes on (a remote call can run there too). A
 * running thread is stopped that way at the entry of a wait that any later
 * stop would cut short with EINTR; other calls go on. At an exit, a thread
 * being stopped goes on, to be stopped again outside.
 */
static void serve_syscall(struct thr *th)
{
	struct inj_regs r;
	long nr;

	if (th->in_sys) {
		th->in_sys = 0;
		resume(th, 0);
		if (th->state == THR_STOPPING)
			pt(PTRACE_INTERRUPT, th->tid, 0, 0);
		return;
	}
	nr = inj_regs_get(th->tid, &r) == 0 ? inj_arch_syscall_nr(&r) : -1;
	if (th->state != THR_STOPPING && !eintr_visible(nr)) {
		th->in_sys = 1;
		resume(th, 0);
		return;
	}
	th->state = THR_STOPPED;
	th->tracesys = 0;
	/* restart_syscall continues from a block a remote call could overwrite. */
	if (nr >= 0 && nr != SYS_restart_syscall && inj_arch_syscall_cancel(th->tid, &r) == 0 &&
	    inj_regs_set(th->tid, &r) == 0) {
		th->before_nr = nr;
		th->skip_exit = 1;
	} else {
		log_debug("thread %d: held at the entry of system call %ld", th->tid, nr);
		th->at_entry = 1;
	}
}

/* An event of a thread that is not running a call. */
static void serve(struct inj_task *t, size_t i, int st)
{
	struct thr *th = &t->thr[i];
	int sig = WSTOPSIG(st), ev = (unsigned)st >> 16;

	if (syscall_stop(st) && th->tracesys &&
	    (th->state == THR_RUNNING || th->state == THR_STOPPING)) {
		serve_syscall(th);
		return;
	}
	switch (th->state) {
	case THR_STOPPING:
	case THR_NEW:
		if (ev == 0)
			hold_signal(th, sig);
		th->group_stop = ev == PTRACE_EVENT_STOP && sig != SIGTRAP;
		th->state = THR_STOPPED;
		th->tracesys = th->in_sys = 0;
		if (ev == PTRACE_EVENT_STOP && sig == SIGTRAP)
			redo_cut_wait(t, th);
		if ((t->others_run || th->run) && !th->group_stop) {
			/* A thread born while the others run, or of the call: let it run too. */
			th->tracesys = 0;
			let_go(t, th);
		}
		break;
	case THR_RUNNING:
		if (ev == PTRACE_EVENT_STOP && sig != SIGTRAP) {
			th->group_stop = 1;
			th->state = THR_STOPPED;
			th->tracesys = th->in_sys = 0;
		} else {
			resume(th, ev == 0 ? sig : 0);
		}
		break;
	default:
		break;
	}
}

/*
 * One pass over every thread, serving what is pending. Returns 1 with
 * *STATUS when CALL_TID has an event for the caller; *ANY tells whether
 * anything happened.
 */
static int poll_once(struct inj_task *t, int call_tid, int *status, int *any)
{
	for (size_t i = 0; i < t->n; i++) {
		int st, r, tid = t->thr[i].tid;

		/* Stopped threads have nothing to say but their death, seen at detach. */
		if (t->thr[i].state == THR_GONE || t->thr[i].state == THR_STOPPED)
			continue;
		r = waitpid(tid, &st, __WALL | WNOHANG);
		if (r == 0)
			continue;
		*any = 1;
		if (r < 0 || WIFEXITED(st) || WIFSIGNALED(st)) {
			/* ECHILD: not ours any more. Either way it is gone. */
			t->thr[i].state = THR_GONE;
			if (r > 0)
				log_debug("thread %d ended (status %#x)", tid, st);
			if (tid == call_tid && r > 0) {
				*status = st;
				return 1;
			}
			continue;
		}
		if (!WIFSTOPPED(st))
			continue;
		t->thr[i].signal_stop = ((unsigned)st >> 16) == 0 && !syscall_stop(st);
		if (((unsigned)st >> 16) == PTRACE_EVENT_CLONE) {
			on_clone(t, i);
			continue;
		}
		if (tid == call_tid && t->thr[i].state == THR_CALL) {
			t->thr[i].state = THR_STOPPED;
			*status = st;
			return 1;
		}
		serve(t, i, st);
	}
	return 0;
}

static int sleep_chld(int64_t deadline)
{
	int64_t left = deadline - inj_now_ns();
	struct timespec ts;
	sigset_t s;

	if (left <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (left > MAX_SLEEP_NS)
		left = MAX_SLEEP_NS;
	ts.tv_sec = left / NS_PER_S;
	ts.tv_nsec = left % NS_PER_S;
	sigemptyset(&s);
	sigaddset(&s, SIGCHLD);
	if (sigtimedwait(&s, NULL, &ts) < 0 && errno != EAGAIN && errno != EINTR)
		return -1;
	return 0;
}

static int pending_stops(const struct inj_task *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->thr[i].state == THR_STOPPING || t->thr[i].state == THR_NEW)
			return 1;
	return 0;
}

/* Serve events until no thread is on its way to a stop. */
static int wait_stopped(struct inj_task *t, int64_t deadline)
{
	while (pending_stops(t)) {
		int any = 0, st;

		poll_once(t, 0, &st, &any);
		if (any || !pending_stops(t))
			continue;
		if (sleep_chld(deadline) < 0) {
			for (size_t i = 0; i < t->n; i++)
				if (t->thr[i].state == THR_STOPPING || t->thr[i].state == THR_NEW)
					log_debug("thread %d did not stop", t->thr[i].tid);
			return -1;
		}
	}
	return 0;
}

static char proc_state(int pid, int tid)
{
	char path[64], buf[256], *p;
	FILE *f;
	char c = '?';

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return c;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ')
		c = p[2];
	fclose(f);
	return c;
}

/*
 * Seize and interrupt the listed threads not held yet. Returns how many, or
 * -1; *SKIPPED counts threads refused while others were seized: a thread
 * that is exiting refuses with EPERM until it is gone.
 */
static int seize_listed(struct inj_task *t, int *skipped)
{
	char path[64];
	struct dirent *de;
	int fresh = 0;
	DIR *d;

	*skipped = 0;
	t->spared = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", t->pid);
	d = opendir(path);
	if (!d) {
		if (errno == ENOENT)
			errno = ESRCH;
		return -1;
	}
	while ((de = readdir(d))) {
		int tid = atoi(de->d_name);
		struct thr *th = tid > 0 ? find(t, tid) : NULL;
		uint64_t arg0;
		long seen;

		if (tid <= 0 || (th && th->state != THR_GONE))
			continue;
		seen = current_syscall(t->pid, tid, &arg0);
		if (t->spare_waiters && eintr_visible(seen)) {
			log_debug("thread %d waits in system call %ld, which a stop would cut short: "
				  "left alone", tid, seen);
			t->spared++;
			continue;
		}
		if (pt(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACECLONE | PTRACE_O_TRACESYSGOOD) < 0) {
			if (errno == ESRCH)
				continue;
			/* A main thread that called pthread_exit stays a zombie. */
			if (errno == EPERM && tid == t->pid && t->n == 0 &&
			    proc_state(t->pid, tid) == 'Z') {
				log_debug("thread %d is a zombie, skipped", tid);
				continue;
			}
			if (errno == EPERM && inj_task_threads(t)) {
				(*skipped)++;
				continue;
			}
			log_debug("PTRACE_SEIZE %d: %s", tid, strerror(errno));
			closedir(d);
			return -1;
		}
		th = add(t, tid, THR_STOPPING);
		if (!th) {
			pt(PTRACE_DETACH, tid, 0, 0);
			closedir(d);
			errno = ENOMEM;
			return -1;
		}
		th->seen_nr = seen;
		th->seen_arg0 = arg0;
		if (pt(PTRACE_INTERRUPT, tid, 0, 0) < 0 && errno != ESRCH) {
			log_debug("PTRACE_INTERRUPT %d: %s", tid, strerror(errno));
			closedir(d);
			return -1;
		}
		fresh++;
	}
	closedir(d);
	return fresh;
}

struct inj_task *inj_seize(int pid, int timeout_ms)
{
	int64_t deadline = inj_now_ns() + (int64_t)timeout_ms * 1000000;
	struct inj_task *t = calloc(1, sizeof(*t));
	sigset_t chld;
	int e;

	if (!t)
		return NULL;
	t->pid = pid;
	t->spare_waiters = 1;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &t->old_mask);
	/* Until a pass over /proc/PID/task finds nobody new with everyone stopped. */
	for (int pass = 0;; pass++) {
		int skipped, fresh = seize_listed(t, &skipped);

		if (fresh < 0 || wait_stopped(t, deadline) < 0)
			goto fail;
		if (!inj_task_threads(t) && t->spared) {
			/* Every thread waits so: they have to be stopped, and each
			 * wait the stop cuts short is made again (redo_cut_wait). */
			log_debug("every thread of process %d waits in a call a stop cuts short: "
				  "stopped all the same, each wait is made again", pid);
			t->spare_waiters = 0;
			continue;
		}
		if (!inj_task_threads(t)) {
			errno = ESRCH;
			goto fail;
		}
		if (skipped) {
			/* Exiting threads: look again until they are gone. */
			if (inj_now_ns() > deadline) {
				errno = EPERM;
				goto fail;
			}
			usleep(200);
			continue;
		}
		if (!fresh && pass > 0)
			break;
	}
	log_debug("seized %zu threads of %d", inj_task_threads(t), pid);
	return t;
fail:
	e = errno;
	inj_release(t);
	errno = e;
	return NULL;
}

/* ---------------------------------------------------------------- state */

size_t inj_task_info(struct inj_task *t, struct inj_thread_info *v, size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct thr *th = &t->thr[i];

		if (th->state != THR_STOPPED)
			continue;
		if (k < max) {
			v[k].tid = th->tid;
			v[k].main = th->tid == t->pid;
			v[k].group_stop = th->group_stop;
			v[k].at_entry = th->at_entry;
			v[k].syscall = th->before_nr >= 0 ? th->before_nr :
				       current_syscall(t->pid, th->tid, NULL);
		}
		k++;
	}
	return k;
}

/*
 * Let every stopped thread run (a thread held at the entry of a wait that
 * a stop would cut short stays held, and so does a group-stopped process)
 * under PTRACE_SYSCALL: a thread that enters a system call stops at its
 * entry, before it began, and is held there if it is such a wait; other
 * calls go on. After MS milliseconds the threads still running are
 * interrupted: they are then in user code or in a call that restarts.
 */
int inj_task_run_a_moment(struct inj_task *t, int ms, int64_t deadline_ns)
{
	int64_t until = inj_now_ns() + (int64_t)ms * 1000000;
	int ran = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct thr *th = &t->thr[i];

		/* Stopped before a wait: going on would only stop it there again. */
		if (th->state != THR_STOPPED || th->group_stop || th->at_entry ||
		    eintr_visible(th->before_nr))
			continue;
		th->tracesys = 1;
		if (let_go(t, th) == 0)
			ran++;
	}
	if (!ran)
		return 0;
	while (inj_now_ns() < until) {
		int any = 0, st;

		poll_once(t, 0, &st, &any);
		if (!any && sleep_chld(until) < 0 && errno != ETIMEDOUT)
			break;
	}
	for (size_t i = 0; i < t->n; i++) {
		struct thr *th = &t->thr[i];

		if (th->state != THR_RUNNING)
			continue;
		if (pt(PTRACE_INTERRUPT, th->tid, 0, 0) < 0 && errno == ESRCH)
			th->state = THR_GONE;
		else
			th->state = THR_STOPPING;
	}
	return wait_stopped(t, deadline_ns);
}

int inj_task_follow_clones(struct inj_task *t, int tid, int on)
{
	struct thr *th = find(t, tid);

	if (!th || th->state != THR_STOPPED) {
		errno = ESRCH;
		return -1;
	}
	return pt(PTRACE_SETOPTIONS, tid, 0, PTRACE_O_TRACESYSGOOD | (on ? PTRACE_O_TRACECLONE : 0)) < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- calls */

int inj_task_cont(struct inj_task *t, int tid)
{
	struct thr *th = find(t, tid);

	if (!th || th->state != THR_STOPPED) {
		errno = ESRCH;
		return -1;
	}
	if (pt(PTRACE_CONT, tid, 0, 0) < 0)
		return -1;
	th->state = THR_CALL;
	th->signal_stop = 0;
	th->tracesys = th->in_sys = th->skip_exit = 0;
	th->before_nr = -1;
	return 0;
}

int inj_task_interrupt(struct inj_task *t, int tid)
{
	(void)t;
	return pt(PTRACE_INTERRUPT, tid, 0, 0) < 0 ? -1 : 0;
}

int inj_task_wait(struct inj_task *t, int tid, int64_t deadline_ns, int *status)
{
	for (;;) {
		struct thr *th;
		int any = 0;

		if (poll_once(t, tid, status, &any))
			return 0;
		th = find(t, tid);
		if (!th || th->state == THR_GONE) {
			errno = ECHILD;
			return -1;
		}
		if (!any && sleep_chld(deadline_ns) < 0)
			return -1;
	}
}

int inj_task_resume_others(struct inj_task *t, int tid)
{
	int ret = 0;

	t->others_run = 1;
	for (size_t i = 0; i < t->n; i++) {
		struct thr *th = &t->thr[i];

		if (th->tid == tid || th->state != THR_STOPPED || th->group_stop)
			continue;
		th->tracesys = 0;
		if (let_go(t, th) < 0) {
			ret = -1;
			continue;
		}
	}
	log_debug("threads other than %d let run", tid);
	return ret;
}

void inj_task_defer_signal(struct inj_task *t, int tid, const siginfo_t *info)
{
	struct thr *th = find(t, tid);
	int sig = info->si_signo;

	if (!th)
		return;
	if (!th->held.si_signo)
		th->held = *info;
	else if (sig >= 1 && sig <= 64)
		th->resend |= 1ULL << (sig - 1);
}

/* ---------------------------------------------------------------- release */

static int detach(struct inj_task *t, struct thr *th)
{
	int sig = th->held.si_signo, ret = 0;

	if (sig && th->signal_stop) {
		/* The latest stop may be another signal's: put the held one's siginfo back. */
		pt(PTRACE_SETSIGINFO, th->tid, 0, (unsigned long)&th->held);
	} else if (sig) {
		/* Signals can be given only at a signal-delivery-stop: send it again. */
		th->resend |= 1ULL << (sig - 1);
		sig = 0;
	}
	if (pt(PTRACE_DETACH, th->tid, 0, (unsigned long)sig) < 0 && errno != ESRCH) {
		log_debug("PTRACE_DETACH %d: %s", th->tid, strerror(errno));
		ret = -1;
	}
	for (int s = 1; s <= 64; s++)
		if (th->resend & (1ULL << (s - 1)))
			syscall(SYS_tgkill, t->pid, th->tid, s);
	th->state = THR_GONE;
	return ret;
}

void inj_task_leave_running(struct inj_task *t)
{
	t->leave_running = 1;
}

int inj_release(struct inj_task *t)
{
	int64_t deadline = inj_now_ns() + RELEASE_TIMEOUT_NS;
	int ret = 0;

	if (!t)
		return 0;
	for (size_t i = 0; i < t->n; i++) {
		struct thr *th = &t->thr[i];

		th->run = 0;
		if (th->state == THR_RUNNING && t->leave_running) {
			/* Its events still go through poll_once below while others stop. */
			continue;
		}
		if (th->state == THR_RUNNING || th->state == THR_CALL) {
			if (pt(PTRACE_INTERRUPT, th->tid, 0, 0) < 0 && errno == ESRCH)
				th->state = THR_GONE;
			else
				th->state = THR_STOPPING;
		}
	}
	/* Events already pending are served, held signals recorded. */
	t->others_run = 0;
	if (wait_stopped(t, deadline) < 0)
		ret = log_err("process %d: some threads did not stop again; they are "
			      "detached when this process exits", t->pid);
	for (size_t i = 0; i < t->n; i++) {
		struct thr *th = &t->thr[i];

		if (th->state == THR_STOPPED && detach(t, th) < 0)
			ret = -1;
	}
	pthread_sigmask(SIG_SETMASK, &t->old_mask, NULL);
	free(t->thr);
	free(t);
	return ret;
}
