/*
 * The agent's global state and the per-thread recursion guard, shared by
 * the hooks, the control thread and the lifecycle code.
 */
#ifndef AGENT_STATE_H
#define AGENT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "unwinder.h"

struct agent_state {
	int recording;			/* hooks record (1) or only pass calls on (0) */
	int depth;			/* frames per stack */
	const struct agent_unwinder *unwinder;
	uint64_t seq;			/* next allocation sequence number */
	uint64_t start_ns;		/* CLOCK_MONOTONIC when recording began */
	int64_t start_wall_ms;		/* the same moment, wall clock */
	const char *since;		/* "start" or "attach" */
	const char *failure;		/* why recording stopped, or NULL */
	int start_pending;		/* 1 until it is known whether this is start mode */
	/*
	 * The tables may be read and written (quiesce.h): set when recording
	 * starts, cleared while detach gives them back. The exit report's gate.
	 */
	int tables_open;
	/* One more at every attach: work begun before it is not recorded after. */
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

/* Stop recording for good, saying why (static string). Signal-safe. */
void agent_fail(const char *why);

uint64_t agent_now_ns(void);

/*
 * For the hooks, while nothing records and start_pending is set: in start
 * mode the first call that can tell begins recording (lifecycle.c). Takes
 * no lock and allocates nothing. 1 if the caller should record its block.
 */
int agent_start_pending(void);

/* Attach mode: start recording and patch the GOTs. 0, or -1 (then nothing is patched). */
int agent_attach(void);

/* The settings a memtrace gives when it attaches (memtrace_agent_start, "attach"). */
struct agent_settings {
	const char *unwind;		/* "fp" or "libunwind" */
	int depth;			/* 1..AGENT_MAX_DEPTH */
	int signals;			/* report deadly signals (handlers while attached) */
};

/*
 * Attach mode, an agent left idle by an earlier memtrace: detach first if
 * it is still recording, take the settings S, start recording again. 0, or
 * -1 with a message for the user in ERR (nothing is then recording).
 */
int agent_reattach(const struct agent_settings *s, char *err, size_t errlen);

/*
 * Put the GOTs back, stop recording, put the signal dispositions back and
 * give the tables' memory back to the system (waiting until no thread is
 * inside them); the agent stays loaded and idle. 0, or -1 when a thread
 * stayed inside the tables too long: they are then kept (and cleared at the
 * next attach), *WHY says so.
 */
int agent_detach(const char **why);

/* The status exit() or _exit() was given (0-255), or -1 while unknown. */
int agent_exit_code(void);

/* The agent's _exit (exported as _exit and _Exit, and put in GOTs). */
__attribute__((noreturn)) void agent__exit(int status);

#endif
