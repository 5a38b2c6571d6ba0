/*
 * What every unit test shares: CHECK(cond, fmt, ...) counts a check and
 * prints "FAIL file:line: message" when it fails; broken() ends the test as a
 * broken harness (exit 99). Each test prints its summary and exits 0 or 1
 * (check_done() does both).
 *
 * check_step() is the watchdog that turns a hang into a failure naming its
 * step; check_seed() gives the seed of a test's random choices and prints
 * it, and MEMTRACE_TEST_SEED=N gives it back to replay a failed run.
 * check_show() and check_shown() print bytes in a message; check_grow()
 * grows an array; check_tmpdir(), check_path() and
 * check_run() make and name files in a test's directory and run shell
 * commands, for a test that builds or inspects files.
 */
#ifndef TEST_CHECK_H
#define TEST_CHECK_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int checks, failures;

static inline void __attribute__((format(printf, 4, 5)))
check_at(int ok, const char *file, int line, const char *fmt, ...)
{
	const char *base = strrchr(file, '/');
	va_list ap;

	checks++;
	if (ok)
		return;
	failures++;
	printf("FAIL %s:%d: ", base ? base + 1 : file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

#define CHECK(ok, ...) check_at(!!(ok), __FILE__, __LINE__, __VA_ARGS__)

static inline void broken(const char *what)
{
	printf("BROKEN: %s: %s\n", what, strerror(errno));
	exit(99);
}

/* The test's summary line, "test_x: N checks, M failed", and its exit
 * status: `return check_done();` at the end of main. */
static inline int check_done(void)
{
	printf("%s: %d checks, %d failed\n", program_invocation_short_name, checks, failures);
	return failures ? 1 : 0;
}

/* ---------------------------------------------------------------- showing bytes */

/*
 * The N bytes at S for a failure message: quoted, each byte outside
 * printable ASCII (and " and \) as \xNN, cut with "..." past about 190
 * characters. One of four static buffers used in turn, so that up to four
 * stand in one message.
 */
static inline const char *check_shown(const char *s, size_t n)
{
	static char bufs[4][200];
	static int next;
	char *b = bufs[next++ & 3];
	size_t o = 0, i;

	b[o++] = '"';
	for (i = 0; i < n && o < sizeof(bufs[0]) - 8; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			b[o++] = (char)c;
		else
			o += (size_t)snprintf(b + o, sizeof(bufs[0]) - o, "\\x%02x", c);
	}
	if (i < n)
		o += (size_t)snprintf(b + o, sizeof(bufs[0]) - o, "...");
	b[o++] = '"';
	b[o] = '\0';
	return b;
}

/* The string S the same way; NULL as (null). */
static inline const char *check_show(const char *s)
{
	return s ? check_shown(s, strlen(s)) : "(null)";
}

/* ---------------------------------------------------------------- watchdog */

static const char *check_step_name = "start";
static unsigned check_step_seconds;

/* SIGALRM: "FAIL test_x: watchdog: no progress for N s in STEP", exit 1.
 * Only write() and _exit(): it interrupts the test anywhere. */
static inline void check_watchdog_fired(int sig)
{
	static const char what[] = ": watchdog: no progress for ";
	const char *name = program_invocation_short_name;
	char num[12], *p = num + sizeof(num);
	unsigned n = check_step_seconds;
	int ok;

	(void)sig;
	do
		*--p = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	ok = write(1, "FAIL ", 5) >= 0 && write(1, name, strlen(name)) >= 0 &&
	     write(1, what, sizeof(what) - 1) >= 0 && write(1, p, (size_t)(num + sizeof(num) - p)) >= 0 &&
	     write(1, " s in ", 6) >= 0 && write(1, check_step_name, strlen(check_step_name)) >= 0;
	if (ok && write(1, "\n", 1) < 0)
		_exit(1);
	_exit(1);
}

/*
 * Start step NAME (a string that outlives it) and give it SECONDS: a step
 * still running then fails the test, as above. The next check_step ends
 * it; SECONDS 0 stops the watchdog. The test's SIGALRM is the watchdog's:
 * it installs the handler at the first call. Not inherited by a fork()ed
 * child: a child that needs one calls check_step itself.
 */
static inline void check_step(const char *name, unsigned seconds)
{
	static int installed;

	if (!installed) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = check_watchdog_fired;
		sigaction(SIGALRM, &sa, NULL);
		installed = 1;
	}
	check_step_name = name;
	check_step_seconds = seconds;
	alarm(seconds);
}

/* ---------------------------------------------------------------- seeds */

/*
 * The seed of the test's random choices: $MEMTRACE_TEST_SEED when set (a
 * number, decimal or 0x hex), else FIXED, or when FIXED is 0 one drawn
 * from the clock and the pid (below 2^32, for srandom()). Printed as
 * "test_x: seed N (MEMTRACE_TEST_SEED=N replays it)", so that the output
 * of a failed run says how to run it again. A malformed variable is a
 * broken harness (exit 99).
 */
static inline unsigned long long check_seed(unsigned long long fixed)
{
	const char *env = getenv("MEMTRACE_TEST_SEED");
	unsigned long long seed = fixed;

	if (env && *env) {
		char *end;

		errno = 0;
		seed = strtoull(env, &end, 0);
		if (errno || *end || end == env) {
			errno = EINVAL;
			broken("MEMTRACE_TEST_SEED is not a number");
		}
	} else if (!seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ((unsigned long long)ts.tv_nsec ^ (unsigned long long)ts.tv_sec * 1000003u ^
			(unsigned long long)getpid() << 16) & 0xffffffffu;
	}
	printf("%s: seed %llu (MEMTRACE_TEST_SEED=%llu replays it)\n", program_invocation_short_name, seed, seed);
	fflush(stdout);
	return seed;
}

/* ---------------------------------------------------------------- arrays */

/*
 * ARR (of elements of SIZE bytes, *CAP of them allocated) with room for
 * element N: doubled when N == *CAP (FIRST elements the first time). Out
 * of memory is a broken harness (exit 99).
 */
static inline void *check_grow(void *arr, size_t n, size_t *cap, size_t first, size_t size)
{
	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : first;
	arr = realloc(arr, *cap * size);
	if (!arr)
		broken("realloc");
	return arr;
}

/* ---------------------------------------------------------------- files and shell commands */

/* A new directory $TMPDIR/<the test's name>.XXXXXX (/tmp without TMPDIR)
 * into DIR; a failure is a broken harness (exit 99). */
static inline void check_tmpdir(char *dir, size_t size)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, size, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", program_invocation_short_name);
	if (!mkdtemp(dir))
		broken("mkdtemp");
}

/* DIR/NAME, in one of four static buffers used in turn (so up to four can be
 * in use at once, e.g. the arguments of one call). */
static inline const char *check_path(const char *dir, const char *name)
{
	static char bufs[4][4200];
	static int k;
	char *b = bufs[k++ & 3];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

/*
 * Run the shell command FMT makes (system()); with LOG not NULL its output
 * and errors are appended to the file LOG. 0 when it exits 0; -1 when it
 * fails, or when the command does not fit in 8 KiB (it is not run then).
 */
static inline int __attribute__((format(printf, 2, 3))) check_run(const char *log, const char *fmt, ...)
{
	char cmd[8192];
	size_t room = log ? sizeof(cmd) - 64 : sizeof(cmd);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return -1;
	if (log)
		snprintf(cmd + n, sizeof(cmd) - (size_t)n, " >>'%s' 2>&1", log);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
