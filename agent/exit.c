/*
 * The end of the program, reported: the exit report leaves from the
 * destructor (normal exit, entry.c calls agent_exit_report_due), from the
 * _exit hook (a program that leaves without running destructors), or from
 * a handler for the deadly signals the program left at their default
 * action; the handler then lets the signal kill the process as it would
 * have. At a normal end (destructor, _exit) the report may hold the thread
 * for memtrace's leak scan (control.h, the exit hold); the handler never
 * waits. Those handlers are the one place the agent touches signal
 * dispositions: a guest in the program's process, it installs them only
 * where the program left the default, and detach puts the default back.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "control.h"
#include "exit.h"
#include "real.h"

/* The process whose end is reported (agent_exit_watch), 0 before the start;
 * a fork child is another process and reports nothing. */
static int report_pid;

/* Deadly by default, and worth a report. */
static const int fatal_signals[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM,
	SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGSYS, SIGXCPU, SIGXFSZ,
};

static int is_fault(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL;
}

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	(void)uc;
	if (getpid() == report_pid)
		agent_control_exit_report(sig);
	/* SA_RESETHAND put the default action back. A fault re-executes the
	 * faulting instruction and dies there, as it would have; any other
	 * signal is raised again (SA_NODEFER: not blocked) and kills now. */
	if (!(is_fault(sig) && si && si->si_code > 0))
		syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
	errno = saved;
}

/* Bit I: fatal_signals[I] has our handler (put there by us). */
static unsigned signals_installed;

void agent_signals_install(void)
{
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		struct sigaction old, sa;

		if (signals_installed & (1u << i))
			continue;
		if (sigaction(fatal_signals[i], NULL, &old) < 0 || old.sa_handler != SIG_DFL ||
		    (old.sa_flags & SA_SIGINFO))
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_fatal;
		sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (sigaction(fatal_signals[i], &sa, NULL) == 0)
			signals_installed |= 1u << i;
	}
}

/*
 * Detach: put SIG_DFL back where our handler still is. A program that
 * installed its own handler since keeps it (a program that changes it
 * between the look and the write loses the race: the window is two
 * system calls, once per detach).
 */
void agent_signals_remove(void)
{
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		struct sigaction cur, sa;

		if (!(signals_installed & (1u << i)))
			continue;
		signals_installed &= ~(1u << i);
		if (sigaction(fatal_signals[i], NULL, &cur) < 0 || !(cur.sa_flags & SA_SIGINFO) ||
		    cur.sa_sigaction != on_fatal)
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigemptyset(&sa.sa_mask);
		sigaction(fatal_signals[i], &sa, NULL);
	}
}

static int exit_code = -1;

int agent_exit_code(void)
{
	return __atomic_load_n(&exit_code, __ATOMIC_RELAXED);
}

/*
 * on_exit() handlers get exit()'s status, also when main returns (libc
 * calls exit itself, which no GOT slot sees). Ours is registered last in
 * attach mode, so it runs first, before the program's own atexit handlers:
 * it only notes the status; the report leaves from the destructor.
 */
static void note_exit_status(int status, void *arg)
{
	(void)arg;
	__atomic_store_n(&exit_code, status & 0xff, __ATOMIC_RELAXED);
}

void agent_exit_watch(void)
{
	static int done;

	report_pid = getpid();
	if (done)
		return;
	done = 1;
	/* Found with the allocator: not walking the module list here, where
	 * another thread may be loading or unloading a module (attach). */
	if (agent_real.on_exit)
		agent_real.on_exit(note_exit_status, NULL);
}

#ifndef __GLIBC__
/*
 * musl has no on_exit: exit()'s status is noted where the program calls it
 * (its GOT slots while attached; exported in start mode), and exit goes on
 * as asked. A return from main reaches exit inside libc, through no slot:
 * that status stays unknown (the report says so).
 */
__attribute__((noreturn)) void agent_exit(int status)
{
	void (*real)(int) = (void (*)(int))agent_real_lookup("exit");

	if (report_pid && getpid() == report_pid)
		__atomic_store_n(&exit_code, status & 0xff, __ATOMIC_RELAXED);
	if (real)
		real(status);
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

AGENT_EXPORT __attribute__((noreturn)) void exit(int status) __attribute__((alias("agent_exit")));
#endif

/*
 * A program that leaves through _exit() runs no destructors: report here,
 * then end as asked. Exported (start mode: the dynamic linker binds the
 * program to it) and put in the GOTs while attached. exit() itself calls
 * the real _exit inside libc, after the destructor has reported.
 */
__attribute__((noreturn)) void agent__exit(int status)
{
	if (report_pid && getpid() == report_pid) {
		__atomic_store_n(&exit_code, status & 0xff, __ATOMIC_RELAXED);
		agent_control_exit_report(0);
	}
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

AGENT_EXPORT __attribute__((noreturn)) void _exit(int status) __attribute__((alias("agent__exit")));
AGENT_EXPORT __attribute__((noreturn)) void _Exit(int status) __attribute__((alias("agent__exit")));

void agent_exit_report_due(void)
{
	if (report_pid && getpid() == report_pid)
		agent_control_exit_report(0);
}
