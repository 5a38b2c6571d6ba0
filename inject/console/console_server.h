/*
 * The console's requests to memtrace-server over the link (srvlink.h): one
 * request and its printed reply, and sending a core. Used by the coredump
 * command (console_core.c) and by the commands the server's gdb answers
 * (console_gdb.c); this file calls neither.
 */
#ifndef INJ_CONSOLE_SERVER_H
#define INJ_CONSOLE_SERVER_H

#include <cjson/cJSON.h>

#include "console/console.h"

/*
 * The reply to request ID within TIMEOUT_MS: its text printed to con->out,
 * 0; or its error logged, -1. *RUNNING (may be NULL) 1 when gdb says the
 * program still runs.
 */
int inj_console_reply(struct inj_console *con, long id, int timeout_ms, int *running);

/* Request CMD (ARGS taken, also on failure) and print its reply (inj_console_reply). */
int inj_console_ask(struct inj_console *con, const char *cmd, cJSON *args, int timeout_ms,
		    int *running);

/* 0 when memtrace is linked to a server, else -1 logged, WHAT (the command) first. */
int inj_console_need_link(struct inj_console *con, const char *what);

/* Add the traced program's path, build-id and pid to ARGS, as the server looks them up. */
void inj_console_add_program(struct inj_console *con, cJSON *args);

/*
 * After coredump wrote PATH: when linked, send it to memtrace-server, which
 * opens it for frames, blocks and inspect (at most 5 minutes for the reply;
 * an upload the server stops reading for 30 s is given up); the caller checks
 * inj_link_linked() first. 0, or -1 logged.
 */
int inj_console_send_core(struct inj_console *con, const char *path);

#endif
