/*
 * memtrace -p: load the agent into a running process (inject.c), or find
 * it there already, serve the console, and detach at the end so the
 * process runs on exactly as before.
 */
#include <errno.h>
#include <stdio.h>

#include "inject.h"
#include "log.h"
#include "reach.h"
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

int inj_run_attach(struct run *r, const char *agent)
{
	const struct options *opt = r->opt;
	struct inj_result res;
	char config[96];
	cJSON *reply;
	int reattach = 0;

	r->attached = 1;
	r->pid = opt->attach_pid;
	/* wait: how long the agent waits for this memtrace to connect before it
	 * detaches by itself (memtrace killed in between). */
	snprintf(config, sizeof(config), "unwind=%s depth=%d wait=%d", opt->unwind, opt->depth,
		 opt->timeout_s * 1000);
	/* A container: make sure its agent can be reached before loading it. */
	if (inj_reach_check(r->pid) < 0)
		return errno == EPERM || errno == EACCES ? EXIT_PERM : EXIT_FAILURE_MT;
	if (inj_load_agent(r->pid, agent, config, opt->timeout_s * 1000, &res) < 0) {
		if (res.kind != INJ_ALREADY_LOADED) {
			log_err("%s", res.message);
			return attach_exit_code(res.kind);
		}
		reattach = 1;
	}
	/* -p named a thread: the process is its thread group. */
	r->pid = res.pid;
	inj_run_console_setup(r);
	r->session = inj_session_open(r->pid, opt->timeout_s * 1000, inj_run_alive, r);
	if (!r->session)
		return errno == EBUSY ? EXIT_BUSY : EXIT_FAILURE_MT;
	if (reattach) {
		/* An agent left idle by an earlier memtrace: start recording again. */
		reply = inj_session_request(r->session, "attach", NULL, r->con.timeout_ms);
		if (!reply)
			return EXIT_FAILURE_MT;
		cJSON_Delete(reply);
	}
	r->con.session = r->session;
	inj_run_link(r, -1);
	if (reattach)
		log_info("attached to process %d (agent already loaded); recording from now on", (int)r->pid);
	else
		log_info("attached to process %d in %.1f ms (seize %.1f, dlopen %.1f, start %.1f, release %.1f); "
			 "recording from now on", (int)r->pid, res.total_us / 1000.0, res.seize_us / 1000.0,
			 res.dlopen_us / 1000.0, res.start_us / 1000.0, res.release_us / 1000.0);
	inj_run_console_open(r);
	inj_run_loop(r, -1, 1);
	inj_run_console_close(r, NULL);
	if (!inj_session_lost(r->session)) {
		reply = inj_session_request(r->session, "detach", NULL, r->con.timeout_ms);
		if (!reply)
			return EXIT_FAILURE_MT;
		cJSON_Delete(reply);
		log_info("detached from process %d", (int)r->pid);
		return r->stop_signal ? 128 + r->stop_signal : 0;
	}
	log_err("process %d ended while memtrace was attached", (int)r->pid);
	return EXIT_GONE;
}
