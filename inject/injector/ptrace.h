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

/* The process T holds. */
int inj_task_pid(const struct inj_task *t);
/* Threads held now. */
size_t inj_task_threads(const struct inj_task *t);

/*
 * The threads held now (stopped), in the order they were seized: up to MAX
 * TIDs into TIDS. Returns how many there are (may be more than MAX).
 */
size_t inj_task_list(const struct inj_task *t, int *tids, size_t max);

/* A stopped thread, for choosing where remote calls run (safepoint.c). */
struct inj_thread_info {
	int tid;
	int main;        /* the main thread (TID == PID) */
	int group_stop;  /* stopped by the process's job control: it cannot be let run */
	int at_entry;    /* held at the entry of a system call it has not begun: no
			  * remote call runs there (the call would be made after ours) */
	long syscall;    /* the system call it is in (or at the entry of), -1 in user code */
};

/*
 * The threads stopped now, in the order they were seized: up to MAX into
 * V. Returns how many there are (may be more than MAX).
 */
size_t inj_task_info(struct inj_task *t, struct inj_thread_info *v, size_t max);

/*
 * Whether the clones thread TID (held) makes are followed, as inj_seize sets
 * it (PTRACE_O_TRACECLONE): off around a remote call that forks a process
 * of its own, which must not become one of T's threads. 0, or -1 with
 * errno (ESRCH: not a held thread; ptrace's).
 */
int inj_task_follow_clones(struct inj_task *t, int tid, int on);

/*
 * Let the process run for about MS milliseconds and stop every thread
 * again, without cutting a system call short: the threads run under
 * PTRACE_SYSCALL, a thread entering a wait that a stop would end with
 * EINTR (epoll_wait...) is held at its entry before it waits, and one
 * still running at the end is interrupted (it is then in user code, or in
 * a system call the kernel restarts). Signals taken meanwhile are
 * delivered. A group-stopped process stays stopped. DEADLINE_NS bounds the
 * wait for the stops. 0, or -1 with errno (ETIMEDOUT: a thread did not
 * stop again).
 */
int inj_task_run_a_moment(struct inj_task *t, int ms, int64_t deadline_ns);

/*
 * From now on inj_release() does not stop again the threads that run (let
 * run by inj_task_resume_others): they are detached when this process
 * exits, which the kernel does without stopping them. Stopping one that
 * waits in epoll_wait would end its wait with EINTR. For a short-lived
 * tracer process (the injector's helper) only.
 */
void inj_task_leave_running(struct inj_task *t);

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
 * Stop the threads that were let run (unless inj_task_leave_running),
 * detach from every thread, giving back the signals held, restore the
 * caller's SIGCHLD mask and free T. A thread held at a system call's entry
 * goes on into it. Returns 0, or -1 if a thread could not be detached
 * cleanly (it is then detached as soon as this process exits). NULL is a
 * no-op.
 */
int inj_release(struct inj_task *t);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t inj_now_ns(void);

#endif
