/*
 * 64-bit atomics for ARM cores without ldrexd/strexd (armel: ARMv5TE).
 *
 * gcc lowers the agent's __atomic builtins on 64-bit counters to calls of
 * __atomic_*_8, which live in libatomic: a library a device may not have,
 * and one that takes locks. Here they are built on the one 64-bit primitive
 * libgcc has for ARM Linux, __sync_val_compare_and_swap_8 (the kernel's
 * cmpxchg64 user helper), and kept inside the agent (hidden). On ARMv7 and
 * later gcc inlines these operations and this file is empty.
 */
#if defined(__arm__) && !defined(__GCC_HAVE_SYNC_COMPARE_AND_SWAP_8)

#include <stdbool.h>
#include <stdint.h>

#pragma GCC diagnostic ignored "-Wbuiltin-declaration-mismatch"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"

#define HIDDEN __attribute__((visibility("hidden")))

HIDDEN uint64_t __atomic_load_8(const volatile void *p, int order)
{
	(void)order;
	/* A compare-and-swap that changes nothing reads the value whole. */
	return __sync_val_compare_and_swap_8((volatile uint64_t *)p, 0, 0);
}

HIDDEN bool __atomic_compare_exchange_8(volatile void *p, void *expected, uint64_t desired, bool weak,
					int success, int failure)
{
	uint64_t want = *(uint64_t *)expected;
	uint64_t was = __sync_val_compare_and_swap_8((volatile uint64_t *)p, want, desired);

	(void)weak;
	(void)success;
	(void)failure;
	if (was == want)
		return true;
	*(uint64_t *)expected = was;
	return false;
}

/* Apply OP until no other writer got in between. */
#define CAS_LOOP(p, next_of_old)                                                     \
	uint64_t old = __atomic_load_8(p, 0), next;                                  \
	for (;;) {                                                                   \
		next = (next_of_old);                                                \
		uint64_t was = __sync_val_compare_and_swap_8((volatile uint64_t *)p, \
							     old, next);             \
		if (was == old)                                                      \
			break;                                                       \
		old = was;                                                           \
	}

HIDDEN void __atomic_store_8(volatile void *p, uint64_t v, int order)
{
	(void)order;
	CAS_LOOP(p, v);
}

HIDDEN uint64_t __atomic_exchange_8(volatile void *p, uint64_t v, int order)
{
	(void)order;
	CAS_LOOP(p, v);
	return old;
}

HIDDEN uint64_t __atomic_fetch_add_8(volatile void *p, uint64_t v, int order)
{
	(void)order;
	CAS_LOOP(p, old + v);
	return old;
}

HIDDEN uint64_t __atomic_fetch_sub_8(volatile void *p, uint64_t v, int order)
{
	(void)order;
	CAS_LOOP(p, old - v);
	return old;
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
