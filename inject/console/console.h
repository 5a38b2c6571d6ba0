/*
 * The console: commands typed by the user or given with -x, run against the
 * agent session. The commands and their options are in docs/user-guide.md
 * and `help`.
 */
#ifndef INJ_CONSOLE_H
#define INJ_CONSOLE_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "proto.h"

/*
 * The largest context id the console takes: the wire's (PROTO_CTX_ID_MAX)
 * cut to what the console's long holds on a 32-bit target, so that every
 * target accepts the same ids.
 */
#define INJ_CONSOLE_CTX_ID_MAX ((long)INT32_MAX)
_Static_assert(INJ_CONSOLE_CTX_ID_MAX <= PROTO_CTX_ID_MAX, "console ids are wire ids");

struct inj_link;
struct inj_session;
struct inj_symcache;

/* Why con->wait_held returned (console_hold.c acts on each). */
enum inj_wake {
	INJ_WAKE_HELD,		/* con->held_events moved: the agent sent `held` */
	INJ_WAKE_INPUT,		/* the watched terminal has input (a Ctrl-C?) or hung up */
	INJ_WAKE_TIME,		/* the time given passed */
	INJ_WAKE_LOST,		/* the connection to the agent is lost */
	INJ_WAKE_ENDING,	/* memtrace is ending: the program ended, a signal */
};

struct inj_console {
	struct inj_session *session;	/* NULL when there is no agent */
	struct inj_symcache *syms;
	struct inj_link *link;		/* memtrace-server decodes reports; NULL: none */
	FILE *out;
	int in_fd;			/* the console's input, -1: none (Ctrl-C is read from it) */
	int pid;			/* the traced process */
	int attached;			/* memtrace -p: detach is possible */
	int timeout_ms;			/* for agent replies */
	const char *gone;		/* why there is no session, for messages */
	/* Run memtrace's event loop for MS milliseconds (the sleep command). */
	void (*wait)(struct inj_console *con, long ms);
	/* The agent's `held` events so far: the event loop counts them. */
	unsigned long held_events;
	/*
	 * Run memtrace's event loop until held_events differs from SEEN (events
	 * the session queued meanwhile count), FD (-1: none) is readable or hangs
	 * up, MS milliseconds pass (-1: no limit), the agent's connection is lost
	 * or memtrace is ending; which one, as enum inj_wake says. The console's
	 * own input is not read meanwhile.
	 */
	enum inj_wake (*wait_held)(struct inj_console *con, unsigned long seen, int fd, long ms);
	void *owner;
	/* monitor */
	long monitor_ms;		/* 0: off */
	int64_t monitor_next;
	double monitor_prev_bytes;
	int monitor_has_prev;
	int quit;			/* quit was asked for */
	/* growth samples and their record (console_trend.c), NULL: none */
	struct inj_sampler *sampler;
	/* gdb (console_gdb.c) */
	const char *gdbserver;		/* its path, NULL: from PATH */
	struct inj_gdb *gdb;		/* a gdb console is open: lines go to it */
};

/*
 * Run one command LINE (leading/trailing blanks ignored, empty is a no-op).
 * Output goes to con->out, errors to stderr. 0, or -1 when the command failed.
 */
int inj_console_exec(struct inj_console *con, const char *line);

/* ---------------------------------------------------------------- for the commands' files */

/* 0 when there is an agent to ask; -1 after saying CMD cannot. */
int inj_console_need_session(struct inj_console *con, const char *cmd);
/* The value of option ARGV[*I] (then *I moves past it), or NULL after saying it is missing. */
const char *inj_console_optval(const char *cmd, int argc, char **argv, int *i);
/* -1 after naming the unknown option OPT of CMD. */
int inj_console_bad_option(const char *cmd, const char *opt);
/* The options report and leaks share: -c N, -o FILE, --json, --raw. */
struct inj_report_opts {
	long count;		/* contexts shown, 0: all */
	const char *file;	/* NULL: the console */
	int json, raw;
};
#define INJ_REPORT_OPTS { .count = PROTO_REPORT_COUNT }
/* ARGV[*I] if it is one of them (then *I is past its value): 1; 0 if it is
 * not; -1 after saying what is wrong with its value (CMD first). */
int inj_console_report_opt(const char *cmd, int argc, char **argv, int *i, struct inj_report_opts *o);

/*
 * The agent's report of its COUNT (0: all) contexts with the most live
 * bytes, in the public form (docs/protocol.md): symbols from con->syms,
 * decoded by memtrace-server when linked unless RAW. NULL after saying
 * what failed (CMD first).
 */
cJSON *inj_console_fetch_report(struct inj_console *con, const char *cmd, long count, int raw);
/*
 * DOC as JSON (JSON) or through PRINT_TEXT, to the console or to FILE
 * (written whole or not at all, outfile.h; "CMD written to FILE" then).
 * 0, or -1 after saying what failed.
 */
int inj_console_output(struct inj_console *con, const char *cmd, const char *file, int json, const cJSON *doc,
		       void (*print_text)(FILE *out, const cJSON *doc));

/* Sampling every MS ms, recorded to RECORD (NULL: not), from the first session on. */
struct inj_sampler *inj_sampler_new(long ms, const char *record);
void inj_sampler_free(struct inj_sampler *s);
/* Milliseconds until the next sample at NOW_MS (0: due now), or -1 when none (no session). */
long inj_sampler_due(const struct inj_console *con, int64_t now_ms);
/* Take the sample that is due (and record it) and schedule the next. */
void inj_sampler_tick(struct inj_console *con, int64_t now_ms);
/* The trend command (console_trend.c). */
int inj_console_trend(struct inj_console *con, int argc, char **argv);

/* Milliseconds until the next monitor line at time NOW_MS (0: due now), or -1 when off. */
long inj_console_monitor_due(const struct inj_console *con, int64_t now_ms);

/* Print the monitor line that is due and schedule the next. */
void inj_console_monitor_tick(struct inj_console *con, int64_t now_ms);

/* The leaks and who-points commands (console_leaks.c). */
int inj_console_leaks(struct inj_console *con, int argc, char **argv);
int inj_console_who_points(struct inj_console *con, int argc, char **argv);
/* The verdicts' option names are leaksdoc.h's (leaks_kind_parse, LEAKS_KIND_LOST for --lost). */
/* dump -c ID --kind K | --lost: up to N blocks of context ID with that
 * verdict, their first BYTES bytes, after a leak scan. */
int inj_console_dump_kind(struct inj_console *con, long id, int kind, long n, long bytes);

/*
 * The hold (console_hold.c), for coredump -c and gdb -c: arm the agent's
 * hold on context ID and wait (at most TIMEOUT_MS, 0: no limit; Ctrl-C, a
 * stop signal, the program's end or a lost connection cancel) for its
 * `held` event: 0 with the held thread's TID (memtrace's numbering) and the
 * block's ADDR and SIZE, or -1 (nothing held: the reason is logged, WHAT
 * first, and an armed hold is cancelled with `unhold`). The session must be up.
 */
int inj_console_hold(struct inj_console *con, const char *what, long id, long timeout_ms, int *tid,
		     uint64_t *addr, uint64_t *size);

/* The coredump command (console_core.c): ARGV as split by inj_console_exec. 0 or -1. */
int inj_console_coredump(struct inj_console *con, int argc, char **argv);

/*
 * The commands served by memtrace-server's gdb (console_gdb.c): frames,
 * blocks, inspect and gdb. 0 or -1.
 */
int inj_console_frames(struct inj_console *con, int argc, char **argv);
int inj_console_gdb(struct inj_console *con, int argc, char **argv);

/* The console's command names, comma-separated and wrapped at WIDTH
 * columns, ending with a period and a newline (memtrace --help). */
void inj_console_list(FILE *f, size_t width);
/* A line typed while the gdb console is open. 0 or -1. */
int inj_console_gdb_line(struct inj_console *con, const char *line);
/* Close an open gdb console (memtrace is leaving): the program runs on. */
void inj_console_gdb_end(struct inj_console *con);

#endif
