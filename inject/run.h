/*
 * One memtrace session, shared by its two ways in: start mode (start.c)
 * and attach (attach.c). The event loop (loop.c) serves the agent
 * connection, the console, signals and the monitor for both.
 */
#ifndef INJ_RUN_H
#define INJ_RUN_H

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

#include "console/console.h"
#include "link/srvlink.h"

/* Exit statuses of memtrace itself (start mode otherwise exits with PROG's). */
#define EXIT_USAGE 2
/* memtrace -p: how an attach ended */
#define EXIT_GONE 1
#define EXIT_NOPROC 3
#define EXIT_PERM 4
#define EXIT_TRACED 5
#define EXIT_UNSUPPORTED 6
#define EXIT_AGENT 7
#define EXIT_SECCOMP 8
#define EXIT_DLOPEN 9
#define EXIT_CALL 10
#define EXIT_BUSY 11
#define EXIT_FAILURE_MT 125
#define EXIT_NOEXEC 126
#define EXIT_NOTFOUND 127

struct options {
	int attach_pid;			/* -p, or 0 */
	const char *output;
	int json;
	const char **cmds;
	int ncmds;
	const char *console;		/* --console FILE, "-": standard input; NULL: none named */
	int console_fd;			/* its fd, opened by the option parser */
	const char *agent;
	const char *unwind;
	int unwind_given;	/* --unwind on the command line: the user's choice, taken even when risky */
	int depth;
	int timeout_s;
	int signals;
	struct inj_link_opts link;	/* --connect, --multicast, --listen, --token */
	const char *gdbserver;		/* --gdbserver, or NULL: from PATH */
	int leaks;			/* --leaks: leak verdicts at the program's end */
	int leaks_kind;			/* --leaks=KIND: as leaks --kind (-1: the lost) */
	long sample_ms;			/* --sample SEC, in ms (0: no sampling) */
	const char *record;		/* --record FILE, or NULL */
};

struct run {
	struct options *opt;
	pid_t pid;
	int attached;		/* -p: the process is not our child */
	int exited;		/* start mode: the child has been reaped */
	int status;		/* wait status: start mode from waitpid, attached from the exit event */
	int status_unknown;	/* attached: the process ended, how is not known */
	int done;		/* the loop ends: child reaped, or (attach) quit, signal, process gone */
	int stop_signal;	/* attach: the signal that ended memtrace */
	int sfd;		/* signalfd */
	struct inj_session *session;
	struct inj_link *link;	/* memtrace-server, NULL without a link option */
	struct inj_console con;
	struct inj_le *le;	/* the console's line editor, NULL when closed */
	int con_fd;		/* the console's input (standard input or --console), -1: none */
	FILE *con_file;		/* --console on a terminal: the console writes there */
	cJSON *exit_event;
	struct inj_leaks *exit_leaks;	/* --leaks: the scan at the held exit, NULL: none */
	const char *exit_leaks_why;	/* --leaks: why there is no scan, when known */
};

/* Set up the console's state for R (after r->pid and r->attached). */
void inj_run_console_setup(struct run *r);
/*
 * Run the -x commands, then open the console: on --console's file, else
 * on standard input when memtrace attaches or it is a terminal (a start-mode
 * PROG keeps a standard input that is not a terminal).
 */
void inj_run_console_open(struct run *r);
/* Close the console (no-op when closed); log WHY if given. */
void inj_run_console_close(struct run *r, const char *why);
/* Serve events for up to MS ms (-1: until r->done); WITH_STDIN reads the console. */
void inj_run_loop(struct run *r, long ms, int with_stdin);
/* Move the agent's queued events into R (the exit report). */
void inj_run_take_events(struct run *r);
/* The traced process is still there (for connection retries). ARG is the run. */
int inj_run_alive(void *arg);
/*
 * Once the agent session is up: link to memtrace-server as the options say,
 * within BUDGET_MS (-1: the link's own timeouts). Failing is a warning.
 */
void inj_run_link(struct run *r, int budget_ms);

/* After the program ended: wait (bounded) for the exit event the agent sent. */
void inj_run_drain(struct run *r);
/*
 * The program ended (r->status, or r->status_unknown): print its exit report
 * (r->exit_event, decoded when linked) as -o and --json say, or say why there
 * is none (with -o/--json a document saying so is still written). PROG names
 * it. 0, or -1 when the report could not be written.
 */
int inj_run_exit_report(struct run *r, const char *prog);

/*
 * --leaks (exitleaks.c). Arm: ask the agent to hold the thread that ends
 * the program normally (start mode before `resume`, attached before the
 * console); a refusal is a warning. Judge: the exit event says that thread
 * is held: scan the process now (inj_leaks_scan), then let it go. Print:
 * the verdicts with the exit report REP (text after it on OUT, or its
 * "leaks" member with JSON), or why there are none. Free: the scan.
 */
void inj_exit_leaks_arm(struct run *r);
void inj_exit_leaks_judge(struct run *r);
void inj_exit_leaks_text(struct run *r, FILE *out, const cJSON *rep);
void inj_exit_leaks_json(struct run *r, cJSON *rep);
void inj_exit_leaks_free(struct run *r);

/* Start mode: start ARGV[0] with AGENT preloaded; returns memtrace's exit status. */
int inj_run_start(struct run *r, char **argv, const char *agent, const sigset_t *old_mask);
/* memtrace -p: attach to r->opt->attach_pid; returns memtrace's exit status. */
int inj_run_attach(struct run *r, const char *agent);

#endif
