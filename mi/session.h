/*
 * session.h: the inside of a gdb session, shared by session.c (life cycle,
 * setup, execution state) and command.c (commands, I/O, dispatch, and the
 * log, error and clock helpers below). Private to libgdbmi.
 */
#ifndef GDBMI_SESSION_H
#define GDBMI_SESSION_H

#include <stdint.h>

#include "internal.h"
#include "spawn.h"

/*
 * One command sent. It stays listed until it is both ANSWERED (its result
 * record came, or gdb died) and DELIVERED (its caller got a status: the
 * answer, or a timeout). A command that timed out stays listed until its
 * late answer comes, so that answer and the stream records before it are
 * not taken for the next command's.
 */
struct gdbmi_pending {
	struct gdbmi_pending *next;
	unsigned long long token;
	gdbmi_done_fn *done;
	void *ctx;
	int64_t deadline; /* ms, CLOCK_MONOTONIC */
	int timeout_ms;
	int answered;
	int delivered;
	enum gdbmi_status st;	  /* once answered */
	struct gdbmi_record *rec; /* once answered, until delivered */
	struct gdbmi_buf console; /* ~ text while it ran */
	struct gdbmi_buf log;	  /* & text while it ran */
	char cmd[80];		  /* its start, for messages */
};

struct gdbmi_session {
	struct gdbmi_options opt;
	struct gdbmi_proc proc;
	struct gdbmi_parser *parser;
	int dead;
	int quitting;	      /* -gdb-exit was sent: its end is expected */
	int in_callback;      /* inside a user callback: no waiting, no stepping */
	struct gdbmi_buf out; /* bytes queued for gdb's stdin */
	size_t out_off;	      /* how many of them are written */
	struct gdbmi_pending *head, *tail;
	unsigned long long next_token;
	unsigned long stops;
	int running;
	struct gdbmi_record *last_stop;
	struct gdbmi_record *features; /* the -list-features answer */
	char version[128];
	struct gdbmi_buf err_line; /* stderr: the line being read */
	char err_last[256];	   /* stderr: the last complete line */
	struct gdbmi_buf error;	   /* gdbmi_session_error() */
	char *readbuf;
};

/* The size of each read from gdb's stdout. */
#define GDBMI_READ_SIZE (256u * 1024)

/*
 * gdb is gone or going (EOF on its stdout, EPIPE on its stdin, or given
 * up on): parse what is left, reap it (killing its group if it lingers),
 * set the error to how it ended, complete every command with GDBMI_DEAD.
 */
void gdbmi_mark_dead(struct gdbmi_session *s);

/* Milliseconds of CLOCK_MONOTONIC (command.c, as the two below). */
int64_t gdbmi_now_ms(void);

/* Log at LEVEL through the caller's callback (errors to stderr without one). */
void gdbmi_log(struct gdbmi_session *s, enum gdbmi_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set the session's error text and log it at LEVEL. */
void gdbmi_set_error(struct gdbmi_session *s, enum gdbmi_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* gdbmi_send with a va_list. */
enum gdbmi_status gdbmi_vsend(struct gdbmi_session *s, gdbmi_done_fn *done, void *ctx,
			      int timeout_ms, unsigned long long *token, const char *fmt,
			      va_list ap);

/* Free every listed command (at the end of the session). */
void gdbmi_pending_free_all(struct gdbmi_session *s);

/* The parser's callback: one record from gdb. */
void gdbmi_dispatch(void *ctx, struct gdbmi_record *rec);

#endif
