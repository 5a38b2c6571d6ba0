/*
 * 64-bit atomics for 32-bit MIPS (o32), which has no 64-bit
 * compare-and-swap: ll/sc work on 32-bit words, and the kernel offers no
 * cmpxchg64 helper as ARM's does.
 *
 * gcc lowers the agent's __atomic builtins on 64-bit counters (the
 * contexts' statistics) to calls of __atomic_*_8, which live in libatomic:
 * a library a device may not have, and whose locks a signal handler that
 * allocates could find held by its own thread. Here they are one spin lock
 * for all of them, kept inside the agent (hidden). The lock knows which
 * thread holds it: a signal handler that interrupts its own thread inside
 * an update and allocates does its update without the lock (the
 * interrupted one may then overwrite it: a statistic off by one
 * allocation, never a hang). One lock, not one per address, so that two
 * threads' handlers can never each wait for the other's. The updates it
 * guards are a few instructions long.
 */
#if defined(__mips__) && !defined(__GCC_HAVE_SYNC_COMPARE_AND_SWAP_8)

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#pragma GCC diagnostic ignored "-Wbuiltin-declaration-mismatch"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"

#define HIDDEN __attribute__((visibility("hidden")))

static int lock_word;
/* This thread holds the lock (its handlers must not wait for it). */
static __thread int holding;

/* Take the lock; 1 if taken (release it), 0 when this thread already holds it. */
static int take(void)
{
	if (__atomic_load_n(&holding, __ATOMIC_RELAXED))
		return 0;
	for (unsigned spins = 0;; spins++) {
		int free_ = 0;

		if (__atomic_compare_exchange_n(&lock_word, &free_, 1, 0, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			break;
		/* The holder may have been preempted on a single core. */
		if (spins % 64 == 63)
			sched_yield();
	}
	__atomic_store_n(&holding, 1, __ATOMIC_RELAXED);
	return 1;
}

static void give(int taken)
{
	if (!taken)
		return;
	__atomic_store_n(&holding, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE);
}

HIDDEN uint64_t __atomic_load_8(const volatile void *p, int order)
{
	int t = take();
	uint64_t v = *(const volatile uint64_t *)p;

	(void)order;
	give(t);
	return v;
}

HIDDEN void __atomic_store_8(volatile void *p, uint64_t v, int order)
{
	int t = take();

	(void)order;
	*(volatile uint64_t *)p = v;
	give(t);
}

HIDDEN bool __atomic_compare_exchange_8(volatile void *p, void *expected, uint64_t desired, bool weak,
					int success, int failure)
{
	int t = take();
	uint64_t was = *(volatile uint64_t *)p;
	bool ok = was == *(uint64_t *)expected;

	(void)weak;
	(void)success;
	(void)failure;
	if (ok)
		*(volatile uint64_t *)p = desired;
	else
		*(uint64_t *)expected = was;
	give(t);
	return ok;
}

/* *P becomes NEXT (of OLD, its value before); OLD is returned. */
#define UPDATE(p, next)                                   \
	int t = take();                                   \
	uint64_t old = *(volatile uint64_t *)(p);         \
	*(volatile uint64_t *)(p) = (next);               \
	give(t);                                          \
	return old

HIDDEN uint64_t __atomic_exchange_8(volatile void *p, uint64_t v, int order)
{
	(void)order;
	UPDATE(p, v);
}

HIDDEN uint64_t __atomic_fetch_add_8(volatile void *p, uint64_t v, int order)
{
	(void)order;
	UPDATE(p, old + v);
}

HIDDEN uint64_t __atomic_fetch_sub_8(volatile void *p, uint64_t v, int order)
{
	(void)order;
	UPDATE(p, old - v);
}

HIDDEN uint64_t __atomic_add_fetch_8(volatile void *p, uint64_t v, int order)
{
	return __atomic_fetch_add_8(p, v, order) + v;
}

HIDDEN uint64_t __atomic_sub_fetch_8(volatile void *p, uint64_t v, int order)
{
	return __atomic_fetch_sub_8(p, v, order) - v;
}

#else
/* ISO C wants a translation unit to declare something. */
typedef int agent_atomic64_not_needed;
#endif
