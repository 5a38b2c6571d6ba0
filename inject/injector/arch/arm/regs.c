/*
 * 32-bit ARM facts for remote calls: struct pt_regs as NT_PRSTATUS shows it
 * (uregs[18]: r0-r15, cpsr, ORIG_r0), AAPCS (r0-r3, return address in lr,
 * no red zone), Thumb selected by bit 0 of a function address, and the VFP
 * regset (NT_ARM_VFP: d0-d31 and fpscr; NT_PRFPREG is the old FPA state).
 */
#include <elf.h>
#include <errno.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <sys/ptrace.h>
#include <sys/uio.h>


#ifndef NT_ARM_VFP
#define NT_ARM_VFP 0x400
#endif

enum { ARM_R0 = 0, ARM_SP = 13, ARM_LR = 14, ARM_PC = 15, ARM_CPSR = 16, ARM_ORIG_R0 = 17 };

#define CPSR_T 0x20u
/* svc #0 in ARM and in Thumb state; EABI passes the number in r7. */
#define SVC0_ARM 0xef000000u
#define SVC0_THUMB 0xdf00u
#define ARM_R7 7
#ifndef PTRACE_SET_SYSCALL
#define PTRACE_SET_SYSCALL 23
#endif
/* If-Then state bits: IT[1:0] at 25-26, IT[7:2] at 10-15. */
#define CPSR_IT 0x0600fc00u

/* struct pt_regs; the accessors they share with the other architectures: regs_access.h. */
typedef struct {
	uint32_t uregs[18];
} arch_regs_t;
typedef uint32_t arch_word_t;
#define ARCH_PC(u) ((u).uregs[ARM_PC])
#define ARCH_SP(u) ((u).uregs[ARM_SP])
#define ARCH_RETVAL(u) ((u).uregs[ARM_R0])
#define ARCH_RED_ZONE 0
#define ARCH_MAX_ARGS 4
/* The kernel rewinds the PC of an interrupted system call before the stop. */
#define ARCH_NO_RESTART_BLOCK 1
#define ARCH_PC_SP_ONLY(u) ((u).uregs[ARM_CPSR] = 0x10) /* user mode, ARM state */

#include "injector/arch/regs_access.h"

unsigned inj_arch_fp_regset(size_t *size_hint)
{
	/* 32 x 64-bit registers and fpscr: 260 bytes. */
	*size_hint = 512;
	return NT_ARM_VFP;
}

long inj_arch_syscall_nr(const struct inj_regs *r)
{
	return (long)(int32_t)get(r).uregs[ARM_R7];
}

int inj_arch_syscall_cancel(int tid, struct inj_regs *r)
{
	arch_regs_t u = get(r);

	/* The number the kernel will run is its own copy; r0 still holds the
	 * first argument before the call. */
	if (ptrace((enum __ptrace_request)PTRACE_SET_SYSCALL, tid, NULL, (void *)-1L) < 0)
		return -1;
	u.uregs[ARM_PC] -= u.uregs[ARM_CPSR] & CPSR_T ? 2 : 4;
	put(r, &u);
	return 0;
}

int inj_arch_syscall_eintr(int tid, const struct inj_regs *r, long *nr)
{
	arch_regs_t u = get(r);
	int thumb = !!(u.uregs[ARM_CPSR] & CPSR_T);
	uint32_t insn = 0;
	size_t len = thumb ? 2 : 4;
	struct iovec l = { &insn, len }, rem = { (void *)(uintptr_t)(u.uregs[ARM_PC] - len), len };

	if ((int32_t)u.uregs[ARM_R0] != -EINTR ||
	    process_vm_readv(tid, &l, 1, &rem, 1, 0) != (ssize_t)len ||
	    insn != (thumb ? SVC0_THUMB : SVC0_ARM))
		return 0;
	*nr = (long)(int32_t)u.uregs[ARM_R7];
	return 1;
}

int inj_arch_syscall_redo(struct inj_regs *r, const uint64_t *arg0)
{
	arch_regs_t u = get(r);

	/* r0 took the result; the kernel keeps the argument in ORIG_r0. */
	(void)arg0;
	u.uregs[ARM_R0] = u.uregs[ARM_ORIG_R0];
	u.uregs[ARM_PC] -= u.uregs[ARM_CPSR] & CPSR_T ? 2 : 4;
	put(r, &u);
	return 0;
}

/* The I-th argument register (I < ARCH_MAX_ARGS) of U: r0-r3. */
static arch_word_t *arch_arg(arch_regs_t *u, unsigned i)
{
	return &u->uregs[ARM_R0 + i];
}

/* The rest of a call of FN on stack SP: the return address in lr, Thumb by bit 0 of FN. */
static void arch_call_frame(arch_regs_t *u, uint64_t fn, uint64_t sp)
{
	u->uregs[ARM_LR] = 0; /* return to 0, in ARM state */
	u->uregs[ARM_SP] = (uint32_t)sp;
	u->uregs[ARM_PC] = (uint32_t)fn & ~1u;
	u->uregs[ARM_CPSR] &= ~CPSR_IT;
	if (fn & 1)
		u->uregs[ARM_CPSR] |= CPSR_T;
	else
		u->uregs[ARM_CPSR] &= ~CPSR_T;
	/* Not in a system call: no restart applied to the call's frame. */
	u->uregs[ARM_ORIG_R0] = 0xffffffffu;
}

int inj_arch_after_call(int tid, uint64_t addr)
{
	uint32_t a = (uint32_t)addr;
	unsigned char b[4];
	struct iovec l = { b, sizeof(b) }, r;

	if (a & 1) {
		uint16_t h1, h2;

		/* Thumb: bl or blx imm (32 bits), or blx Rm (16 bits), before the return. */
		a &= ~1u;
		r.iov_base = (void *)(uintptr_t)(a - 4);
		r.iov_len = sizeof(b);
		if (a < 4 || process_vm_readv(tid, &l, 1, &r, 1, 0) != (ssize_t)sizeof(b))
			return 0;
		h1 = (uint16_t)(b[0] | b[1] << 8);
		h2 = (uint16_t)(b[2] | b[3] << 8);
		if ((h1 & 0xf800u) == 0xf000u &&
		    ((h2 & 0xd000u) == 0xd000u || (h2 & 0xd001u) == 0xc000u))
			return 1;
		return (h2 & 0xff87u) == 0x4780u;
	} else {
		uint32_t insn;

		r.iov_base = (void *)(uintptr_t)(a - 4);
		r.iov_len = sizeof(b);
		if ((a & 3) || a < 4 || process_vm_readv(tid, &l, 1, &r, 1, 0) != (ssize_t)sizeof(b))
			return 0;
		insn = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
		/* ARM: bl (any condition), blx imm, blx Rm. */
		return ((insn & 0x0f000000u) == 0x0b000000u && (insn >> 28) != 0xfu) ||
		       (insn & 0xfe000000u) == 0xfa000000u || (insn & 0x0ffffff0u) == 0x012fff30u;
	}
}

/* <asm/ptrace.h>: the TLS register (TPIDRURO) of the thread. */
#define ARM_PTRACE_GET_THREAD_AREA 22

/* The thread pointer: the TCB, just above glibc's struct pthread. */
int inj_arch_thread_block(int tid, uint64_t *addr)
{
	unsigned long tp = 0;

	if (ptrace((enum __ptrace_request)ARM_PTRACE_GET_THREAD_AREA, tid, NULL, &tp) < 0)
		return -1;
	*addr = tp;
	return 0;
}

uint32_t inj_arch_audit(void)
{
	return AUDIT_ARCH_ARM;
}

size_t inj_arch_walk_syscalls(const int **nrs, const char *const **names)
{
	/* libgcc's EHABI walk reads memory and makes no system call */
	*nrs = NULL;
	*names = NULL;
	return 0;
}
