/*
 * The agent's process-wide state and the per-thread recursion guard, read
 * by the hooks, the control thread, the report and the debugger's anchor.
 * Defined in state.c, and only there. Who may write which field is said
 * beside it: the start of recording (startmode.c) and attach and detach
 * (lifecycle.c, which turns recording on and off together with the GOT
 * patching); anyone may stop recording for good with agent_fail.
 */
#ifndef AGENT_STATE_H
#define AGENT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "unwinder.h"

/*
 * Written when recording begins (startmode.c: both modes), at attach and
 * detach (lifecycle.c) and by agent_fail (failure, recording off); seq is
 * the hooks', tables_open's clearing tables.c's.
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
	int pid;			/* the process recording began in (a fork child is another) */
	/*
	 * The tables may be read and written (quiesce.h): set when recording
	 * starts (startmode.c, lifecycle.c), cleared while detach gives them back (tables.c).
	 * The exit report's gate.
	 */
	int tables_open;
	/* One more at every attach (lifecycle.c): work begun before it is not recorded after. */
	uint32_t generation;
};

extern struct agent_state agent_state;

/*
 * Stop recording for good, saying why (a static string; the first reason
 * is kept). Signal-safe; any thread. Closes nothing: the control thread's
 * sockets stay its own, so memtrace reads the failure in `status`.
 */
void agent_fail(const char *why);

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
