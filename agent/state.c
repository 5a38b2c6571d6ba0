/*
 * The agent's process-wide state (state.h): its one definition. The start
 * values are start mode's until the first hook call or the constructor
 * decides (lifecycle.c): nothing records, and it is not known yet whether
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
