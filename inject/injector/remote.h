/*
 * Remote function calls in one stopped thread of a seized process: the
 * thread's registers, FP/vector state and signal mask are saved, the call
 * runs on the thread's own stack below the red zone and returns to address
 * 0, whose SIGSEGV tells the tracer it is done; nothing is written into the
 * target's code. Afterwards everything is put back exactly, so a system call
 * the thread was in restarts as if nothing had happened.
 *
 * The registers and the architecture's hooks these calls are built from are
 * regs.h's, shared with the tasks' code (ptrace.c), which needs them at its
 * stops but has nothing to do with calls.
 */
#ifndef INJ_REMOTE_H
#define INJ_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "injector/ptrace.h"

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

/*
 * Keep every other thread stopped during C's calls however long they take
 * (no grace of 20 ms): for a call that must see the process as it was
 * stopped, e.g. one that forks a copy of it. A call that waits for a lock
 * another thread holds then times out.
 */
void inj_call_hold_others(struct inj_call *c);

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

#endif
