/*
 * gdbmi.h: libgdbmi, a driver for gdb over GDB/MI with no Python anywhere.
 *
 * Three layers, each usable without the ones above it:
 *
 *  1. Parser (mi/parse.c): a push parser. Feed it gdb's output in chunks of
 *     any size; it calls back with one record per line. A record and every
 *     value in it live in one arena, freed as one with gdbmi_record_free().
 *     Values are looked up by path ("frame.func", "stack[3].line").
 *  2. Session (mi/session.c, command.c, spawn.c): one gdb process on pipes, commands tied to
 *     their answers by tokens, async records to a callback, a timeout on
 *     every wait, gdb dying or hanging reported as a status. Blocking calls,
 *     and for event loops the fds to poll plus a step function.
 *  3. Helpers (mi/target.c, mi/data.c, mi/decode.c): open a program or a
 *     core, connect to gdbserver, attach, breakpoints, continue, frames,
 *     variables, memory, expressions, console commands; and decoders that
 *     turn records into typed structs (both MI2 and MI3 breakpoint shapes).
 *
 * Errors: functions that can fail return enum gdbmi_status (or NULL for
 * constructors); the session logs the cause through the caller's callback
 * and keeps it for gdbmi_session_error(). Every string a record or a typed
 * result hands out lives in the record's arena: valid until the record (or
 * the typed result owning it) is freed. Nothing here is thread-safe: one
 * session, one thread at a time.
 */
#ifndef GDBMI_H
#define GDBMI_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---------------------------------------------------------------- status */

enum gdbmi_status {
	GDBMI_OK = 0,
	GDBMI_NOMEM,	 /* out of memory */
	GDBMI_BAD_INPUT, /* a malformed argument, or an answer of the wrong shape */
	GDBMI_GDB_ERROR, /* gdb answered ^error: the record holds msg= */
	GDBMI_TIMEOUT,	 /* no answer in time; gdb still runs, the session stays usable */
	GDBMI_DEAD,	 /* gdb exited or was killed: the session is over */
	GDBMI_IO,	 /* a system call failed; errno is kept */
};

/* A short English description of ST ("timeout", ...); never NULL. */
const char *gdbmi_strstatus(enum gdbmi_status st);

/* ---------------------------------------------------------------- values */

enum gdbmi_kind {
	GDBMI_STRING, /* a decoded c-string */
	GDBMI_TUPLE,  /* {...}: results, or nameless values in MI2 oddities */
	GDBMI_LIST,   /* [...]: values or results */
};

/*
 * One value of a record. NAME is the variable before '=' (NUL-terminated),
 * or NULL for a nameless value (list elements, MI2 multi-location
 * breakpoints). A STRING has STR/LEN: the decoded bytes, which may hold NUL
 * bytes, with one more NUL after them. A TUPLE or LIST has its N children
 * in the array V, in the order gdb wrote them.
 */
struct gdbmi_value {
	enum gdbmi_kind kind;
	const char *name;
	const char *str;
	size_t len;
	const struct gdbmi_value *v;
	size_t n;
};

/*
 * Look up PATH under V: names separated by '.', each optionally followed by
 * [INDEX] (0-based, on a tuple or list). A name selects the first child of
 * that name in a tuple or a list of results: "frame.func", "stack[3].line",
 * "bkpt.locations[0].addr", "[2]". "" is V itself. Returns NULL when V is
 * NULL, a step is missing, or PATH is malformed.
 */
const struct gdbmi_value *gdbmi_get(const struct gdbmi_value *v, const char *path);

/* The string at PATH under V, or NULL when absent or not a string. */
const char *gdbmi_get_str(const struct gdbmi_value *v, const char *path);

/*
 * The number in the string at PATH under V into *OUT: decimal, or hex with
 * 0x (gdb writes addresses so), all of the string, no sign. 0 on success,
 * -1 when absent, not a string, not a number or out of range (*OUT kept).
 */
int gdbmi_get_u64(const struct gdbmi_value *v, const char *path, uint64_t *out);
/* The same for a signed decimal ("-1"). */
int gdbmi_get_long(const struct gdbmi_value *v, const char *path, long *out);

/* ---------------------------------------------------------------- records */

enum gdbmi_rtype {
	GDBMI_RESULT,	   /* [token]^class,results */
	GDBMI_EXEC,	   /* [token]*class,results (running, stopped) */
	GDBMI_STATUS,	   /* [token]+class,results (download progress) */
	GDBMI_NOTIFY,	   /* [token]=class,results (thread-created, ...) */
	GDBMI_CONSOLE,	   /* ~"text": the CLI's output */
	GDBMI_TARGET,	   /* @"text": the program's output */
	GDBMI_LOG,	   /* &"text": gdb's own messages, CLI echo */
	GDBMI_PROMPT,	   /* (gdb) */
	GDBMI_PARSE_ERROR, /* a line that is not MI: TEXT says why, COLUMN where */
};

/* Result classes; GDBMI_CLASS_OTHER for a class this library does not know. */
enum gdbmi_rclass {
	GDBMI_CLASS_NONE, /* not a result record */
	GDBMI_DONE,
	GDBMI_RUNNING,
	GDBMI_CONNECTED,
	GDBMI_ERROR,
	GDBMI_EXIT,
	GDBMI_CLASS_OTHER,
};

/*
 * One line of gdb's output. Its pointers point into the record's arena
 * (or to static strings: CLS "", a parse error's TEXT).
 *
 * LINE/LINE_LEN is the raw line without its line end. HAS_TOKEN/TOKEN: the
 * digits before ^ * + = (a token above 2^64-1 is a parse error). CLS is the
 * class ("done", "stopped", ...) of result and async records, "" for the
 * others; RCLASS its enum for result records. RESULTS is a nameless tuple
 * of what follows the class (N may be 0) for result and async records,
 * NULL for the others. TEXT/TEXT_LEN is the decoded string of a stream
 * record, the message of a parse error, NULL for the others; COLUMN is the
 * 1-based byte column of a parse error, 0 otherwise.
 *
 * The session fills CONSOLE and LOG of the result records it returns: the
 * text of the ~ and & records gdb printed while that command ran,
 * concatenated (NULL/0 when none). They are NULL/0 in records straight from
 * the parser.
 */
struct gdbmi_record {
	enum gdbmi_rtype type;
	int has_token;
	unsigned long long token;
	const char *cls;
	enum gdbmi_rclass rclass;
	const struct gdbmi_value *results;
	const char *text;
	size_t text_len;
	size_t column;
	const char *line;
	size_t line_len;
	const char *console;
	size_t console_len;
	const char *log;
	size_t log_len;
};

/* Free REC and all it holds; NULL is a no-op. */
void gdbmi_record_free(struct gdbmi_record *rec);

/* gdbmi_get(REC->results, PATH); NULL for records without results. */
const struct gdbmi_value *gdbmi_record_get(const struct gdbmi_record *rec, const char *path);

/* True when REC is of TYPE and, if CLS is not NULL, of class CLS. */
int gdbmi_is(const struct gdbmi_record *rec, enum gdbmi_rtype type, const char *cls);

/* The msg= of a ^error record; "" when there is none. Never NULL. */
const char *gdbmi_error_msg(const struct gdbmi_record *rec);

/* ---------------------------------------------------------------- parser */

/* Gets each record; the record is the callee's to free. */
typedef void gdbmi_record_fn(void *ctx, struct gdbmi_record *rec);

/*
 * A push parser that hands each record to FN(CTX, rec). Returns NULL when
 * out of memory (errno ENOMEM). Free with gdbmi_parser_free (NULL: no-op).
 */
struct gdbmi_parser *gdbmi_parser_new(gdbmi_record_fn *fn, void *ctx);
void gdbmi_parser_free(struct gdbmi_parser *p);

/*
 * Feed LEN bytes of gdb's output. Lines end with LF, CR or CR LF, split
 * anywhere across calls; a line has no length limit. Each complete line
 * gives one record (empty lines none), including GDBMI_PARSE_ERROR records
 * for lines that are not MI: parsing goes on with the next line. FN is
 * called before this returns; it must not call back into this parser.
 * Returns GDBMI_OK, or GDBMI_NOMEM: then the line being parsed is lost and
 * the parser goes on with the next one at the next call.
 */
enum gdbmi_status gdbmi_parser_push(struct gdbmi_parser *p, const void *data, size_t len);

/* End of input: parse what is buffered as a last line, if anything. */
enum gdbmi_status gdbmi_parser_finish(struct gdbmi_parser *p);

/*
 * Parse one line (without its line end) into a record the caller frees.
 * Malformed or empty lines give a GDBMI_PARSE_ERROR record. NULL only when
 * out of memory.
 */
struct gdbmi_record *gdbmi_parse_line(const char *line, size_t len);

/* ---------------------------------------------------------------- c-strings */

/*
 * Decode the body of an MI c-string (what is between the quotes) from IN
 * into OUT, which must hold LEN bytes (decoding never grows) and may be IN
 * itself. Escapes: \" \\ \n \t \r \b \f \v \a \e \' \? and \ooo (one to
 * three octal digits, at most \377). Sets *OUT_LEN. Returns GDBMI_OK or GDBMI_BAD_INPUT (an
 * unknown escape, a lone '"' or a trailing '\'); *ERR_AT (may be NULL) is
 * then the offset of the offending byte in IN.
 */
enum gdbmi_status gdbmi_cstr_decode(const char *in, size_t len, char *out, size_t *out_len,
				    size_t *err_at);

/*
 * Decode the C string literal(s) in a value as gdb's value printer writes
 * it, after the MI layer was undone: `0x4006f4 "abc\001"`, `"ab", 'x'
 * <repeats 30 times>, "cd"...`. Leading text before the first '"' or '\''
 * (an address, a symbol) is skipped. Escapes: C's (\n, \ooo, \xhh, ...)
 * and gdb's \e. Sets *OUT to a malloc'd, NUL-terminated buffer of *OUT_LEN
 * decoded bytes, and *TRUNCATED (may be NULL) to 1 if gdb cut the string
 * short ("..." after it, print elements). GDBMI_BAD_INPUT when VALUE holds
 * no literal or a malformed one, GDBMI_NOMEM; *OUT is NULL then.
 */
enum gdbmi_status gdbmi_c_literal(const char *value, size_t len, char **out, size_t *out_len,
				  int *truncated);

/*
 * S as an MI input c-string: "...", with '"' and '\' escaped and \n, \r,
 * \t written as escapes; other bytes raw (gdb wants UTF-8 raw). malloc'd,
 * NULL when out of memory.
 */
char *gdbmi_quote(const char *s);

/* ---------------------------------------------------------------- session */

enum gdbmi_log_level { GDBMI_LOG_ERR, GDBMI_LOG_WARN, GDBMI_LOG_INFO, GDBMI_LOG_DEBUG };

/* Gets one message, no newline. MSG is valid during the call only. */
typedef void gdbmi_log_fn(void *ctx, enum gdbmi_log_level level, const char *msg);

/*
 * Gets every out-of-band record (async and stream) as it comes, and result
 * records that belong to no command. REC is borrowed: valid during the call
 * only. It may call gdbmi_send() but nothing that waits or steps.
 */
typedef void gdbmi_async_fn(void *ctx, const struct gdbmi_record *rec);

/*
 * Options for gdbmi_session_new; zero (or NULL) fields take the defaults.
 *   gdb               program to run, found through PATH ("gdb")
 *   interpreter       "mi3" (gdb 9.1+); "mi2" works too
 *   args              more arguments for gdb, NULL-terminated, put before
 *                     --interpreter (e.g. "-iex", "set osabi none")
 *   timeout_ms        default limit for each command (10000)
 *   start_timeout_ms  limit for gdb to start and answer the setup (30000)
 *   exit_timeout_ms   how long gdbmi_session_free waits for gdb to quit
 *                     before it kills it (3000)
 *   sync_exec         1: leave mi-async off (exec commands run in the
 *                     foreground, gdbmi_interrupt sends SIGINT). Default:
 *                     mi-async on, gdb answers while the program runs
 *   on_async, async_ctx    see gdbmi_async_fn
 *   log, log_ctx      messages; without it, errors go to stderr as
 *                     "gdbmi: ..." and nothing else is printed. DEBUG
 *                     level shows every command and every line from gdb.
 */
struct gdbmi_options {
	const char *gdb;
	const char *interpreter;
	const char *const *args;
	int timeout_ms;
	int start_timeout_ms;
	int exit_timeout_ms;
	int sync_exec;
	gdbmi_async_fn *on_async;
	void *async_ctx;
	gdbmi_log_fn *log;
	void *log_ctx;
};

/*
 * Start `gdb -nx -q --interpreter=mi3` on pipes (stderr read apart, its
 * lines logged at INFO), in a session of its own (so a terminal's ^C does
 * not reach it), without DEBUGINFOD_URLS in its environment; turn off
 * pagination, confirm, width, height and debuginfod; turn mi-async on
 * unless SYNC_EXEC; and return once -list-features has answered. OPT may
 * be NULL. Returns NULL on failure, logged with the cause, errno set:
 * the exec's errno (ENOENT: gdb missing), ECHILD (gdb died), ETIMEDOUT
 * (silent past start_timeout_ms), EPROTO (a setting refused), ENOMEM.
 */
struct gdbmi_session *gdbmi_session_new(const struct gdbmi_options *opt);

/*
 * End the session: stop the program if it runs, send -gdb-exit (gdb
 * detaches from attached processes and removes its breakpoints), wait up to
 * exit_timeout_ms, then SIGKILL gdb (only gdb: a helper such as gdbserver
 * on a pipe then sees its pipe close and detaches cleanly); reap gdb.
 * Pending commands complete with GDBMI_DEAD (callbacks are called). NULL:
 * no-op. Must not be called from a callback. Never blocks longer than
 * about 2 x exit_timeout_ms + 5 s.
 */
void gdbmi_session_free(struct gdbmi_session *s);

/* gdb's pid (also its process group), or -1 after it was reaped. */
pid_t gdbmi_session_pid(const struct gdbmi_session *s);

/* 1 while gdb runs and its pipes are open; 0 once it died or exited. */
int gdbmi_session_alive(const struct gdbmi_session *s);

/* The first line of -gdb-version ("GNU gdb (Debian 13.1-3) 13.1"), or "". */
const char *gdbmi_session_version(const struct gdbmi_session *s);

/* 1 when -list-features named FEATURE ("data-read-memory-bytes"). */
int gdbmi_has_feature(const struct gdbmi_session *s, const char *feature);

/*
 * The last failure of this session in words: a ^error's msg, "gdb did not
 * answer `-stack-list-frames` within 10000 ms", "gdb was killed by signal
 * 9 (last on stderr: ...)". "" when none. Valid until the next call.
 */
const char *gdbmi_session_error(const struct gdbmi_session *s);

/* ---------------------------------------------------------------- commands */

/*
 * Gets the answer to a command sent with gdbmi_send: ST is GDBMI_OK (^done,
 * ^running, ^connected, ^exit) or GDBMI_GDB_ERROR (^error) with the result
 * record, which is the callee's to free; or, with REC NULL, GDBMI_TIMEOUT
 * (its deadline passed: an answer that comes later is dropped),
 * GDBMI_DEAD, or GDBMI_BAD_INPUT (gdb's answer line was not MI). Called
 * once, from gdbmi_session_step or a blocking call.
 */
typedef void gdbmi_done_fn(void *ctx, enum gdbmi_status st, struct gdbmi_record *rec);

/*
 * Send one MI command, printf-style, without token or newline ("-stack-
 * list-frames"): the session puts a token in front, queues the line and
 * writes as much as the pipe takes (the rest goes out in later steps).
 *
 * With DONE, DONE(CTX, ...) gets the answer. Without, collect it with
 * gdbmi_wait(*TOKEN). TIMEOUT_MS <= 0 takes the session's default; the
 * clock starts now. *TOKEN may be NULL (then DONE should not be).
 *
 * Returns GDBMI_OK once queued; GDBMI_BAD_INPUT when the command holds a
 * newline or this is called where it must not be; GDBMI_DEAD; GDBMI_NOMEM.
 * DONE is not called when this fails.
 */
enum gdbmi_status gdbmi_send(struct gdbmi_session *s, gdbmi_done_fn *done, void *ctx,
			     int timeout_ms, unsigned long long *token, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/*
 * Wait for the answer to TOKEN (sent without DONE) until its deadline. On
 * GDBMI_OK (^done, ^running, ^connected, ^exit) and GDBMI_GDB_ERROR (^error)
 * *REC gets the result record, the caller's to free; REC may be NULL to
 * drop it. GDBMI_TIMEOUT (gdb may still answer later: the answer is then
 * dropped), GDBMI_DEAD, GDBMI_BAD_INPUT (unknown token, already collected,
 * or an answer line that was not MI), GDBMI_IO: *REC is NULL.
 */
enum gdbmi_status gdbmi_wait(struct gdbmi_session *s, unsigned long long token,
			     struct gdbmi_record **rec);

/* gdbmi_send + gdbmi_wait with the default timeout. */
enum gdbmi_status gdbmi_cmd(struct gdbmi_session *s, struct gdbmi_record **rec, const char *fmt,
			    ...) __attribute__((format(printf, 3, 4)));

/* The same with a timeout of its own (<= 0: the default). */
enum gdbmi_status gdbmi_cmd_timeout(struct gdbmi_session *s, int timeout_ms,
				    struct gdbmi_record **rec, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---------------------------------------------------------------- event loops */

/*
 * Fill up to N (4 is enough) entries of PFD with the fds to poll: gdb's
 * stdout and stderr and a pidfd for its exit for POLLIN, its stdin for
 * POLLOUT while output is queued. Returns how many (0 once gdb is gone).
 * When any is ready, or gdbmi_session_next_timeout() has passed, call
 * gdbmi_session_step(S, 0). The caller must not reap gdb itself (no
 * waitpid(-1) loop): the session does.
 */
int gdbmi_session_pollfds(const struct gdbmi_session *s, struct pollfd *pfd, int n);

/*
 * Milliseconds until the session needs a step even if no fd is ready (the
 * earliest command deadline; at most 200 where the kernel has no pidfd),
 * -1 when never.
 */
int gdbmi_session_next_timeout(const struct gdbmi_session *s);

/*
 * Wait up to TIMEOUT_MS (0: not at all, -1: until something happens) for
 * gdb, then read and write what is ready, dispatch records (async callback,
 * DONE callbacks) and expire deadlines. Returns GDBMI_OK, GDBMI_DEAD once
 * gdb is gone (it was reaped, pending commands completed with GDBMI_DEAD),
 * GDBMI_IO or GDBMI_NOMEM. Must not be called from a callback.
 */
enum gdbmi_status gdbmi_session_step(struct gdbmi_session *s, int timeout_ms);

/* ---------------------------------------------------------------- execution */

/*
 * Stops seen so far: each *stopped adds one. Take it before a command that
 * makes the program run, then wait for a stop after that count.
 */
unsigned long gdbmi_stop_count(const struct gdbmi_session *s);

/* 1 between *running and *stopped. */
int gdbmi_is_running(const struct gdbmi_session *s);

/*
 * Wait until the stop count passes SINCE, up to TIMEOUT_MS (<= 0: the
 * default). *STOPPED (may be NULL) gets the latest *stopped record, the
 * caller's to free (NULL when an earlier call took it already). GDBMI_OK,
 * GDBMI_TIMEOUT (the program still runs), GDBMI_DEAD.
 */
enum gdbmi_status gdbmi_wait_stopped(struct gdbmi_session *s, unsigned long since, int timeout_ms,
				     struct gdbmi_record **stopped);

/*
 * Ask gdb to stop the program: -exec-interrupt with mi-async on, SIGINT to
 * gdb with sync_exec. Does not wait for the stop (see gdbmi_wait_stopped).
 * Through gdbserver --attach, gdbserver 13 interrupts with kill(-pid,
 * SIGINT): a program that does not lead its process group never stops.
 */
enum gdbmi_status gdbmi_interrupt(struct gdbmi_session *s);

/* ---------------------------------------------------------------- typed results */

/* A frame; strings NULL and numbers 0 when gdb did not give them. */
struct gdbmi_frame {
	unsigned long level;
	uint64_t addr;
	const char *func;
	const char *file;     /* as in the debug info */
	const char *fullname; /* resolved path */
	long line;
	const char *from; /* the library, when there is no debug info */
};

/* Frames, innermost first; free with gdbmi_frames_free. */
struct gdbmi_frames {
	struct gdbmi_record *rec; /* owns everything here */
	size_t n;
	struct gdbmi_frame *frame;
};
void gdbmi_frames_free(struct gdbmi_frames *f);

/*
 * A local or argument. VALUE is the MI-decoded value as gdb printed it (a C
 * literal stays a literal: see gdbmi_c_literal), NULL when not asked for
 * or an aggregate under --simple-values; TYPE NULL unless --simple-values.
 */
struct gdbmi_var {
	const char *name;
	const char *type;
	const char *value;
	int is_arg;
};
struct gdbmi_vars {
	struct gdbmi_record *rec;
	size_t n;
	struct gdbmi_var *var;
};
void gdbmi_vars_free(struct gdbmi_vars *v);

/* One location of a breakpoint. ADDR 0 when pending. */
struct gdbmi_bkpt_loc {
	const char *number; /* "1" for a single location, "1.2" in a multi-location one */
	uint64_t addr;
	const char *func;
	const char *file;
	const char *fullname;
	long line;
	int enabled;
};
/*
 * A breakpoint, from both shapes gdb uses for several locations: MI3's
 * locations=[...] and MI2's nameless tuples after bkpt={...}. A breakpoint
 * with one location has NLOC 1 and LOC[0] made from bkpt itself; a pending
 * one has NLOC 0.
 */
struct gdbmi_bkpt {
	struct gdbmi_record *rec;
	const char *number;
	const char *type;
	int enabled;
	int pending;
	size_t nloc;
	struct gdbmi_bkpt_loc *loc;
};
void gdbmi_bkpt_free(struct gdbmi_bkpt *b);

/*
 * What a *stopped said. REASON NULL when gdb gave none (after attach, after
 * a core is opened); SIGNAL the signal-name for "signal-received", EXIT_CODE
 * for "exited" (-1 otherwise). HAS_FRAME when a frame came with it.
 */
struct gdbmi_stop {
	struct gdbmi_record *rec;
	const char *reason;
	long bkptno;
	long thread_id;
	const char *signal;
	long exit_code;
	int has_frame;
	struct gdbmi_frame frame;
};
void gdbmi_stop_free(struct gdbmi_stop *st);

/*
 * Decoders: turn a record into a typed result. On GDBMI_OK the result owns
 * REC (freeing the result frees REC); on failure (GDBMI_BAD_INPUT: not the
 * expected shape, GDBMI_NOMEM) REC stays the caller's and *OUT is NULL.
 *   frames: ^done,stack=[frame={...},...] (-stack-list-frames)
 *   vars:   ^done,variables=[{name=,arg=,type=,value=},...]
 *           (-stack-list-variables), or locals=[...] (-stack-list-locals)
 *   bkpt:   ^done,bkpt={...} (-break-insert) or =breakpoint-created/modified
 *   stop:   *stopped,...
 */
enum gdbmi_status gdbmi_decode_frames(struct gdbmi_record *rec, struct gdbmi_frames **out);
enum gdbmi_status gdbmi_decode_vars(struct gdbmi_record *rec, struct gdbmi_vars **out);
enum gdbmi_status gdbmi_decode_bkpt(struct gdbmi_record *rec, struct gdbmi_bkpt **out);
enum gdbmi_status gdbmi_decode_stop(struct gdbmi_record *rec, struct gdbmi_stop **out);

/* Decode one frame tuple (from a list, a *stopped, a ^connected) into *F. */
void gdbmi_frame_from(const struct gdbmi_value *tuple, struct gdbmi_frame *f);

/* ---------------------------------------------------------------- helpers */

/*
 * Where the host finds the target's files. Each non-NULL field is set with
 * -gdb-set before anything is loaded: SYSROOT (the target's root, "" or "/"
 * for the host's own), SOLIB_SEARCH_PATH (colon-separated dirs searched by
 * basename), DEBUG_FILE_DIRECTORY (separate debug info, e.g.
 * SYSROOT/usr/lib/debug). None may hold a newline.
 */
struct gdbmi_paths {
	const char *sysroot;
	const char *solib_search_path;
	const char *debug_file_directory;
};

/*
 * All helpers block, each command up to the session's timeout_ms, except
 * the slow ones, which get start_timeout_ms: loading a program, opening a
 * core, connecting, attaching. They return GDBMI_OK or the failing step's
 * status; after GDBMI_GDB_ERROR gdbmi_session_error() holds gdb's msg.
 */

/* Set PATHS (may be NULL: nothing to set). */
enum gdbmi_status gdbmi_set_paths(struct gdbmi_session *s, const struct gdbmi_paths *paths);

/* Set PATHS, then load PROGRAM's symbols (-file-exec-and-symbols). */
enum gdbmi_status gdbmi_open_program(struct gdbmi_session *s, const struct gdbmi_paths *paths,
				     const char *program);

/*
 * Set PATHS, load PROGRAM (may be NULL: take what the core names), then
 * open CORE (-target-select core). *FRAME (may be NULL) gets the frame gdb
 * selected, the caller's to free with gdbmi_stop_free.
 */
enum gdbmi_status gdbmi_open_core(struct gdbmi_session *s, const struct gdbmi_paths *paths,
				  const char *program, const char *core, struct gdbmi_stop **frame);

/*
 * Connect to a gdbserver: `target remote HOSTPORT` ("host:1234", ":1234"),
 * or with gdbmi_connect_pipe `target remote | COMMAND` (e.g. "ssh -T
 * board gdbserver --attach - 1234": gdbserver talks on its stdio and dies
 * with the pipe). Waits for ^connected and for the stop that reports where
 * the program is (gdbserver stops it on attach). Set paths first.
 */
enum gdbmi_status gdbmi_connect(struct gdbmi_session *s, const char *hostport);
enum gdbmi_status gdbmi_connect_pipe(struct gdbmi_session *s, const char *command);

/* Attach to local process PID (-target-attach) and wait for it to stop. */
enum gdbmi_status gdbmi_attach(struct gdbmi_session *s, pid_t pid);

/* Detach from the program (-target-detach); it runs on. */
enum gdbmi_status gdbmi_detach(struct gdbmi_session *s);

/* -break-insert LOCATION (e.g. "malloc", "file.c:12", "*0x4005d0"). */
enum gdbmi_status gdbmi_break_insert(struct gdbmi_session *s, const char *location,
				     struct gdbmi_bkpt **out);

/*
 * -exec-continue, then wait up to TIMEOUT_MS (<= 0: the default) for the
 * program to stop; *STOP (may be NULL) gets the *stopped. On GDBMI_TIMEOUT
 * the program still runs: gdbmi_interrupt, then gdbmi_wait_stopped.
 */
enum gdbmi_status gdbmi_continue(struct gdbmi_session *s, int timeout_ms, struct gdbmi_stop **stop);

/*
 * Frames LOW..HIGH (HIGH < 0: all) of THREAD (0: the selected thread), by
 * -stack-list-frames.
 */
enum gdbmi_status gdbmi_list_frames(struct gdbmi_session *s, long thread, long low, long high,
				    struct gdbmi_frames **out);

enum gdbmi_values { GDBMI_NO_VALUES, GDBMI_ALL_VALUES, GDBMI_SIMPLE_VALUES };

/*
 * Locals and arguments of frame LEVEL of THREAD (0: the selected thread),
 * by -stack-list-variables with the given PRINT choice.
 */
enum gdbmi_status gdbmi_list_variables(struct gdbmi_session *s, long thread, unsigned long level,
				       enum gdbmi_values print, struct gdbmi_vars **out);

/*
 * Read LEN bytes at ADDR into BUF with -data-read-memory-bytes, in pieces
 * of at most 1 MiB. *GOT (may be NULL) gets the number of bytes readable
 * from ADDR on; reading stops at the first hole. GDBMI_OK when at least
 * one byte was read, GDBMI_GDB_ERROR when none could be.
 */
enum gdbmi_status gdbmi_read_memory(struct gdbmi_session *s, uint64_t addr, size_t len, void *buf,
				    size_t *got);

/*
 * Evaluate EXPR in the selected frame (-data-evaluate-expression). *VALUE
 * gets gdb's text of the result, malloc'd, the caller's to free.
 */
enum gdbmi_status gdbmi_evaluate(struct gdbmi_session *s, const char *expr, char **value);

/*
 * Run a CLI COMMAND (-interpreter-exec console) and collect what it
 * printed on the console stream. *OUT (may be NULL) gets it malloc'd and
 * NUL-terminated, *LEN (may be NULL) its length.
 */
enum gdbmi_status gdbmi_console(struct gdbmi_session *s, const char *command, char **out,
				size_t *len);

#endif
