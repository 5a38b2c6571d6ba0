/*
 * timeit: run one command and measure it, for bench/run.sh.
 *
 *     timeit RESULT_FILE COMMAND [ARGS...]
 *
 * Writes one line to RESULT_FILE:
 *     wall_ns user_us sys_us maxrss_kib status
 * wall_ns is CLOCK_MONOTONIC around fork..wait; user, sys and maxrss come from
 * wait4(), which covers the command and every descendant it waited for, and
 * whose maxrss is that of the largest single process among them.  status is
 * the command's exit code, or 128+N when signal N killed it; timeit exits
 * with the same value (127 when the command could not be run).
 *
 * /usr/bin/time would do, but prints wall time to 10 ms only, which is the
 * whole plain run of churn at small sizes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	long long start, end;
	int status, code;
	pid_t pid;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: timeit RESULT_FILE COMMAND [ARGS...]\n");
		return 2;
	}
	out = fopen(argv[1], "w");
	if (!out) {
		fprintf(stderr, "timeit: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}

	start = now_ns();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "timeit: fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		fclose(out);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "timeit: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "timeit: wait4: %s\n", strerror(errno));
			return 2;
		}
	}
	end = now_ns();

	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(out, "%lld %ld %ld %ld %d\n", end - start,
		(long)ru.ru_utime.tv_sec * 1000000L + (long)ru.ru_utime.tv_usec,
		(long)ru.ru_stime.tv_sec * 1000000L + (long)ru.ru_stime.tv_usec,
		ru.ru_maxrss, code);
	if (fclose(out) != 0) {
		fprintf(stderr, "timeit: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	return code;
}
