/*
 * The program's end, reported to memtrace (exit.c): the exit status, the
 * deadly signals' handlers and the _exit hook.
 */
#ifndef AGENT_EXIT_H
#define AGENT_EXIT_H

/*
 * From now on this process's end is reported (a fork child's is not), and
 * exit()'s status is noted for the report (on_exit, once per process; a
 * libc without on_exit, musl, leaves it unknown unless the program calls
 * _exit). Called when the agent has started (entry.c).
 */
void agent_exit_watch(void);

/* What exit() or _exit() was given, for the exit report; -1 until then. */
int agent_exit_code(void);

/* The destructor's report: sent if this process's end is watched (and only
 * the first report of a process is sent, control.h). */
void agent_exit_report_due(void);

/* Put our handler on each deadly signal the program left at SIG_DFL;
 * agent_signals_remove puts SIG_DFL back where our handler still is. */
void agent_signals_install(void);
void agent_signals_remove(void);

/* The _exit hook (and the exported _exit/_Exit in start mode): report, then end. */
__attribute__((noreturn)) void agent__exit(int status);

#ifndef __GLIBC__
/* musl, which has no on_exit: the exit hook notes the status, then exits. */
__attribute__((noreturn)) void agent_exit(int status);
#endif

#endif
