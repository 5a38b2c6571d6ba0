/*
 * Unit test for the gdb session (mi/session.c, mi/command.c, mi/spawn.c)
 * with the real gdb and no program to debug: start-up and its settings,
 * answers tied to commands by token (fifty commands in flight, collected
 * in reverse), ^error, console output, the async callback, the event-loop
 * interface (pollfds, step, DONE callbacks), bad input, and the failures:
 * gdb missing, gdb exiting at once, gdb stopped (a timeout, then a late
 * answer that must not be taken for the next command's), gdb killed in the
 * middle of a command while a helper it started holds its output open.
 *
 * Exit status: 0 pass, 1 fail, 77 when gdb is not installed, 99 broken.
 */
#include "../../mi/gdbmi.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int verbose;
static char last_log[1024];

static void log_fn(void *ctx, enum gdbmi_log_level level, const char *msg)
{
	(void)ctx;
	if (level <= GDBMI_LOG_WARN)
		snprintf(last_log, sizeof(last_log), "%s", msg);
	if (verbose || level <= GDBMI_LOG_WARN)
		printf("# [%d] %s\n", level, msg);
}

static int asyncs, param_changed;

static void async_fn(void *ctx, const struct gdbmi_record *rec)
{
	(void)ctx;
	asyncs++;
	if (gdbmi_is(rec, GDBMI_NOTIFY, "cmd-param-changed"))
		param_changed++;
}

static struct gdbmi_session *start(const struct gdbmi_options *extra)
{
	struct gdbmi_options o = { .log = log_fn, .on_async = async_fn, .timeout_ms = 20000 };

	if (extra)
		o = *extra;
	return gdbmi_session_new(&o);
}

static char *eval(struct gdbmi_session *s, const char *expr)
{
	char *v = NULL;

	gdbmi_evaluate(s, expr, &v);
	return v;
}

/* gdb's setting NAME (-gdb-show) must be WANT. */
#define CHECK_SETTING(s, name, want) check_setting_at(s, name, want, __LINE__)
static void check_setting_at(struct gdbmi_session *s, const char *name, const char *want, int line)
{
	struct gdbmi_record *r = NULL;
	const char *v;

	if (gdbmi_cmd(s, &r, "-gdb-show %s", name) != GDBMI_OK || !r)
		v = "(no answer)";
	else
		v = gdbmi_get_str(r->results, "value");
	check_at(v && strcmp(v, want) == 0, __FILE__, line, "%s: %s, want %s", name, v ? v : "(none)", want);
	gdbmi_record_free(r);
}

/* ---------------------------------------------------------------- basics */

static void test_basics(struct gdbmi_session *s)
{
	struct gdbmi_record *r = NULL;
	char *out = NULL, *v;
	size_t len = 0;

	CHECK(strncmp(gdbmi_session_version(s), "GNU gdb", 7) == 0, "version '%s'",
	      gdbmi_session_version(s));
	CHECK(gdbmi_has_feature(s, "data-read-memory-bytes") && !gdbmi_has_feature(s, "no-such"),
	      "features");
	CHECK(gdbmi_session_pid(s) > 0 && gdbmi_session_alive(s), "pid and alive");
	CHECK(gdbmi_cmd(s, &r, "-data-evaluate-expression 6*7") == GDBMI_OK &&
	      strcmp(gdbmi_get_str(r->results, "value"), "42") == 0, "6*7");
	gdbmi_record_free(r);
	v = eval(s, "sizeof(\"a b\\\"c\")");
	CHECK(v && strcmp(v, "6") == 0, "quoted expression: %s", v ? v : "NULL");
	free(v);
	/* The settings made at start-up. */
	CHECK_SETTING(s, "pagination", "off");
	CHECK_SETTING(s, "confirm", "off");
	CHECK_SETTING(s, "width", "unlimited");
	CHECK_SETTING(s, "mi-async", "on");
	/* ^error: a status, the record, the message kept. */
	CHECK(gdbmi_cmd(s, &r, "-no-such-command") == GDBMI_GDB_ERROR && r &&
	      strcmp(gdbmi_error_msg(r), "Undefined MI command: no-such-command") == 0, "^error");
	gdbmi_record_free(r);
	CHECK(strstr(gdbmi_session_error(s), "Undefined MI command"), "error text: %s",
	      gdbmi_session_error(s));
	/* Console output collected for the command that printed it. */
	CHECK(gdbmi_console(s, "echo one\\ntwo\\n", &out, &len) == GDBMI_OK && out &&
	      strcmp(out, "one\ntwo\n") == 0 && len == 8, "console output: %s", out ? out : "NULL");
	free(out);
	CHECK(gdbmi_console(s, "show version", &out, NULL) == GDBMI_OK && out &&
	      strncmp(out, "GNU gdb", 7) == 0, "show version");
	free(out);
	CHECK(gdbmi_console(s, "no-such-cli-command", &out, NULL) == GDBMI_GDB_ERROR && !out,
	      "console error");
	CHECK(gdbmi_cmd(s, &r, "-interpreter-exec console \"echo x\"") == GDBMI_OK && r &&
	      r->console_len == 1 && r->console[0] == 'x', "console text on the record");
	gdbmi_record_free(r);
	/* Async records reach the callback. */
	param_changed = 0;
	CHECK(gdbmi_console(s, "set print pretty on", NULL, NULL) == GDBMI_OK && param_changed == 1,
	      "=cmd-param-changed to the async callback (%d)", param_changed);
	CHECK(asyncs > 0, "async callback called");
}

/* Answers find their command by token, whatever the order of waiting. */
static void test_pipelining(struct gdbmi_session *s)
{
	enum { N = 50 };
	unsigned long long tok[N];
	struct gdbmi_record *r;

	for (int i = 0; i < N; i++)
		CHECK(gdbmi_send(s, NULL, NULL, 0, &tok[i], "-data-evaluate-expression %d+1000", i) ==
		      GDBMI_OK, "send %d", i);
	for (int i = N - 1; i >= 0; i--) {
		char want[16];

		snprintf(want, sizeof(want), "%d", i + 1000);
		CHECK(gdbmi_wait(s, tok[i], &r) == GDBMI_OK && r &&
		      strcmp(gdbmi_get_str(r->results, "value"), want) == 0, "answer %d", i);
		gdbmi_record_free(r);
	}
	CHECK(gdbmi_wait(s, tok[0], &r) == GDBMI_BAD_INPUT && !r, "an answer is collected once");
	CHECK(gdbmi_wait(s, 999999, NULL) == GDBMI_BAD_INPUT, "unknown token");
}

/* ---------------------------------------------------------------- event loop */

struct done_log {
	int calls;
	int order[8];
	enum gdbmi_status st[8];
	char value[8][32];
};

static struct done_log dl;
static struct gdbmi_session *loop_session;
static int sent_from_callback;

static void done_fn(void *ctx, enum gdbmi_status st, struct gdbmi_record *rec)
{
	int i = dl.calls++, id = (int)(long)ctx;
	const char *v = rec ? gdbmi_get_str(rec->results, "value") : NULL;

	if (i < 8) {
		dl.order[i] = id;
		dl.st[i] = st;
		snprintf(dl.value[i], sizeof(dl.value[i]), "%s", v ? v : "");
	}
	/* Sending from a callback is allowed; waiting is not. */
	if (id == 1) {
		sent_from_callback = gdbmi_send(loop_session, done_fn, (void *)4L, 0, NULL,
						"-data-evaluate-expression 4") == GDBMI_OK;
		CHECK(gdbmi_wait(loop_session, 1, NULL) == GDBMI_BAD_INPUT, "wait in a callback");
		CHECK(gdbmi_session_step(loop_session, 0) == GDBMI_BAD_INPUT, "step in a callback");
	}
	gdbmi_record_free(rec);
}

static void test_event_loop(struct gdbmi_session *s)
{
	double t0 = now();
	struct pollfd pfd[4];
	int n;

	memset(&dl, 0, sizeof(dl));
	loop_session = s;
	CHECK(gdbmi_send(s, done_fn, (void *)1L, 0, NULL, "-data-evaluate-expression 1") == GDBMI_OK,
	      "send 1");
	CHECK(gdbmi_send(s, done_fn, (void *)2L, 0, NULL, "-no-such") == GDBMI_OK, "send 2");
	CHECK(gdbmi_send(s, done_fn, (void *)3L, 0, NULL, "-data-evaluate-expression 3") == GDBMI_OK,
	      "send 3");
	CHECK(gdbmi_session_next_timeout(s) > 0, "a deadline is pending");
	while (dl.calls < 4 && now() - t0 < 20) {
		n = gdbmi_session_pollfds(s, pfd, 4);
		CHECK(n >= 2, "fds to poll: %d", n);
		if (poll(pfd, (nfds_t)n, gdbmi_session_next_timeout(s)) < 0)
			broken("poll");
		CHECK(gdbmi_session_step(s, 0) == GDBMI_OK, "step");
	}
	CHECK(dl.calls == 4, "four callbacks, got %d", dl.calls);
	CHECK(dl.order[0] == 1 && dl.order[1] == 2 && dl.order[2] == 3 && dl.order[3] == 4,
	      "in order");
	CHECK(dl.st[0] == GDBMI_OK && strcmp(dl.value[0], "1") == 0, "first answer");
	CHECK(dl.st[1] == GDBMI_GDB_ERROR, "second: ^error");
	CHECK(dl.st[3] == GDBMI_OK && strcmp(dl.value[3], "4") == 0 && sent_from_callback,
	      "sent from a callback");
	CHECK(gdbmi_session_next_timeout(s) == -1 || gdbmi_session_next_timeout(s) <= 200,
	      "no deadline left");
}

static void test_bad_input(struct gdbmi_session *s)
{
	struct gdbmi_record *r = (struct gdbmi_record *)1;
	char *v;

	CHECK(gdbmi_cmd(s, &r, "-data-evaluate-expression 1\n-gdb-exit") == GDBMI_BAD_INPUT && !r,
	      "a line break in a command");
	CHECK(gdbmi_cmd(s, NULL, "-data-evaluate-expression 1\r") == GDBMI_BAD_INPUT, "a CR");
	CHECK(gdbmi_connect(s, "host:1 extra") == GDBMI_BAD_INPUT, "host:port with a space");
	CHECK(gdbmi_attach(s, 0) == GDBMI_BAD_INPUT, "pid 0");
	CHECK(gdbmi_open_program(s, NULL, "a\nb") == GDBMI_BAD_INPUT, "program with a line break");
	v = eval(s, "2+2");
	CHECK(v && strcmp(v, "4") == 0, "the session is still usable");
	free(v);
}

/* ---------------------------------------------------------------- failures */

static void test_missing(void)
{
	struct gdbmi_options o = { .gdb = "/nonexistent/bin/gdb", .log = log_fn };
	double t0 = now();
	struct gdbmi_session *s;

	last_log[0] = '\0';
	errno = 0;
	s = gdbmi_session_new(&o);
	CHECK(!s && errno == ENOENT, "missing gdb: errno %d", errno);
	CHECK(strstr(last_log, "cannot run /nonexistent/bin/gdb: No such file or directory"),
	      "missing gdb: message '%s'", last_log);
	CHECK(now() - t0 < 2, "missing gdb: fast");
	gdbmi_session_free(s);
}

static void test_exits_at_once(void)
{
	struct gdbmi_options o = { .gdb = "false", .log = log_fn };
	double t0 = now();
	struct gdbmi_session *s = gdbmi_session_new(&o);

	CHECK(!s, "a gdb that exits at once");
	CHECK(strstr(last_log, "exited with status 1"), "exit status reported: '%s'", last_log);
	CHECK(now() - t0 < 5, "reported fast (%.1f s)", now() - t0);
	gdbmi_session_free(s);
}

/* gdb stops answering: a timeout, and the session stays consistent. */
static void test_hang(void)
{
	struct gdbmi_session *s = start(NULL);
	struct gdbmi_record *r = NULL;
	double t0;
	char *v;

	if (!s) {
		CHECK(0, "hang: no session");
		return;
	}
	kill(gdbmi_session_pid(s), SIGSTOP);
	t0 = now();
	CHECK(gdbmi_cmd_timeout(s, 500, &r, "-data-evaluate-expression 111") == GDBMI_TIMEOUT && !r,
	      "stopped gdb: timeout");
	CHECK(now() - t0 >= 0.45 && now() - t0 < 3, "timeout after %.2f s", now() - t0);
	CHECK(strstr(gdbmi_session_error(s), "did not answer `-data-evaluate-expression 111` within 500 ms"),
	      "timeout message: %s", gdbmi_session_error(s));
	CHECK(gdbmi_session_alive(s), "still alive");
	kill(gdbmi_session_pid(s), SIGCONT);
	/* The late answer (111) must not be taken for this one. */
	v = eval(s, "222");
	CHECK(v && strcmp(v, "222") == 0, "after the timeout: %s", v ? v : "NULL");
	free(v);
	/* Stopped again, for good: ending the session must not hang. */
	kill(gdbmi_session_pid(s), SIGSTOP);
	t0 = now();
	gdbmi_session_free(s);
	CHECK(now() - t0 < 12, "ending a stopped gdb took %.1f s", now() - t0);
}

/*
 * gdb killed while a command runs, and a shell it started still holds its
 * output open: the death must be seen at once, not at the deadline.
 */
static void test_killed(void)
{
	struct gdbmi_session *s = start(NULL);
	unsigned long long tok;
	struct gdbmi_record *r = NULL;
	double t0;

	if (!s) {
		CHECK(0, "killed: no session");
		return;
	}
	CHECK(gdbmi_send(s, NULL, NULL, 30000, &tok, "-interpreter-exec console \"shell sleep 8\"") ==
	      GDBMI_OK, "send");
	gdbmi_session_step(s, 300);
	kill(gdbmi_session_pid(s), SIGKILL);
	t0 = now();
	CHECK(gdbmi_wait(s, tok, &r) == GDBMI_DEAD && !r, "killed: GDBMI_DEAD");
	CHECK(now() - t0 < 3, "killed: seen after %.2f s", now() - t0);
	CHECK(strstr(gdbmi_session_error(s), "killed by signal 9"), "killed: '%s'",
	      gdbmi_session_error(s));
	CHECK(!gdbmi_session_alive(s) && gdbmi_session_pid(s) == -1, "killed: not alive, reaped");
	CHECK(gdbmi_cmd(s, NULL, "-gdb-version") == GDBMI_DEAD, "killed: later commands");
	CHECK(gdbmi_session_step(s, 0) == GDBMI_DEAD, "killed: step");
	t0 = now();
	gdbmi_session_free(s);
	CHECK(now() - t0 < 1, "killed: free at once");
}

/* gdb exits by itself (-gdb-exit sent by the caller). */
static void test_exit_command(void)
{
	struct gdbmi_session *s = start(NULL);
	struct gdbmi_record *r = NULL;

	if (!s) {
		CHECK(0, "exit: no session");
		return;
	}
	CHECK(gdbmi_cmd(s, &r, "-gdb-exit") == GDBMI_OK && r && r->rclass == GDBMI_EXIT, "^exit");
	gdbmi_record_free(r);
	for (int i = 0; i < 50 && gdbmi_session_alive(s); i++)
		gdbmi_session_step(s, 100);
	CHECK(!gdbmi_session_alive(s), "gone after -gdb-exit");
	CHECK(strstr(gdbmi_session_error(s), "exited with status 0"), "exit: '%s'",
	      gdbmi_session_error(s));
	gdbmi_session_free(s);
}

/* MI2 and the foreground mode start too. */
static void test_mi2_sync(void)
{
	struct gdbmi_options o = { .interpreter = "mi2", .sync_exec = 1, .log = log_fn };
	struct gdbmi_session *s = gdbmi_session_new(&o);

	CHECK(s, "mi2 session");
	if (!s)
		return;
	CHECK_SETTING(s, "mi-async", "off");
	gdbmi_session_free(s);
}

int main(void)
{
	struct gdbmi_session *s;

	verbose = getenv("V") != NULL;
	if (system("gdb --version >/dev/null 2>&1") != 0) {
		printf("SKIP: gdb is not installed (apt-get install gdb)\n");
		return 77;
	}
	s = start(NULL);
	if (!s) {
		printf("BROKEN: gdb is installed but the session does not start\n");
		return 99;
	}
	test_basics(s);
	test_pipelining(s);
	test_event_loop(s);
	test_bad_input(s);
	gdbmi_session_free(s);
	test_missing();
	test_exits_at_once();
	test_hang();
	test_killed();
	test_exit_command();
	test_mi2_sync();
	gdbmi_session_free(NULL);
	return check_done();
}
