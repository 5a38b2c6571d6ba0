/*
 * What a process's seccomp filters do with a system call, read from the
 * outside: each thread's filters come from PTRACE_SECCOMP_GET_FILTER (the
 * threads stopped by us; CAP_SYS_ADMIN) and are run here on the call's
 * number, for every value of what a call's number does not fix (its
 * arguments, its instruction pointer): a classic BPF program of forward
 * jumps, every path followed. So memtrace can tell, before it loads code
 * into a process that might make the call, whether the filter would kill
 * the process for it (docs/architecture.md, "Seccomp filters").
 */
#ifndef INJ_SECCOMP_H
#define INJ_SECCOMP_H

#include <stddef.h>
#include <stdint.h>

/* What the filters may do with a call. */
enum inj_seccomp_verdict {
	INJ_SECCOMP_NO_FILTER,	/* no thread of the process is under a filter */
	INJ_SECCOMP_ALLOWS,	/* every path lets it through, or fails it with an errno: never kills */
	INJ_SECCOMP_MAY_KILL,	/* some path kills (KILL_*), raises SIGSYS (TRAP) or waits on a supervisor */
	INJ_SECCOMP_UNKNOWN,	/* the filters could not be read (errno, WHY says why) */
};

/* 1 when some thread of process PID is under a seccomp filter (/proc's "Seccomp: 2"), else 0. */
int inj_seccomp_any(int pid);

/*
 * Process PID, stopped by the caller (inj_seize), whose N threads are TIDS:
 * the worst each native system call NRS[i] (N_NR of them) may get from any
 * thread's filters, into VERDICTS[i]; WHY (LEN bytes) names a thread and
 * why for a MAY_KILL or UNKNOWN verdict. The whole: the worst of them.
 * Reads /proc/PID/task/TID/status first: a process without filters costs
 * nothing more.
 */
enum inj_seccomp_verdict inj_seccomp_judge(int pid, const int *tids, size_t n, const int *nrs, size_t n_nr,
					   enum inj_seccomp_verdict *verdicts, char *why, size_t len);

/*
 * The worst a filter program (N instructions of struct sock_filter at
 * PROG) may return for system call NR of architecture ARCH (AUDIT_ARCH_*),
 * whatever its arguments: INJ_SECCOMP_ALLOWS or INJ_SECCOMP_MAY_KILL, or
 * INJ_SECCOMP_UNKNOWN for a program that is not a valid filter or has too
 * many paths to follow. For the tests.
 */
enum inj_seccomp_verdict inj_seccomp_run(const void *prog, size_t n, uint32_t arch, int nr);

#endif
