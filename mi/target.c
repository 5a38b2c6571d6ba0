/*
 * target.c: choosing what gdb debugs (a program's symbols, a core, a
 * gdbserver, a local process) and making it run and stop.
 *
 * The paths that find the target's files are set before anything loads:
 * changing them later makes gdb reload every library. Loading symbols,
 * opening a core, connecting and attaching can take far longer than an
 * ordinary command, so those steps get the session's start timeout.
 *
 * gdb parses the arguments of these commands in different ways:
 * -file-exec-and-symbols splits them like a shell (so the path is quoted),
 * -gdb-set and -target-select take the rest of the line as it is (so the
 * text goes raw, and only a line break is refused).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

/* TEXT may go into a command line: not NULL, no line break. */
static int valid_arg(struct gdbmi_session *s, const char *what, const char *text)
{
	if (!text || strpbrk(text, "\r\n")) {
		gdbmi_set_error(s, GDBMI_LOG_ERR, "%s: %s", what,
				text ? "a line break is not allowed" : "missing");
		return 0;
	}
	return 1;
}

enum gdbmi_status gdbmi_set_paths(struct gdbmi_session *s, const struct gdbmi_paths *paths)
{
	const struct {
		const char *name, *value;
	} set[] = {
		{ "sysroot", paths ? paths->sysroot : NULL },
		{ "solib-search-path", paths ? paths->solib_search_path : NULL },
		{ "debug-file-directory", paths ? paths->debug_file_directory : NULL },
	};
	enum gdbmi_status st;

	for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
		if (!set[i].value)
			continue;
		if (!valid_arg(s, set[i].name, set[i].value))
			return GDBMI_BAD_INPUT;
		st = gdbmi_cmd(s, NULL, "-gdb-set %s %s", set[i].name, set[i].value);
		if (st != GDBMI_OK)
			return st;
	}
	return GDBMI_OK;
}

/* -file-exec-and-symbols PROGRAM, quoted. */
static enum gdbmi_status load_program(struct gdbmi_session *s, const char *program)
{
	enum gdbmi_status st;
	char *q;

	if (!valid_arg(s, "program", program))
		return GDBMI_BAD_INPUT;
	q = gdbmi_quote(program);
	if (!q)
		return GDBMI_NOMEM;
	st = gdbmi_cmd_timeout(s, s->opt.start_timeout_ms, NULL, "-file-exec-and-symbols %s", q);
	free(q);
	return st;
}

enum gdbmi_status gdbmi_open_program(struct gdbmi_session *s, const struct gdbmi_paths *paths,
				     const char *program)
{
	enum gdbmi_status st = gdbmi_set_paths(s, paths);

	return st != GDBMI_OK ? st : load_program(s, program);
}

enum gdbmi_status gdbmi_open_core(struct gdbmi_session *s, const struct gdbmi_paths *paths,
				  const char *program, const char *core, struct gdbmi_stop **frame)
{
	struct gdbmi_record *rec;
	enum gdbmi_status st;

	if (frame)
		*frame = NULL;
	if (!valid_arg(s, "core", core))
		return GDBMI_BAD_INPUT;
	st = gdbmi_set_paths(s, paths);
	if (st == GDBMI_OK && program)
		st = load_program(s, program);
	if (st != GDBMI_OK)
		return st;
	st = gdbmi_cmd_timeout(s, s->opt.start_timeout_ms, &rec, "-target-select core %s", core);
	if (st != GDBMI_OK || !frame) {
		gdbmi_record_free(rec);
		return st;
	}
	st = gdbmi_decode_stop(rec, frame);
	if (st != GDBMI_OK)
		gdbmi_record_free(rec);
	return st;
}

/*
 * Run a command that makes gdb stop the program (connect, attach) and wait
 * for that stop, which may come before or after the answer.
 */
static enum gdbmi_status cmd_then_stop(struct gdbmi_session *s, const char *cmd, const char *arg)
{
	unsigned long since = s->stops;
	enum gdbmi_status st;

	st = gdbmi_cmd_timeout(s, s->opt.start_timeout_ms, NULL, "%s%s", cmd, arg);
	if (st != GDBMI_OK)
		return st;
	return gdbmi_wait_stopped(s, since, s->opt.start_timeout_ms, NULL);
}

enum gdbmi_status gdbmi_connect(struct gdbmi_session *s, const char *hostport)
{
	if (!valid_arg(s, "host:port", hostport) || !*hostport || strchr(hostport, ' ')) {
		gdbmi_set_error(s, GDBMI_LOG_ERR, "bad host:port '%s'", hostport ? hostport : "");
		return GDBMI_BAD_INPUT;
	}
	return cmd_then_stop(s, "-target-select remote ", hostport);
}

enum gdbmi_status gdbmi_connect_pipe(struct gdbmi_session *s, const char *command)
{
	if (!valid_arg(s, "gdbserver command", command))
		return GDBMI_BAD_INPUT;
	return cmd_then_stop(s, "-target-select remote | ", command);
}

enum gdbmi_status gdbmi_attach(struct gdbmi_session *s, pid_t pid)
{
	char num[24];

	if (pid <= 0) {
		gdbmi_set_error(s, GDBMI_LOG_ERR, "attach: bad pid %ld", (long)pid);
		return GDBMI_BAD_INPUT;
	}
	snprintf(num, sizeof(num), "%ld", (long)pid);
	return cmd_then_stop(s, "-target-attach ", num);
}

enum gdbmi_status gdbmi_detach(struct gdbmi_session *s)
{
	return gdbmi_cmd(s, NULL, "-target-detach");
}

enum gdbmi_status gdbmi_break_insert(struct gdbmi_session *s, const char *location,
				     struct gdbmi_bkpt **out)
{
	struct gdbmi_record *rec;
	enum gdbmi_status st;
	char *q;

	if (out)
		*out = NULL;
	if (!valid_arg(s, "breakpoint location", location))
		return GDBMI_BAD_INPUT;
	q = gdbmi_quote(location);
	if (!q)
		return GDBMI_NOMEM;
	st = gdbmi_cmd(s, &rec, "-break-insert %s", q);
	free(q);
	if (st != GDBMI_OK || !out) {
		gdbmi_record_free(rec);
		return st;
	}
	st = gdbmi_decode_bkpt(rec, out);
	if (st != GDBMI_OK) {
		gdbmi_set_error(s, GDBMI_LOG_WARN, "-break-insert: unexpected answer: %s",
				rec->line);
		gdbmi_record_free(rec);
	}
	return st;
}

enum gdbmi_status gdbmi_continue(struct gdbmi_session *s, int timeout_ms, struct gdbmi_stop **stop)
{
	unsigned long since = s->stops;
	struct gdbmi_record *rec;
	enum gdbmi_status st;

	if (stop)
		*stop = NULL;
	st = gdbmi_cmd(s, NULL, "-exec-continue");
	if (st != GDBMI_OK)
		return st;
	st = gdbmi_wait_stopped(s, since, timeout_ms, stop ? &rec : NULL);
	if (st != GDBMI_OK || !stop)
		return st;
	if (!rec) {
		gdbmi_set_error(s, GDBMI_LOG_WARN, "the stop was already taken");
		return GDBMI_BAD_INPUT;
	}
	st = gdbmi_decode_stop(rec, stop);
	if (st != GDBMI_OK)
		gdbmi_record_free(rec);
	return st;
}
