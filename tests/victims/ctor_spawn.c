/*
 * ctor_spawn: a program linked with liblinked_spawn.so (tests/victims/
 * linked_spawn.c), whose constructor starts two processes before the
 * agent's constructor runs. Each of them, and the program, checks in main
 * that it sees none of memtrace's variables; the two children also check
 * that no agent listens for them (the abstract socket memtrace-agent.PID
 * in /proc/net/unix): memtrace started only the program.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "victim.h"

extern char **environ;
extern int linked_spawn_role;
extern int linked_spawn_exec_ok, linked_spawn_fork_ok;

/* Whether NEEDLE is in FD's contents, read in chunks with an overlap. */
static int fd_contains(int fd, const char *needle)
{
	static char buf[65536 + 256];
	size_t len = strlen(needle), keep = 0;
	ssize_t n;

	while ((n = read(fd, buf + keep, sizeof(buf) - 1 - keep)) > 0) {
		size_t have = keep + (size_t)n;

		buf[have] = '\0';
		if (strstr(buf, needle))
			return 1;
		keep = have < len ? have : len - 1;
		memmove(buf, buf + have - keep, keep);
	}
	return 0;
}

static int agent_listens(void)
{
	char name[64];
	int fd = open("/proc/net/unix", O_RDONLY | O_CLOEXEC);
	int found;

	if (fd < 0)
		return 0;
	vt_format(name, sizeof(name), "@memtrace-agent.%d\n", (int)getpid());
	found = fd_contains(fd, name);
	close(fd);
	return found;
}

/* None of the variables memtrace gives a program it starts. */
static int env_clean(void)
{
	for (char **e = environ; *e; e++)
		if (!strncmp(*e, "MEMTRACE_MODE=", 14) || !strncmp(*e, "MEMTRACE_CONFIG=", 16) ||
		    !strncmp(*e, "MEMTRACE_PRELOAD_ENTRY=", 23) ||
		    (!strncmp(*e, "LD_PRELOAD=", 11) && strstr(*e, "libmemtrace-agent")))
			return 0;
	return 1;
}

int main(void)
{
	static const char *const who[] = { "program", "exec'd copy", "forked child" };
	char what[128];

	vt_format(what, sizeof(what), "%s: no memtrace variable in the environment", who[linked_spawn_role]);
	vt_check(env_clean(), what);
	if (linked_spawn_role) {
		vt_format(what, sizeof(what), "%s: no agent listens for it", who[linked_spawn_role]);
		vt_check(!agent_listens(), what);
	} else {
		vt_check(linked_spawn_exec_ok, "the program the constructor ran again ended well");
		vt_check(linked_spawn_fork_ok, "the child the constructor forked ended well");
	}
	return vt_exit_status();
}
