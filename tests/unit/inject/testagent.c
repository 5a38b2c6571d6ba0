/*
 * Stands in for the agent in test_inject: memtrace_agent_start(cfg) writes
 * cfg, its pid and tid to the file cfg names, and does what cfg's words ask
 * (sleep=MS, crash, stdio, signal, fail). It also changes the FP rounding
 * mode, which the injector must restore.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <fenv.h>
int memtrace_agent_start(const char *cfg)
{
	fesetround(FE_TOWARDZERO);
	char path[4096];
	size_t n = strcspn(cfg, " ");
	const char *p;
	int fd;
	if (n >= sizeof(path)) return 2;
	memcpy(path, cfg, n);
	path[n] = 0;
	if ((p = strstr(cfg, " sleep="))) {
		long ms = atol(p + 7);
		struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };
		nanosleep(&ts, NULL);
	}
	if (strstr(cfg, " crash")) *(volatile int *)16 = 1;
	if (strstr(cfg, " stdio")) { flockfile(stdout); funlockfile(stdout); }
	if (strstr(cfg, " signal")) kill(getpid(), SIGRTMIN);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) return 3;
	dprintf(fd, "%s\n%d %ld\n", cfg, getpid(), (long)syscall(SYS_gettid));
	close(fd);
	return strstr(cfg, " fail") ? 7 : 0;
}
