/*
 * inj_load_agent(): the checks, then seize, remote dlopen, remote
 * memtrace_agent_start, release; every failure gets a kind and a sentence
 * that names the cause and the fix.
 *
 * The ptrace work runs in a helper child. A tracer that dies in the middle
 * of a remote call leaves the target running our call with a return address
 * of 0, which kills it; memtrace itself may be killed at any moment (the
 * user's SIGKILL, a terminal closed), the helper is not: it has every signal
 * blocked and its own session, finishes or backs out, detaches, and reports
 * through a pipe. When it finds memtrace gone before the agent was started,
 * it unloads the agent instead of starting it.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "injector/inject.h"
#include "injector/loader.h"
#include "log.h"
#include "injector/ptrace.h"
#include "injector/remote.h"
#include "proto.h"
#include "injector/safepoint.h"
#include "util.h"

#define CAP_SYS_PTRACE_BIT 19
/* How long to look for a safe point (a quarter of the step timeout, within these). */
#define SAFEPOINT_MIN_MS 200
#define SAFEPOINT_MAX_MS 2500
#define SEGV_CPERR_CODE 10 /* control-protection fault: a shadow-stack mismatch */

struct job {
	int pid;
	const char *agent;
	const char *config;
	int timeout_ms;
	pid_t parent;
};

const char *inj_kind_name(enum inj_kind kind)
{
	static const char *const names[] = {
		[INJ_OK] = "INJ_OK",
		[INJ_ALREADY_LOADED] = "INJ_ALREADY_LOADED",
		[INJ_NO_SUCH_PROCESS] = "INJ_NO_SUCH_PROCESS",
		[INJ_PERMISSION] = "INJ_PERMISSION",
		[INJ_ALREADY_TRACED] = "INJ_ALREADY_TRACED",
		[INJ_STATIC] = "INJ_STATIC",
		[INJ_WRONG_ARCH] = "INJ_WRONG_ARCH",
		[INJ_NO_DLOPEN] = "INJ_NO_DLOPEN",
		[INJ_AGENT_MISSING] = "INJ_AGENT_MISSING",
		[INJ_AGENT_WRONG_ARCH] = "INJ_AGENT_WRONG_ARCH",
		[INJ_NOEXEC] = "INJ_NOEXEC",
		[INJ_SECCOMP] = "INJ_SECCOMP",
		[INJ_DLOPEN_FAILED] = "INJ_DLOPEN_FAILED",
		[INJ_AGENT_FAILED] = "INJ_AGENT_FAILED",
		[INJ_TIMEOUT] = "INJ_TIMEOUT",
		[INJ_CALL_CRASHED] = "INJ_CALL_CRASHED",
		[INJ_BUSY] = "INJ_BUSY",
		[INJ_INTERNAL] = "INJ_INTERNAL",
	};

	if ((unsigned)kind < sizeof(names) / sizeof(names[0]) && names[kind])
		return names[kind];
	return "INJ_UNKNOWN";
}

static void set(struct inj_result *res, enum inj_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set(struct inj_result *res, enum inj_kind kind, const char *fmt, ...)
{
	va_list ap;

	res->kind = kind;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
}

static int64_t us_since(int64_t t0)
{
	return (inj_now_ns() - t0) / 1000;
}

/* ---------------------------------------------------------------- /proc facts */

struct proc_status {
	int tgid, tracer, seccomp;
	char state;
	unsigned uid[3], gid[3];
};

static int read_status(int pid, struct proc_status *ps)
{
	char path[64], line[256];
	FILE *f;

	memset(ps, 0, sizeof(*ps));
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "State: %c", &ps->state);
		sscanf(line, "Tgid: %d", &ps->tgid);
		sscanf(line, "TracerPid: %d", &ps->tracer);
		sscanf(line, "Seccomp: %d", &ps->seccomp);
		sscanf(line, "Uid: %u %u %u", &ps->uid[0], &ps->uid[1], &ps->uid[2]);
		sscanf(line, "Gid: %u %u %u", &ps->gid[0], &ps->gid[1], &ps->gid[2]);
	}
	fclose(f);
	return 0;
}

static void read_comm(int pid, char *buf, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(buf, size, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static int yama_scope(void)
{
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	int scope = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &scope) != 1)
		scope = -1;
	fclose(f);
	return scope;
}

static int have_cap_ptrace(void)
{
	char caps[32];

	if (proc_status_value("/proc/self/status", "CapEff:", caps, sizeof(caps)) < 0)
		return 0;
	return !!(strtoull(caps, NULL, 16) & (1ULL << CAP_SYS_PTRACE_BIT));
}

static void user_name(unsigned uid, char *buf, size_t size)
{
	struct passwd pw, *p = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &p) == 0 && p)
		snprintf(buf, size, "%s (uid %u)", p->pw_name, uid);
	else
		snprintf(buf, size, "uid %u", uid);
}

/* ---------------------------------------------------------------- explanations */

static void explain_permission(int pid, struct inj_result *res)
{
	struct proc_status ps;
	int scope = yama_scope(), cap = have_cap_ptrace();
	unsigned me = getuid(), gme = getgid();
	char them[96], us[96];

	read_status(pid, &ps);
	if (ps.tracer) {
		/* Lost a race with another tracer: say that instead. */
		res->tracer_pid = ps.tracer;
		read_comm(ps.tracer, them, sizeof(them));
		set(res, INJ_ALREADY_TRACED, "process %d is already traced by process %d (%s), a "
		    "debugger or another memtrace: detach that one first", pid, ps.tracer, them);
		return;
	}
	user_name(ps.uid[1], them, sizeof(them));
	user_name(me, us, sizeof(us));
	if (scope == 3)
		set(res, INJ_PERMISSION, "ptrace is disabled on this system "
		    "(kernel.yama.ptrace_scope is 3) until the next reboot");
	else if (!cap && (ps.uid[0] != me || ps.uid[1] != me || ps.uid[2] != me ||
			  ps.gid[0] != gme || ps.gid[1] != gme || ps.gid[2] != gme))
		set(res, INJ_PERMISSION, "process %d runs as user %s and memtrace as %s: run "
		    "memtrace as root or as that user", pid, them, us);
	else if (!cap && scope == 2)
		set(res, INJ_PERMISSION, "kernel.yama.ptrace_scope is 2: only processes with "
		    "CAP_SYS_PTRACE may attach; run memtrace as root");
	else if (!cap && scope == 1)
		set(res, INJ_PERMISSION, "kernel.yama.ptrace_scope is 1: only a process's ancestors "
		    "may attach to it; set it to 0 (echo 0 > /proc/sys/kernel/yama/ptrace_scope, as "
		    "root) or run memtrace as root");
	else if (!cap)
		set(res, INJ_PERMISSION, "process %d is not dumpable (a setuid or setgid program, or "
		    "it called prctl(PR_SET_DUMPABLE, 0)): run memtrace as root", pid);
	else
		set(res, INJ_PERMISSION, "ptrace of process %d was refused although memtrace has "
		    "CAP_SYS_PTRACE: a security module (AppArmor, SELinux) or kernel lockdown "
		    "denies it; see the kernel log (dmesg)", pid);
}

/* "SEGV" for SIGSEGV, without relying on glibc's sigabbrev_np. */
static const char *signame(int sig)
{
	static const struct { int sig; const char *name; } names[] = {
		{ SIGSEGV, "SEGV" }, { SIGBUS, "BUS" }, { SIGILL, "ILL" }, { SIGFPE, "FPE" },
		{ SIGTRAP, "TRAP" }, { SIGABRT, "ABRT" }, { SIGSYS, "SYS" }, { SIGKILL, "KILL" },
		{ SIGTERM, "TERM" }, { SIGINT, "INT" }, { SIGHUP, "HUP" }, { SIGQUIT, "QUIT" },
		{ SIGPIPE, "PIPE" }, { SIGUSR1, "USR1" }, { SIGUSR2, "USR2" },
	};
	static char other[16];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].sig == sig)
			return names[i].name;
	snprintf(other, sizeof(other), "%d", sig);
	return other;
}

/* " in /lib/x.so+0x1234" for the mapping of PID that holds PC, in BUF (empty when none). */
static const char *where(int pid, uint64_t pc, char *buf, size_t len)
{
	struct inj_maps m;

	buf[0] = '\0';
	if (inj_maps_read(pid, &m) < 0)
		return buf;
	for (size_t i = 0; i < m.n; i++)
		if (pc >= m.v[i].start && pc < m.v[i].end && m.v[i].path[0]) {
			snprintf(buf, len, " in %s+%#" PRIx64, m.v[i].path, pc - m.v[i].start + m.v[i].offset);
			break;
		}
	inj_maps_free(&m);
	return buf;
}

/* A remote call that did not return normally. */
static void call_failed(const struct job *j, int tid, const char *what,
			enum inj_call_status st, const struct inj_call_fault *f,
			struct inj_result *res)
{
	char in[300];

	switch (st) {
	case INJ_CALL_FAULT:
		set(res, INJ_CALL_CRASHED, "the remote call to %s crashed in thread %d of process %d "
		    "(SIG%s, code %d, at pc %#" PRIx64 "%s, address %#" PRIx64 ")%s; the thread's "
		    "registers were restored, but what the call left half done may still affect "
		    "the process", what, tid, j->pid, signame(f->sig), f->code, f->pc,
		    where(j->pid, f->pc, in, sizeof(in)), f->addr,
		    f->sig == SIGSEGV && f->code == SEGV_CPERR_CODE ?
		    " (a shadow-stack violation: remote calls do not support CET shadow stacks)" : "");
		break;
	case INJ_CALL_SECCOMP:
		set(res, INJ_SECCOMP, "a seccomp filter in process %d refused system call %d during "
		    "the call to %s, which was made to fail so the process is left as it was: the "
		    "agent cannot be loaded into it; start the program under memtrace instead",
		    j->pid, f->syscall, what);
		break;
	case INJ_CALL_TIMEOUT:
		set(res, INJ_TIMEOUT, "the call to %s in thread %d of process %d did not complete "
		    "within %d.%03d s: it was abandoned and the thread restored, but it may have "
		    "left a lock taken; try again, or with a longer --timeout", what, tid, j->pid,
		    j->timeout_ms / 1000, j->timeout_ms % 1000);
		break;
	case INJ_CALL_GONE:
		set(res, INJ_NO_SUCH_PROCESS, "process %d ended during the call to %s%s%s", j->pid,
		    what, f->sig ? " (killed by SIG" : "", f->sig ? signame(f->sig) : "");
		if (f->sig)
			strncat(res->message, ")", sizeof(res->message) - strlen(res->message) - 1);
		break;
	default:
		set(res, INJ_INTERNAL, "the remote call to %s in thread %d of process %d failed: %s",
		    what, tid, j->pid, strerror(errno));
		break;
	}
}

/* ---------------------------------------------------------------- steps */

/* Process-level checks before anything is touched. 0, or -1 with RES set. */
static int check_process(struct job *j, struct inj_elf_info *exe, struct inj_result *res)
{
	struct inj_elf_info self;
	struct proc_status ps;
	char path[64], comm[64];

	if (j->pid <= 0 || read_status(j->pid, &ps) < 0) {
		set(res, INJ_NO_SUCH_PROCESS, "no process %d", j->pid);
		return -1;
	}
	if (ps.tgid > 0 && ps.tgid != j->pid) {
		log_info("%d is a thread of process %d: loading the agent into that", j->pid, ps.tgid);
		j->pid = ps.tgid;
		res->pid = ps.tgid;
	}
	if (j->pid == getpid() || j->pid == j->parent) {
		set(res, INJ_INTERNAL, "process %d is memtrace itself", j->pid);
		return -1;
	}
	if (ps.state == 'Z' || ps.state == 'X') {
		set(res, INJ_NO_SUCH_PROCESS, "process %d has ended (a zombie waiting for its parent)",
		    j->pid);
		return -1;
	}
	if (ps.tracer) {
		res->tracer_pid = ps.tracer;
		read_comm(ps.tracer, comm, sizeof(comm));
		set(res, INJ_ALREADY_TRACED, "process %d is already traced by process %d (%s), a "
		    "debugger or another memtrace: detach that one first", j->pid, ps.tracer, comm);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", j->pid);
	if (inj_elf_info(path, exe) < 0) {
		int e = errno;

		read_comm(j->pid, comm, sizeof(comm));
		if (e == EACCES || e == EPERM)
			explain_permission(j->pid, res);
		else if (e == ENOENT && read_status(j->pid, &ps) == 0)
			set(res, INJ_STATIC, "process %d (%s) is a kernel thread", j->pid, comm);
		else if (e == ENOENT)
			set(res, INJ_NO_SUCH_PROCESS, "process %d has ended", j->pid);
		else
			set(res, INJ_INTERNAL, "cannot read the executable of process %d (%s): %s",
			    j->pid, comm, strerror(e));
		return -1;
	}
	if (inj_elf_info("/proc/self/exe", &self) < 0) {
		set(res, INJ_INTERNAL, "cannot read memtrace's own executable: %s", strerror(errno));
		return -1;
	}
	if (exe->machine != self.machine || exe->elf_class != self.elf_class) {
		char ours[32];

		snprintf(ours, sizeof(ours), "%s", inj_machine_name(self.machine));
		set(res, INJ_WRONG_ARCH, "process %d is a %s program (%d-bit) and this memtrace is "
		    "built for %s (%d-bit): use a memtrace built for the target's architecture",
		    j->pid, inj_machine_name(exe->machine), exe->elf_class == ELFCLASS64 ? 64 : 32,
		    ours, self.elf_class == ELFCLASS64 ? 64 : 32);
		return -1;
	}
	return 0;
}

static void seize_failed(const struct job *j, int e, struct inj_result *res)
{
	struct proc_status ps;

	if (e == ESRCH || read_status(j->pid, &ps) < 0)
		set(res, INJ_NO_SUCH_PROCESS, "process %d has ended", j->pid);
	else if (e == EPERM && (ps.state == 'Z' || ps.state == 'X'))
		set(res, INJ_NO_SUCH_PROCESS, "process %d has ended (a zombie waiting for its "
		    "parent)", j->pid);
	else if (e == EPERM)
		explain_permission(j->pid, res);
	else if (e == ETIMEDOUT)
		set(res, INJ_TIMEOUT, "not every thread of process %d stopped within %d.%03d s (one "
		    "may be in uninterruptible sleep, e.g. on a network filesystem, or in vfork): "
		    "nothing was done", j->pid, j->timeout_ms / 1000, j->timeout_ms % 1000);
	else
		set(res, INJ_INTERNAL, "seizing process %d: %s", j->pid, strerror(e));
}

/* Did memtrace end? Then nothing more is done to the target. */
static int caller_gone(const struct job *j)
{
	return getppid() != j->parent;
}

/* The agent is loaded but will not run: unload it again (best effort). */
static void unload(struct inj_call *call, const struct inj_libc *lc, uint64_t handle,
		   int timeout_ms)
{
	struct inj_arg a = { handle, NULL };
	uint64_t r;

	if (!lc->dlclose ||
	    inj_call(call, lc->dlclose, &a, 1, timeout_ms, &r, NULL) != INJ_CALL_OK)
		log_warn("the agent could not be unloaded again; it stays idle in the process");
}


/*
 * A dlopen that failed half way (a segment mapped, the next refused) can
 * leave mappings of the agent behind: unmap them, so the process is left as
 * it was found. Best effort.
 */
static void unmap_leftovers(const struct job *j, struct inj_call *call, const struct inj_libc *lc,
			    const struct inj_agent *agent)
{
	struct inj_maps maps;
	const struct inj_map *m;
	size_t from = 0;

	if (!lc->munmap || inj_maps_read(j->pid, &maps) < 0)
		return;
	while ((m = inj_agent_mapping_from(&maps, agent, from))) {
		struct inj_arg a[2] = { { m->start, NULL }, { m->end - m->start, NULL } };
		uint64_t r;

		if (inj_call(call, lc->munmap, a, 2, j->timeout_ms, &r, NULL) != INJ_CALL_OK || r)
			log_debug("could not unmap %#llx-%#llx of the agent in process %d",
				  (unsigned long long)m->start, (unsigned long long)m->end, j->pid);
		from = (size_t)(m - maps.v) + 1;
	}
	inj_maps_free(&maps);
}

static void load(struct job *j, const struct inj_agent *agent, struct inj_libc *lc,
		 struct inj_call *call, struct inj_result *res)
{
	struct inj_arg args[2] = { { 0, agent->path }, { lc->dlopen_flags, NULL } };
	int tid = inj_call_tid(call);
	struct inj_call_fault f;
	enum inj_call_status st;
	const struct inj_map *am;
	struct inj_module mod;
	struct inj_maps maps;
	uint64_t handle, start, r;
	int64_t t;
	int found;

	if (caller_gone(j)) {
		set(res, INJ_INTERNAL, "memtrace ended before the agent was loaded: nothing was done");
		return;
	}
	t = inj_now_ns();
	st = inj_call(call, lc->dlopen, args, 2, j->timeout_ms, &handle, &f);
	res->dlopen_us = us_since(t);
	if (st != INJ_CALL_OK) {
		call_failed(j, tid, lc->dlopen_name, st, &f, res);
		return;
	}
	if (!handle)
		unmap_leftovers(j, call, lc, agent);
	if (!handle && f.sig == SIGSYS) {
		/* Refused system calls were failed with EPERM: dlopen gave up cleanly. */
		call_failed(j, tid, lc->dlopen_name, INJ_CALL_SECCOMP, &f, res);
		return;
	}
	if (!handle) {
		char text[512] = "";
		struct proc_status ps;

		if (lc->dlerror && inj_call(call, lc->dlerror, NULL, 0, j->timeout_ms, &r, &f) ==
		    INJ_CALL_OK && r)
			inj_peek_string(tid, r, text, sizeof(text));
		read_status(j->pid, &ps);
		set(res, INJ_DLOPEN_FAILED, "%s of %s failed in process %d: %s%s", lc->dlopen_name,
		    agent->path, j->pid, text[0] ? text : "no reason given (no dlerror in this libc)",
		    ps.seccomp ? " (the process runs under a seccomp filter, which may refuse "
		    "mmap or openat)" : "");
		return;
	}
	log_debug("agent loaded in process %d: handle %#" PRIx64, j->pid, handle);
	if (caller_gone(j)) {
		unload(call, lc, handle, j->timeout_ms);
		set(res, INJ_INTERNAL, "memtrace ended before the agent was started: it was "
		    "unloaded again");
		return;
	}
	if (inj_maps_read(j->pid, &maps) < 0) {
		set(res, INJ_INTERNAL, "reading the mappings of process %d: %s", j->pid,
		    strerror(errno));
		return;
	}
	am = inj_agent_mapping(&maps, agent);
	found = am && inj_module_of(&maps, am, &mod) == 0 ?
		inj_module_sym(j->pid, &mod, "memtrace_agent_start", &start, NULL) : 0;
	inj_maps_free(&maps);
	if (found <= 0) {
		unload(call, lc, handle, j->timeout_ms);
		set(res, INJ_AGENT_FAILED, "%s does not export memtrace_agent_start: not a memtrace "
		    "agent (it was unloaded again)", agent->path);
		return;
	}
	args[0].str = j->config ? j->config : "";
	t = inj_now_ns();
	st = inj_call(call, start, args, 1, j->timeout_ms, &r, &f);
	res->start_us = us_since(t);
	if (st != INJ_CALL_OK) {
		call_failed(j, tid, "memtrace_agent_start", st, &f, res);
		return;
	}
	res->agent_ret = (int32_t)(uint32_t)r;
	if (res->agent_ret == AGENT_START_NAME_TAKEN) {
		unload(call, lc, handle, j->timeout_ms);
		set(res, INJ_AGENT_FAILED, "the agent's socket names (@memtrace-agent.%d and its "
		    "namespace's twin) are bound by another process: another user may have taken "
		    "them first (`ss -xlp | grep memtrace-agent.%d` shows who); the agent was "
		    "unloaded again and the process is as it was", j->pid, j->pid);
		return;
	}
	if (res->agent_ret != 0) {
		unload(call, lc, handle, j->timeout_ms);
		set(res, INJ_AGENT_FAILED, "the agent could not start in process %d "
		    "(memtrace_agent_start returned %d; its reason is on the process's stderr) "
		    "and was unloaded again", j->pid, res->agent_ret);
		return;
	}
	set(res, INJ_OK, "agent %s started in process %d (thread %d)", agent->path, j->pid, tid);
}

/*
 * The thread for the remote calls: one at a safe point (safepoint.h),
 * searched for at most a quarter of the step timeout, within 0.2-2.5 s.
 * -1 with RES set when there is none.
 */
static int pick(const struct job *j, struct inj_task *task, const struct inj_maps *maps,
		const char *interp, struct inj_result *res)
{
	struct inj_safepoint_stats st;
	struct inj_codemap *cm = inj_codemap_new(j->pid, maps, interp);
	int budget = j->timeout_ms / 4, tid;
	char why[sizeof(res->message)];

	if (!cm) {
		set(res, INJ_INTERNAL, "reading the code of process %d: %s", j->pid, strerror(errno));
		return -1;
	}
	if (budget < SAFEPOINT_MIN_MS)
		budget = SAFEPOINT_MIN_MS;
	if (budget > SAFEPOINT_MAX_MS)
		budget = SAFEPOINT_MAX_MS;
	tid = inj_safepoint_pick(task, cm, budget, why, sizeof(why), &st);
	inj_codemap_free(cm);
	res->safepoint_us = st.search_us;
	res->safepoint_looks = st.rounds;
	if (tid < 0) {
		set(res, INJ_BUSY, "%s; nothing was done: try again", why);
		return -1;
	}
	log_debug("thread %d is at a safe point (%d looks, %d stack walks, %" PRId64 " us%s)",
		  tid, st.rounds, st.walks, st.search_us,
		  st.others_critical ? "; other threads in critical code are let run if the "
		  "call waits for them" : "");
	return tid;
}

/* Everything, in the helper. */
static void run(struct job *j, struct inj_result *res)
{
	struct inj_elf_info exe;
	struct inj_agent agent;
	struct inj_maps maps;
	struct inj_libc lc;
	struct inj_task *task;
	struct inj_call *call;
	const struct inj_map *am;
	enum inj_kind k;
	char msg[sizeof(res->message)];
	int64_t t;
	int tid;

	if (check_process(j, &exe, res) < 0)
		return;
	if (inj_maps_read(j->pid, &maps) < 0) {
		if (errno == EACCES || errno == EPERM)
			explain_permission(j->pid, res);
		else
			set(res, INJ_NO_SUCH_PROCESS, "process %d has ended", j->pid);
		return;
	}
	k = inj_check_agent(j->pid, j->agent, &exe, &agent, msg, sizeof(msg));
	/* Loaded already (even if the path given now is wrong): just connect. */
	am = inj_agent_mapping(&maps, &agent);
	if (am) {
		set(res, INJ_ALREADY_LOADED, "the agent is already loaded in process %d (%s)", j->pid,
		    am->path);
		goto out_maps;
	}
	if (k != INJ_OK) {
		set(res, k, "%s", msg);
		goto out_maps;
	}
	k = inj_find_dlopen(j->pid, &maps, &lc, msg, sizeof(msg));
	if (k == INJ_NO_DLOPEN && !exe.has_interp) {
		char comm[64];

		read_comm(j->pid, comm, sizeof(comm));
		set(res, INJ_STATIC, "process %d (%s) is statically linked: it has no dynamic "
		    "loader to load the agent with; start the program under memtrace instead "
		    "(memtrace PROG), built dynamically linked", j->pid, comm);
		goto out_maps;
	}
	if (k != INJ_OK) {
		set(res, k, "%s", msg);
		goto out_maps;
	}
	inj_maps_free(&maps);

	t = inj_now_ns();
	task = inj_seize(j->pid, j->timeout_ms);
	/* Threads let run during the calls are left so until this helper exits. */
	if (task)
		inj_task_leave_running(task);
	res->seize_us = us_since(t);
	if (!task) {
		seize_failed(j, errno, res);
		return;
	}
	/* It ran until it stopped: look again. */
	if (inj_maps_read(j->pid, &maps) < 0) {
		set(res, INJ_NO_SUCH_PROCESS, "process %d has ended", j->pid);
		t = inj_now_ns();
		goto out_release;
	}
	am = inj_agent_mapping(&maps, &agent);
	if (am) {
		set(res, INJ_ALREADY_LOADED, "the agent is already loaded in process %d (%s)", j->pid,
		    am->path);
		t = inj_now_ns();
		goto out_release_maps;
	}
	tid = pick(j, task, &maps, exe.has_interp ? exe.interp : NULL, res);
	if (tid < 0) {
		t = inj_now_ns();
		goto out_release_maps;
	}
	call = inj_call_begin(task, tid);
	if (!call) {
		set(res, INJ_INTERNAL, "thread %d of process %d could not be prepared for a remote "
		    "call: %s", tid, j->pid, strerror(errno));
		t = inj_now_ns();
		goto out_release_maps;
	}
	res->tid = tid;
	log_debug("remote calls in thread %d of process %d", tid, j->pid);
	load(j, &agent, &lc, call, res);
	t = inj_now_ns();
	if (inj_call_end(call) < 0 && res->kind == INJ_OK)
		set(res, INJ_INTERNAL, "the agent started, but thread %d of process %d could not be "
		    "restored", tid, j->pid);
out_release_maps:
	inj_maps_free(&maps);
out_release:
	inj_release(task);
	res->release_us = us_since(t);
	return;
out_maps:
	inj_maps_free(&maps);
}

static size_t read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

int inj_load_agent(int pid, const char *agent_path, const char *config, int timeout_ms,
		   struct inj_result *res)
{
	struct job j = { pid, agent_path, config, timeout_ms > 0 ? timeout_ms : INJ_DEFAULT_TIMEOUT_MS,
			 getpid() };
	int64_t t0 = inj_now_ns();
	struct inj_result got;
	int fds[2], st = 0, reported;
	pid_t child;

	memset(res, 0, sizeof(*res));
	res->kind = INJ_INTERNAL;
	res->pid = pid;
	res->seize_us = res->dlopen_us = res->start_us = res->release_us = -1;
	res->safepoint_us = -1;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		set(res, INJ_INTERNAL, "pipe: %s", strerror(errno));
		goto out;
	}
	child = fork();
	if (child < 0) {
		set(res, INJ_INTERNAL, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		goto out;
	}
	if (child == 0) {
		sigset_t all;

		sigfillset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		close(fds[0]);
		setsid();
		run(&j, res);
		write_all(fds[1], res, sizeof(*res));
		_exit(0);
	}
	close(fds[1]);
	reported = read_all(fds[0], &got, sizeof(got)) == sizeof(got);
	if (reported)
		*res = got;
	close(fds[0]);
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (!reported) {
		if (WIFSIGNALED(st))
			set(res, INJ_INTERNAL, "the injector helper process was killed by SIG%s before "
			    "it reported; the process was detached when it ended",
			    signame(WTERMSIG(st)));
		else
			set(res, INJ_INTERNAL, "the injector helper process ended without reporting "
			    "(status %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
out:
	res->total_us = us_since(t0);
	/* Failures are the caller's to print: it adds its own context and exit status. */
	if (res->kind == INJ_OK)
		log_info("%s (seize %" PRId64 " us, safe point %" PRId64 " us in %d looks, dlopen %"
			 PRId64 " us, start %" PRId64 " us, release %" PRId64 " us)", res->message,
			 res->seize_us, res->safepoint_us, res->safepoint_looks, res->dlopen_us,
			 res->start_us, res->release_us);
	else
		log_debug("%s: %s", inj_kind_name(res->kind), res->message);
	return res->kind == INJ_OK ? 0 : -1;
}
