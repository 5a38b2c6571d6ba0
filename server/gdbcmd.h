/*
 * The gdb console's allowlist: which gdb CLI commands, typed by a possibly
 * untrusted user on a device's console, memtrace-server may relay to the gdb
 * it runs on the developer's host (attached through gdbserver to the device's
 * process). Only inspection and stepping pass: nothing that runs a shell,
 * writes files, loads scripts or runs Python, on the host or in the target.
 * Pure: classifies one line, runs nothing.
 */
#ifndef SRV_GDBCMD_H
#define SRV_GDBCMD_H

#include <stddef.h>
#include <stdint.h>

/* The longest line srv_gdbcmd_check() accepts, in bytes (the NUL not counted). */
#define SRV_GDBCMD_MAX 1024

enum srv_gdbcmd_kind {
	SRV_GDBCMD_REFUSED,  /* not allowed: *why says why, naming the command and what is allowed */
	SRV_GDBCMD_INSPECT,  /* runs without resuming the program: bt, frame, up, down, print, output,
			      * x, ptype, whatis, list, info SUB, thread */
	SRV_GDBCMD_RUN,      /* resumes the program until it stops again: finish, next, step, nexti,
			      * stepi, until, advance */
	SRV_GDBCMD_CONTINUE, /* continue (c, fg), no argument: ends the gdb console, the program runs on */
	SRV_GDBCMD_DETACH,   /* detach, no argument: the same */
};

/*
 * Classify one console LINE, NUL-terminated (NULL counts as empty); spaces and
 * tabs around it are ignored. Commands are matched the way gdb 13 looks them
 * up: unique abbreviations and aliases ("i r", "fin", "p/x"), "frame apply"
 * and "thread apply" refused. Besides the command, the whole line is refused
 * for: more than SRV_GDBCMD_MAX bytes, a control character (below 0x20 but
 * tab, and 0x7f: the line becomes one MI command), a call of a convenience
 * function ("$name(", "$1 (": gdb's own run Python, and $_shell a shell) and
 * any mention of one of gdb's convenience functions ($_shell, $_as_string,
 * ...: "($_shell)(...)" calls it too). Assignments and target function calls
 * in expressions are not looked for: see below.
 *
 * WHY (LEN bytes; NULL or LEN 0: not written) gets the reason of a refusal,
 * printable ASCII, NUL-terminated, cut to fit; "" when the line is allowed.
 *
 * What an allowed line relies on, and the caller sets up: the line is sent
 * whole as one `-interpreter-exec console` command, quoted (gdbmi_quote()); gdb
 * runs with `may-call-functions off` (print/x/list expressions could call
 * into the target otherwise: they are not parsed here), without the user's
 * gdbinit (-nx: no user-defined commands, hooks or aliases over these names)
 * and with auto-loading of scripts off (a pretty-printer or frame filter in a
 * target library's -gdb.py would run when bt or print shows its values).
 * print/output can still assign (`p x = 1`, `p $pc = 0`): that changes the
 * target, not the host, and no C is parsed here to stop it.
 */
enum srv_gdbcmd_kind srv_gdbcmd_check(const char *line, char *why, size_t len);

/*
 * The operands of `inspect` (addr and type), the only other device text that
 * reaches gdb. Neither is an expression: each is checked against a grammar
 * too small to call, assign or name anything but a symbol or a type, and
 * only the canonical text the check writes is ever put into a gdb command
 * (never the text received).
 */

/* The longest identifier taken, in bytes. */
#define SRV_GDBCMD_NAME_MAX 256
/* Room for a canonical type or symbol (the NUL counted). */
#define SRV_GDBCMD_CANON_MAX 512

enum srv_gdbcmd_addr_kind {
	SRV_GDBCMD_ADDR_REFUSED, /* *why says why */
	SRV_GDBCMD_ADDR_NUMBER,  /* *value holds it: decimal, 0x hex or 0 octal, below 2^64 */
	SRV_GDBCMD_ADDR_SYMBOL,  /* canon holds "name" (its value) or "&name" (its address) */
};

/*
 * Check ADDR (NUL-terminated; NULL refused), spaces and tabs around it
 * ignored: a number, or a symbol as a C identifier ([A-Za-z_][A-Za-z0-9_]*,
 * at most SRV_GDBCMD_NAME_MAX bytes), C++ scopes (`ns::name`) and one
 * leading '&' allowed. No '$' (gdb's registers, history, convenience
 * variables and functions), no operators, no parentheses. A symbol's
 * canonical text goes to CANON (CANON_LEN >= SRV_GDBCMD_CANON_MAX, else a
 * refusal); the number to *VALUE. WHY as for srv_gdbcmd_check.
 */
enum srv_gdbcmd_addr_kind srv_gdbcmd_addr(const char *addr, uint64_t *value, char *canon, size_t canon_len,
					  char *why, size_t len);

/*
 * Check TYPE (NUL-terminated; NULL refused) as a C type name: one or more
 * words, each a C identifier (C++ scopes allowed) or struct/union/enum
 * followed by one, then any number of '*' (each may be followed by const or
 * volatile), then any number of [N] (N decimal, at most 10 digits); blanks
 * between tokens. Nothing else: no '$', parentheses, operators or quotes,
 * and none of gdb's expression keywords (sizeof, alignof, typeof,
 * decltype, ...), which could turn a word into an expression. The canonical
 * text (tokens joined by one space: "struct foo * const [4]") goes to CANON
 * (CANON_LEN >= SRV_GDBCMD_CANON_MAX). 0, or -1 refused with WHY.
 */
int srv_gdbcmd_type(const char *type, char *canon, size_t canon_len, char *why, size_t len);

/* The allowed commands, for help and error texts: "bt, frame, up, ...". Static storage. */
const char *srv_gdbcmd_allowed(void);

#endif
