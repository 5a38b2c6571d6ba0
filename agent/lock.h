/*
 * A small spin lock for the agent's short critical sections (one hash table
 * probe). pthread mutexes would do, but this keeps the lock one int wide,
 * needs no initialisation and behaves the same in every libc.
 */
#ifndef AGENT_LOCK_H
#define AGENT_LOCK_H

#include <sched.h>

typedef int agent_lock_t;

static inline void agent_lock(agent_lock_t *l)
{
	unsigned spins = 0;

	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(l, __ATOMIC_RELAXED)) {
			/* The holder may be preempted: give the CPU away rather than burn it. */
			if (++spins > 64) {
				sched_yield();
				spins = 0;
			}
		}
	}
}

static inline void agent_unlock(agent_lock_t *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

#endif
