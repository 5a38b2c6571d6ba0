/*
 * The gdb work commands of the server link (docs/protocol.md): the one
 * list. conn.c hands a request whose command is here to the peer's work
 * thread (request.c, srv_request_is_work, takes the names), and work.c
 * serves it (the same list gives its table). Each entry:
 *   X(NAME, WHOLE, VIEW, CTX)
 * NAME the command; WHOLE the handler that answers it whole, or NULL;
 * VIEW the function that writes its text from the open core or gdb
 * session, or NULL; CTX 1 when the request must carry a context ID.
 */
#ifndef SRV_WORKCMD_H
#define SRV_WORKCMD_H

#define SRV_WORK_COMMANDS(X)                         \
	X("core", do_core, NULL, 0)                  \
	X("frames", NULL, view_frames, 1)            \
	X("blocks", NULL, view_blocks, 1)            \
	X("inspect", NULL, view_inspect, 0)          \
	X("leaks", NULL, view_leaks, 0)              \
	X("gdb-open", do_gdb_open, NULL, 0)          \
	X("gdb-site", NULL, view_site, 1)            \
	X("gdb-exec", NULL, view_exec, 0)            \
	X("gdb-wait", NULL, view_wait, 0)            \
	X("gdb-close", do_gdb_close, NULL, 0)

#endif
