/*
 * The agent's control thread: serves memtrace over an abstract unix socket
 * named "memtrace-agent.PID", one memtrace session at a time, and carries the
 * exit report out when the process ends.
 */
#ifndef AGENT_CONTROL_H
#define AGENT_CONTROL_H

#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>

struct agent_outq;
struct agent_hold_info;
struct jsonw;

/* One request's connection, as the control thread lends it to a command. */
struct agent_request {
	struct agent_outq *out;	/* where its reply goes (agent/replies.h) */
	int peer_pid;		/* the peer's pid (SO_PEERCRED) */
	int *session;		/* the connection owns the session: hello sets it */
	int64_t *orphan_deadline; /* hello clears it (-1): a memtrace came */
	sem_t *resume;		/* "resume" posts it */
};

/*
 * What the control thread hands on, given at start: the commands
 * (agent/commands.c's agent_commands). The socket part calls nothing of the
 * agent's lifecycle or reports itself, so it is no link of a ring of files
 * (lifecycle.c starts it; the commands detach).
 */
struct agent_control_ops {
	/* A complete request (agent_commands_handle). -1: hang up. */
	int (*handle)(struct agent_request *r, char *buf, size_t len);
	/* A thread took the hold: the "held" event. */
	void (*held)(const struct agent_hold_info *h);
	/* The session's memtrace is gone without a word. */
	void (*session_lost)(void);
	/* The orphan deadline passed (agent_control_expect_session). */
	void (*orphaned)(void);
	/* The exit event's members after "event", for fatal signal SIG (0 an
	 * exit). Async-signal-safe. */
	void (*exit_members)(struct jsonw *w, int sig);
};

/*
 * Bind the socket and start the thread (all signals blocked in it), which
 * serves OPS (static storage: it is kept). 0, or -1 with errno
 * (EADDRINUSE: both of its names are bound by another process of this
 * network namespace, e.g. a local user squatting them).
 */
int agent_control_start(const struct agent_control_ops *ops);

/*
 * After an attach: if no memtrace says hello within TIMEOUT_MS (the one that
 * injected the agent died first), detach.
 */
void agent_control_expect_session(int timeout_ms);

/* Block until memtrace sends "resume" or TIMEOUT_MS pass. 0 resumed, -1 timed out. */
int agent_control_wait_resume(int timeout_ms);

/*
 * Send the exit event with a full report to the connected memtrace, if any.
 * SIG is the fatal signal, or 0 for a normal exit. Only the first call does
 * anything. Async-signal-safe. At a normal exit with the exit hold armed
 * (agent_control_exit_hold), the event says "held" and the caller then
 * waits until the control thread lets it go, the session's connection
 * closes, or AGENT_EXIT_HOLD_MAX_MS pass.
 */
void agent_control_exit_report(int sig);

/* Longest an exiting thread stays held when memtrace never lets it go. */
#define AGENT_EXIT_HOLD_MAX_MS 60000

/*
 * Control thread: the session asks (ON 1) that the thread ending the process
 * normally be held after the exit event (memtrace --leaks judges the heap
 * then), or no longer (ON 0): disarm, and let a thread held at exit go on.
 * ON 1: 0, or -1 with errno when its eventfd cannot be made. ON 0: 1 when a
 * thread was held and is let go, else 0. The session's connection closing
 * does ON 0. Takes no lock.
 */
int agent_control_exit_hold(int on);

/* A thread is held at exit now (control thread, for the reply to exit_hold). */
int agent_control_exit_held(void);

/*
 * In a fork child (the atfork child handler, or the constructor of a child
 * forked before it ran), and only there: close the copies of the agent's
 * sockets, so the parent's memtrace sees the connection end when the parent
 * ends, and send no exit report from the child. Disarms the hold. The one
 * place a thread other than the control thread closes its descriptors: a
 * fresh fork child has only the calling thread, so nothing else can be
 * using them (everywhere else they stay the control thread's, agent_fail
 * included).
 */
void agent_control_forget(void);

#endif
