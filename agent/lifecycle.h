/*
 * When the agent starts and stops recording (lifecycle.c): the one writer of
 * agent_state.recording and the one caller of got.h's patching, so that the
 * hooks going in and recording going on (and the reverse) are ordered in
 * one place. The hooks, the control thread and the exit paths ask here.
 */
#ifndef AGENT_LIFECYCLE_H
#define AGENT_LIFECYCLE_H

#include <stddef.h>

/*
 * Stop recording for good, saying why (static string). Signal-safe; any
 * thread. Closes nothing: the control thread's sockets stay its own.
 */
void agent_fail(const char *why);

/*
 * For the hooks, while nothing records and start_pending is set: in start
 * mode the first call that can tell begins recording. Takes no lock and
 * allocates nothing. 1 if the caller should record its block.
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
