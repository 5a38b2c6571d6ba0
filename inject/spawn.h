/*
 * Finding and starting the program memtrace traces in start mode, and
 * finding the agent library.
 */
#ifndef INJ_SPAWN_H
#define INJ_SPAWN_H

#include <sys/types.h>

/*
 * PROG resolved like execvp does (a name without '/' is searched in PATH).
 * Returns a malloc'ed path; NULL with errno ENOENT (not found) or EACCES
 * (found but not executable), and *WHY set to a static explanation.
 */
char *inj_find_program(const char *prog, const char **why);

/*
 * The agent library: EXPLICIT if given (-L), else $MEMTRACE_AGENT, else
 * beside the memtrace executable, ../lib/memtrace/ from it, and the install
 * directory. Returns a malloc'ed absolute path, or NULL after logging every
 * place searched.
 */
char *inj_find_agent(const char *explicit_path);

/*
 * Fork and exec PATH with ARGV and the current environment plus the agent
 * preloaded with CONFIG. SIGMASK is the signal mask the child starts with.
 * Returns the child pid, or -1 with errno of the failed exec (the child is
 * reaped then).
 */
pid_t inj_spawn(const char *path, char *const argv[], const char *agent, const char *config,
		const void *sigmask);

#endif
