/*
 * core.h: memtrace-server --core, a core file opened offline with gdb
 * (through mi/, no Python), and memtrace's context IDs mapped to what gdb
 * sees: the frames of the thread held at a context's allocation, the live
 * blocks of a context, the bytes or the typed value of a block
 * (docs/server.md, "Cores").
 */
#ifndef SRV_CORE_H
#define SRV_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct gdbmi_session;

/*
 * How to open the core. CORE may be gzip'ed: it is then gunzipped into
 * UNPACK_TO (a file the caller names in a directory of its own, so that
 * concurrent cores never meet and the caller can remove it on a signal),
 * created there and removed by srv_core_close; NULL: a new file in $TMPDIR
 * (or /tmp), equally removed by srv_core_close. Nothing here touches signals
 * or keeps state outside the struct srv_core: sessions may run in
 * concurrent threads. EXE is the program the core was
 * taken of (a stripped copy's unstripped build will do). GDB NULL: "gdb" from
 * PATH. SYSROOTS: gdb gets the libraries the server finds in them
 * (gdbroot.h: gdb itself opens none), the first's usr/lib/debug, when there,
 * is the debug-file-directory; none: the host's own files.
 */
struct srv_core_options {
	const char *core;
	const char *exe;
	const char *gdb;
	char *const *sysroots;
	size_t n_sysroots;
	int all_frames; /* --frames also prints the agent's and the allocator's frames */
	const char *unpack_to;
	/*
	 * Live instead of CORE: gdb runs `target remote | REMOTE` (a command
	 * whose stdio reaches a gdbserver attached to the process) after
	 * loading EXE, with calls into the program turned off.
	 */
	const char *remote;
};

/*
 * Start gdb, open the core with the program and check that memtrace's agent
 * is in it. NULL on failure, logged in words a user can act on (gdb missing,
 * no such core, not a core, a program that does not match, no agent).
 * Free with srv_core_close (NULL: no-op).
 */
struct srv_core *srv_core_open(const struct srv_core_options *o);
void srv_core_close(struct srv_core *c);

/*
 * The commands: each prints a heading line, then its answer, to OUT, and
 * returns 0, or -1 with the cause logged (nothing or a partial answer
 * printed).
 *   frames   the thread allocating in context ID (the first thread of a core
 *            of `coredump -c ID`), from the user's allocation site down,
 *            each frame with its arguments and locals
 *   blocks   every live block of context ID, oldest first
 *   inspect  ADDR (a number, or a symbol: srv_gdbcmd_addr, gdbcmd.h; refused
 *            otherwise): with TYPE (srv_gdbcmd_type, refused when not a C
 *            type name), gdb's `*(TYPE *)ADDR`; without, the hex and ASCII of the block
 *            holding ADDR (at most BYTES from its start), or of BYTES at ADDR
 *            when no live block holds it
 */
int srv_core_frames(struct srv_core *c, FILE *out, unsigned long id);
int srv_core_blocks(struct srv_core *c, FILE *out, unsigned long id);
int srv_core_inspect(struct srv_core *c, FILE *out, const char *addr, const char *type, size_t bytes);

/*
 * leaks: valgrind's verdicts on the core's heap (common/leakjudge.h, the
 * same judge as the console's `leaks` on a live process), the contexts'
 * callstacks decoded with the SYSROOTS; as the console's text, or its
 * JSON document (docs/protocol.md, "Leaks"). COUNT contexts (0: all) of
 * KIND (leaksdoc.h: -1 lost blocks of any kind). Not on a live session.
 */
struct srv_core_leaks_options {
	char *const *sysroots;
	size_t n_sysroots;
	long count;
	int kind;
	int json;
};
int srv_core_leaks(struct srv_core *c, FILE *out, const struct srv_core_leaks_options *o);

/*
 * inspect of the blocks of a verdict: the core judged as by srv_core_leaks,
 * then up to N blocks of context CTX (0: from before the attach) of KIND
 * (enum leak_verdict, or LEAKS_KIND_LOST of leaksdoc.h: definitely or indirectly
 * lost), each as srv_core_inspect shows it (TYPE may be NULL; at most
 * BYTES, or the block's size). Not on a live session.
 */
int srv_core_inspect_kind(struct srv_core *c, FILE *out, unsigned long ctx, int kind, long n, const char *type,
			  size_t bytes);

/* The core gdb opened (gunzipped), open read-only, its name as given in
 * *NAME; -1 on a live session. The program. &memtrace_gdb. */
int srv_core_fd(const struct srv_core *c, const char **name);
const char *srv_core_exe(const struct srv_core *c);
uint64_t srv_core_anchor(const struct srv_core *c);

/* The gdb session, for commands of its own (a live target's console). */
struct gdbmi_session *srv_core_gdb(struct srv_core *c);
/* 1 when opened live (REMOTE), 0 on a core. */
int srv_core_is_live(const struct srv_core *c);

/*
 * Run one gdb CLI COMMAND, its console output to OUT (an error as gdb's
 * message); a COMMAND srv_gdbcmd_check refuses is not run (-1, logged). A command that resumes the program (finish, next, continue) is
 * waited for up to TIMEOUT_MS, then interrupted (which gdbserver can do
 * only to a process that leads its process group). 0 done, 1 the program
 * is still running (srv_core_wait_stop), -1 gdb failed (logged).
 */
int srv_core_run(struct srv_core *c, FILE *out, const char *command, int timeout_ms);

/* Wait up to TIMEOUT_MS for a running program to stop. 0 stopped (or was), 1 still running, -1. */
int srv_core_wait_stop(struct srv_core *c, FILE *out, int timeout_ms);

/*
 * Live, with a thread stopped inside the allocator in context ID (the
 * agent's hold, about to be released): run that thread to the allocation's
 * return into its caller, where the new block is in the caller's hands.
 * As srv_core_run.
 */
int srv_core_to_site(struct srv_core *c, FILE *out, unsigned long id, int timeout_ms);

#endif
