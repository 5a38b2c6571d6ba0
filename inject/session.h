/*
 * memtrace's connection to the agent in a process: connect (retrying while
 * the agent starts), check who answers, send requests and wait for their
 * replies with a timeout, and keep the events that arrive meanwhile (the
 * exit report).
 */
#ifndef INJ_SESSION_H
#define INJ_SESSION_H

#include <cjson/cJSON.h>

struct inj_session;

/*
 * Connect to the agent of PID, retrying for TIMEOUT_MS while ALIVE(ARG)
 * returns nonzero (the process may still be starting), then say hello. PID
 * is as memtrace sees it; a process in its own PID or network namespace (a
 * container) is reached there (reach.h). The peer must be PID itself
 * (SO_PEERCRED). NULL with a logged error naming the cause (ESRCH: the
 * process ended, silently). The hello reply is kept: inj_session_hello().
 */
struct inj_session *inj_session_open(int pid, int timeout_ms, int (*alive)(void *), void *arg);

/* Close the connection. NULL is a no-op. */
void inj_session_free(struct inj_session *s);

/* The hello reply (owned by the session). */
const cJSON *inj_session_hello(const struct inj_session *s);

int inj_session_fd(const struct inj_session *s);

/* The pid the process has in its own PID namespace (the agent's getpid()):
 * the pid given to inj_session_open() unless the process is in a container. */
int inj_session_own_pid(const struct inj_session *s);

/* The connection is gone (peer closed or an error). */
int inj_session_lost(const struct inj_session *s);

/*
 * Send command CMD with the members of ARGS (may be NULL; not consumed) and
 * wait up to TIMEOUT_MS for the reply. Returns the reply (caller deletes) with
 * "ok": true; NULL when the agent answered an error (logged with its text), did
 * not answer in time (the connection is then closed), or the connection broke.
 */
cJSON *inj_session_request(struct inj_session *s, const char *cmd, const cJSON *args, int timeout_ms);

/*
 * Send CMD as inj_session_request does, without waiting for its reply (it
 * is dropped when it comes): for an agent that cannot answer now (its
 * threads stopped by a debugger). 0, or -1 logged.
 */
int inj_session_send(struct inj_session *s, const char *cmd, const cJSON *args, int timeout_ms);

/*
 * Read what the agent sent, without waiting for a message to start (call when
 * the fd is readable). Events go to the queue. 0, or -1 when the connection is lost.
 */
int inj_session_pump(struct inj_session *s);

/* Next queued event (caller deletes), or NULL. */
cJSON *inj_session_next_event(struct inj_session *s);

/* Integer member NAME of OBJ, or -1. */
long inj_json_num_int(const cJSON *obj, const char *name);

#endif
