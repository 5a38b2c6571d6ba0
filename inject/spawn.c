/*
 * Start mode: the program is started with the agent in LD_PRELOAD and the
 * settings in MEMTRACE_* variables, which the agent removes again. An exec
 * failure in the child comes back through a close-on-exec pipe, so memtrace
 * can tell "not executable" from a program that exits 126 by itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "spawn.h"
#include "util.h"

/* The install dir, where the agent is looked for last: the Makefile gives
 * it, $(LIBDIR)/memtrace (LIBDIR is $(PREFIX)/lib unless set), so that
 * it is where `make install` puts the agent. */
#ifndef MEMTRACE_LIBDIR
#error "MEMTRACE_LIBDIR: the Makefile defines it (INJECT_CFLAGS_inject/spawn)"
#endif
#define AGENT_NAME "libmemtrace-agent.so"

extern char **environ;

static int check_exec(const char *path, const char **why)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		*why = "no such file";
		errno = ENOENT;
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		*why = "is a directory";
		errno = EACCES;
		return -1;
	}
	if (access(path, X_OK) < 0) {
		*why = "permission denied (not executable)";
		errno = EACCES;
		return -1;
	}
	return 0;
}

char *inj_find_program(const char *prog, const char **why)
{
	const char *path = getenv("PATH");
	int saw_eacces = 0;
	const char *eacces_why = NULL;

	if (!*prog) {
		*why = "empty program name";
		errno = ENOENT;
		return NULL;
	}
	if (strchr(prog, '/'))
		return check_exec(prog, why) < 0 ? NULL : xstrdup(prog);
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		char *cand = xmalloc(len + strlen(prog) + 2);

		if (len)
			snprintf(cand, len + strlen(prog) + 2, "%.*s/%s", (int)len, path, prog);
		else
			snprintf(cand, strlen(prog) + 3, "./%s", prog);
		if (check_exec(cand, why) == 0)
			return cand;
		if (errno == EACCES) {
			saw_eacces = 1;
			eacces_why = *why;
		}
		free(cand);
		path += len;
		if (*path == ':')
			path++;
	}
	*why = saw_eacces ? eacces_why : "not found in PATH";
	errno = saw_eacces ? EACCES : ENOENT;
	return NULL;
}

static char *try_agent(const char *path, char *tried, size_t tried_size)
{
	char real[PATH_MAX];

	if (strlen(tried) + strlen(path) + 8 < tried_size) {
		strcat(tried, "\n  ");
		strcat(tried, path);
	}
	if (access(path, R_OK) == 0 && realpath(path, real))
		return xstrdup(real);
	return NULL;
}

char *inj_find_agent(const char *explicit_path)
{
	char tried[4096] = "";
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	const char *env = getenv("MEMTRACE_AGENT");
	char *found;
	ssize_t n;

	if (explicit_path) {
		found = try_agent(explicit_path, tried, sizeof(tried));
		if (!found)
			log_err("agent library %s: %s", explicit_path, strerror(errno));
		return found;
	}
	if (env && *env) {
		found = try_agent(env, tried, sizeof(tried));
		if (!found)
			log_err("agent library %s (from MEMTRACE_AGENT): %s", env, strerror(errno));
		return found;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		snprintf(cand, sizeof(cand), "%s/%s", exe, AGENT_NAME);
		if ((found = try_agent(cand, tried, sizeof(tried))))
			return found;
		snprintf(cand, sizeof(cand), "%s/../lib/memtrace/%s", exe, AGENT_NAME);
		if ((found = try_agent(cand, tried, sizeof(tried))))
			return found;
	}
	if ((found = try_agent(MEMTRACE_LIBDIR "/" AGENT_NAME, tried, sizeof(tried))))
		return found;
	log_err("agent library %s not found; looked in:%s\n(give its path with -L PATH or MEMTRACE_AGENT=PATH)",
		AGENT_NAME, tried);
	return NULL;
}

/* The environment for the child: ours, plus the agent preloaded first. */
static char **child_env(const char *agent, const char *config)
{
	const char *old = getenv("LD_PRELOAD");
	size_t n = 0, k = 0;
	char **env;
	char *s;

	while (environ[n])
		n++;
	env = xcalloc(n + 5, sizeof(*env));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) && strncmp(environ[i], "MEMTRACE_", 9))
			env[k++] = environ[i];
	s = xmalloc(strlen(agent) + (old ? strlen(old) : 0) + 16);
	sprintf(s, "LD_PRELOAD=%s%s%s", agent, old && *old ? ":" : "", old ? old : "");
	env[k++] = s;
	s = xmalloc(strlen(agent) + 32);
	sprintf(s, "MEMTRACE_PRELOAD_ENTRY=%s", agent);
	env[k++] = s;
	env[k++] = xstrdup("MEMTRACE_MODE=start");
	s = xmalloc(strlen(config) + 32);
	sprintf(s, "MEMTRACE_CONFIG=%s", config);
	env[k++] = s;
	env[k] = NULL;
	return env;
}

pid_t inj_spawn(const char *path, char *const argv[], const char *agent, const char *config,
		const void *sigmask)
{
	char **env = child_env(agent, config);
	int pfd[2];
	int err = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, sigmask, NULL);
		close(pfd[0]);
		execve(path, argv, env);
		err = errno;
		if (write(pfd[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	do
		n = read(pfd[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	/* Only the strings we made are ours to free; the rest belong to environ. */
	for (size_t i = 0; env[i]; i++)
		if (!strncmp(env[i], "LD_PRELOAD=", 11) || !strncmp(env[i], "MEMTRACE_", 9))
			free(env[i]);
	free(env);
	if (n == sizeof(err)) {
		waitpid(pid, NULL, 0);
		errno = err;
		return -1;
	}
	return pid;
}
