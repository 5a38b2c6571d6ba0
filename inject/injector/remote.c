/*
 * Remote calls in a stopped thread.
 *
 * The call returns to address 0: the SIGSEGV with PC 0 and the stack pointer
 * back where the call left it is the sign of a normal return, so no trap
 * instruction has to be written into the target's code. A PC of 0 with any
 * other stack pointer is a call through a NULL pointer inside the callee, a
 * crash like any other fault.
 *
 * While the call runs every signal is blocked in the thread (so no handler
 * runs on its frame and nothing is lost: blocked signals stay pending). Only
 * faults and unblockable signals can stop it; SIGSTOP is held back and given
 * again at detach.
 *
 * Everything is restored through the regsets that were read, byte for byte:
 * on x86_64 the saved orig_rax and rax make the kernel restart an
 * interrupted system call (or call restart_syscall) once the thread goes on.
 */
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "log.h"
#include "injector/regs.h"
#include "injector/remote.h"

/*
 * How long a call runs with the other threads stopped before they are let
 * run: loading and starting the agent takes about a millisecond here, and a
 * thread stopped while holding a lock the call needs must not cost much more.
 */
#define GRACE_NS 20000000LL
/* How long a thread may take to stop after PTRACE_INTERRUPT. */
#define STOP_TIMEOUT_NS 1000000000LL
#define FP_MAX_SIZE (1u << 20)
/* Chunks never cross a page: pages are multiples of 4 KiB. */
#define CHUNK 4096u
/* si_code of a SIGSYS raised by seccomp (asm-generic/siginfo.h). */
#define SECCOMP_SI_CODE 1

/* The kernel's sigset, as PTRACE_GETSIGMASK wants its size: 64 signals, 128 on MIPS. */
struct ksigset {
#ifdef __mips__
	uint64_t w[2];
#else
	uint64_t w[1];
#endif
};

struct inj_call {
	struct inj_task *task;
	int tid;
	int stopped; /* in a ptrace-stop, so it can be restored */
	int gone;
	int broken;  /* a call failed: no more calls */
	int dirty;   /* a call was stopped midway: its system calls may have been cut */
	struct inj_regs saved;
	unsigned fp_type;
	void *fp;
	size_t fp_len;
	struct ksigset mask;
	int refused;   /* a seccomp filter refused a system call of the call: its number + 1 */
	int hold_others; /* no grace: the other threads stay stopped (inj_call_hold_others) */
};

void inj_call_hold_others(struct inj_call *c)
{
	c->hold_others = 1;
}

int inj_call_tid(const struct inj_call *c)
{
	return c->tid;
}

/*
 * The kernel says how much it filled but not whether it had more: a buffer
 * filled to the last byte is grown and the read done again.
 */
static int fp_save(struct inj_call *c)
{
	size_t size;
	unsigned type = inj_arch_fp_regset(&size);

	for (;;) {
		void *buf = calloc(1, size);
		struct iovec iov = { buf, size };

		if (!buf)
			return -1;
		if (ptrace(PTRACE_GETREGSET, c->tid, (void *)(unsigned long)type, &iov) == 0) {
			if (iov.iov_len < size || size >= FP_MAX_SIZE) {
				c->fp = buf;
				c->fp_len = iov.iov_len;
				c->fp_type = type;
				return 0;
			}
			free(buf);
			size *= 2;
			continue;
		}
		free(buf);
		/* No XSAVE (or VFP) support: the plain FP regset still exists. */
		if (type == NT_PRFPREG || (errno != EINVAL && errno != ENODEV && errno != EIO))
			return -1;
		type = NT_PRFPREG;
		size = 1024;
	}
}

static int fp_restore(const struct inj_call *c)
{
	struct iovec iov = { c->fp, c->fp_len };

	return ptrace(PTRACE_SETREGSET, c->tid, (void *)(unsigned long)c->fp_type, &iov) < 0 ? -1 : 0;
}

struct inj_call *inj_call_begin(struct inj_task *t, int tid)
{
	struct inj_call *c = calloc(1, sizeof(*c));
	struct ksigset all;
	int e;

	if (!c)
		return NULL;
	c->task = t;
	c->tid = tid;
	memset(&all, 0xff, sizeof(all));
	if (inj_regs_get(tid, &c->saved) < 0) {
		log_debug("thread %d: reading its registers: %s", tid, strerror(errno));
		goto fail;
	}
	if (fp_save(c) < 0) {
		log_debug("thread %d: reading its FP state: %s", tid, strerror(errno));
		goto fail;
	}
	if (ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof(c->mask), &c->mask) < 0 ||
	    ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof(all), &all) < 0) {
		log_debug("thread %d: signal mask: %s", tid, strerror(errno));
		goto fail;
	}
	c->stopped = 1;
	log_debug("thread %d saved: pc %#llx sp %#llx, %zu bytes of FP state", tid,
		  (unsigned long long)inj_arch_pc(&c->saved),
		  (unsigned long long)inj_arch_sp(&c->saved), c->fp_len);
	return c;
fail:
	e = errno;
	free(c->fp);
	free(c);
	errno = e;
	return NULL;
}

/*
 * What a stop of the calling thread means. Returns a status, or -1 when the
 * call goes on (the thread has been resumed).
 */
static int classify(struct inj_call *c, int st, uint64_t top, uint64_t *ret,
		    struct inj_call_fault *f)
{
	struct inj_regs now;
	siginfo_t si;

	if (WIFEXITED(st) || WIFSIGNALED(st)) {
		f->sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
		c->gone = 1;
		return INJ_CALL_GONE;
	}
	c->stopped = 1;
	if ((unsigned)st >> 16) {
		/* A group-stop or a late PTRACE_INTERRUPT: the call goes on. */
		c->dirty = 1;
		if (inj_task_cont(c->task, c->tid) < 0)
			return INJ_CALL_ERROR;
		c->stopped = 0;
		return -1;
	}
	if (ptrace(PTRACE_GETSIGINFO, c->tid, NULL, &si) < 0) {
		memset(&si, 0, sizeof(si));
		si.si_signo = WSTOPSIG(st);
	}
	if (inj_regs_get(c->tid, &now) < 0)
		return INJ_CALL_ERROR;
	f->sig = si.si_signo;
	f->code = si.si_code;
	f->pc = inj_arch_pc(&now);
	f->addr = (uint64_t)(uintptr_t)si.si_addr;
	switch (si.si_signo) {
	case SIGSEGV:
		if (f->pc == 0 && inj_arch_sp(&now) == top) {
			*ret = inj_arch_retval(&now);
			memset(f, 0, sizeof(*f));
			if (c->refused) {
				/* It finished, but a system call of it was refused. */
				f->sig = SIGSYS;
				f->code = SECCOMP_SI_CODE;
				f->syscall = c->refused - 1;
			}
			return INJ_CALL_OK;
		}
		return INJ_CALL_FAULT;
	case SIGSYS:
		if (si.si_code != SECCOMP_SI_CODE)
			return INJ_CALL_FAULT;
		/*
		 * The filter trapped a system call of ours (it was not run). Give it
		 * EPERM, as a filter returning an errno would, and let the call go on:
		 * dlopen then fails and unwinds, releasing the locks it took, where
		 * abandoning it here would leave them held.
		 */
		f->syscall = si.si_syscall;
		inj_arch_set_retval(&now, (uint64_t)(int64_t)-EPERM);
		if (inj_regs_set(c->tid, &now) < 0 || inj_task_cont(c->task, c->tid) < 0)
			return INJ_CALL_SECCOMP;
		log_debug("thread %d: seccomp refused system call %d: made it fail with EPERM",
			  c->tid, si.si_syscall);
		c->refused = si.si_syscall + 1;
		c->stopped = 0;
		return -1;
	case SIGBUS:
	case SIGILL:
	case SIGFPE:
	case SIGTRAP:
	case SIGABRT:
		return INJ_CALL_FAULT;
	default:
		/* Everything else is blocked: this is SIGSTOP (or a stray). */
		log_debug("thread %d: signal %d held back during the call", c->tid, si.si_signo);
		c->dirty = 1;
		inj_task_defer_signal(c->task, c->tid, &si);
		if (inj_task_cont(c->task, c->tid) < 0)
			return INJ_CALL_ERROR;
		c->stopped = 0;
		return -1;
	}
}

/* The call took too long: stop the thread where it is. */
static int abandon(struct inj_call *c, uint64_t top, uint64_t *ret, struct inj_call_fault *f)
{
	int64_t deadline = inj_now_ns() + STOP_TIMEOUT_NS;
	int st, s;

	c->dirty = 1;
	if (inj_task_interrupt(c->task, c->tid) < 0 && errno == ESRCH) {
		c->gone = 1;
		return INJ_CALL_GONE;
	}
	for (;;) {
		if (inj_task_wait(c->task, c->tid, deadline, &st) < 0) {
			if (errno == ECHILD) {
				c->gone = 1;
				return INJ_CALL_GONE;
			}
			log_debug("thread %d: no stop after PTRACE_INTERRUPT", c->tid);
			return INJ_CALL_TIMEOUT;
		}
		if (!WIFEXITED(st) && !WIFSIGNALED(st) && (unsigned)st >> 16) {
			struct inj_regs now;

			/* The stop asked for (or a group-stop): the call is abandoned
			 * here. classify() would let it go on, and it could then run
			 * to its end (it did in the arm64 VM) instead of timing out. */
			c->stopped = 1;
			if (inj_regs_get(c->tid, &now) == 0)
				f->pc = inj_arch_pc(&now);
			return INJ_CALL_TIMEOUT;
		}
		s = classify(c, st, top, ret, f);
		if (s == INJ_CALL_OK || s == INJ_CALL_GONE)
			return s; /* it finished just in time */
		if (c->stopped) {
			struct inj_regs now;

			if (inj_regs_get(c->tid, &now) == 0)
				f->pc = inj_arch_pc(&now);
			return INJ_CALL_TIMEOUT;
		}
		/* Resumed by classify() (a held signal): interrupt again. */
		inj_task_interrupt(c->task, c->tid);
	}
}

enum inj_call_status inj_call(struct inj_call *c, uint64_t fn, const struct inj_arg *args,
			      unsigned nargs, int timeout_ms, uint64_t *ret,
			      struct inj_call_fault *f)
{
	struct inj_call_fault spare;
	struct inj_regs regs = c->saved;
	uint64_t vals[16], sp, strs, top;
	int64_t deadline, grace;
	unsigned char *frame;
	size_t slen = 0, off;
	int let_run = 0, s;

	if (!f)
		f = &spare;
	memset(f, 0, sizeof(*f));
	if (c->broken || !c->stopped || nargs > inj_arch_max_args() || nargs > 16) {
		errno = EINVAL;
		return INJ_CALL_ERROR;
	}
	for (unsigned i = 0; i < nargs; i++)
		if (args[i].str)
			slen += strlen(args[i].str) + 1;
	/*
	 * [top - 16, top): zeros for the return address; the callee's argument
	 * area (MIPS o32, which it may write) from top, the strings above it,
	 * the red zone above them.
	 */
	sp = inj_arch_sp(&c->saved) - inj_arch_red_zone();
	strs = (sp - slen) & ~(uint64_t)15;
	top = strs - inj_arch_arg_area();
	off = 16 + inj_arch_arg_area();
	frame = calloc(1, off + slen);
	if (!frame)
		return INJ_CALL_ERROR;
	for (unsigned i = 0; i < nargs; i++) {
		vals[i] = args[i].value;
		if (args[i].str) {
			size_t n = strlen(args[i].str) + 1;

			memcpy(frame + off, args[i].str, n);
			vals[i] = top + (off - 16);
			off += n;
		}
	}
	s = inj_poke(c->tid, top - 16, frame, off);
	free(frame);
	if (s < 0 || inj_arch_set_call(&regs, fn, vals, nargs, top) < 0 ||
	    inj_regs_set(c->tid, &regs) < 0 || inj_task_cont(c->task, c->tid) < 0) {
		c->broken = 1;
		return INJ_CALL_ERROR;
	}
	c->stopped = 0;
	deadline = inj_now_ns() + (int64_t)timeout_ms * 1000000;
	grace = inj_now_ns() + GRACE_NS;
	for (;;) {
		int64_t until = !let_run && !c->hold_others && grace < deadline ? grace : deadline;
		int st;

		if (inj_task_wait(c->task, c->tid, until, &st) < 0) {
			if (errno == ETIMEDOUT && until == grace && !let_run) {
				/* Another stopped thread may hold a lock the call waits for. */
				inj_task_resume_others(c->task, c->tid);
				let_run = 1;
				continue;
			}
			if (errno == ECHILD) {
				c->gone = c->broken = 1;
				return INJ_CALL_GONE;
			}
			if (errno != ETIMEDOUT) {
				c->broken = 1;
				return INJ_CALL_ERROR;
			}
			s = abandon(c, top, ret, f);
			if (s != INJ_CALL_OK)
				c->broken = 1;
			return s;
		}
		s = classify(c, st, top, ret, f);
		if (s >= 0) {
			if (s != INJ_CALL_OK)
				c->broken = 1;
			return s;
		}
	}
}

int inj_call_end(struct inj_call *c)
{
	int ret = 0;

	if (!c)
		return 0;
	if (!c->stopped && !c->gone) {
		/* It never stopped after a timeout: one more try. */
		int64_t deadline = inj_now_ns() + STOP_TIMEOUT_NS;
		int st;

		inj_task_interrupt(c->task, c->tid);
		while (inj_task_wait(c->task, c->tid, deadline, &st) == 0) {
			if (WIFEXITED(st) || WIFSIGNALED(st)) {
				c->gone = 1;
				break;
			}
			if (!((unsigned)st >> 16)) {
				siginfo_t si;

				if (ptrace(PTRACE_GETSIGINFO, c->tid, NULL, &si) == 0 &&
				    si.si_signo != SIGSEGV)
					inj_task_defer_signal(c->task, c->tid, &si);
			}
			c->stopped = 1;
			break;
		}
	}
	if (c->stopped && c->dirty && inj_arch_restart_plain(&c->saved))
		log_debug("thread %d: its system call is executed again, not continued", c->tid);
	if (c->stopped) {
		if (fp_restore(c) < 0 || inj_regs_set(c->tid, &c->saved) < 0 ||
		    ptrace(PTRACE_SETSIGMASK, c->tid, (void *)sizeof(c->mask), &c->mask) < 0)
			ret = log_err("thread %d: restoring its registers failed: %s", c->tid,
				      strerror(errno));
	} else if (!c->gone) {
		ret = log_err("thread %d did not stop: its registers could not be restored", c->tid);
	} else {
		ret = -1;
		errno = ESRCH;
	}
	free(c->fp);
	free(c);
	return ret;
}

/* ---------------------------------------------------------------- memory */

static int poke_words(int tid, uint64_t addr, const unsigned char *buf, size_t len)
{
	const size_t w = sizeof(long);
	uint64_t a = addr & ~(uint64_t)(w - 1);

	for (; a < addr + len; a += w) {
		long word = 0;
		unsigned char *wb = (unsigned char *)&word;

		if (a < addr || a + w > addr + len) {
			errno = 0;
			word = ptrace(PTRACE_PEEKDATA, tid, (void *)(uintptr_t)a, NULL);
			if (errno)
				return -1;
		}
		for (size_t k = 0; k < w; k++)
			if (a + k >= addr && a + k < addr + len)
				wb[k] = buf[a + k - addr];
		if (ptrace(PTRACE_POKEDATA, tid, (void *)(uintptr_t)a, (void *)word) < 0)
			return -1;
	}
	return 0;
}

int inj_poke(int tid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec local = { (void *)buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };

	if (process_vm_writev(tid, &local, 1, &remote, 1, 0) == (ssize_t)len)
		return 0;
	/* Kernels without CONFIG_CROSS_MEMORY_ATTACH: word by word. */
	return poke_words(tid, addr, buf, len);
}

static long peek_words(int tid, uint64_t addr, char *buf, size_t len)
{
	const size_t w = sizeof(long);
	size_t got = 0;

	while (got < len) {
		uint64_t a = (addr + got) & ~(uint64_t)(w - 1);
		size_t skip = addr + got - a;
		long word;

		errno = 0;
		word = ptrace(PTRACE_PEEKDATA, tid, (void *)(uintptr_t)a, NULL);
		if (errno)
			return got ? (long)got : -1;
		for (size_t k = skip; k < w && got < len; k++)
			buf[got++] = ((char *)&word)[k];
	}
	return (long)got;
}

long inj_peek_string(int tid, uint64_t addr, char *buf, size_t size)
{
	size_t got = 0;

	if (!size) {
		errno = EINVAL;
		return -1;
	}
	while (got + 1 < size) {
		size_t chunk = CHUNK - ((addr + got) % CHUNK);
		struct iovec l, r;
		long n;
		char *z;

		if (chunk > size - 1 - got)
			chunk = size - 1 - got;
		l.iov_base = buf + got;
		l.iov_len = chunk;
		r.iov_base = (void *)(uintptr_t)(addr + got);
		r.iov_len = chunk;
		n = process_vm_readv(tid, &l, 1, &r, 1, 0);
		if (n <= 0)
			n = peek_words(tid, addr + got, buf + got, chunk);
		if (n <= 0) {
			if (!got)
				return -1;
			break;
		}
		z = memchr(buf + got, 0, (size_t)n);
		if (z)
			return z - buf;
		got += (size_t)n;
	}
	buf[got] = 0;
	return (long)got;
}
