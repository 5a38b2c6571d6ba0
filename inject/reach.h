/*
 * Reaching the agent in a process: its socket names (the pid the process
 * has in its own PID namespace, ns.h), a connection made in the process's
 * network namespace and checked to be the process's own, and, when none
 * can be had, the true reason.
 */
#ifndef INJ_REACH_H
#define INJ_REACH_H

#include <stddef.h>

/* What connection attempts saw, for inj_reach_explain(). */
struct inj_reach {
	int pid;        /* the process, as memtrace numbers it */
	int own_pid;    /* its pid in its own PID namespace: the agent's name and "pid" */
	int squatter;   /* a process other than PID that held one of the names, or 0 */
	char name[2][96];  /* the names tried ("@memtrace-agent.N"), "" when unused */
};

/*
 * Prepare R for PID: its own pid (inj_ns_own_pid) and the agent's names.
 * 0, or -1 logged (the process is gone: ESRCH; its pid cannot be known).
 */
int inj_reach_init(struct inj_reach *r, int pid);

/*
 * One attempt: a socket per name, made in PID's network namespace, and
 * connected; the first whose peer (SO_PEERCRED) is PID wins. Its fd, or -1
 * with errno: ECONNREFUSED when nothing (or only a squatter) answers yet, so
 * the caller may retry; anything else is final and logged with its cause
 * (EPERM: memtrace may not enter the process's network namespace).
 */
int inj_reach_connect(struct inj_reach *r);

/*
 * Before loading an agent into PID: can memtrace reach its network
 * namespace? 0 yes (or PID does not exist: the loader says so), -1 logged
 * with errno (EPERM: memtrace may not enter it).
 */
int inj_reach_check(int pid);

/*
 * Why nothing answered within TIMEOUT_MS: log the cause found in /proc
 * (the names held by another process, the agent listening on another name,
 * a program that is static or setuid or lost LD_PRELOAD before its exec,
 * an agent loaded that opened no socket).
 */
void inj_reach_explain(const struct inj_reach *r, int timeout_ms);

#endif
