/*
 * A whole process held with ptrace: every thread seized (PTRACE_SEIZE with
 * PTRACE_O_TRACECLONE, then PTRACE_INTERRUPT, so no SIGSTOP is queued and job
 * control sees nothing), the events of all of them served while one thread
 * runs remote calls, and every thread let go again.
 *
 * A signal a thread was about to take when it stopped is kept and handed
 * back when it is detached, with its original siginfo, so nothing is lost or
 * delivered twice. Threads created meanwhile are seized automatically.
 */
#ifndef INJ_PTRACE_H
#define INJ_PTRACE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct inj_task;

/* An address range [start, end) in the target. */
struct inj_range {
	uint64_t start, end;
};

/*
 * Seize every thread of process PID and wait until all are stopped,
 * rereading /proc/PID/task until no new thread shows up. TIMEOUT_MS bounds
 * the whole. SIGCHLD is blocked in the calling thread until inj_release().
 * Returns the held process, or NULL with errno: ESRCH (no such process, or
 * it ended meanwhile), EPERM (ptrace refused: permission, another tracer, a
 * zombie), ETIMEDOUT (a thread did not stop, e.g. in uninterruptible sleep),
 * or another value from ptrace; nothing stays seized then.
 */
struct inj_task *inj_seize(int pid, int timeout_ms);

int inj_task_pid(const struct inj_task *t);
/* Threads held now. */
size_t inj_task_threads(const struct inj_task *t);

/*
 * The threads held now (stopped), in the order they were seized: up to MAX
 * TIDs into TIDS. Returns how many there are (may be more than MAX).
 */
size_t inj_task_list(const struct inj_task *t, int *tids, size_t max);

/*
 * Pick the thread for remote calls. Preferred: a thread stopped in a
 * blocking system call (/proc/PID/task/TID/syscall), then one stopped in
 * user code; last come threads in a memory-management system call (mmap,
 * brk...: malloc may hold its lock there) or whose PC lies in AVOID (the
 * loader, the malloc family). The main thread wins ties. Returns a TID, or
 * -1 if no thread is stopped.
 */
int inj_task_pick(struct inj_task *t, const struct inj_range *avoid, size_t navoid);

/*
 * For the thread running remote calls (remote.c). inj_task_cont() resumes
 * TID with no signal; inj_task_interrupt() asks it to stop again.
 * inj_task_wait() waits until DEADLINE_NS (CLOCK_MONOTONIC) for an event of
 * TID and serves the events of every other thread meanwhile (clones, exits,
 * signals of threads let run); a PTRACE_EVENT_CLONE of TID is served too and
 * TID resumed. Returns 0 with the waitpid status, or -1 with errno
 * (ETIMEDOUT, ECHILD when TID is gone).
 */
int inj_task_cont(struct inj_task *t, int tid);
int inj_task_interrupt(struct inj_task *t, int tid);
int inj_task_wait(struct inj_task *t, int tid, int64_t deadline_ns, int *status);

/*
 * Let every thread but TID run again (those in a group-stop stay stopped).
 * Their signals are delivered as they come. 0, or -1 if one could not be
 * resumed.
 */
int inj_task_resume_others(struct inj_task *t, int tid);

/*
 * A signal TID took while running a call (an unblockable one such as
 * SIGSTOP) that was held back: it is delivered when TID is detached.
 */
void inj_task_defer_signal(struct inj_task *t, int tid, const siginfo_t *info);

/*
 * Stop the threads that were let run, detach from every thread, giving back
 * the signals held, restore the caller's SIGCHLD mask and free T. Returns 0,
 * or -1 if a thread could not be detached cleanly (it is then detached as
 * soon as this process exits). NULL is a no-op.
 */
int inj_release(struct inj_task *t);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t inj_now_ns(void);

#endif
