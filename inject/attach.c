/*
 * memtrace -p: load the agent into a running process (inject.c), or find
 * it there already and give it this memtrace's settings, serve the
 * console, and detach at the end so the process runs on exactly as before;
 * or, when the process ends while attached, print its exit report as start
 * mode does (start.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "injector/inject.h"
#include "injector/ptrace.h"
#include "injector/regs.h"
#include "injector/seccomp.h"
#include "log.h"
#include "proto.h"
#include "reach.h"
#include "report.h"
#include "run.h"
#include "session.h"

static int attach_exit_code(enum inj_kind kind)
{
	switch (kind) {
	case INJ_NO_SUCH_PROCESS: return EXIT_NOPROC;
	case INJ_PERMISSION: return EXIT_PERM;
	case INJ_ALREADY_TRACED: return EXIT_TRACED;
	case INJ_STATIC:
	case INJ_WRONG_ARCH:
	case INJ_NO_DLOPEN: return EXIT_UNSUPPORTED;
	case INJ_AGENT_MISSING:
	case INJ_AGENT_WRONG_ARCH:
	case INJ_NOEXEC:
	case INJ_AGENT_FAILED: return EXIT_AGENT;
	case INJ_SECCOMP: return EXIT_SECCOMP;
	case INJ_DLOPEN_FAILED: return EXIT_DLOPEN;
	case INJ_TIMEOUT:
	case INJ_BUSY:
	case INJ_CALL_CRASHED: return EXIT_CALL;
	default: return EXIT_FAILURE_MT;
	}
}

/*
 * An agent left loaded by an earlier memtrace: have it record with this
 * memtrace's settings. An agent older than these members ignores them: it
 * would record with the settings it has, so that is refused.
 */
static int reattach(struct run *r)
{
	const struct options *opt = r->opt;
	cJSON *args = cJSON_CreateObject();
	cJSON *reply;
	const char *unw;
	long depth;

	cJSON_AddStringToObject(args, "unwind", opt->unwind);
	cJSON_AddNumberToObject(args, "depth", opt->depth);
	cJSON_AddBoolToObject(args, "signals", opt->signals);
	reply = inj_session_request(r->session, "attach", args, r->con.timeout_ms);
	cJSON_Delete(args);
	if (!reply)
		return -1;	/* the agent said why (logged) */
	unw = inj_json_str(reply, "unwinder", "?");
	depth = inj_json_num_int(reply, "depth");
	/* auto: the agent took the tables, or libunwind where they cannot start. */
	if ((strcmp(opt->unwind, AGENT_UNWIND_AUTO) ? strcmp(unw, opt->unwind) :
	     strcmp(unw, "tables") && strcmp(unw, "libunwind")) ||
	    depth != opt->depth) {
		log_err("the agent loaded in process %d records with unwinder %s and depth %ld and could not "
			"take --unwind %s --depth %d (an agent from an older memtrace?); it is left detached",
			(int)r->pid, unw, depth, opt->unwind, opt->depth);
		cJSON_Delete(inj_session_request(r->session, "detach", NULL, r->con.timeout_ms));
		cJSON_Delete(reply);
		return -1;
	}
	cJSON_Delete(reply);
	return 0;
}

/* /proc/PID/stat's state letter, 0 once the process is gone. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * The connection to the agent is gone without a detach: the process has
 * ended (or is ending), or the agent gave up. An exit event says how it
 * ended; without one, wait a moment for the process to go (it may still be
 * tearing down) before saying it runs on.
 */
static int attach_ended(struct run *r)
{
	const char *prog = inj_json_str(inj_session_hello(r->session), "program", "?");
	int64_t until = proto_now_ms() + 2000;
	const cJSON *ev;
	char st;

	inj_run_drain(r);
	ev = r->exit_event;
	while (!ev && (st = proc_state(r->pid)) != 0 && st != 'Z' && st != 'X') {
		if (proto_now_ms() >= until) {
			log_err("the agent in process %d closed the connection; the process runs on", (int)r->pid);
			return EXIT_FAILURE_MT;
		}
		usleep(20 * 1000);
	}
	if (ev && inj_json_num_int(ev, "signal") > 0) {
		r->status = (int)inj_json_num_int(ev, "signal");	/* a wait status: killed by it */
	} else if (ev && inj_json_num_int(ev, "code") >= 0) {
		r->status = (int)inj_json_num_int(ev, "code") << 8;	/* exited with it */
	} else {
		r->status_unknown = 1;
	}
	log_info("process %d ended while memtrace was attached", (int)r->pid);
	/* The process's own status is in the report; memtrace's says it ended. */
	return inj_run_exit_report(r, prog) < 0 ? EXIT_FAILURE_MT : EXIT_GONE;
}

/* Whether the agent is mapped in process PID already (a later memtrace -p). */
static int agent_mapped(int pid)
{
	char path[64], line[4096];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "/libmemtrace-agent") != NULL;
	fclose(f);
	return found;
}

/*
 * The default unwinder makes system calls in the process: libunwind tries
 * mincore once when it starts, and checks addresses with it from then on,
 * or with msync when it failed. Starting inside the attach's remote calls,
 * a SIGSYS there is caught and the call made to fail (EPERM), so a filter
 * that kills only for mincore leaves libunwind on msync, unharmed. So the
 * attach is refused, before anything is loaded, where some thread's filter
 * may kill the process for msync as well (libunwind would fall back to it
 * and die of it), or for mincore when the agent is loaded already (its
 * libunwind may have chosen mincore before the filter came), or where a
 * filter cannot be read. --unwind naming the unwinder turns the refusal
 * into a warning. 0 to go on, or the exit status.
 */
static int seccomp_guard(struct run *r)
{
	static int tids[4096];
	const struct options *opt = r->opt;
	const char *const *names;
	const int *nrs;
	size_t n = inj_arch_walk_syscalls(&nrs, &names), nt;
	enum inj_seccomp_verdict v[2];
	int loaded;
	struct inj_task *t;
	char why[256];

	/* fp makes no system call; libunwind, and tables, which hands libunwind what its rows cannot say, do. */
	if (n != 2 || !strcmp(opt->unwind, "fp") || !inj_seccomp_any(r->pid))
		return 0;
	loaded = agent_mapped(r->pid);
	t = inj_seize(r->pid, opt->timeout_s * 1000);
	if (!t)
		return 0;	/* the attach itself says why */
	nt = inj_task_list(t, tids, sizeof(tids) / sizeof(tids[0]));
	inj_seccomp_judge(r->pid, tids, nt < 4096 ? nt : 4096, nrs, n, v, why, sizeof(why));
	if (inj_release(t) < 0)
		log_warn("process %d: some threads could not be let go cleanly after reading its seccomp filters",
			 (int)r->pid);
	if (v[0] == INJ_SECCOMP_UNKNOWN) {
		/* WHY: which thread's filter, and why it cannot be read */
	} else if (v[1] >= INJ_SECCOMP_MAY_KILL || (loaded && v[0] >= INJ_SECCOMP_MAY_KILL)) {
		int k = v[1] >= INJ_SECCOMP_MAY_KILL;

		snprintf(why, sizeof(why), "its seccomp filter may kill it for %s%s", names[k],
			 k ? " (and libunwind checks addresses with it where mincore fails)" :
			     " (the agent there started libunwind before, perhaps before the filter came)");
	} else {
		return 0;
	}
	if (opt->unwind_given) {
		log_warn("process %d: %s; --unwind %s was asked for: attaching", (int)r->pid, why, opt->unwind);
		return 0;
	}
	log_err("process %d: %s; the default unwinder (compact tables, with libunwind for what they cannot "
		"say) makes such calls in the process, which could die of them: nothing was loaded; attach with "
		"--unwind fp (frame pointers), or with --unwind tables to take the risk", (int)r->pid, why);
	return EXIT_SECCOMP;
}

int inj_run_attach(struct run *r, const char *agent)
{
	const struct options *opt = r->opt;
	struct inj_result res;
	char config[128];
	cJSON *reply;
	int reattached = 0, rc;

	r->attached = 1;
	r->pid = opt->attach_pid;
	/* wait: how long the agent waits for this memtrace to connect before it
	 * detaches by itself (memtrace killed in between). */
	snprintf(config, sizeof(config), "unwind=%s depth=%d wait=%d signals=%d", opt->unwind,
		 opt->depth, opt->timeout_s * 1000, opt->signals);
	/* A container: make sure its agent can be reached before loading it. */
	if (inj_reach_check(r->pid) < 0)
		return errno == EPERM || errno == EACCES ? EXIT_PERM : EXIT_FAILURE_MT;
	if ((rc = seccomp_guard(r)) != 0)
		return rc;
	if (inj_load_agent(r->pid, agent, config, opt->timeout_s * 1000, &res) < 0) {
		if (res.kind != INJ_ALREADY_LOADED) {
			log_err("%s", res.message);
			return attach_exit_code(res.kind);
		}
		reattached = 1;
	}
	/* -p named a thread: the process is its thread group. */
	r->pid = res.pid;
	inj_run_console_setup(r);
	r->session = inj_session_open(r->pid, opt->timeout_s * 1000, inj_run_alive, r);
	if (!r->session)
		return errno == EBUSY ? EXIT_BUSY : EXIT_FAILURE_MT;
	/* An agent left idle by an earlier memtrace: start recording again. */
	if (reattached && reattach(r) < 0)
		return inj_session_lost(r->session) ? EXIT_GONE : EXIT_AGENT;
	r->con.session = r->session;
	inj_exit_leaks_arm(r);
	inj_run_link(r, -1);
	if (reattached)
		log_info("attached to process %d (agent already loaded); recording from now on", (int)r->pid);
	else
		log_info("attached to process %d in %.1f ms (seize %.1f, safe point %.1f in %d looks, "
			 "dlopen %.1f, start %.1f, release %.1f); recording from now on", (int)r->pid,
			 res.total_us / 1000.0, res.seize_us / 1000.0, res.safepoint_us / 1000.0,
			 res.safepoint_looks, res.dlopen_us / 1000.0, res.start_us / 1000.0,
			 res.release_us / 1000.0);
	inj_run_console_open(r);
	inj_run_loop(r, -1, 1);
	inj_run_console_close(r, NULL);
	if (inj_session_lost(r->session))
		return attach_ended(r);
	reply = inj_session_request(r->session, "detach", NULL, r->con.timeout_ms);
	if (!reply)
		/* Lost meanwhile: the process ended as memtrace was leaving. */
		return inj_session_lost(r->session) ? attach_ended(r) : EXIT_FAILURE_MT;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "released")) &&
	    cJSON_GetObjectItemCaseSensitive(reply, "released"))
		log_warn("process %d keeps the agent's tables (%.0f bytes): %s", (int)r->pid,
			 inj_json_num(reply, "memory_bytes", 0), inj_json_str(reply, "note", "?"));
	cJSON_Delete(reply);
	log_info("detached from process %d", (int)r->pid);
	if (opt->output || opt->json)
		log_warn("no exit report: process %d runs on (-o and --json are for the report of a process "
			 "that ends while memtrace is attached; the console's report -o FILE writes one now)",
			 (int)r->pid);
	return r->stop_signal ? 128 + r->stop_signal : 0;
}
