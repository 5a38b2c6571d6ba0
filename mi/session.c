/*
 * session.c: the life of one gdb. Start it with the options that make its
 * output machine-readable (no pager, no confirmation, no line wrapping, no
 * debuginfod), wait until -list-features answers, keep track of whether
 * the program runs, and end it so that the program it debugs survives:
 * stop the program, let gdb quit (it detaches and removes its breakpoints),
 * and only kill gdb when it does not go in time.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_START_TIMEOUT_MS 30000
#define DEFAULT_EXIT_TIMEOUT_MS 3000
/* After SIGKILL, how long to wait for gdb's output to close. */
#define KILL_WAIT_MS 2000

/* ---------------------------------------------------------------- start */

/* Settings sent before anything else; only the required ones may not fail. */
static const struct {
	const char *cmd;
	int required;
} setup_cmds[] = {
	{ "-gdb-set pagination off", 1 },
	{ "-gdb-set confirm off", 1 },
	{ "-gdb-set width 0", 1 },
	{ "-gdb-set height 0", 1 },
	{ "-gdb-set debuginfod enabled off", 0 }, /* gdb 12 on */
};

/*
 * Send the setup all at once (gdb reads it while it starts) and collect
 * the answers in order. GDBMI_OK when gdb is ready, else the first failure
 * with the session error set.
 */
static enum gdbmi_status setup(struct gdbmi_session *s)
{
	enum { N = sizeof(setup_cmds) / sizeof(setup_cmds[0]) };
	unsigned long long tok[N], async_tok = 0, version_tok, features_tok;
	int t = s->opt.start_timeout_ms;
	struct gdbmi_record *rec;
	enum gdbmi_status st;
	size_t i;

	for (i = 0; i < N; i++)
		if ((st = gdbmi_send(s, NULL, NULL, t, &tok[i], "%s", setup_cmds[i].cmd)) !=
		    GDBMI_OK)
			return st;
	if (!s->opt.sync_exec &&
	    (st = gdbmi_send(s, NULL, NULL, t, &async_tok, "-gdb-set mi-async on")) != GDBMI_OK)
		return st;
	if ((st = gdbmi_send(s, NULL, NULL, t, &version_tok, "-gdb-version")) != GDBMI_OK ||
	    (st = gdbmi_send(s, NULL, NULL, t, &features_tok, "-list-features")) != GDBMI_OK)
		return st;
	for (i = 0; i < N; i++) {
		st = gdbmi_wait(s, tok[i], NULL);
		if (st == GDBMI_GDB_ERROR && !setup_cmds[i].required)
			continue;
		if (st != GDBMI_OK)
			return st;
	}
	if (async_tok) {
		st = gdbmi_wait(s, async_tok, NULL);
		if (st == GDBMI_GDB_ERROR) {
			gdbmi_log(s, GDBMI_LOG_WARN,
				  "no mi-async in this gdb: exec commands run in the foreground");
			s->opt.sync_exec = 1;
		} else if (st != GDBMI_OK) {
			return st;
		}
	}
	st = gdbmi_wait(s, version_tok, &rec);
	if (st != GDBMI_OK && st != GDBMI_GDB_ERROR)
		return st;
	if (rec && rec->console)
		snprintf(s->version, sizeof(s->version), "%.*s", (int)strcspn(rec->console, "\n"),
			 rec->console);
	gdbmi_record_free(rec);
	st = gdbmi_wait(s, features_tok, &s->features);
	if (st != GDBMI_OK)
		return st;
	gdbmi_log(s, GDBMI_LOG_INFO, "gdb ready: %s", s->version);
	return GDBMI_OK;
}

/* The errno that tells why start-up failed. */
static int start_errno(enum gdbmi_status st)
{
	switch (st) {
	case GDBMI_DEAD:
		return ECHILD;
	case GDBMI_TIMEOUT:
		return ETIMEDOUT;
	case GDBMI_NOMEM:
		return ENOMEM;
	default:
		return EPROTO;
	}
}

struct gdbmi_session *gdbmi_session_new(const struct gdbmi_options *opt)
{
	struct gdbmi_session *s = calloc(1, sizeof(*s));
	const char **argv = NULL;
	char interp[64];
	size_t nargs = 0, k = 0;
	enum gdbmi_status st;
	int e;

	if (!s)
		return NULL;
	if (opt)
		s->opt = *opt;
	if (!s->opt.gdb)
		s->opt.gdb = "gdb";
	if (!s->opt.interpreter)
		s->opt.interpreter = "mi3";
	if (s->opt.timeout_ms <= 0)
		s->opt.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (s->opt.start_timeout_ms <= 0)
		s->opt.start_timeout_ms = DEFAULT_START_TIMEOUT_MS;
	if (s->opt.exit_timeout_ms <= 0)
		s->opt.exit_timeout_ms = DEFAULT_EXIT_TIMEOUT_MS;
	s->proc.pid = -1;
	s->proc.in = s->proc.out = s->proc.err = s->proc.pidfd = -1;
	s->readbuf = malloc(GDBMI_READ_SIZE);
	s->parser = gdbmi_parser_new(gdbmi_dispatch, s);
	while (s->opt.args && s->opt.args[nargs])
		nargs++;
	argv = calloc(nargs + 5, sizeof(*argv));
	if (!s->readbuf || !s->parser || !argv)
		goto out_free;
	snprintf(interp, sizeof(interp), "--interpreter=%s", s->opt.interpreter);
	argv[k++] = s->opt.gdb;
	argv[k++] = "-nx";
	argv[k++] = "-q";
	for (size_t i = 0; i < nargs; i++)
		argv[k++] = s->opt.args[i];
	argv[k++] = interp;
	argv[k] = NULL;
	if (gdbmi_proc_spawn(&s->proc, (char *const *)argv) < 0) {
		gdbmi_set_error(s, GDBMI_LOG_ERR, "cannot run %s: %s", s->opt.gdb, strerror(errno));
		goto out_free;
	}
	free(argv);
	argv = NULL;
	st = setup(s);
	if (st != GDBMI_OK) {
		e = start_errno(st);
		gdbmi_log(s, GDBMI_LOG_ERR, "%s did not start: %s", s->opt.gdb,
			  s->error.p ? s->error.p : "");
		gdbmi_session_free(s);
		errno = e;
		return NULL;
	}
	return s;

out_free:
	e = errno;
	free(argv);
	gdbmi_session_free(s);
	errno = e;
	return NULL;
}

/* ---------------------------------------------------------------- end */

/* Stop the program, ask gdb to quit, kill it when it will not. */
static void quit(struct gdbmi_session *s)
{
	int ms = s->opt.exit_timeout_ms;
	int64_t deadline;

	if (s->running) {
		unsigned long since = s->stops;

		/* gdb cannot detach from a running program: it would leave it traced. */
		if (gdbmi_interrupt(s) != GDBMI_OK ||
		    gdbmi_wait_stopped(s, since, ms < 1000 ? ms : 1000, NULL) != GDBMI_OK)
			gdbmi_log(s, GDBMI_LOG_WARN,
				  "the program did not stop: gdb may quit without "
				  "detaching from it");
	}
	s->quitting = 1;
	if (!s->dead)
		gdbmi_cmd_timeout(s, ms, NULL, "-gdb-exit");
	deadline = gdbmi_now_ms() + ms;
	while (!s->dead && gdbmi_now_ms() < deadline)
		if (gdbmi_session_step(s, (int)(deadline - gdbmi_now_ms())) == GDBMI_IO)
			break;
	if (s->dead)
		return;
	gdbmi_log(s, GDBMI_LOG_WARN, "gdb did not quit within %d ms: killing it", ms);
	gdbmi_proc_kill(&s->proc, SIGKILL);
	deadline = gdbmi_now_ms() + KILL_WAIT_MS;
	while (!s->dead && gdbmi_now_ms() < deadline)
		if (gdbmi_session_step(s, (int)(deadline - gdbmi_now_ms())) == GDBMI_IO)
			break;
	/* Its output is held open by someone else: stop waiting for it. */
	if (!s->dead)
		gdbmi_mark_dead(s);
}

void gdbmi_session_free(struct gdbmi_session *s)
{
	if (!s)
		return;
	if (s->in_callback) {
		gdbmi_log(s, GDBMI_LOG_ERR, "gdbmi_session_free called from a callback: ignored");
		return;
	}
	if (!s->dead && s->proc.pid > 0)
		quit(s);
	gdbmi_proc_close(&s->proc);
	gdbmi_pending_free_all(s);
	gdbmi_parser_free(s->parser);
	gdbmi_record_free(s->last_stop);
	gdbmi_record_free(s->features);
	gdbmi_buf_free(&s->out);
	gdbmi_buf_free(&s->err_line);
	gdbmi_buf_free(&s->error);
	free(s->readbuf);
	free(s);
}

/* ---------------------------------------------------------------- state */

pid_t gdbmi_session_pid(const struct gdbmi_session *s)
{
	return s->proc.pid;
}

int gdbmi_session_alive(const struct gdbmi_session *s)
{
	return !s->dead && s->proc.pid > 0;
}

const char *gdbmi_session_version(const struct gdbmi_session *s)
{
	return s->version;
}

int gdbmi_has_feature(const struct gdbmi_session *s, const char *feature)
{
	const struct gdbmi_value *list = gdbmi_record_get(s->features, "features");

	for (size_t i = 0; list && i < list->n; i++)
		if (list->v[i].kind == GDBMI_STRING && strcmp(list->v[i].str, feature) == 0)
			return 1;
	return 0;
}

const char *gdbmi_session_error(const struct gdbmi_session *s)
{
	return s->error.p ? s->error.p : "";
}

unsigned long gdbmi_stop_count(const struct gdbmi_session *s)
{
	return s->stops;
}

int gdbmi_is_running(const struct gdbmi_session *s)
{
	return s->running;
}

enum gdbmi_status gdbmi_wait_stopped(struct gdbmi_session *s, unsigned long since, int timeout_ms,
				     struct gdbmi_record **stopped)
{
	int64_t deadline, left;

	if (stopped)
		*stopped = NULL;
	if (s->in_callback)
		return GDBMI_BAD_INPUT;
	if (timeout_ms <= 0)
		timeout_ms = s->opt.timeout_ms;
	deadline = gdbmi_now_ms() + timeout_ms;
	while (s->stops == since) {
		if (s->dead)
			return GDBMI_DEAD;
		left = deadline - gdbmi_now_ms();
		if (left <= 0) {
			gdbmi_set_error(s, GDBMI_LOG_WARN, "the program did not stop within %d ms",
					timeout_ms);
			return GDBMI_TIMEOUT;
		}
		if (gdbmi_session_step(s, (int)left) == GDBMI_IO)
			return GDBMI_IO;
	}
	if (stopped) {
		*stopped = s->last_stop;
		s->last_stop = NULL;
	}
	return GDBMI_OK;
}

enum gdbmi_status gdbmi_interrupt(struct gdbmi_session *s)
{
	if (s->dead)
		return GDBMI_DEAD;
	if (!s->opt.sync_exec)
		return gdbmi_cmd(s, NULL, "-exec-interrupt");
	/* In the foreground mode gdb reads no command until the program stops. */
	if (kill(s->proc.pid, SIGINT) < 0) {
		gdbmi_set_error(s, GDBMI_LOG_ERR, "interrupting gdb: %s", strerror(errno));
		return GDBMI_IO;
	}
	return GDBMI_OK;
}
