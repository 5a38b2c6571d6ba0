/*
 * Attach and detach (lifecycle.c): the one caller of got.h's patching and
 * the one that turns recording on and off around it, so that the hooks
 * going in and recording going on (and the reverse) are ordered in one
 * place. The control thread's commands and entry.c ask here.
 */
#ifndef AGENT_LIFECYCLE_H
#define AGENT_LIFECYCLE_H

#include <stddef.h>

/*
 * Loaded by dlopen, from the constructor (which runs under the loader's
 * lock): patch the GOTs now, the hooks passing every call through until
 * memtrace_agent_start. agent_disarm, from the destructor, puts them back
 * if the agent was armed and never started.
 */
void agent_arm(void);
void agent_disarm(void);

/* The child side of fork (pthread_atfork): record nothing, hold nothing,
 * keep none of the parent's sockets. */
void agent_forked(void);

/* Attach mode: patch the GOTs (unless armed) and start recording. 0, or -1 (then nothing is patched). */
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

#endif
