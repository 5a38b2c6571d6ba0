/*
 * The agent's process-wide state (state.h): its one definition. The start
 * values are start mode's until the first hook call or the constructor
 * decides (startmode.c): nothing records, and it is not known yet whether
 * this is start mode.
 */
#include <time.h>

#include "agent.h"
#include "state.h"

struct agent_state agent_state = { .depth = AGENT_DEFAULT_DEPTH, .start_pending = 1 };

__thread int agent_guard;

uint64_t agent_now_ns(void)
{
	struct timespec ts;

	/* The coarse clock is a vDSO read of a few ns: ms precision is plenty. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Runs in whatever thread met the failure (a hook, the constructor): it only
 * stops recording. The control thread's sockets are its own and stay open,
 * so memtrace reads the failure in `status` and in the exit report; closing
 * them here would pull descriptors from under the control thread's poll
 * (and a number closed twice may by then be the program's).
 */
void agent_fail(const char *why)
{
	if (!agent_state.failure)
		agent_state.failure = why;
	__atomic_store_n(&agent_state.recording, 0, __ATOMIC_RELAXED);
}
