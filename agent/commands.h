/*
 * The agent's control commands: one table (agent/commands.c) gives each
 * command's name, its handler and whether the connection must have said
 * hello first. The control thread (agent/control.c) reads a request and
 * hands it here; the replies go out through agent/replies.h. What a
 * command needs of its connection comes in struct agent_request, so the
 * commands never call back into the control thread.
 */
#ifndef AGENT_COMMANDS_H
#define AGENT_COMMANDS_H

#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>

#include "hold.h"
#include "replies.h"

/* One request's connection, as the control thread lends it to a command. */
struct agent_request {
	struct agent_outq *out;	/* where its reply goes */
	int peer_pid;		/* the peer's pid (SO_PEERCRED) */
	int *session;		/* the connection owns the session: hello sets it */
	int64_t *orphan_deadline; /* hello clears it (-1): a memtrace came */
	sem_t *resume;		/* "resume" posts it */
};

/*
 * Handle the request of LEN bytes in BUF (parsed in place). Replies to R's
 * connection, errors included. 0, or -1: hang up on the connection (after
 * its last reply, "bye"'s or hello's "busy").
 */
int agent_commands_handle(struct agent_request *r, char *buf, size_t len);

/* A thread took the hold: the "held" event to the session. Control thread only. */
void agent_event_held(const struct agent_hold_info *h);

/*
 * The session's memtrace is gone without a word (killed): leave the
 * process as it was (cancel the hold; an attached agent detaches).
 */
void agent_commands_session_lost(void);

#endif
