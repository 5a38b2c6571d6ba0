/*
 * The leak scan's copy of the process (snapshot.h). Outstanding copies are
 * kept in a few slots changed only by compare-and-swap: the remote call
 * runs in the control thread wherever memtrace stopped it, possibly in the
 * middle of agent_snapshot_tick().
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monotime.h"
#include "snapshot.h"

/* A copy is killed as soon as its judge ends: more than a few outstanding are forgotten ones. */
#define SNAP_SLOTS 4
/* How often the control thread looks for a copy to reap while one is outstanding. */
#define SNAP_REAP_MS 20

struct snap {
	int pid;		/* 0: free */
	int64_t born_ms;
};

static struct snap slots[SNAP_SLOTS];
static int wake_fd = -1;

/*
 * The copy: one thread, the control thread's, all of whose signals are
 * blocked. It sleeps until SIGKILL. Its memory is its own copy, so what it
 * writes (the stack, errno) is invisible to the process; it must close
 * nothing (the descriptor table is the process's own).
 */
static __attribute__((noreturn)) void copy_sleeps(void)
{
	syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	for (;;)
		syscall(SYS_ppoll, NULL, 0, NULL, NULL, 0);
}

long memtrace_agent_snapshot(void)
{
	uint64_t one = 1;
	long pid;

	/* Exit signal 0 (the low byte), descriptors shared; stack 0: the copy goes on on its own copy of this one. */
	pid = syscall(SYS_clone, (unsigned long)CLONE_FILES, 0UL, 0UL, 0UL, 0UL);
	if (pid == 0)
		copy_sleeps();
	if (pid < 0)
		return -errno;
	for (int i = 0; i < SNAP_SLOTS; i++) {
		int free_slot = 0;

		if (__atomic_compare_exchange_n(&slots[i].pid, &free_slot, (int)pid, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			__atomic_store_n(&slots[i].born_ms, monotime_ms(), __ATOMIC_RELEASE);
			if (wake_fd >= 0 && write(wake_fd, &one, sizeof(one)) < 0) {
				/* A full counter wakes the control thread as well. */
			}
			return pid;
		}
	}
	/* No slot: nobody would reap it. */
	kill((pid_t)pid, SIGKILL);
	waitpid((pid_t)pid, NULL, __WALL);
	return -EBUSY;
}

int agent_snapshot_init(void)
{
	if (wake_fd < 0)
		wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return wake_fd < 0 ? -1 : 0;
}

int agent_snapshot_fd(void)
{
	return wake_fd;
}

int agent_snapshot_tick(void)
{
	int64_t now = monotime_ms();
	uint64_t v;
	int wait_ms = -1;

	if (wake_fd >= 0 && read(wake_fd, &v, sizeof(v)) < 0) {
		/* Nothing written since the last look. */
	}
	for (int i = 0; i < SNAP_SLOTS; i++) {
		int pid = __atomic_load_n(&slots[i].pid, __ATOMIC_ACQUIRE), r;
		int64_t born = __atomic_load_n(&slots[i].born_ms, __ATOMIC_ACQUIRE);

		if (!pid)
			continue;
		/* born is stored just after the pid: 0 for a moment. */
		if (born && now - born > AGENT_SNAPSHOT_MAX_MS)
			kill(pid, SIGKILL);
		r = waitpid(pid, NULL, __WALL | WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD)) {
			/* born first: the remote call fills a slot pid first. */
			__atomic_store_n(&slots[i].born_ms, 0, __ATOMIC_RELEASE);
			__atomic_compare_exchange_n(&slots[i].pid, &pid, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
			continue;
		}
		wait_ms = SNAP_REAP_MS;
	}
	return wait_ms;
}
