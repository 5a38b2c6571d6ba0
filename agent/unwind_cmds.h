/*
 * Control commands of the tables backend's host rows (unwind_cmds.c), for
 * the command table (commands.c).
 */
#ifndef AGENT_UNWIND_CMDS_H
#define AGENT_UNWIND_CMDS_H

#include <stdint.h>

#include "control.h"
#include "jsonr.h"

int agent_cmd_unwind_modules(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n);
int agent_cmd_unwind_rows(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n);

/* The session ended: rows gathered for a module and not yet complete are given back. */
void agent_unwind_rows_forget(void);

#endif
