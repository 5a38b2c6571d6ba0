/*
 * x86_64 facts for remote calls: struct user_regs_struct (NT_PRSTATUS), the
 * System V calling convention (rdi rsi rdx rcx r8 r9, 128-byte red zone,
 * the return address on the stack) and the size of the XSAVE area.
 */
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <sys/uio.h>
#include <sys/user.h>

/* The accessors they share with the other architectures: regs_access.h. */
typedef struct user_regs_struct arch_regs_t;
/* glibc declares the registers unsigned long long, musl unsigned long. */
typedef __typeof__(((struct user_regs_struct *)0)->rip) arch_word_t;
#define ARCH_PC(u) ((u).rip)
#define ARCH_SP(u) ((u).rsp)
#define ARCH_RETVAL(u) ((u).rax)
#define ARCH_RED_ZONE 128
#define ARCH_MAX_ARGS 6
#define ARCH_PC_SP_ONLY(u) ((u).orig_rax = (unsigned long long)-1) /* in no system call */

#include "injector/arch/regs_access.h"

#define EFLAGS_TF 0x100u
#define EFLAGS_DF 0x400u
/* include/linux/errno.h: restart through restart_syscall(). */
#define ERESTART_RESTARTBLOCK 516
/* The syscall instruction: 0f 05. */
#define SYSCALL_INSN_LEN 2

unsigned inj_arch_fp_regset(size_t *size_hint)
{
	unsigned a, b, c, d;
	size_t size = 4096;

	/* CPUID leaf 0xD, ECX: the XSAVE area for every feature the CPU has. */
	if (__get_cpuid_count(0xd, 0, &a, &b, &c, &d) && c > size)
		size = c;
	*size_hint = (size + 63) & ~(size_t)63;
	return NT_X86_XSTATE;
}

int inj_arch_restart_plain(struct inj_regs *r)
{
	arch_regs_t u = get(r);

	if ((long long)u.orig_rax < 0 || (long long)u.rax != -ERESTART_RESTARTBLOCK)
		return 0;
	u.rax = u.orig_rax;
	u.rip -= SYSCALL_INSN_LEN;
	put(r, &u);
	return 1;
}

long inj_arch_syscall_nr(const struct inj_regs *r)
{
	return (long)get(r).orig_rax;
}

int inj_arch_syscall_cancel(int tid, struct inj_regs *r)
{
	arch_regs_t u = get(r);

	/* orig_rax -1: the kernel skips the call and leaves rax as set here. */
	(void)tid;
	u.rax = u.orig_rax;
	u.orig_rax = (unsigned long long)-1;
	u.rip -= SYSCALL_INSN_LEN;
	put(r, &u);
	return 0;
}

int inj_arch_syscall_eintr(int tid, const struct inj_regs *r, long *nr)
{
	arch_regs_t u = get(r);

	(void)tid;
	/* orig_rax is the number while the stop belongs to a system call, -1 otherwise. */
	if ((long long)u.orig_rax < 0 || (long long)u.rax != -EINTR)
		return 0;
	*nr = (long)u.orig_rax;
	return 1;
}

int inj_arch_syscall_redo(struct inj_regs *r, const uint64_t *arg0)
{
	arch_regs_t u = get(r);

	/* The arguments are still in their registers; only rax took the result. */
	(void)arg0;
	u.rax = u.orig_rax;
	u.rip -= SYSCALL_INSN_LEN;
	put(r, &u);
	return 0;
}

/* The I-th argument register (I < ARCH_MAX_ARGS) of U: rdi rsi rdx rcx r8 r9. */
static arch_word_t *arch_arg(arch_regs_t *u, unsigned i)
{
	arch_word_t *slot[ARCH_MAX_ARGS] = { &u->rdi, &u->rsi, &u->rdx, &u->rcx, &u->r8, &u->r9 };

	return slot[i];
}

/* The rest of a call of FN on stack SP: the return address on the stack. */
static void arch_call_frame(arch_regs_t *u, uint64_t fn, uint64_t sp)
{
	u->rip = fn;
	/* As after a call instruction: [rsp] is the return address (0), rsp + 8 aligned. */
	u->rsp = sp - 8;
	/* No vector registers for a variadic callee. */
	u->rax = 0;
	/* Not in a system call: no restart applied to the call's frame. */
	u->orig_rax = (unsigned long long)-1;
	u->eflags &= ~(unsigned long long)(EFLAGS_TF | EFLAGS_DF);
}

int inj_arch_after_call(int tid, uint64_t addr)
{
	unsigned char b[8];
	struct iovec l = { b, sizeof(b) }, r = { (void *)(uintptr_t)(addr - sizeof(b)), sizeof(b) };

	if (addr < sizeof(b) || process_vm_readv(tid, &l, 1, &r, 1, 0) != (ssize_t)sizeof(b))
		return 0;
	/* call rel32: e8 and four bytes. */
	if (b[3] == 0xe8)
		return 1;
	/* call r/m64: ff /2, as long as its ModRM, SIB and displacement say. */
	for (unsigned k = 2; k <= 7; k++) {
		unsigned char modrm = b[sizeof(b) - k + 1];
		unsigned mod = modrm >> 6, rm = modrm & 7, len = 2;

		if (b[sizeof(b) - k] != 0xff || ((modrm >> 3) & 7) != 2)
			continue;
		if (mod != 3 && rm == 4) {
			len++;
			if (k >= 3 && mod == 0 && (b[sizeof(b) - k + 2] & 7) == 5)
				len += 4;
		}
		if (mod == 1)
			len += 1;
		else if (mod == 2 || (mod == 0 && rm == 5))
			len += 4;
		if (len == k)
			return 1;
	}
	return 0;
}

/* fs_base: glibc's and musl's struct pthread, at the top of a thread's stack. */
int inj_arch_thread_block(int tid, uint64_t *addr)
{
	struct inj_regs r;

	if (inj_regs_get(tid, &r) < 0)
		return -1;
	*addr = get(&r).fs_base;
	return 0;
}

uint32_t inj_arch_audit(void)
{
	return AUDIT_ARCH_X86_64;
}

#include "../walk_libunwind.h"
