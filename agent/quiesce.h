/*
 * When the agent's tables may be given back. Every stretch of code that
 * touches the block and context tables outside the control thread (the
 * recording part of a hook, the exit report) runs between agent_enter()
 * and agent_leave(); detach closes the gate, waits until no thread that
 * saw it open is still inside (agent_quiesce), and only then unmaps the
 * tables. docs/architecture.md ("Giving the memory back") has the design
 * and its cost.
 *
 * A thread counts itself in a slot of its own, one cache line, claimed on
 * its first entry and handed back when it exits (a pthread key's
 * destructor). Entering is then a plain store and a load, with no fence:
 * the waiting side makes up for it with membarrier(2), which has every
 * running thread of the process execute a full barrier, so a thread either
 * is seen inside or sees the gate closed. Where membarrier cannot be used
 * (a seccomp filter might kill the process for it, an old kernel), entering
 * takes a full fence instead. Threads beyond the slots, and the exit
 * report (which may run in a signal handler), count themselves in shared
 * counters with atomic increments, which need no barrier from the waiter.
 */
#ifndef AGENT_QUIESCE_H
#define AGENT_QUIESCE_H

#include <stddef.h>
#include <stdint.h>

#define AGENT_INSIDE_SLOTS 1024
#define AGENT_INSIDE_SHARED 16

struct agent_inside {
	long n;				/* entries not yet left */
	int owner;			/* slot: a thread holds it */
	int shared;			/* counted with atomic read-modify-writes */
} __attribute__((aligned(64)));

/* This thread's counter, NULL until it first enters. */
extern __thread struct agent_inside *agent_inside_mine;
/* Nonzero: no membarrier, entering takes a full fence. Set at start. */
extern int agent_inside_fence;

/*
 * "Seccomp:\t2" in /proc/self/status: a filter that may kill the process
 * for a system call it does not expect (membarrier here, mincore in
 * glibc_heap.c). Unknown counts as filtered.
 */
int agent_seccomp_filtered(void);

/* A thread's first entry: claim a slot (else a shared counter). */
struct agent_inside *agent_inside_pick(void);
/* A shared counter: for code that may run in a signal handler. */
struct agent_inside *agent_inside_any_shared(void);

static inline struct agent_inside *agent_enter_in(struct agent_inside *s, const int *gate)
{
	if (__builtin_expect(!s->shared, 1)) {
		/* Only this thread writes its slot (a signal handler that comes
		 * in between nests and unwinds fully before we go on). */
		__atomic_store_n(&s->n, __atomic_load_n(&s->n, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
		if (__builtin_expect(__atomic_load_n(&agent_inside_fence, __ATOMIC_RELAXED) != 0, 0))
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
		else
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
	} else {
		__atomic_add_fetch(&s->n, 1, __ATOMIC_SEQ_CST);
	}
	if (__builtin_expect(__atomic_load_n(gate, __ATOMIC_ACQUIRE) != 0, 1))
		return s;
	if (!s->shared)
		__atomic_store_n(&s->n, __atomic_load_n(&s->n, __ATOMIC_RELAXED) - 1, __ATOMIC_RELEASE);
	else
		__atomic_sub_fetch(&s->n, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Enter the tables if *GATE (an int, nonzero while they may be used) is
 * set. Returns what to give agent_leave(), or NULL: the gate was closed and
 * the caller must not touch the tables. Nests.
 */
static inline struct agent_inside *agent_enter(const int *gate)
{
	struct agent_inside *s = agent_inside_mine;

	if (__builtin_expect(!s, 0))
		s = agent_inside_pick();
	return agent_enter_in(s, gate);
}

/* Leave what agent_enter() entered. Release: every access to the tables
 * made inside happens before the waiter sees the count drop. */
static inline void agent_leave(struct agent_inside *s)
{
	if (__builtin_expect(!s->shared, 1))
		__atomic_store_n(&s->n, __atomic_load_n(&s->n, __ATOMIC_RELAXED) - 1, __ATOMIC_RELEASE);
	else
		__atomic_sub_fetch(&s->n, 1, __ATOMIC_RELEASE);
}

/*
 * Once, before any thread can enter (agent start): the pthread key that
 * hands slots back, and the choice between membarrier and fences.
 */
void agent_inside_init(void);
/* The same with the choice made by the caller (the unit test): membarrier
 * when USE_MEMBARRIER and the kernel has it, else fences. */
void agent_inside_init_as(int use_membarrier);
/* Slots held by threads now (the unit test). */
int agent_inside_slots_owned(void);

/*
 * After the gates were closed (sequentially consistent stores): wait until
 * no thread that saw them open is still inside, polling every 200 us for
 * at most TIMEOUT_MS. 0, or -1 with *WHY (a static text) when a thread
 * stayed inside that long or the barrier could not be made (a seccomp
 * filter installed since the start). Threads that enter meanwhile see the
 * closed gate and leave at once.
 */
int agent_quiesce(int timeout_ms, const char **why);

#endif
