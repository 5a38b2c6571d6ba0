/*
 * The agent's control thread: serves memtrace over an abstract unix socket
 * named "memtrace-agent.PID", one memtrace session at a time, and carries the
 * exit report out when the process ends.
 */
#ifndef AGENT_CONTROL_H
#define AGENT_CONTROL_H

/*
 * Bind the socket and start the thread (all signals blocked in it). 0, or
 * -1 with errno (EADDRINUSE: both of its names are bound by another
 * process of this network namespace, e.g. a local user squatting them).
 */
int agent_control_start(void);

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
