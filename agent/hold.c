/*
 * The hold: one thread stopped at its allocation in a given context until
 * memtrace has written a core of the process.
 *
 * Why it cannot deadlock: the thread takes the hold at the very end of the
 * hook's recording, when every agent lock (shard, context creation, arena)
 * is released and the real allocator has returned, so it holds none of the
 * allocator's locks either. It tells the control thread through an eventfd
 * write and then sleeps in poll() on a second eventfd: system calls only,
 * no lock, no allocation, all async-signal-safe. The control thread, which
 * lets it go, needs nothing the held thread could own: it reads the socket,
 * writes JSON into its own mappings and sends under replies.c's send_lock,
 * which a held thread never holds. The loader lock is the one lock a
 * malloc caller may hold without the agent knowing (malloc from a
 * constructor run by dlopen): a context whose stack passes through the
 * loader cannot be armed (commands.c), and the release path never takes
 * that lock anyway.
 * The wait is bounded (AGENT_HOLD_MAX_MS), and the control thread releases
 * on release/unhold, on detach and when memtrace's connection drops.
 *
 * Only one thread can win: the armed context is swapped to 0 with a
 * compare-and-swap, so a second thread allocating in the same context at
 * the same moment passes on. A cancel that loses that race knows a thread
 * is on its way: it lets it go at once and waits for its notice (DRAIN)
 * before another hold may be armed, so a notice never belongs to the wrong
 * hold.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hold.h"
#include "state.h"

uint32_t agent_hold_ctx;

static int notify_fd = -1;	/* taker -> control thread */
static int release_fd = -1;	/* control thread -> held thread (wakes its poll) */
static uint32_t go;		/* 1: the held thread may leave */
static int hold_pid;		/* the process the hold was armed in (no vfork child holds) */
static enum agent_hold_state state;	/* control thread only */
static uint32_t armed_ctx;		/* control thread only */

/* Filled by the taker before its notice. */
static struct {
	uint32_t ctx;
	int tid;
	uint64_t addr, size;
} hit;

/* Wait for GO, in poll() on release_fd, at most AGENT_HOLD_MAX_MS. */
static void wait_release(void)
{
	uint64_t start = agent_now_ns();

	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE)) {
		uint64_t spent_ms = (agent_now_ns() - start) / 1000000;
		struct pollfd pfd = { .fd = release_fd, .events = POLLIN };
		uint64_t token;
		int r;

		if (spent_ms >= AGENT_HOLD_MAX_MS)
			return;
		r = poll(&pfd, 1, (int)(AGENT_HOLD_MAX_MS - spent_ms < 60000 ? AGENT_HOLD_MAX_MS - spent_ms : 60000));
		if (r < 0 && errno != EINTR)
			return;
		if (r > 0 && (pfd.revents & (POLLNVAL | POLLERR)))
			return;
		if (r > 0 && read(release_fd, &token, sizeof(token)) < 0 && errno != EAGAIN)
			return;
	}
}

void agent_hold_take(uint32_t ctx, uintptr_t addr, uint64_t size)
{
	uint32_t expect = ctx;
	uint64_t one = 1;
	int saved = errno;

	/* A vfork child shares our memory but must never hold. */
	if (syscall(SYS_getpid) != __atomic_load_n(&hold_pid, __ATOMIC_RELAXED))
		return;
	if (!__atomic_compare_exchange_n(&agent_hold_ctx, &expect, 0, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return;
	hit.ctx = ctx;
	hit.tid = (int)syscall(SYS_gettid);
	hit.addr = addr;
	hit.size = size;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (write(notify_fd, &one, sizeof(one)) == sizeof(one))
		wait_release();
	errno = saved;
}

int agent_hold_init(void)
{
	int a = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int b = a < 0 ? -1 : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (b < 0) {
		if (a >= 0)
			close(a);
		return -1;
	}
	release_fd = b;
	notify_fd = a;
	return 0;
}

int agent_hold_notify_fd(void)
{
	return notify_fd;
}

void agent_hold_get(struct agent_hold_info *info)
{
	info->state = state;
	info->ctx = state == AGENT_HOLD_HELD ? hit.ctx : armed_ctx;
	info->tid = state == AGENT_HOLD_HELD ? hit.tid : 0;
	info->addr = state == AGENT_HOLD_HELD ? hit.addr : 0;
	info->size = state == AGENT_HOLD_HELD ? hit.size : 0;
}

int agent_hold_arm(uint32_t ctx, struct agent_hold_info *info)
{
	uint64_t token;

	agent_hold_get(info);
	if (state != AGENT_HOLD_NONE || notify_fd < 0)
		return -1;
	/* A token left by a thread that timed out before its release. */
	while (read(release_fd, &token, sizeof(token)) > 0)
		;
	__atomic_store_n(&go, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&hold_pid, (int)getpid(), __ATOMIC_RELAXED);
	armed_ctx = ctx;
	state = AGENT_HOLD_ARMED;
	__atomic_store_n(&agent_hold_ctx, ctx, __ATOMIC_RELEASE);
	return 0;
}

int agent_hold_collect(struct agent_hold_info *info)
{
	uint64_t n;

	if (read(notify_fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (state == AGENT_HOLD_DRAIN) {
		state = AGENT_HOLD_NONE;
		return 0;
	}
	if (state != AGENT_HOLD_ARMED)
		return 0;
	state = AGENT_HOLD_HELD;
	agent_hold_get(info);
	return 1;
}

static void let_go(void)
{
	uint64_t one = 1;

	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	if (release_fd >= 0 && write(release_fd, &one, sizeof(one)) < 0) {
		/* A full counter already wakes the thread. */
	}
}

void agent_hold_cancel(struct agent_hold_info *info)
{
	uint32_t expect = armed_ctx;

	if (info)
		agent_hold_get(info);
	switch (state) {
	case AGENT_HOLD_ARMED:
		if (__atomic_compare_exchange_n(&agent_hold_ctx, &expect, 0, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			state = AGENT_HOLD_NONE;
		} else {
			/* A thread is taking it right now: its notice comes next. */
			let_go();
			state = AGENT_HOLD_DRAIN;
		}
		break;
	case AGENT_HOLD_HELD:
		let_go();
		state = AGENT_HOLD_NONE;
		break;
	default:
		break;
	}
	if (state == AGENT_HOLD_NONE)
		armed_ctx = 0;
}

void agent_hold_forget(void)
{
	__atomic_store_n(&agent_hold_ctx, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	/* A fork child shares the eventfd with its parent: it must not wake the
	 * parent's held thread (whose go is still 0; it would only sleep again). */
	if (syscall(SYS_getpid) == __atomic_load_n(&hold_pid, __ATOMIC_RELAXED))
		let_go();
}
