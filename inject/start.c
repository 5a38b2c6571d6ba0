/*
 * Start mode: memtrace starts the program with the agent preloaded, links
 * to memtrace-server if asked, serves the console while it runs, and prints
 * the exit report the agent sends as the program ends (decoded when linked),
 * or says why there is none. The exit report's part is shared with attach
 * (a process that ends while memtrace -p is attached).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "injector/loader.h"
#include "log.h"
#include "outfile.h"
#include "proto.h"
#include "report.h"
#include "run.h"
#include "session.h"
#include "spawn.h"
#include "link/srvlink.h"

#define DRAIN_TIMEOUT_MS 10000

/* After the program ended: read what the agent sent before it went. */
void inj_run_drain(struct run *r)
{
	int64_t deadline = proto_now_ms() + DRAIN_TIMEOUT_MS;

	if (r->session)
		inj_run_take_events(r);
	while (r->session && !inj_session_lost(r->session) && !r->exit_event) {
		struct pollfd pfd = { .fd = inj_session_fd(r->session), .events = POLLIN };
		int64_t left = deadline - proto_now_ms();

		if (left <= 0) {
			log_warn("the agent connection stayed open after the program ended "
				 "(a child process still holds it?)");
			break;
		}
		if (poll(&pfd, 1, (int)left) > 0) {
			inj_session_pump(r->session);
			inj_run_take_events(r);
		}
	}
}

static cJSON *exit_object(const struct run *r, int have_report)
{
	cJSON *e = cJSON_CreateObject();

	if (r->status_unknown)
		cJSON_AddNullToObject(e, "code");
	else if (WIFEXITED(r->status))
		cJSON_AddNumberToObject(e, "code", WEXITSTATUS(r->status));
	else
		cJSON_AddNumberToObject(e, "signal", WTERMSIG(r->status));
	if (!have_report)
		cJSON_AddFalseToObject(e, "report");
	return e;
}

static void describe_end(const struct run *r, char *buf, size_t size)
{
	if (r->status_unknown)
		snprintf(buf, size, "ended (how, memtrace cannot tell)");
	else if (WIFEXITED(r->status))
		snprintf(buf, size, "exited with code %d", WEXITSTATUS(r->status));
	else
		snprintf(buf, size, "was killed by signal %d (%s)%s", WTERMSIG(r->status),
			 strsignal(WTERMSIG(r->status)), WCOREDUMP(r->status) ? ", core dumped" : "");
}

/* PATH is an ELF executable without a program interpreter. A script, or a
 * file libelf cannot read, is not: exec will say what it is. */
static int is_static_elf(const char *path)
{
	struct inj_elf_info info;

	return inj_elf_info(path, &info) == 0 && !info.has_interp;
}

int inj_run_exit_report(struct run *r, const char *prog)
{
	const cJSON *wire = cJSON_GetObjectItemCaseSensitive(r->exit_event, "report");
	cJSON *rep = wire ? inj_report_from_wire(wire, r->con.syms) : NULL;
	struct inj_outfile file;
	FILE *out = stdout;
	char how[160];
	int ret = 0;

	/* A process in a container reports its own pid there: say the host's too. */
	if (rep)
		inj_report_host_pid(rep, r->pid);
	describe_end(r, how, sizeof(how));
	if (!rep) {
		if (WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGKILL)
			log_err("no exit report: %s %s, and SIGKILL gives the agent no chance to report", prog, how);
		else if (!r->session)
			log_err("no exit report: %s %s, and its agent never answered", prog, how);
		else if (r->attached)
			log_err("no exit report: %s %s without sending one (SIGKILL, exec, or a deadly signal "
				"with --no-signal-report or a handler of its own that did not return)", prog, how);
		else
			log_err("no exit report: %s %s without sending one (it left through _exit or exec, or "
				"a signal memtrace does not watch)", prog, how);
		rep = cJSON_CreateObject();
		cJSON_AddNumberToObject(rep, "version", 1);
		cJSON_AddNumberToObject(rep, "pid", r->pid);
		cJSON_AddStringToObject(rep, "program", prog);
		cJSON_AddItemToObject(rep, "exit", exit_object(r, 0));
		/* Without an exit event there is no held end to judge either. */
		if (!r->opt->json && !r->opt->output) {
			cJSON_Delete(rep);
			return 0;
		}
	} else {
		cJSON *dec = inj_link_decode(r->link, rep);

		if (dec) {
			cJSON_Delete(rep);
			rep = dec;
			cJSON_DeleteItemFromObjectCaseSensitive(rep, "exit");
		}
		cJSON_AddItemToObject(rep, "exit", exit_object(r, 1));
	}
	if (r->opt->output) {
		if (inj_outfile_open(&file, r->opt->output) < 0) {
			log_err("cannot write the exit report to %s: %s", r->opt->output, strerror(errno));
			cJSON_Delete(rep);
			return -1;
		}
		out = file.f;
	}
	if (r->opt->json) {
		/* --leaks: one document, the verdicts its "leaks" member. */
		inj_exit_leaks_json(r, rep);
		ret = inj_report_print_json(out, rep);
	} else if (cJSON_GetObjectItemCaseSensitive(rep, "contexts")) {
		char title[256];

		snprintf(title, sizeof(title), "memtrace exit report (the program %s)", how);
		inj_report_print_text(out, rep, title);
		inj_exit_leaks_text(r, out, rep);
	} else {
		fprintf(out, "== memtrace: pid %d %s; no exit report\n", (int)r->pid, how);
		inj_exit_leaks_text(r, out, rep);
	}
	if (r->opt->output) {
		/* Whole or none: a failure leaves no part of it (outfile.h). */
		if (ret < 0) {
			inj_outfile_abort(&file);
			log_err("the exit report could not be made for %s: out of memory", r->opt->output);
		} else if (inj_outfile_close(&file) < 0) {
			ret = -1;
			log_err("writing the exit report to %s failed: %s; the file was left as it was",
				r->opt->output, strerror(errno));
		}
	} else {
		fflush(out);
	}
	cJSON_Delete(rep);
	return ret;
}

int inj_run_start(struct run *r, char **argv, const char *agent, const sigset_t *old)
{
	const struct options *opt = r->opt;
	const char *why = NULL;
	char config[128];
	cJSON *resumed;
	char *prog;
	int ret;

	prog = inj_find_program(argv[0], &why);
	if (!prog) {
		log_err("%s: %s", argv[0], why);
		return errno == EACCES ? EXIT_NOEXEC : EXIT_NOTFOUND;
	}
	if (is_static_elf(prog)) {
		log_err("%s is statically linked: the agent is loaded with LD_PRELOAD, which only "
			"dynamically linked programs honour; rebuild it without -static to trace it", prog);
		free(prog);
		return EXIT_NOEXEC;
	}
	{
		struct inj_elf_info info, ai;
		char msg[PATH_MAX * 2 + 256];

		if (inj_elf_info(prog, &info) == 0 && info.has_interp && inj_elf_info(agent, &ai) == 0 &&
		    inj_agent_libc_differs(&ai, agent, info.interp, prog, msg, sizeof(msg))) {
			log_err("%s", msg);
			free(prog);
			return EXIT_NOEXEC;
		}
	}
	/* parent: the agent records only in the process whose parent we are,
	 * not in one a constructor starts before the agent cleans the environment. */
	snprintf(config, sizeof(config), "unwind=%s depth=%d wait=%d signals=%d parent=%d", opt->unwind,
		 opt->depth, opt->timeout_s * 1000, opt->signals, (int)getpid());
	r->pid = inj_spawn(prog, argv, agent, config, old);
	if (r->pid < 0) {
		int e = errno;

		log_err("%s: cannot execute: %s", prog, strerror(e));
		free(prog);
		return e == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
	}
	inj_run_console_setup(r);
	r->session = inj_session_open(r->pid, opt->timeout_s * 1000, inj_run_alive, r);
	if (r->session) {
		/* The program waits in the agent for the resume, timeout_s from its start. */
		inj_run_link(r, opt->timeout_s * 1000 / 2);
		inj_exit_leaks_arm(r);
		resumed = inj_session_request(r->session, "resume", NULL, r->con.timeout_ms);
		cJSON_Delete(resumed);
		inj_run_take_events(r);
		r->con.session = r->session;
		log_info("tracing process %d (%s), unwinder %s", (int)r->pid, prog, opt->unwind);
	} else {
		r->con.gone = r->exited ? "the program has ended" : "the agent did not start";
		if (!r->exited)
			log_err("%s runs on without memtrace (no report will be possible)", prog);
	}
	inj_run_console_open(r);
	inj_run_loop(r, -1, 1);
	inj_run_console_close(r, NULL);
	inj_run_drain(r);
	ret = WIFEXITED(r->status) ? WEXITSTATUS(r->status) : 128 + WTERMSIG(r->status);
	if (inj_run_exit_report(r, prog) < 0 && ret == 0)
		ret = EXIT_FAILURE_MT;
	free(prog);
	return ret;
}

/* Exit status for each way an attach can fail (docs/user-guide.md). */
