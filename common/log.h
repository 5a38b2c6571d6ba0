/*
 * Logging for the programs that run outside the target (memtrace and
 * memtrace-server). Messages go to stderr as
 * "PROGNAME: text", or "PROGNAME: warning: text". The agent never uses
 * this: it runs inside the target and must not touch stdio.
 */
#ifndef MEMTRACE_LOG_H
#define MEMTRACE_LOG_H

#include <stddef.h>

/* LOG_QUIET: nothing printed (a signed enum, so that it is below LOG_ERR). */
enum log_level { LOG_QUIET = -1, LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Name printed before each message; the string must outlive logging. */
void log_set_name(const char *name);
/* Messages above LEVEL are dropped. Default LOG_WARN. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/*
 * Also keep this thread's next errors, the last one wins, in BUF (LEN
 * bytes, emptied now), e.g. to send them to a peer; LEN 0 stops. Printing
 * goes on as usual.
 */
void log_capture(char *buf, size_t len);

/* Print at LEVEL. Keeps errno. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print an error and return -1, keeping errno: `return log_err("...");` */
int log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, returning NULL. */
void *log_err_null(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Out of memory on the host side is fatal: memtrace and memtrace-server can
 * do nothing useful without memory, and saying so beats crashing later.
 * Prints "out of memory" and exits with status 125.
 */
void log_oom(void) __attribute__((noreturn));

/*
 * For functions that report a failure in their caller's buffer instead of
 * printing it: the message into ERR (ERRLEN bytes; nothing when ERRLEN is
 * 0), and -1: `return log_errbuf(err, errlen, "...");`. Prints nothing.
 */
int log_errbuf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * A usage error on the command line: prints "NAME: text" and "Try 'NAME
 * --help'." (NAME as log_set_name gave it, which is then the command's own
 * name) and returns 2, the exit status both programs give bad usage:
 * `return log_usage("...");`. Printed at every level.
 */
int log_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
