/*
 * Live test of libgdbmi with the real gdb and gdbserver against the victim
 * tests/victims/mi_victim.c, through the typed helpers:
 *
 *  1. attach to the running victim, write a core of it (generate-core-file),
 *     detach; open the core and read frames, mi_hold's arguments and
 *     locals, the bytes of mi_bytes, mi_big (6 MiB, read in pieces) and one
 *     5 MiB -data-read-memory-bytes answer: a 10 MB line;
 *  2. gdbserver --attach on TCP (port 0, the port read from its output):
 *     connect, break in mi_target_fn, continue to it, read its arguments,
 *     then run without a breakpoint past a timeout and interrupt;
 *  3. gdbserver on a pipe (target remote | gdbserver - --attach PID): the
 *     same breakpoint and arguments.
 *
 * After each, the victim must run on untraced: gdb and gdbserver detach,
 * with their breakpoints removed. Exit status: 0 pass, 1 fail, 77 when gdb
 * is not installed (the ARM test VMs), 99 when the victim is missing.
 */
#include "../../mi/gdbmi.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static char victim_path[4096];
static int verbose;

static const unsigned char victim_bytes[32] = {
	'm', 'i', 0, '"', '\\', '\n', '\t', 0x1b, 0x7f, 0xc3, 0xa9, 0x20, 0x21, 0x22, 0x23, 0x24,
	0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34,
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void log_fn(void *ctx, enum gdbmi_log_level level, const char *msg)
{
	(void)ctx;
	if (verbose || level <= GDBMI_LOG_WARN)
		printf("# gdbmi[%d] %s\n", level, msg);
}

static struct gdbmi_session *start(void)
{
	struct gdbmi_options o = { .log = log_fn, .timeout_ms = 30000 };
	struct gdbmi_session *s = gdbmi_session_new(&o);

	CHECK(s, "gdb session");
	return s;
}

/* ---------------------------------------------------------------- processes */

/*
 * Run ARGV with the stream FD (1 or 2) on a pipe; the pipe's read end in
 * *OUT. LEADER: in a process group of its own. Returns the pid.
 */
static pid_t run(const char *const argv[], int fd, int *out, int leader)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		broken("pipe");
	pid = fork();
	if (pid < 0)
		broken("fork");
	if (pid == 0) {
		if (leader)
			setpgid(0, 0);
		dup2(p[1], fd);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	*out = p[0];
	return pid;
}

/* Read from FD until a line holding WHAT; that line into BUF. -1 on timeout/EOF. */
static int wait_line(int fd, const char *what, char *buf, size_t size, int timeout_ms)
{
	size_t len = 0;
	double end = now() + timeout_ms / 1000.0;

	while (now() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char *nl;
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			if (strstr(buf, what))
				return 0;
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
		if (len == size - 1)
			len = 0;
	}
	return -1;
}

static pid_t start_victim(int *fd)
{
	const char *argv[] = { victim_path, "-s", "100", NULL };
	char line[256];
	/*
	 * A group leader, as daemons are: gdbserver interrupts a program it
	 * attached to with kill(-pid, SIGINT), which reaches no one otherwise
	 * (docs/gdbmi.md, "Limits").
	 */
	pid_t pid = run(argv, 1, fd, 1);

	if (wait_line(*fd, "ready", line, sizeof(line), 10000) < 0)
		broken("the victim did not start");
	return pid;
}

static void stop_process(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* The victim runs, untraced and not stopped: gdb left it as it found it. */
static void check_untouched(pid_t pid, const char *when)
{
	char path[64], buf[4096], state = '?';
	long tracer = -1;
	double end = now() + 5;
	FILE *f;

	/* gdbserver may take a moment to detach after gdb has gone. */
	do {
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
		f = fopen(path, "r");
		if (!f)
			break;
		while (fgets(buf, sizeof(buf), f)) {
			sscanf(buf, "State: %c", &state);
			sscanf(buf, "TracerPid: %ld", &tracer);
		}
		fclose(f);
		if (tracer == 0 && (state == 'S' || state == 'R'))
			break;
		usleep(50 * 1000);
	} while (now() < end);
	CHECK(waitpid(pid, NULL, WNOHANG) == 0, "%s: the victim died", when);
	CHECK(tracer == 0 && (state == 'S' || state == 'R'), "%s: victim state %c, tracer %ld", when,
	      state, tracer);
}

/* ---------------------------------------------------------------- helpers */

static int eval_u64(struct gdbmi_session *s, const char *expr, uint64_t *out)
{
	char *v = NULL;
	int ok = gdbmi_evaluate(s, expr, &v) == GDBMI_OK && v && sscanf(v, "%" SCNu64, out) == 1;

	free(v);
	return ok ? 0 : -1;
}

static const struct gdbmi_var *var(const struct gdbmi_vars *v, const char *name)
{
	for (size_t i = 0; v && i < v->n; i++)
		if (strcmp(v->var[i].name, name) == 0)
			return &v->var[i];
	return NULL;
}

static int literal_is(const char *value, const char *want)
{
	char *out;
	size_t n;
	int ok;

	if (!value || gdbmi_c_literal(value, strlen(value), &out, &n, NULL) != GDBMI_OK)
		return 0;
	ok = n == strlen(want) && memcmp(out, want, n) == 0;
	free(out);
	return ok;
}

static const char *s_or(const char *s)
{
	return s ? s : "(null)";
}

/* ---------------------------------------------------------------- 1: core */

static void write_core(pid_t pid)
{
	struct gdbmi_session *s = start();
	char *out = NULL;

	if (!s)
		return;
	CHECK(gdbmi_attach(s, pid) == GDBMI_OK, "attach: %s", gdbmi_session_error(s));
	CHECK(gdbmi_console(s, "generate-core-file core", &out, NULL) == GDBMI_OK && out &&
	      strstr(out, "Saved corefile core"), "gcore: %s", out ? out : gdbmi_session_error(s));
	free(out);
	CHECK(gdbmi_detach(s) == GDBMI_OK, "detach");
	gdbmi_session_free(s);
	check_untouched(pid, "after gcore");
}

static void read_core(void)
{
	struct gdbmi_paths paths = { .sysroot = "/" };
	struct gdbmi_session *s = start();
	struct gdbmi_stop *where = NULL;
	struct gdbmi_frames *fr = NULL;
	struct gdbmi_vars *vars = NULL;
	struct gdbmi_record *r = NULL;
	unsigned char bytes[32], *big;
	uint64_t addr = 0, big_addr = 0, big_len = 0;
	size_t got = 0, hold = 0, descend = 0;
	const struct gdbmi_value *contents;
	double t0;

	if (!s)
		return;
	CHECK(gdbmi_open_core(s, &paths, victim_path, "core", &where) == GDBMI_OK && where,
	      "open core: %s", gdbmi_session_error(s));
	CHECK(where && where->has_frame && strstr(s_or(where->frame.func), "nanosleep"),
	      "the core's frame: %s", where ? s_or(where->frame.func) : "-");
	gdbmi_stop_free(where);

	CHECK(gdbmi_list_frames(s, 0, 0, -1, &fr) == GDBMI_OK && fr, "frames: %s",
	      gdbmi_session_error(s));
	for (size_t i = 0; fr && i < fr->n; i++) {
		if (strcmp(s_or(fr->frame[i].func), "mi_hold") == 0)
			hold = i;
		descend += strcmp(s_or(fr->frame[i].func), "mi_descend") == 0;
	}
	CHECK(hold > 0 && descend == 4 && fr && strcmp(s_or(fr->frame[fr->n - 1].func), "main") == 0,
	      "frames: mi_hold at %zu, %zu mi_descend, main last", hold, descend);
	CHECK(fr && hold && strcmp(s_or(fr->frame[hold].file), "tests/victims/mi_victim.c") == 0 &&
	      fr->frame[hold].line > 0 && fr->frame[hold].addr, "frames: mi_hold's file and line");
	gdbmi_frames_free(fr);
	fr = NULL;
	CHECK(gdbmi_list_frames(s, 0, 2, 3, &fr) == GDBMI_OK && fr && fr->n == 2 && fr->frame[0].level == 2,
	      "frames 2..3");
	gdbmi_frames_free(fr);

	CHECK(gdbmi_list_variables(s, 0, hold, GDBMI_SIMPLE_VALUES, &vars) == GDBMI_OK && vars,
	      "variables: %s", gdbmi_session_error(s));
	CHECK(var(vars, "tag") && var(vars, "tag")->is_arg && literal_is(var(vars, "tag")->value, "holding"),
	      "argument tag");
	CHECK(var(vars, "rounds") && strcmp(s_or(var(vars, "rounds")->value), "7") == 0, "argument rounds");
	CHECK(var(vars, "label") && !var(vars, "label")->is_arg &&
	      literal_is(var(vars, "label")->value, "local label"), "local label");
	CHECK(var(vars, "counter") && var(vars, "counter")->value, "local counter");
	gdbmi_vars_free(vars);

	/* A buffer's bytes, NUL, quote, backslash and high bytes included. */
	CHECK(eval_u64(s, "(unsigned long)&mi_bytes", &addr) == 0 && addr, "&mi_bytes");
	CHECK(gdbmi_read_memory(s, addr, sizeof(bytes), bytes, &got) == GDBMI_OK && got == 32 &&
	      memcmp(bytes, victim_bytes, 32) == 0, "mi_bytes read back (%zu bytes)", got);
	CHECK(gdbmi_read_memory(s, 0, 16, bytes, &got) == GDBMI_GDB_ERROR && got == 0,
	      "address 0 is not readable");

	/* 6 MiB in 1 MiB pieces. */
	CHECK(eval_u64(s, "(unsigned long)mi_big", &big_addr) == 0 && eval_u64(s, "mi_big_len", &big_len) == 0 &&
	      big_len == 6u << 20, "mi_big at 0x%" PRIx64 ", %" PRIu64 " bytes", big_addr, big_len);
	big = malloc(6u << 20);
	if (!big)
		broken("malloc");
	t0 = now();
	CHECK(gdbmi_read_memory(s, big_addr, 6u << 20, big, &got) == GDBMI_OK && got == 6u << 20,
	      "mi_big read: %zu bytes", got);
	printf("# read 6 MiB from a core: %.2f s\n", now() - t0);
	for (size_t i = 0; i < got; i++)
		if (big[i] != (unsigned char)((i * 7 + 3) & 0xff)) {
			CHECK(0, "mi_big differs at %zu", i);
			break;
		}
	free(big);

	/* One answer of 5 MiB: a 10 MB line. */
	t0 = now();
	CHECK(gdbmi_cmd(s, &r, "-data-read-memory-bytes %" PRIu64 " %u", big_addr, 5u << 20) == GDBMI_OK,
	      "5 MiB in one command");
	contents = gdbmi_record_get(r, "memory[0].contents");
	CHECK(contents && contents->len == 10u << 20 && r->line_len > 10u << 20, "a line of %zu bytes",
	      r ? r->line_len : 0);
	CHECK(contents && contents->len >= 8 && memcmp(contents->str, "030a11181f262d34", 16) == 0,
	      "its first bytes");
	printf("# a 10 MB line from gdb: %.2f s\n", now() - t0);
	gdbmi_record_free(r);
	gdbmi_session_free(s);
}

/* ---------------------------------------------------------------- 2, 3: gdbserver */

/* Stop at mi_target_fn and check its arguments. */
static void break_and_read(struct gdbmi_session *s, const char *how)
{
	struct gdbmi_bkpt *b = NULL;
	struct gdbmi_stop *st = NULL;
	struct gdbmi_vars *vars = NULL;
	struct gdbmi_frames *fr = NULL;
	char *v = NULL;

	CHECK(gdbmi_break_insert(s, "mi_target_fn", &b) == GDBMI_OK && b && b->nloc == 1 &&
	      strcmp(s_or(b->loc[0].func), "mi_target_fn") == 0, "%s: breakpoint: %s", how,
	      gdbmi_session_error(s));
	gdbmi_bkpt_free(b);
	CHECK(gdbmi_continue(s, 10000, &st) == GDBMI_OK && st, "%s: continue: %s", how,
	      gdbmi_session_error(s));
	CHECK(st && strcmp(s_or(st->reason), "breakpoint-hit") == 0 && st->bkptno == 1 &&
	      strcmp(s_or(st->frame.func), "mi_target_fn") == 0, "%s: stopped at the breakpoint", how);
	gdbmi_stop_free(st);
	CHECK(gdbmi_list_variables(s, 0, 0, GDBMI_ALL_VALUES, &vars) == GDBMI_OK && vars, "%s: args",
	      how);
	CHECK(var(vars, "count") && var(vars, "count")->is_arg &&
	      strcmp(s_or(var(vars, "count")->value), "42") == 0, "%s: count = 42", how);
	CHECK(var(vars, "word") && literal_is(var(vars, "word")->value, "hello"), "%s: word = \"hello\"",
	      how);
	CHECK(var(vars, "pair") && strstr(s_or(var(vars, "pair")->value), "<mi_pair_global>"),
	      "%s: pair", how);
	gdbmi_vars_free(vars);
	CHECK(gdbmi_evaluate(s, "pair->name", &v) == GDBMI_OK && literal_is(v, "pair"), "%s: pair->name",
	      how);
	free(v);
	CHECK(gdbmi_list_frames(s, 0, 0, 1, &fr) == GDBMI_OK && fr && fr->n == 2 &&
	      strcmp(s_or(fr->frame[1].func), "mi_hold") == 0, "%s: called from mi_hold", how);
	gdbmi_frames_free(fr);
}

static void gdbserver_tcp(pid_t victim)
{
	char pid[16], line[512], hostport[64];
	const char *argv[] = { "gdbserver", "--attach", ":0", pid, NULL };
	struct gdbmi_paths paths = { .sysroot = "/" };
	struct gdbmi_session *s;
	struct gdbmi_stop *st = NULL;
	struct gdbmi_record *stopped = NULL;
	unsigned long since;
	int fd, port = 0;
	pid_t server;
	double t0;

	snprintf(pid, sizeof(pid), "%d", (int)victim);
	server = run(argv, 2, &fd, 0);
	if (wait_line(fd, "Listening on port", line, sizeof(line), 10000) < 0 ||
	    sscanf(strstr(line, "port") + 4, "%d", &port) != 1) {
		CHECK(0, "gdbserver did not listen");
		stop_process(server);
		close(fd);
		return;
	}
	s = start();
	if (!s)
		return;
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", port);
	CHECK(gdbmi_open_program(s, &paths, victim_path) == GDBMI_OK, "tcp: program");
	CHECK(gdbmi_connect(s, hostport) == GDBMI_OK, "tcp: connect %s: %s", hostport,
	      gdbmi_session_error(s));
	break_and_read(s, "tcp");

	/* Running with no breakpoint: the wait times out, the interrupt stops it. */
	CHECK(gdbmi_cmd(s, NULL, "-break-delete") == GDBMI_OK, "tcp: delete breakpoints");
	t0 = now();
	CHECK(gdbmi_continue(s, 700, &st) == GDBMI_TIMEOUT && !st, "tcp: no stop within 700 ms");
	CHECK(now() - t0 < 3 && gdbmi_is_running(s), "tcp: running after the timeout");
	since = gdbmi_stop_count(s);
	CHECK(gdbmi_interrupt(s) == GDBMI_OK, "tcp: interrupt: %s", gdbmi_session_error(s));
	CHECK(gdbmi_wait_stopped(s, since, 5000, &stopped) == GDBMI_OK && stopped &&
	      strcmp(s_or(gdbmi_get_str(stopped->results, "reason")), "signal-received") == 0,
	      "tcp: stopped by the interrupt");
	gdbmi_record_free(stopped);
	CHECK(!gdbmi_is_running(s), "tcp: not running");
	gdbmi_session_free(s);
	/* gdb detached on quitting, so the one-connection gdbserver ends. */
	for (int i = 0; i < 100 && waitpid(server, NULL, WNOHANG) == 0; i++)
		usleep(50 * 1000);
	CHECK(kill(server, 0) < 0, "tcp: gdbserver ended after gdb detached");
	stop_process(server);
	close(fd);
	check_untouched(victim, "after gdbserver on TCP");
}

static void gdbserver_pipe(pid_t victim)
{
	struct gdbmi_paths paths = { .sysroot = "/" };
	struct gdbmi_session *s = start();
	char cmd[128];

	if (!s)
		return;
	snprintf(cmd, sizeof(cmd), "gdbserver - --attach %d", (int)victim);
	CHECK(gdbmi_open_program(s, &paths, victim_path) == GDBMI_OK, "pipe: program");
	CHECK(gdbmi_connect_pipe(s, cmd) == GDBMI_OK, "pipe: connect: %s", gdbmi_session_error(s));
	break_and_read(s, "pipe");
	gdbmi_session_free(s);
	check_untouched(victim, "after gdbserver on a pipe");
}

int main(void)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	char top_build[2048];
	pid_t victim;
	int vfd;

	verbose = getenv("V") != NULL;
	if (system("gdb --version >/dev/null 2>&1") != 0) {
		printf("SKIP: gdb is not installed (apt-get install gdb)\n");
		return 77;
	}
	if (strlen(build) > 1024 || (getenv("TOP") && strlen(getenv("TOP")) > 1000))
		broken("BUILD or TOP too long");
	if (build[0] != '/' && getenv("TOP")) {
		snprintf(top_build, sizeof(top_build), "%s/%s", getenv("TOP"), build);
		build = top_build;
	}
	snprintf(victim_path, sizeof(victim_path), "%s/tests/victims/mi_victim", build);
	if (access(victim_path, X_OK) < 0)
		broken(victim_path);
	signal(SIGPIPE, SIG_IGN);

	victim = start_victim(&vfd);
	write_core(victim);
	read_core();
	if (system("gdbserver --version >/dev/null 2>&1") != 0) {
		CHECK(0, "gdbserver is not installed (apt-get install gdbserver)");
	} else {
		gdbserver_tcp(victim);
		gdbserver_pipe(victim);
	}
	check_untouched(victim, "at the end");
	stop_process(victim);
	close(vfd);
	return check_done();
}
