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
 * anything. Async-signal-safe.
 */
void agent_control_exit_report(int sig);

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
