/*
 * linked_spawn: a library the ctor_spawn victim is linked with (built as
 * build/tests/victims/liblinked_spawn.so), whose constructor starts other
 * processes before the agent's constructor has run, while the environment
 * still holds memtrace's variables and the agent's LD_PRELOAD entry:
 *
 *  1. before anything has allocated, it runs this program again (fork and
 *     execve, as system() would), marked with VT_SPAWNED=1;
 *  2. it leaks 500 bytes from ctor_spawn_leak() (and says so);
 *  3. it forks a child that goes on through the remaining constructors and
 *     main, as a daemon forked by a constructor would; the parent waits.
 *
 * memtrace started neither child: they must run untraced, with no agent
 * socket and no wait for a memtrace that will never connect (main checks).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "victim.h"

extern char **environ;

int linked_spawn_role;		/* 0 the program, 1 the exec'd copy, 2 the forked child */
/* For the program's main to check (its checks count in its exit status). */
int linked_spawn_exec_ok, linked_spawn_fork_ok;

NOINLINE static void ctor_spawn_leak(void)
{
	vt_leak_one(malloc(500), 500, 's', "ctor_spawn_leak", "malloc in a constructor");
}

/* Whether child PID ended with status 0. */
static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			vt_die("waitpid");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Run this program again with VT_SPAWNED=1, allocating nothing. */
NOINLINE static void spawn_self(void)
{
	static char *env[512];
	static char self[4096];
	char *argv[] = { self, NULL };
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	size_t k = 0;
	pid_t pid;

	if (n <= 0)
		vt_die("readlink /proc/self/exe");
	self[n] = '\0';
	for (char **e = environ; *e && k < 510; e++)
		env[k++] = *e;
	env[k++] = "VT_SPAWNED=1";
	env[k] = NULL;
	pid = fork();
	if (pid < 0)
		vt_die("fork");
	if (pid == 0) {
		execve(self, argv, env);
		_exit(127);
	}
	linked_spawn_exec_ok = wait_child(pid);
}

__attribute__((constructor)) static void linked_spawn_init(void)
{
	pid_t pid;

	if (getenv("VT_SPAWNED")) {
		linked_spawn_role = 1;
		return;
	}
	spawn_self();
	ctor_spawn_leak();
	pid = fork();
	if (pid < 0)
		vt_die("fork");
	if (pid == 0) {
		linked_spawn_role = 2;
		return;
	}
	linked_spawn_fork_ok = wait_child(pid);
}
