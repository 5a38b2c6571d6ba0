/*
 * Seccomp filters read from the outside and run on a system call number
 * (seccomp.h). A filter is a classic BPF program over struct seccomp_data
 * (nr, arch, instruction_pointer, args[6]); the kernel checks at load time
 * that every jump goes forward and every path ends in a return, so
 * following both ways of every jump whose condition is not fixed by the
 * call's number and architecture ends, and each path's return is one
 * action. A budget of paths bounds a filter that branches on the arguments
 * over and over: past it the verdict is unknown.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

#include "injector/regs.h"
#include "injector/seccomp.h"
#include "util.h"

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000U
#endif
#ifndef SECCOMP_RET_ACTION_FULL
#define SECCOMP_RET_ACTION_FULL 0xffff0000U
#endif

#define MAX_INSNS 4096		/* BPF_MAXINSNS: the kernel loads no longer program */
#define MAX_PATHS 100000	/* returns reached before the verdict is unknown */
#define DATA_LEN 64		/* sizeof(struct seccomp_data) */

/* A register or scratch word: a number, or unknown (depends on the arguments or the pc). */
struct val {
	int known;
	uint32_t v;
};

struct state {
	struct val a, x, m[BPF_MEMWORDS];
};

struct run {
	const struct sock_filter *f;
	size_t n;
	uint32_t arch;
	int nr;
	unsigned paths;
	enum inj_seccomp_verdict worst;
};

static const struct val unknown = { 0, 0 };

static struct val num(uint32_t v)
{
	return (struct val){ 1, v };
}

static enum inj_seccomp_verdict action(uint32_t ret)
{
	switch (ret & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_ALLOW:
	case SECCOMP_RET_LOG:
	case SECCOMP_RET_ERRNO:
	case SECCOMP_RET_TRACE:	/* no tracer that asked for it: the call fails with ENOSYS */
		return INJ_SECCOMP_ALLOWS;
	default:		/* KILL_*, TRAP (SIGSYS), USER_NOTIF (a wait on a supervisor), unknown ones */
		return INJ_SECCOMP_MAY_KILL;
	}
}

static void worse(struct run *r, enum inj_seccomp_verdict v)
{
	if (v > r->worst)
		r->worst = v;
}

/* A = data[K], 32 bits: the number and the architecture are known, the rest is not. */
static struct val load(const struct run *r, uint32_t k)
{
	if (k == 0)
		return num((uint32_t)r->nr);
	if (k == 4)
		return num(r->arch);
	return unknown;
}

static struct val alu(uint16_t op, struct val a, struct val b)
{
	if (op == BPF_NEG)
		return a.known ? num(-a.v) : unknown;
	if (!a.known || !b.known)
		return unknown;
	switch (op) {
	case BPF_ADD: return num(a.v + b.v);
	case BPF_SUB: return num(a.v - b.v);
	case BPF_MUL: return num(a.v * b.v);
	case BPF_DIV: return b.v ? num(a.v / b.v) : num(0);
	case BPF_MOD: return b.v ? num(a.v % b.v) : num(0);
	case BPF_OR: return num(a.v | b.v);
	case BPF_AND: return num(a.v & b.v);
	case BPF_XOR: return num(a.v ^ b.v);
	case BPF_LSH: return num(b.v < 32 ? a.v << b.v : 0);
	case BPF_RSH: return num(b.v < 32 ? a.v >> b.v : 0);
	default: return unknown;
	}
}

/* 1 taken, 0 not, -1 either (unknown). */
static int cond(uint16_t op, struct val a, struct val b)
{
	if (!a.known || !b.known)
		return -1;
	switch (op) {
	case BPF_JEQ: return a.v == b.v;
	case BPF_JGT: return a.v > b.v;
	case BPF_JGE: return a.v >= b.v;
	case BPF_JSET: return (a.v & b.v) != 0;
	default: return -1;
	}
}

/* Follow the program from PC with state S (a copy: each path has its own). 0, or -1: not a valid filter. */
static int follow(struct run *r, size_t pc, struct state s)
{
	while (pc < r->n) {
		const struct sock_filter *i = &r->f[pc++];
		uint16_t cls = BPF_CLASS(i->code);
		struct val k = num(i->k);

		switch (cls) {
		case BPF_LD:
		case BPF_LDX: {
			struct val v;

			if (BPF_MODE(i->code) == BPF_IMM)
				v = k;
			else if (BPF_MODE(i->code) == BPF_LEN)
				v = num(DATA_LEN);
			else if (BPF_MODE(i->code) == BPF_MEM && i->k < BPF_MEMWORDS)
				v = s.m[i->k];
			else if (cls == BPF_LD && BPF_MODE(i->code) == BPF_ABS && BPF_SIZE(i->code) == BPF_W &&
				 i->k % 4 == 0 && i->k < DATA_LEN)
				v = load(r, i->k);
			else
				return -1;
			if (cls == BPF_LD)
				s.a = v;
			else
				s.x = v;
			break;
		}
		case BPF_ST:
		case BPF_STX:
			if (i->k >= BPF_MEMWORDS)
				return -1;
			s.m[i->k] = cls == BPF_ST ? s.a : s.x;
			break;
		case BPF_ALU:
			s.a = alu(BPF_OP(i->code), s.a, BPF_SRC(i->code) == BPF_X ? s.x : k);
			break;
		case BPF_JMP: {
			int c;

			if (BPF_OP(i->code) == BPF_JA) {
				if (i->k >= r->n - pc)
					return -1;
				pc += i->k;
				break;
			}
			if (i->jt >= r->n - pc || i->jf >= r->n - pc)
				return -1;
			c = cond(BPF_OP(i->code), s.a, BPF_SRC(i->code) == BPF_X ? s.x : k);
			if (c < 0) {
				/* Both ways: the true one here, the false one below. */
				if (follow(r, pc + i->jt, s) < 0)
					return -1;
				if (r->worst == INJ_SECCOMP_UNKNOWN)
					return 0;
				pc += i->jf;
			} else {
				pc += c ? i->jt : i->jf;
			}
			break;
		}
		case BPF_RET: {
			struct val v = BPF_RVAL(i->code) == BPF_A ? s.a : k;

			if (++r->paths > MAX_PATHS) {
				r->worst = INJ_SECCOMP_UNKNOWN;
				return 0;
			}
			worse(r, v.known ? action(v.v) : INJ_SECCOMP_MAY_KILL);
			return 0;
		}
		case BPF_MISC:
			if (BPF_MISCOP(i->code) == BPF_TAX)
				s.x = s.a;
			else
				s.a = s.x;
			break;
		default:
			return -1;
		}
	}
	return -1;	/* ran off the end: the kernel would not have loaded it */
}

enum inj_seccomp_verdict inj_seccomp_run(const void *prog, size_t n, uint32_t arch, int nr)
{
	struct run r = { .f = prog, .n = n, .arch = arch, .nr = nr, .worst = INJ_SECCOMP_ALLOWS };
	struct state s;

	if (!n || n > MAX_INSNS)
		return INJ_SECCOMP_UNKNOWN;
	memset(&s, 0, sizeof(s));	/* the kernel starts with A, X and M[] zero */
	s.a = s.x = num(0);
	for (int i = 0; i < BPF_MEMWORDS; i++)
		s.m[i] = num(0);
	return follow(&r, 0, s) < 0 ? INJ_SECCOMP_UNKNOWN : r.worst;
}

/* ---------------------------------------------------------------- a process's filters */

/* Whether thread TID of PID is under a filter: /proc's "Seccomp: 2". */
static int filtered(int pid, int tid)
{
	char path[64], mode[16];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	return proc_status_value(path, "Seccomp:", mode, sizeof(mode)) == 0 && atoi(mode) == SECCOMP_MODE_FILTER;
}

int inj_seccomp_any(int pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int any = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while (!any && (de = readdir(d)))
		any = atoi(de->d_name) > 0 && filtered(pid, atoi(de->d_name));
	closedir(d);
	return any;
}

/* Thread TID's filters (stopped by us) on the N_NR calls, into V. 0, or -1 with errno. */
static int judge_thread(int tid, const int *nrs, size_t n_nr, enum inj_seccomp_verdict *v)
{
	static struct sock_filter prog[MAX_INSNS];

	for (long index = 0;; index++) {
		long n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)index, NULL);

		if (n < 0)
			return errno == ENOENT && index > 0 ? 0 : -1;
		if (n == 0 || n > MAX_INSNS) {
			errno = EINVAL;
			return -1;
		}
		if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)index, prog) != n) {
			errno = errno ? errno : EIO;
			return -1;
		}
		for (size_t i = 0; i < n_nr; i++) {
			enum inj_seccomp_verdict r = inj_seccomp_run(prog, (size_t)n, inj_arch_audit(), nrs[i]);

			if (r > v[i])
				v[i] = r;
		}
	}
}

enum inj_seccomp_verdict inj_seccomp_judge(int pid, const int *tids, size_t n, const int *nrs, size_t n_nr,
					   enum inj_seccomp_verdict *verdicts, char *why, size_t len)
{
	enum inj_seccomp_verdict all = INJ_SECCOMP_NO_FILTER;

	for (size_t i = 0; i < n_nr; i++)
		verdicts[i] = INJ_SECCOMP_NO_FILTER;
	why[0] = '\0';
	for (size_t t = 0; t < n; t++) {
		enum inj_seccomp_verdict v[16];

		if (!filtered(pid, tids[t]))
			continue;
		for (size_t i = 0; i < n_nr && i < 16; i++)
			v[i] = INJ_SECCOMP_ALLOWS;
		if (judge_thread(tids[t], nrs, n_nr < 16 ? n_nr : 16, v) < 0) {
			int e = errno;

			for (size_t i = 0; i < n_nr && i < 16; i++)
				v[i] = INJ_SECCOMP_UNKNOWN;
			snprintf(why, len, "thread %d's seccomp filter cannot be read: %s%s", tids[t], strerror(e),
				 e == EACCES || e == EPERM ? " (it takes CAP_SYS_ADMIN: run memtrace as root)" :
				 e == EINVAL || e == EIO ? " (a kernel without CONFIG_CHECKPOINT_RESTORE?)" : "");
		}
		for (size_t i = 0; i < n_nr && i < 16; i++) {
			if (v[i] == INJ_SECCOMP_MAY_KILL && !why[0])
				snprintf(why, len, "thread %d's seccomp filter may kill the process for system call %d",
					 tids[t], nrs[i]);
			if (v[i] > verdicts[i])
				verdicts[i] = v[i];
			if (v[i] > all)
				all = v[i];
		}
	}
	return all;
}
