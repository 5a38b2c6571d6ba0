/*
 * The console: commands typed by the user or given with -x, run against the
 * agent session. The commands and their options are in docs/user-guide.md
 * and `help`.
 */
#ifndef INJ_CONSOLE_H
#define INJ_CONSOLE_H

#include <stdint.h>
#include <stdio.h>

struct inj_link;
struct inj_session;
struct inj_symcache;

struct inj_console {
	struct inj_session *session;	/* NULL when there is no agent */
	struct inj_symcache *syms;
	struct inj_link *link;		/* memtrace-server decodes reports; NULL: none */
	FILE *out;
	int pid;			/* the traced process */
	int attached;			/* memtrace -p: detach is possible */
	int timeout_ms;			/* for agent replies */
	const char *gone;		/* why there is no session, for messages */
	/* Run memtrace's event loop for MS milliseconds (the sleep command). */
	void (*wait)(struct inj_console *con, long ms);
	void *owner;
	/* monitor */
	long monitor_ms;		/* 0: off */
	int64_t monitor_next;
	double monitor_prev_bytes;
	int monitor_has_prev;
	int quit;			/* quit was asked for */
};

/*
 * Run one command LINE (leading/trailing blanks ignored, empty is a no-op).
 * Output goes to con->out, errors to stderr. 0, or -1 when the command failed.
 */
int inj_console_exec(struct inj_console *con, const char *line);

/* Milliseconds until the next monitor line at time NOW_MS (0: due now), or -1 when off. */
long inj_console_monitor_due(const struct inj_console *con, int64_t now_ms);

/* Print the monitor line that is due and schedule the next. */
void inj_console_monitor_tick(struct inj_console *con, int64_t now_ms);

/* The coredump command (console_core.c): ARGV as split by inj_console_exec. 0 or -1. */
int inj_console_coredump(struct inj_console *con, int argc, char **argv);

#endif
