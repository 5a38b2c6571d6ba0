/*
 * Remote function calls in one stopped thread of a seized process: the
 * thread's registers, FP/vector state and signal mask are saved, the call
 * runs on the thread's own stack below the red zone and returns to address
 * 0, whose SIGSEGV tells the tracer it is done; nothing is written into the
 * target's code. Afterwards everything is put back exactly, so a system call
 * the thread was in restarts as if nothing had happened.
 *
 * The second half of this header is the per-architecture part, implemented
 * by inject/arch/<arch>/regs.c (one of them is built, chosen by the
 * Makefile's ARCH); generic code uses only these hooks.
 */
#ifndef INJ_REMOTE_H
#define INJ_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "ptrace.h"

/* ---------------------------------------------------------------- calls */

struct inj_call;

/* One argument: a number, or (STR non-NULL) a string copied onto the stack. */
struct inj_arg {
	uint64_t value;
	const char *str;
};

enum inj_call_status {
	INJ_CALL_OK,      /* returned normally: *RET holds the return register */
	INJ_CALL_FAULT,   /* a fault (SIGSEGV elsewhere than 0, SIGBUS, SIGILL...) */
	INJ_CALL_SECCOMP, /* a system call was refused by seccomp (SIGSYS) */
	INJ_CALL_TIMEOUT, /* did not return in time; the call was abandoned */
	INJ_CALL_GONE,    /* the thread or process ended */
	INJ_CALL_ERROR,   /* ptrace or memory access failed; errno is set */
};

/* What stopped a call that did not return. */
struct inj_call_fault {
	int sig;       /* signal (or the deadly one for INJ_CALL_GONE), 0 if none */
	int code;      /* its si_code */
	int syscall;   /* INJ_CALL_SECCOMP: the refused system call number; also set, with
	                * sig SIGSYS, when a call finished after a refused system call
	                * was made to fail with EPERM */
	uint64_t pc;   /* where the thread was */
	uint64_t addr; /* si_addr */
};

/*
 * Save the state of TID (a stopped thread of T) and block every signal in it,
 * so no handler can run on a call's frame; signals arriving meanwhile stay
 * pending and are delivered after inj_call_end(). Returns the saved state, or
 * NULL with errno (and the thread unchanged). Owned by the caller until
 * inj_call_end().
 */
struct inj_call *inj_call_begin(struct inj_task *t, int tid);

/*
 * Call FN(ARGS...) in the thread and wait at most TIMEOUT_MS. Strings are
 * written to the target's stack, below the red zone and above the call's
 * stack pointer. If the call has not returned after 20 ms, the other
 * threads are let run (a lock one of them holds may be what the call waits
 * for) until inj_release() stops them again; threads the call creates run
 * from the start. Returns the status; *RET is set for INJ_CALL_OK, *F (may
 * be NULL) for the others.
 * After anything but INJ_CALL_OK the thread must not be used for more calls:
 * finish with inj_call_end().
 */
enum inj_call_status inj_call(struct inj_call *c, uint64_t fn, const struct inj_arg *args,
			      unsigned nargs, int timeout_ms, uint64_t *ret,
			      struct inj_call_fault *f);

/*
 * Put back the registers, FP state and signal mask saved by inj_call_begin()
 * and free C. The thread stays stopped (inj_release() lets it go). Returns 0,
 * or -1 if the thread could not be restored (it is gone, or it did not stop).
 * NULL is a no-op.
 */
int inj_call_end(struct inj_call *c);

/* The thread the calls run in. */
int inj_call_tid(const struct inj_call *c);

/*
 * Read a NUL-terminated string at ADDR of the process TID belongs to (TID
 * stopped) into BUF, cut to SIZE - 1 bytes. process_vm_readv, falling back to
 * PTRACE_PEEKDATA. Returns the length, or -1 with errno.
 */
long inj_peek_string(int tid, uint64_t addr, char *buf, size_t size);

/* Write LEN bytes at ADDR (process_vm_writev, else PTRACE_POKEDATA). 0 or -1. */
int inj_poke(int tid, uint64_t addr, const void *buf, size_t len);

/* ---------------------------------------------------------------- registers */

/* A thread's general registers in the kernel's NT_PRSTATUS layout. */
struct inj_regs {
	size_t len;      /* bytes the kernel filled in */
	uint64_t w[64];  /* 512 bytes: more than any supported architecture's */
};

/* PTRACE_GETREGSET / PTRACE_SETREGSET NT_PRSTATUS of a stopped TID. 0 or -1. */
int inj_regs_get(int tid, struct inj_regs *r);
int inj_regs_set(int tid, const struct inj_regs *r);

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
