/*
 * The agent's process-wide state and the per-thread recursion guard, read
 * by the hooks, the control thread, the report and the debugger's anchor.
 * Defined in state.c, and only there. Who may write which field is said
 * beside it: most are lifecycle.c's alone (lifecycle.h), which turns
 * recording on and off together with the GOT patching.
 */
#ifndef AGENT_STATE_H
#define AGENT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "unwinder.h"

/*
 * Every field is written by lifecycle.c alone (when recording starts, stops
 * or fails), except seq (the hooks) and tables_open's clearing (tables.c).
 */
struct agent_state {
	int recording;			/* hooks record (1) or only pass calls on (0) */
	int depth;			/* frames per stack */
	const struct agent_unwinder *unwinder;
	uint64_t seq;			/* next allocation sequence number: the hooks' */
	uint64_t start_ns;		/* agent_now_ns() when recording began */
	int64_t start_wall_ms;		/* the same moment, wall clock */
	const char *since;		/* "start" or "attach" */
	const char *failure;		/* why recording stopped, or NULL (agent_fail) */
	int start_pending;		/* 1 until it is known whether this is start mode */
	/*
	 * The tables may be read and written (quiesce.h): set when recording
	 * starts (lifecycle.c), cleared while detach gives them back (tables.c).
	 * The exit report's gate.
	 */
	int tables_open;
	/* One more at every attach (lifecycle.c): work begun before it is not recorded after. */
	uint32_t generation;
};

extern struct agent_state agent_state;

/* Nonzero while this thread is inside the agent: its allocations pass through. */
extern __thread int agent_guard;

/*
 * agent_guard's value while a hook runs a real C++ operator new
 * (hooks_cxx.c): the operator's own malloc passes through like any
 * allocation under the guard, but a free is still forgotten, for the
 * operator may call the program's new_handler, which gives memory back.
 */
#define AGENT_GUARD_OPERATOR 2

/*
 * Now on CLOCK_MONOTONIC_COARSE, in ns: the clock of start_ns and of every
 * block's time. No lock, no allocation (a vDSO read).
 */
uint64_t agent_now_ns(void);

#endif
