/*
 * spawn.h: gdb as a child process on pipes (mi/spawn.c), private to
 * libgdbmi.
 */
#ifndef GDBMI_SPAWN_H
#define GDBMI_SPAWN_H

#include <sys/types.h>

struct gdbmi_proc {
	pid_t pid; /* -1 once reaped */
	int in;	   /* our end of its stdin, non-blocking */
	int out;   /* its stdout, non-blocking */
	int err;   /* its stderr, non-blocking */
	int pidfd; /* readable once it exits; -1 where the kernel has no pidfd */
};

/*
 * Run ARGV (argv[0] searched in PATH) with the three pipes, in a new
 * session, signal mask and common dispositions reset, DEBUGINFOD_URLS
 * removed from its environment. 0, or -1 with errno (the exec's own errno
 * when it is the exec that failed: ENOENT for a missing gdb); *P is then
 * all -1.
 */
int gdbmi_proc_spawn(struct gdbmi_proc *p, char *const argv[]);

/* Close our ends of the pipes and the pidfd (idempotent). */
void gdbmi_proc_close(struct gdbmi_proc *p);

/* Send SIG to the child (not its group); no-op once reaped. */
void gdbmi_proc_kill(struct gdbmi_proc *p, int sig);

/*
 * 1 when the child has exited (it is not reaped: see gdbmi_proc_reap), 0
 * while it runs or once reaped.
 */
int gdbmi_proc_exited(struct gdbmi_proc *p);

/*
 * Wait up to TIMEOUT_MS for the child to end. 1 reaped (*STATUS as from
 * waitpid, -1 when unknown because SIGCHLD is ignored), 0 still running,
 * -1 waitpid failed (errno).
 */
int gdbmi_proc_reap(struct gdbmi_proc *p, int timeout_ms, int *status);

/* write(2) that turns SIGPIPE into EPIPE for this call only, in this thread. */
ssize_t gdbmi_write_nosigpipe(int fd, const void *buf, size_t len);

#endif
