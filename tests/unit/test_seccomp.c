/*
 * Unit test for the seccomp filter reader (inject/injector/seccomp.c).
 *
 * Filters written here as a sandbox would write them, each run on system
 * calls with a known verdict: allow-all; kill one call; trap one call only
 * for some argument values (the verdict must be "may kill": the arguments
 * are not known); an architecture check that kills other ABIs; a filter
 * that keeps the number in scratch memory and compares it through X; a
 * return of A; ERRNO, LOG and TRACE (never kill) and USER_NOTIF (may wait
 * for ever: counted as harm); malformed programs (a jump out of the
 * program, a load past seccomp_data, running off the end): unknown. Then
 * a live child puts itself under a filter that traps mincore and is read
 * through ptrace as memtrace reads a process it attaches to (skipped
 * without CAP_SYS_ADMIN).
 *
 * Exit status: 0 pass, 1 fail (one "FAIL file:line" line per failed check).
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "check.h"
#include "injector/ptrace.h"
#include "injector/regs.h"
#include "injector/seccomp.h"

#define N(f) (sizeof(f) / sizeof((f)[0]))
/* mmap's number: 32-bit ARM has only mmap2 */
#ifdef SYS_mmap
#define NR_MMAP SYS_mmap
#else
#define NR_MMAP SYS_mmap2
#endif
#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LD_ARCH BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch))
#define RET(a) BPF_STMT(BPF_RET | BPF_K, (a))
/* System call NR gets ACTION, every other is allowed. */
#define ONE_CALL(nr, action) LD_NR, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), RET(action), RET(SECCOMP_RET_ALLOW)

#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000U
#endif

static const char *name(enum inj_seccomp_verdict v)
{
	static const char *const n[] = { "no filter", "allows", "may kill", "unknown" };

	return n[v];
}

#define RUN(f, nr, want) do { \
	enum inj_seccomp_verdict got_ = inj_seccomp_run((f), N(f), inj_arch_audit(), (nr)); \
	CHECK(got_ == (want), "%s, call %d: %s, want %s", #f, (int)(nr), name(got_), name(want)); \
} while (0)

static void crafted(void)
{
	const uint32_t arch = inj_arch_audit();
	struct sock_filter allow_all[] = { RET(SECCOMP_RET_ALLOW) };
	struct sock_filter kill_mincore[] = { ONE_CALL(SYS_mincore, SECCOMP_RET_KILL_PROCESS) };
	/* mmap with PROT_EXEC traps: the verdict depends on an argument */
	struct sock_filter trap_exec_mmap[] = {
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_MMAP, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
		RET(SECCOMP_RET_TRAP),
		RET(SECCOMP_RET_ALLOW),
	};
	/* another architecture is killed outright; ours gets errno for mincore */
	struct sock_filter arch_check[] = {
		LD_ARCH,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0),
		RET(SECCOMP_RET_KILL_THREAD),
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mincore, 0, 1),
		RET(SECCOMP_RET_ERRNO | EPERM),
		RET(SECCOMP_RET_ALLOW),
	};
	/* the number through scratch memory and X, compared by JGE/JGT ranges */
	struct sock_filter through_x[] = {
		LD_NR,
		BPF_STMT(BPF_ST, 3),
		BPF_STMT(BPF_LDX | BPF_MEM, 3),
		BPF_STMT(BPF_LD | BPF_IMM, SYS_mincore),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1),
		RET(SECCOMP_RET_TRAP),
		BPF_STMT(BPF_MISC | BPF_TXA, 0),
		BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1),
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, SYS_msync + 1, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SYS_msync + 1, 0, 1),
		RET(SECCOMP_RET_USER_NOTIF),
		RET(SECCOMP_RET_LOG),
	};
	/* the action computed into A from an argument: not known */
	struct sock_filter ret_a[] = {
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mincore, 0, 2),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_STMT(BPF_RET | BPF_A, 0),
		BPF_STMT(BPF_LD | BPF_IMM, SECCOMP_RET_TRACE),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_filter jump_out[] = { LD_NR, BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 5, 0), RET(SECCOMP_RET_ALLOW) };
	struct sock_filter load_past[] = { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64), RET(SECCOMP_RET_ALLOW) };
	struct sock_filter no_return[] = { LD_NR, BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1) };

	RUN(allow_all, SYS_mincore, INJ_SECCOMP_ALLOWS);
	RUN(kill_mincore, SYS_mincore, INJ_SECCOMP_MAY_KILL);
	RUN(kill_mincore, SYS_msync, INJ_SECCOMP_ALLOWS);
	RUN(trap_exec_mmap, NR_MMAP, INJ_SECCOMP_MAY_KILL);
	RUN(trap_exec_mmap, SYS_mincore, INJ_SECCOMP_ALLOWS);
	RUN(arch_check, SYS_mincore, INJ_SECCOMP_ALLOWS);
	RUN(arch_check, SYS_msync, INJ_SECCOMP_ALLOWS);
	CHECK(inj_seccomp_run(arch_check, N(arch_check), arch ^ 1, SYS_mincore) == INJ_SECCOMP_MAY_KILL,
	      "arch_check: another architecture is not killed");
	RUN(through_x, SYS_mincore, INJ_SECCOMP_MAY_KILL);
	RUN(through_x, SYS_msync, INJ_SECCOMP_MAY_KILL);	/* USER_NOTIF */
	RUN(through_x, SYS_getpid, INJ_SECCOMP_ALLOWS);	/* LOG */
	RUN(ret_a, SYS_mincore, INJ_SECCOMP_MAY_KILL);
	RUN(ret_a, SYS_msync, INJ_SECCOMP_ALLOWS);	/* TRACE: ENOSYS without a tracer */
	RUN(jump_out, SYS_mincore, INJ_SECCOMP_UNKNOWN);
	RUN(load_past, SYS_mincore, INJ_SECCOMP_UNKNOWN);
	RUN(no_return, SYS_mincore, INJ_SECCOMP_UNKNOWN);
}

/* A child under a filter that traps mincore, read through ptrace as an attach does. */
static void live(void)
{
	struct sock_filter f[] = { ONE_CALL(SYS_mincore, SECCOMP_RET_TRAP) };
	struct sock_fprog prog = { (unsigned short)N(f), f };
	int nrs[] = { SYS_mincore, SYS_msync }, p[2], tids[4];
	enum inj_seccomp_verdict v[2], all;
	struct inj_task *t;
	char why[256], c;
	pid_t pid;

	if (pipe(p) < 0)
		broken("pipe");
	pid = fork();
	if (pid < 0)
		broken("fork");
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
			_exit(3);
		if (write(p[1], "x", 1) != 1)
			_exit(4);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1) {
		waitpid(pid, NULL, 0);
		broken("the child could not put itself under a filter");
	}
	CHECK(inj_seccomp_any(pid) == 1, "the filtered child is not seen as filtered");
	CHECK(inj_seccomp_any(getpid()) == 0, "this test is seen as filtered");
	t = inj_seize(pid, 5000);
	if (!t)
		broken("seize the child");
	all = inj_seccomp_judge(pid, tids, inj_task_list(t, tids, 4), nrs, 2, v, why, sizeof(why));
	inj_release(t);
	if (all == INJ_SECCOMP_UNKNOWN && (strstr(why, "Permission") || strstr(why, "CAP_SYS_ADMIN"))) {
		printf("test_seccomp: the live filter is not read here (%s)\n", why);
	} else {
		CHECK(all == INJ_SECCOMP_MAY_KILL && v[0] == INJ_SECCOMP_MAY_KILL && v[1] == INJ_SECCOMP_ALLOWS,
		      "live: %s (mincore %s, msync %s): %s", name(all), name(v[0]), name(v[1]), why);
		CHECK(strstr(why, "may kill the process for system call") != NULL, "live: why: %s", why);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	crafted();
	live();
	return check_done();
}
