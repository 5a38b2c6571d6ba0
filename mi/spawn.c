/*
 * spawn.c: gdb as a child process. Three pipes (stdin, stdout, stderr),
 * close-on-exec on our ends so other children never hold them, and a
 * fourth pipe on which the child reports a failed exec, so "gdb is not
 * installed" is an errno from here rather than a mystery exit status.
 *
 * The child gets a session of its own: a terminal's ^C goes to our process
 * group, not to gdb (which would stop the program it debugs). Its death is
 * seen through a pidfd rather than EOF on its output: a helper gdb started
 * (`shell ...`, a `target remote | ...` pipe) may hold that output open
 * after gdb is gone. Only gdb itself is ever killed: its helpers notice the
 * end of their pipes and finish cleanly (gdbserver detaches and removes its
 * breakpoints), which a SIGKILL would cut short.
 * Between fork and exec only async-signal-safe calls are made: everything
 * the child needs (argv, environment) is built before the fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"

extern char **environ;

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* environ without DEBUGINFOD_URLS: gdb must not fetch symbols from the net. */
static char **child_env(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = malloc((n + 1) * sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "DEBUGINFOD_URLS=", 16) != 0)
			env[k++] = environ[i];
	env[k] = NULL;
	return env;
}

/* In the child: never returns. FDS are the child's ends, ERR the report pipe. */
static void child(char *const argv[], char **env, const int fds[3], int err)
{
	static const int reset[] = { SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD };
	int moved[3], e;
	sigset_t none;

	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
		signal(reset[i], SIG_DFL);
	/* Out of 0..2 first, so that no dup2 below overwrites a source. */
	for (int i = 0; i < 3; i++) {
		moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		if (moved[i] < 0)
			goto out_fail;
	}
	for (int i = 0; i < 3; i++)
		if (dup2(moved[i], i) < 0)
			goto out_fail;
#ifdef SYS_close_range
	/* Nothing of the caller's but what we set up goes to gdb (4 = CLOEXEC). */
	syscall(SYS_close_range, 3u, ~0u, 4u);
#endif
	execvpe(argv[0], argv, env);
out_fail:
	e = errno;
	if (write(err, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int gdbmi_proc_spawn(struct gdbmi_proc *p, char *const argv[])
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, rep[2] = { -1, -1 };
	int fds[3], e = 0, status;
	char **env;
	ssize_t n;
	pid_t pid;

	p->pid = -1;
	p->in = p->out = p->err = p->pidfd = -1;
	env = child_env();
	if (!env)
		return -1;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(rep, O_CLOEXEC) < 0)
		goto out_close;
	fds[0] = in[0];
	fds[1] = out[1];
	fds[2] = err[1];
	pid = fork();
	if (pid < 0)
		goto out_close;
	if (pid == 0)
		child(argv, env, fds, rep[1]);
	close_fd(&rep[1]);
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	do
		n = read(rep[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close_fd(&rep[0]);
	if (n > 0) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		errno = n == sizeof(e) ? e : EIO;
		goto out_close;
	}
	free(env);
#ifdef SYS_pidfd_open
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	p->pid = pid;
	p->in = in[1];
	p->out = out[0];
	p->err = err[0];
	fcntl(p->in, F_SETFL, fcntl(p->in, F_GETFL) | O_NONBLOCK);
	fcntl(p->out, F_SETFL, fcntl(p->out, F_GETFL) | O_NONBLOCK);
	fcntl(p->err, F_SETFL, fcntl(p->err, F_GETFL) | O_NONBLOCK);
	return 0;

out_close:
	e = errno;
	free(env);
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	close_fd(&rep[0]);
	close_fd(&rep[1]);
	errno = e;
	return -1;
}

void gdbmi_proc_close(struct gdbmi_proc *p)
{
	close_fd(&p->in);
	close_fd(&p->out);
	close_fd(&p->err);
	close_fd(&p->pidfd);
}

void gdbmi_proc_kill(struct gdbmi_proc *p, int sig)
{
	/* Only before the reap: a zombie's pid cannot be reused, a reaped one can. */
	if (p->pid > 0)
		kill(p->pid, sig);
}

int gdbmi_proc_exited(struct gdbmi_proc *p)
{
	siginfo_t si;

	if (p->pid <= 0)
		return 0;
	memset(&si, 0, sizeof(si));
	/* WNOWAIT: look without reaping, so the pid stays ours. */
	return waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       si.si_pid == p->pid;
}

int gdbmi_proc_reap(struct gdbmi_proc *p, int timeout_ms, int *status)
{
	struct timespec nap = { 0, 5 * 1000 * 1000 };
	int waited = 0;
	pid_t r;

	if (p->pid <= 0)
		return 1;
	for (;;) {
		r = waitpid(p->pid, status, WNOHANG);
		if (r == p->pid || (r < 0 && errno == ECHILD)) {
			/* ECHILD: the caller ignores SIGCHLD, the kernel reaped it. */
			if (r < 0)
				*status = -1;
			p->pid = -1;
			return 1;
		}
		if (r < 0 && errno != EINTR)
			return -1;
		if (waited >= timeout_ms)
			return 0;
		nanosleep(&nap, NULL);
		waited += 5;
	}
}

ssize_t gdbmi_write_nosigpipe(int fd, const void *buf, size_t len)
{
	sigset_t pipe_set, old, pending;
	struct timespec zero = { 0, 0 };
	int was_pending, e;
	ssize_t n;

	/*
	 * A dead gdb's stdin raises SIGPIPE, which would kill the caller: block
	 * it in this thread, and take back the one this write raised unless one
	 * was already pending for the caller.
	 */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
	e = errno;
	if (n < 0 && e == EPIPE && !was_pending)
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return n;
}
