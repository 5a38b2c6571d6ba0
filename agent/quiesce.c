/*
 * The in-table counters (quiesce.h) and the wait on them: slots claimed by
 * threads and given back by a pthread key's destructor, shared counters
 * for the rest, and the barrier that lets a slot be entered without one.
 */
#include <fcntl.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "monotime.h"
#include "quiesce.h"

/* Older kernel headers: the values are the kernel's ABI. */
#ifndef MEMBARRIER_CMD_GLOBAL
#define MEMBARRIER_CMD_GLOBAL 1
#endif
#ifndef MEMBARRIER_CMD_PRIVATE_EXPEDITED
#define MEMBARRIER_CMD_PRIVATE_EXPEDITED 8
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED 16
#endif

static struct agent_inside slots[AGENT_INSIDE_SLOTS];
/* Marked from the start: a thread may enter before agent_inside_init (it
 * then gets one of these). */
static struct agent_inside shared[AGENT_INSIDE_SHARED] = {
	[0 ... AGENT_INSIDE_SHARED - 1] = { .shared = 1 },
};
__thread struct agent_inside *agent_inside_mine;
int agent_inside_fence;

static pthread_key_t slot_key;
static int have_key;
static unsigned slot_hint, shared_hint;
static int barrier_cmd = -1;	/* membarrier command, -1: fences */
static int filtered_at_start;

struct agent_inside *agent_inside_any_shared(void)
{
	unsigned i = __atomic_fetch_add(&shared_hint, 1, __ATOMIC_RELAXED) % AGENT_INSIDE_SHARED;

	return &shared[i];
}

/* The thread ends: its slot is free for another (it is not inside). */
static void slot_release(void *arg)
{
	struct agent_inside *s = arg;

	if (agent_inside_mine == s)
		agent_inside_mine = NULL;
	__atomic_store_n(&s->owner, 0, __ATOMIC_RELEASE);
}

struct agent_inside *agent_inside_pick(void)
{
	struct agent_inside *s = NULL;

	if (__atomic_load_n(&have_key, __ATOMIC_ACQUIRE)) {
		unsigned start = __atomic_fetch_add(&slot_hint, 1, __ATOMIC_RELAXED);

		for (unsigned i = 0; i < AGENT_INSIDE_SLOTS && !s; i++) {
			struct agent_inside *c = &slots[(start + i) % AGENT_INSIDE_SLOTS];
			int zero = 0;

			if (!__atomic_load_n(&c->owner, __ATOMIC_RELAXED) &&
			    __atomic_compare_exchange_n(&c->owner, &zero, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				s = c;
		}
		/*
		 * A signal handler that came in since the caller saw no slot may
		 * have picked one for this thread already: that one stays, ours
		 * goes back. Once ours is this thread's, a handler uses it. (Set
		 * plainly, the nested pick's slot was overwritten and never given
		 * back: test_quiesce saw one slot held after every thread ended.)
		 */
		if (s) {
			struct agent_inside *none = NULL;

			if (!__atomic_compare_exchange_n(&agent_inside_mine, &none, s, 0, __ATOMIC_RELAXED,
							 __ATOMIC_RELAXED)) {
				__atomic_store_n(&s->owner, 0, __ATOMIC_RELEASE);
				return none;
			}
		}
		/* No destructor, no way back: the slot would be lost with the thread.
		 * Handlers that used it meanwhile have left it (they nest whole). */
		if (s && pthread_setspecific(slot_key, s) != 0) {
			__atomic_store_n(&s->owner, 0, __ATOMIC_RELEASE);
			s = NULL;
		}
	}
	if (!s)
		s = agent_inside_any_shared();
	agent_inside_mine = s;
	return s;
}

int agent_seccomp_filtered(void)
{
	char buf[4096];
	const char *p;
	ssize_t n, len = 0;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 1;
	while (len < (ssize_t)sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	p = strstr(buf, "\nSeccomp:");
	if (!p)
		return 0;	/* a kernel without seccomp */
	p += strlen("\nSeccomp:");
	while (*p == ' ' || *p == '\t')
		p++;
	return *p != '0';
}

void agent_inside_init(void)
{
	/*
	 * membarrier only where nothing can punish the call: under a seccomp
	 * filter it might raise SIGSYS or kill the process, so there every
	 * entry pays a fence instead.
	 */
	filtered_at_start = agent_seccomp_filtered();
	agent_inside_init_as(!filtered_at_start);
}

void agent_inside_init_as(int use_membarrier)
{
	static int done;
	long cmds;

	if (done)
		return;
	done = 1;
	cmds = use_membarrier ? syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0) : -1;
	if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
	    syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0)
		barrier_cmd = MEMBARRIER_CMD_PRIVATE_EXPEDITED;
	else if (cmds > 0 && (cmds & MEMBARRIER_CMD_GLOBAL))
		barrier_cmd = MEMBARRIER_CMD_GLOBAL;	/* slower (an RCU grace period), as good */
	__atomic_store_n(&agent_inside_fence, barrier_cmd < 0, __ATOMIC_SEQ_CST);
	/* Slots last: until now every thread counts in the shared counters,
	 * which need neither fence nor barrier. */
	if (pthread_key_create(&slot_key, slot_release) == 0)
		__atomic_store_n(&have_key, 1, __ATOMIC_RELEASE);
}

int agent_inside_slots_owned(void)
{
	int n = 0;

	for (int i = 0; i < AGENT_INSIDE_SLOTS; i++)
		n += __atomic_load_n(&slots[i].owner, __ATOMIC_RELAXED) != 0;
	return n;
}

int agent_quiesce(int timeout_ms, const char **why)
{
	struct timespec pause = { 0, 200 * 1000 };
	int64_t deadline;

	if (barrier_cmd >= 0) {
		/* A filter installed since the start: membarrier could kill. */
		if (!filtered_at_start && agent_seccomp_filtered()) {
			*why = "the process put itself under a seccomp filter since the agent started, so "
			       "the agent cannot make the barrier it needs to know its tables are unused";
			return -1;
		}
		if (syscall(SYS_membarrier, barrier_cmd, 0, 0) < 0) {
			*why = "membarrier failed";
			return -1;
		}
	}
	deadline = monotime_ms() + timeout_ms;
	/*
	 * One counter at a time is enough: a thread stays on its counter while
	 * inside, and a count read as 0 now means every thread of it that saw
	 * the gate open has left (its +1 is visible from before the gate
	 * closed until its -1). Later entrants never touch the tables, so a
	 * counter once seen at 0 needs no second look.
	 */
	for (int i = 0; i < AGENT_INSIDE_SLOTS + AGENT_INSIDE_SHARED; i++) {
		struct agent_inside *c = i < AGENT_INSIDE_SLOTS ? &slots[i] : &shared[i - AGENT_INSIDE_SLOTS];

		while (__atomic_load_n(&c->n, __ATOMIC_SEQ_CST) != 0) {
			if (monotime_ms() >= deadline) {
				*why = "a thread stayed inside the agent's tables for seconds (a signal handler "
				       "that blocks, or one that left the hook with longjmp?)";
				return -1;
			}
			nanosleep(&pause, NULL);
		}
	}
	return 0;
}
