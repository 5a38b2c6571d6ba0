/*
 * memtrace's event loop: the agent connection (replies and events such as
 * the exit report), standard input (the console), a signalfd (the child's
 * end; signals to pass on or that end an attach), the monitor timer, and
 * the link to memtrace-server (servers dialing in, a link that closes).
 * Console commands are synchronous requests; the loop runs between them and
 * during `sleep`.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elfsym.h"
#include "console/lineedit.h"
#include "log.h"
#include "proto.h"
#include "report.h"
#include "run.h"
#include "session.h"
#include "link/hostrows.h"
#include "link/srvlink.h"

#define MT_PROMPT "memtrace> "
#define MT_GDB_PROMPT "(gdb) " /* while the gdb console is open (console_gdb.c) */

static void reap(struct run *r)
{
	int st;

	if (r->exited)
		return;
	if (r->attached)
		return;
	if (waitpid(r->pid, &st, WNOHANG) == r->pid && (WIFEXITED(st) || WIFSIGNALED(st))) {
		r->exited = 1;
		r->done = 1;
		r->status = st;
	}
}

int inj_run_alive(void *arg)
{
	struct run *r = arg;

	if (r->attached)
		return kill(r->pid, 0) == 0 || errno != ESRCH;
	reap(r);
	return !r->exited;
}

static void handle_signals(struct run *r)
{
	struct signalfd_siginfo si;

	while (read(r->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap(r);
			continue;
		}
		/* Attached: a signal ends memtrace (after a detach), never the process. */
		if (r->attached) {
			r->stop_signal = (int)si.ssi_signo;
			r->done = 1;
			continue;
		}
		/* A terminal's Ctrl-C reaches the program by itself (same process
		 * group); a signal sent to memtrace is passed on. */
		if (!r->exited && si.ssi_code != SI_KERNEL) {
			log_info("passing signal %u on to process %d", si.ssi_signo, (int)r->pid);
			kill(r->pid, (int)si.ssi_signo);
		}
	}
}

void inj_run_take_events(struct run *r)
{
	cJSON *ev;

	while ((ev = inj_session_next_event(r->session))) {
		const char *name = inj_json_str(ev, "event", "");

		if (!strcmp(name, "exit") && !r->exit_event) {
			r->exit_event = ev;
			/* --leaks: the program waits for its scan, before anything else. */
			if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev, "held")))
				inj_exit_leaks_judge(r);
			continue;
		}
		if (!strcmp(name, "held")) {
			/* A hold waiting in con->wait_held wakes; `status` says for which. */
			r->con.held_events++;
			log_debug("agent event 'held'");
			cJSON_Delete(ev);
			continue;
		}
		log_debug("agent event '%s' ignored", name);
		cJSON_Delete(ev);
	}
}

void inj_run_console_close(struct run *r, const char *why)
{
	/* A gdb console left open: gdb detaches first (the agent cannot answer while gdb holds the threads). */
	inj_console_gdb_end(&r->con);
	if (!r->le)
		return;
	inj_le_free(r->le);
	r->le = NULL;
	r->con.in_fd = -1;
	if (why)
		log_info("%s", why);
}

static void console_line(struct run *r)
{
	const char *line;
	int ret;

	do {
		ret = inj_le_read(r->le, &line);
		if (ret == INJ_LE_LINE) {
			if (*line)
				inj_le_history_add(r->le, line);
			inj_console_exec(&r->con, line);
			inj_run_take_events(r);
			/* lines go to gdb while its console is open: the prompt says so */
			inj_le_set_prompt(r->le, r->con.gdb ? MT_GDB_PROMPT : MT_PROMPT);
			inj_le_show(r->le);
			if (r->con.quit) {
				inj_run_console_close(r, r->attached ? NULL : "console closed; waiting for the program to end");
				r->done |= r->attached;
				return;
			}
		} else if (ret == INJ_LE_INTR) {
			/* Ctrl-C: to the program we started; attached, it ends memtrace. */
			if (r->attached)
				r->done = 1;
			else if (!r->exited)
				kill(r->pid, SIGINT);
		} else if (ret == INJ_LE_EOF || ret == INJ_LE_ERROR) {
			inj_run_console_close(r, r->attached ? NULL : "end of console input; waiting for the program to end");
			r->done |= r->attached;
			return;
		}
	} while (r->le && inj_le_pending(r->le));
}

static int ready(const struct pollfd *pfd, int n)
{
	for (int i = 0; i < n; i++)
		if (pfd[i].revents)
			return 1;
	return 0;
}

/* What ends a console's wait for the agent's `held` event besides its time. */
struct wake {
	unsigned long seen;	/* con.held_events when the wait began */
	int fd;			/* readable or hung up ends it; -1: none */
};

/*
 * Serve events for up to MS milliseconds (-1: until the child has ended).
 * With STDIN set the console is read too; with WAKE, what it says also ends
 * the wait. Why it returned: INJ_WAKE_ENDING when memtrace is ending (r->done,
 * or poll failed), else the time or what WAKE watches.
 */
static enum inj_wake serve(struct run *r, long ms, int with_stdin, const struct wake *wake)
{
	int64_t deadline = ms < 0 ? -1 : proto_now_ms() + ms;

	while (!r->done) {
		struct pollfd pfd[4 + INJ_LINK_MAX_FDS];
		int n = 0, i_sig, i_sess = -1, i_in = -1, i_wake = -1, i_link, n_link, timeout = -1;
		long mon, smp;

		if (wake) {
			/* Events a request queued (the hold's own reply may bring its `held`)
			 * are in the session, not on the socket: poll would not see them. */
			inj_run_take_events(r);
			if (r->con.held_events != wake->seen)
				return INJ_WAKE_HELD;
			if (!r->session || inj_session_lost(r->session))
				return INJ_WAKE_LOST;
			if (wake->fd >= 0) {
				i_wake = n;
				pfd[n].fd = wake->fd;
				pfd[n++].events = POLLIN;
			}
		}
		i_sig = n;
		pfd[n].fd = r->sfd;
		pfd[n++].events = POLLIN;
		if (r->session && !inj_session_lost(r->session)) {
			i_sess = n;
			pfd[n].fd = inj_session_fd(r->session);
			pfd[n++].events = POLLIN;
		}
		if (with_stdin && r->le) {
			i_in = n;
			pfd[n].fd = r->con_fd;
			pfd[n++].events = POLLIN;
		}
		mon = inj_console_monitor_due(&r->con, proto_now_ms());
		if (mon == 0) {
			/* Keep a half-typed command intact around the line. */
			inj_le_hide(r->le);
			inj_console_monitor_tick(&r->con, proto_now_ms());
			inj_le_show(r->le);
			inj_run_take_events(r);
			continue;
		}
		if (mon > 0)
			timeout = (int)mon;
		smp = inj_sampler_due(&r->con, proto_now_ms());
		if (smp == 0) {
			inj_sampler_tick(&r->con, proto_now_ms());
			inj_run_take_events(r);
			continue;
		}
		if (smp > 0 && (timeout < 0 || smp < timeout))
			timeout = (int)smp;
		i_link = n;
		n_link = inj_link_pollfds(r->link, pfd + n, proto_now_ms(), &timeout);
		n += n_link;
		if (deadline >= 0) {
			int64_t left = deadline - proto_now_ms();

			if (left <= 0)
				return INJ_WAKE_TIME;
			if (timeout < 0 || left < timeout)
				timeout = (int)left;
		}
		if (poll(pfd, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			return INJ_WAKE_ENDING;
		}
		if (pfd[i_sig].revents)
			handle_signals(r);
		if (i_sess >= 0 && pfd[i_sess].revents) {
			if (inj_session_pump(r->session) < 0) {
				r->con.gone = "the connection to the agent is lost";
				/* Attached, a lost agent means the process is gone. */
				r->done |= r->attached;
			}
			inj_run_take_events(r);
		}
		if (n_link) {
			int busy = ready(pfd + i_link, n_link);

			/* Its messages must not cut a half-typed command. */
			if (busy)
				inj_le_hide(r->le);
			inj_link_serve(r->link, pfd + i_link, n_link); /* also ends dial-ins that said no hello */
			if (busy)
				inj_le_show(r->le);
		}
		if (i_in >= 0 && pfd[i_in].revents && r->le)
			console_line(r);
		/* After the rest: a signal or the program's end that came with it wins. */
		if (i_wake >= 0 && pfd[i_wake].revents && !r->done)
			return INJ_WAKE_INPUT;
	}
	return INJ_WAKE_ENDING;
}

void inj_run_loop(struct run *r, long ms, int with_stdin)
{
	serve(r, ms, with_stdin, NULL);
}

static void console_wait(struct inj_console *con, long ms)
{
	inj_run_loop(con->owner, ms, 0);
}

static enum inj_wake console_wait_held(struct inj_console *con, unsigned long seen, int fd, long ms)
{
	const struct wake wake = { .seen = seen, .fd = fd };

	return serve(con->owner, ms, 0, &wake);
}


/* The console's input as the options and standard input say; -1: none. */
static int console_input(const struct run *r)
{
	if (r->opt->console)
		return r->opt->console_fd;	/* -1 for none */
	if (r->opt->ncmds)
		return -1;
	/* A pipe or file on standard input is PROG's: not a byte is read from it.
	 * Attached there is no PROG, and standard input is the console. */
	if (r->attached || isatty(STDIN_FILENO))
		return STDIN_FILENO;
	log_info("standard input is not a terminal: it is left to the program, and there is no "
		 "console (--console - reads commands from it)");
	return -1;
}

/* The console: -x commands, then --console's file or standard input. */
void inj_run_console_open(struct run *r)
{
	int in = console_input(r), out = STDOUT_FILENO;

	if (r->opt->ncmds) {
		for (int i = 0; i < r->opt->ncmds && !r->con.quit && !r->done; i++) {
			inj_run_loop(r, 0, 0);
			if (r->exited)
				r->con.gone = "the program has ended";
			inj_console_exec(&r->con, r->opt->cmds[i]);
			inj_run_take_events(r);
		}
		inj_console_gdb_end(&r->con);
		/* Attached, the script is the session: its end detaches, unless a
		 * console follows. */
		if (in < 0 || r->con.quit) {
			r->done |= r->attached;
			return;
		}
	}
	if (!r->session || in < 0 || r->done)
		return;
	/* A terminal named with --console shows the prompt and the answers. */
	if (in != STDIN_FILENO && isatty(in)) {
		r->con_file = fdopen(dup(in), "w");
		if (r->con_file) {
			out = in;
			r->con.out = r->con_file;
		}
	}
	r->le = inj_le_new(in, out, MT_PROMPT);
	if (!r->le) {
		log_warn("no console: %s", strerror(errno));
		r->done |= r->attached;
		return;
	}
	r->con_fd = in;
	r->con.in_fd = in;
}

void inj_run_link(struct run *r, int budget_ms)
{
	const cJSON *hello = r->session ? inj_session_hello(r->session) : NULL;

	if (r->opt->link.mode == INJ_LINK_NONE || !r->session)
		return;
	/* The agent's idea of the program (its /proc/self/exe) names it for the server. */
	r->link = inj_link_new(&r->opt->link, (int)r->pid, inj_json_str(hello, "program", "?"));
	r->con.link = r->link;
	inj_link_start(r->link, budget_ms);
	/* Rows for the modules short of unwind tables, before stacks go through them. */
	if (inj_link_linked(r->link))
		inj_hostrows(r->session, r->link, r->con.syms, (int)r->pid, r->con.timeout_ms);
}

void inj_run_console_setup(struct run *r)
{
	r->con.out = stdout;
	r->con.in_fd = -1;
	r->con.pid = r->pid;
	r->con.attached = r->attached;
	r->con.timeout_ms = r->opt->timeout_s * 1000;
	r->con.gdbserver = r->opt->gdbserver;
	if (r->opt->sample_ms && !r->con.sampler)
		r->con.sampler = inj_sampler_new(r->opt->sample_ms, r->opt->record);
	r->con.wait = console_wait;
	r->con.wait_held = console_wait_held;
	r->con.owner = r;
	if (r->attached) {
		char root[64];

		/* Module paths are the target's: read them in its mount namespace,
		 * through a descriptor of its root that outlives it (the exit
		 * report of a process that ended while attached is decoded after
		 * /proc/PID is gone). */
		int fd;

		snprintf(root, sizeof(root), "/proc/%d/root", (int)r->pid);
		fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0)
			snprintf(root, sizeof(root), "/proc/self/fd/%d", fd);
		r->con.syms = inj_symcache_new(root);
	} else {
		r->con.syms = inj_symcache_new(NULL);
	}
}
