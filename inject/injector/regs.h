/*
 * A stopped thread's registers: reading and writing them (regs.c, through
 * PTRACE_GETREGSET / PTRACE_SETREGSET) and what they mean on this
 * architecture (inject/injector/arch/<arch>/regs.c, one of them built,
 * chosen by the Makefile's ARCH; what they do alike is in
 * arch/regs_access.h). Generic code uses only these hooks. Both the tasks'
 * code (ptrace.c: system calls cut at a stop) and the remote calls
 * (remote.c) are built on them; this file needs neither.
 */
#ifndef INJ_REGS_H
#define INJ_REGS_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- registers */

/* A thread's general registers in the kernel's NT_PRSTATUS layout. */
struct inj_regs {
	size_t len;      /* bytes the kernel filled in */
	uint64_t w[64];  /* 512 bytes: more than any supported architecture's */
};

/*
 * PTRACE_GETREGSET / PTRACE_SETREGSET NT_PRSTATUS of a stopped TID. 0 or -1.
 * On MIPS the regset hides what the kernel needs to restart an interrupted
 * system call: there they are inj_arch_regs_get/set (arch/mips/regs.c),
 * which keep the same layout with those registers filled in.
 */
int inj_regs_get(int tid, struct inj_regs *r);
int inj_regs_set(int tid, const struct inj_regs *r);
#ifdef __mips__
#define INJ_ARCH_OWN_REGS 1
int inj_arch_regs_get(int tid, struct inj_regs *r);
int inj_arch_regs_set(int tid, const struct inj_regs *r);
/* General register N (0-31) of R into *V; -1 if there is none. */
int inj_arch_gpr(const struct inj_regs *r, unsigned n, uint64_t *v);
/*
 * The caller of a frame in code without unwind tables, from its function's
 * prologue (Debian's MIPS glibc has tables for a quarter of its code, not
 * for its system call wrappers): the function starting at START (0: not
 * known, found from the code before PC) is at PC with stack pointer SP
 * and $fp FP; RA is the return-address register when
 * this is the innermost frame, else 0 (then only a saved one counts). Read
 * in TID's code and stack. 1 with the caller's *CPC, *CSP and *CFP (FP, or
 * the value the prologue saved before using $fp itself) when the prologue
 * says where the return address is and it follows a call
 * (inj_arch_after_call), else 0.
 */
int inj_arch_prologue_caller(int tid, uint64_t start, uint64_t pc, uint64_t sp, uint64_t ra,
			     uint64_t fp, uint64_t *cpc, uint64_t *csp, uint64_t *cfp);
#endif

/* ---------------------------------------------------------------- arch hooks */

/* Size of the NT_PRSTATUS regset. */
size_t inj_arch_regs_size(void);

/*
 * The regset holding the FP/vector state (NT_X86_XSTATE, NT_PRFPREG,
 * NT_ARM_VFP) and a buffer size that should hold it (the caller grows the
 * buffer if the kernel fills it completely).
 */
unsigned inj_arch_fp_regset(size_t *size_hint);

/* Bytes below the stack pointer that the ABI lets a function use (x86_64: 128). */
unsigned inj_arch_red_zone(void);
/*
 * Bytes just above a callee's stack pointer that it may write: MIPS o32's
 * argument save area (16), else 0. A multiple of 16.
 */
unsigned inj_arch_arg_area(void);
/* The architecture as a seccomp filter compares it (AUDIT_ARCH_*). */
uint32_t inj_arch_audit(void);
/*
 * The system calls the agent's table walk (its default unwinder) may make
 * in the process on this architecture, their numbers into *NRS and names
 * into *NAMES: libunwind checks addresses with mincore, the first, which it
 * tries once when it starts, or with msync, the second, when mincore
 * failed then; libgcc's EHABI walk (32-bit ARM) makes none. Their count
 * (0 or 2).
 */
size_t inj_arch_walk_syscalls(const int **nrs, const char *const **names);

/* Most integer arguments passed in registers (the only ones supported). */
unsigned inj_arch_max_args(void);

uint64_t inj_arch_pc(const struct inj_regs *r);
uint64_t inj_arch_sp(const struct inj_regs *r);
/* The integer/pointer return register, zero-extended. */
uint64_t inj_arch_retval(const struct inj_regs *r);
/* Set the return-value register (a system call's result after a stop). */
void inj_arch_set_retval(struct inj_regs *r, uint64_t value);
/*
 * Fill R (zeroed by the caller) with only a PC and a stack pointer, all
 * that /proc/PID/task/TID/syscall tells of a thread left running (a core's
 * thread that could not be stopped without harm). R->len is set.
 */
void inj_arch_set_pc_sp(struct inj_regs *r, uint64_t pc, uint64_t sp);

/*
 * R is a thread stopped in an interrupted system call that the kernel will
 * continue through restart_syscall(), which reads the thread's restart block:
 * a remote call that was itself interrupted in a system call (abandoned
 * after a timeout, or stopped by a signal) may have overwritten that block.
 * Make R execute the original system call again instead. Returns 1 if R was
 * changed. (aarch64 and arm re-execute it anyway in this case.)
 */
int inj_arch_restart_plain(struct inj_regs *r);

/*
 * System calls seen at a stop. inj_arch_syscall_nr: the number of the
 * system call R is stopped at the entry of (a syscall-enter-stop).
 * inj_arch_syscall_eintr: 1 when R is stopped just after a system call
 * returned -EINTR, with its number in *NR (TID: the stopped thread, whose
 * code may be read to find the system call instruction), else 0.
 * inj_arch_syscall_redo: make R execute that system call again: the PC
 * back on its instruction and its arguments as they were. The first
 * argument is back from where the kernel keeps it (x86_64's orig_rax
 * scheme keeps the number, arm's ORIG_r0 the argument); where the regset
 * has no copy (aarch64), ARG0 gives it, and NULL means it is unknown:
 * returns -1 then, else 0.
 */
long inj_arch_syscall_nr(const struct inj_regs *r);
/*
 * TID is at a syscall-enter-stop with registers R: cancel the system call
 * (the kernel skips it when the thread goes on) and set R back on its
 * instruction with its arguments, as just before it, so the thread makes
 * the call afresh when it runs on. R must then be written back. 0, or -1
 * with errno.
 */
int inj_arch_syscall_cancel(int tid, struct inj_regs *r);
int inj_arch_syscall_eintr(int tid, const struct inj_regs *r, long *nr);
int inj_arch_syscall_redo(struct inj_regs *r, const uint64_t *arg0);

/*
 * ADDR, a word read from a stack, is a return address: the instruction
 * just before it in the code of TID's process is a call (x86_64: call
 * rel32 or call r/m; aarch64: bl, blr and its authenticated forms; arm: bl,
 * blx in ARM state, and in Thumb state, where ADDR has bit 0 set). A
 * function pointer or another value that merely points into code is not.
 * 1 or 0 (also when the code cannot be read).
 */
int inj_arch_after_call(int tid, uint64_t addr);

/*
 * Where the C library keeps stopped thread TID's control block, from its
 * thread pointer less the ABI's bias (MIPS: 0x7000): glibc and musl place
 * it at the top of a thread's stack, also of a stack the program gave
 * (pthread_attr_setstack), so a word of the stack above a thread's frames
 * and below this address is its own. The main thread's is elsewhere (a
 * block of the loader's). 0, or -1 when it cannot be read.
 */
int inj_arch_thread_block(int tid, uint64_t *addr);

/*
 * Turn R into a call of FN with the NARGS integer ARGS: PC, argument
 * registers, a return address of 0, and the "not in a system call" marker
 * (orig_rax / ARM_ORIG_r0 = -1) so the kernel does not restart a system call
 * on the call's frame. SP is 16-byte aligned and the 16 bytes just below it
 * are zero and belong to the call (x86_64 takes its return address from
 * there); after the return the stack pointer is SP again. ARM: bit 0 of FN
 * selects Thumb. Returns 0, or -1 if NARGS is too many.
 */
int inj_arch_set_call(struct inj_regs *r, uint64_t fn, const uint64_t *args, unsigned nargs,
		      uint64_t sp);

#endif
