/*
 * ptrace_holder: a tracer for the tests that need a process already traced
 * (t-attach-err-traced): it seizes PID (PTRACE_SEIZE: the target does not
 * stop), writes its own pid to READYFILE, and passes on every signal the
 * target gets until it is killed (the kernel then detaches the target).
 *
 *     ptrace_holder PID READYFILE
 *
 * Not a victim: nothing is traced by memtrace here.  Exit 99 if the seize
 * fails.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "victim.h"

int main(int argc, char **argv)
{
	pid_t pid;
	char text[32];
	int fd, st;

	if (argc != 3) {
		vt_dprintf(2, "usage: ptrace_holder PID READYFILE\n");
		return 2;
	}
	pid = (pid_t)atoi(argv[1]);
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0)
		vt_die("PTRACE_SEIZE");
	vt_format(text, sizeof(text), "%d\n", (int)getpid());
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		vt_die(argv[2]);
	vt_write_all(fd, text, strlen(text));
	close(fd);
	for (;;) {
		pid_t r = waitpid(pid, &st, __WALL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return 0; /* the target is gone */
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return 0;
		if (WIFSTOPPED(st)) {
			int sig = WSTOPSIG(st);

			/* a group-stop under SEIZE shows as an event stop: listen */
			if ((st >> 16) == PTRACE_EVENT_STOP)
				ptrace(PTRACE_LISTEN, r, NULL, NULL);
			else
				ptrace(PTRACE_CONT, r, NULL, (void *)(long)(sig == SIGTRAP ? 0 : sig));
		}
	}
}
