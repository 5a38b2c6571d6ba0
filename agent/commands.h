/*
 * The agent's control commands: one table (agent/commands.c) gives each
 * command's name, its handler and whether the connection must have said
 * hello first. The control thread (agent/control.c) reads a request and
 * hands it here, through the ops it was started with (agent_commands); the
 * replies go out through agent/replies.h. What a command needs of its
 * connection comes in struct agent_request (control.h), so the commands
 * never call back into the control thread.
 */
#ifndef AGENT_COMMANDS_H
#define AGENT_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "control.h"
#include "hold.h"
#include "replies.h"

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

/* The control thread's ops (control.h): the above, for agent_control_start. */
extern const struct agent_control_ops agent_commands;

#endif
