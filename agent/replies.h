/*
 * What the agent sends on its control connections: framed replies to a
 * request and events to the session (the memtrace that said hello), each
 * connection with its own output queue so that sending never blocks the
 * control thread. Used by the control thread's socket part (agent/control.c)
 * and by the commands (agent/commands.c); it calls neither.
 */
#ifndef AGENT_REPLIES_H
#define AGENT_REPLIES_H

#include <stddef.h>
#include <stdint.h>

#include "jsonw.h"

/* Frames waiting for a client that reads slowly: a reply and the events
 * behind it. A client that lets more pile up is hung up on. */
#define AGENT_OUT_MAX 8
/* A client that takes none of what it is sent for this long is hung up on. */
#define AGENT_SEND_TIMEOUT_MS 60000

/*
 * One connection's way out, embedded in the control thread's client. Frames
 * not yet taken by the socket (under the send lock): out[0] from out_off
 * on, then the others whole. While any wait, the client's requests wait
 * too, and it must take them by out_by or be hung up on. The control
 * thread reads nout, out_by and hangup without the lock (it is the only
 * thread that shortens the queue).
 */
struct agent_outq {
	int fd;
	int direct;		/* not a client (refused at the door): no queue, what a fresh socket takes */
	struct jsonw out[AGENT_OUT_MAX];
	int nout;
	size_t out_off;
	int64_t out_by;
	int hangup;		/* an event could not be queued: hang up at once */
};

/* A reply {"v", "id", "ok"} begun in W, to be completed and sent. 0, or -1 out of memory. */
int agent_reply_begin(struct jsonw *w, int64_t id, int ok);

/*
 * Close W's object, frame it and queue it for Q (send what the socket
 * takes now). Releases W. 0, or -1 when the reply could not be built, the
 * client let more than AGENT_OUT_MAX frames pile up or its connection
 * failed (hang up on it).
 */
int agent_reply_send(struct agent_outq *q, struct jsonw *w);

/* {"ok": false, "error": MSG} and {"ok": true}; as agent_reply_send. */
int agent_reply_error(struct agent_outq *q, int64_t id, const char *msg);
int agent_reply_ok(struct agent_outq *q, int64_t id);

/* An event {"v", "event": NAME} begun in W, to be completed and sent with
 * agent_event_send. 0, or -1 out of memory. */
int agent_event_begin(struct jsonw *w, const char *name);

/*
 * Frame the finished event in W and send it to the session, if there is one
 * (under the send lock: replies and events never interleave). Releases W.
 * QUEUE (the control thread): it waits in the session's queue like a reply,
 * a session that lets events pile up is marked for hanging up. Otherwise
 * (another thread: the exit report) it goes out now, behind what waits,
 * within AGENT_SEND_TIMEOUT_MS.
 */
void agent_event_send(struct jsonw *w, int queue);

/* Send what waits for Q that the socket takes now. 1 all out, 0 some still
 * waits, -1 the connection failed (its queue is dropped). */
int agent_outq_send_now(struct agent_outq *q);

/*
 * Q's connection ends: its last word if the socket takes it now, the rest
 * dropped; if Q held the session, there is none now. Does not close Q->fd.
 */
void agent_outq_close(struct agent_outq *q);

/* Q owns the session from now on, for memtrace PID. */
void agent_session_claim(struct agent_outq *q, int pid);

/* The session's connection (NULL none) and its memtrace's pid. */
struct agent_outq *agent_session(void);
int agent_session_pid(void);

/*
 * In a fresh fork child only (no locks; only this thread exists): drop Q's
 * queue, and with Q NULL forget the session.
 */
void agent_outq_forget(struct agent_outq *q);

#endif
