/*
 * aarch64 facts for remote calls: the kernel's struct user_pt_regs
 * (NT_PRSTATUS: x0-x30, sp, pc, pstate), AAPCS64 (x0-x7, return address in
 * x30, sp 16-byte aligned, no red zone) and the FP/SIMD regset.
 *
 * The kernel rewinds the PC of an interrupted system call before the
 * ptrace-stop, so the saved registers restart it as they are; no orig_x0 is
 * part of this regset.
 */
#include <elf.h>
#include <errno.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

/* struct user_pt_regs; the accessors they share with the other architectures: regs_access.h. */
typedef struct {
	uint64_t regs[31];
	uint64_t sp;
	uint64_t pc;
	uint64_t pstate;
} arch_regs_t;
typedef uint64_t arch_word_t;
#define ARCH_PC(u) ((u).pc)
#define ARCH_SP(u) ((u).sp)
#define ARCH_RETVAL(u) ((u).regs[0])
#define ARCH_RED_ZONE 0
#define ARCH_MAX_ARGS 8
/* The kernel rewinds the PC of an interrupted system call before the stop. */
#define ARCH_NO_RESTART_BLOCK 1
#define ARCH_PC_SP_ONLY(u) ((void)0) /* nothing else */

#include "injector/arch/regs_access.h"

/* PSTATE.BTYPE: a branch type left over from the interrupted code. */
#define PSTATE_BTYPE 0xc00ull
/* svc #0, the system call instruction. */
#define SVC0 0xd4000001u
#ifndef NT_ARM_SYSTEM_CALL
#define NT_ARM_SYSTEM_CALL 0x404
#endif

unsigned inj_arch_fp_regset(size_t *size_hint)
{
	/* struct user_fpsimd_state: 32 x 128-bit, fpsr, fpcr, padding (528 bytes). */
	*size_hint = 1024;
	return NT_PRFPREG;
}

long inj_arch_syscall_nr(const struct inj_regs *r)
{
	return (long)get(r).regs[8];
}

int inj_arch_syscall_cancel(int tid, struct inj_regs *r)
{
	arch_regs_t u = get(r);
	int32_t nr = -1;
	struct iovec iov = { &nr, sizeof(nr) };

	/* The number the kernel will run is its own copy, set through this regset;
	 * x0 still holds the first argument before the call. */
	if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_ARM_SYSTEM_CALL, &iov) < 0)
		return -1;
	u.pc -= 4;
	put(r, &u);
	return 0;
}

int inj_arch_syscall_eintr(int tid, const struct inj_regs *r, long *nr)
{
	arch_regs_t u = get(r);
	uint32_t insn = 0;
	struct iovec l = { &insn, sizeof(insn) }, rem = { (void *)(uintptr_t)(u.pc - 4), sizeof(insn) };

	/* The kernel forgets the system call before the stop: the instruction
	 * just before the PC tells that one returned here. */
	if ((int64_t)u.regs[0] != -EINTR ||
	    process_vm_readv(tid, &l, 1, &rem, 1, 0) != (ssize_t)sizeof(insn) || insn != SVC0)
		return 0;
	*nr = (long)u.regs[8];
	return 1;
}

int inj_arch_syscall_redo(struct inj_regs *r, const uint64_t *arg0)
{
	arch_regs_t u = get(r);

	/* x0 took the result and the kernel's orig_x0 is not in this regset. */
	if (!arg0)
		return -1;
	u.regs[0] = *arg0;
	u.pc -= 4;
	put(r, &u);
	return 0;
}

/* The I-th argument register (I < ARCH_MAX_ARGS) of U: x0-x7. */
static arch_word_t *arch_arg(arch_regs_t *u, unsigned i)
{
	return &u->regs[i];
}

/* The rest of a call of FN on stack SP: AAPCS64 takes the return address in lr. */
static void arch_call_frame(arch_regs_t *u, uint64_t fn, uint64_t sp)
{
	u->regs[30] = 0; /* lr: return to 0 */
	u->sp = sp;
	u->pc = fn;
	u->pstate &= ~PSTATE_BTYPE;
}

int inj_arch_after_call(int tid, uint64_t addr)
{
	uint32_t insn = 0;
	struct iovec l = { &insn, sizeof(insn) }, r = { (void *)(uintptr_t)(addr - 4), sizeof(insn) };

	if (addr < 4 || (addr & 3) || process_vm_readv(tid, &l, 1, &r, 1, 0) != (ssize_t)sizeof(insn))
		return 0;
	/* bl imm26; blr Xn; blraa, blrab, blraaz, blrabz (pointer authentication). */
	return (insn & 0xfc000000u) == 0x94000000u || (insn & 0xfffffc1fu) == 0xd63f0000u ||
	       (insn & 0xfefff800u) == 0xd63f0800u;
}

#ifndef NT_ARM_TLS
#define NT_ARM_TLS 0x401
#endif

/* tpidr_el0 (NT_ARM_TLS): the TCB, just above glibc's struct pthread. */
int inj_arch_thread_block(int tid, uint64_t *addr)
{
	uint64_t tp = 0;
	struct iovec iov = { &tp, sizeof(tp) };

	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_ARM_TLS, &iov) < 0)
		return -1;
	*addr = tp;
	return 0;
}

uint32_t inj_arch_audit(void)
{
	return AUDIT_ARCH_AARCH64;
}

#include "../walk_libunwind.h"
