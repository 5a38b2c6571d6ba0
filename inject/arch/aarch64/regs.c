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
#include <string.h>

#include "remote.h"

struct a64_regs {
	uint64_t regs[31];
	uint64_t sp;
	uint64_t pc;
	uint64_t pstate;
};

/* PSTATE.BTYPE: a branch type left over from the interrupted code. */
#define PSTATE_BTYPE 0xc00ull

size_t inj_arch_regs_size(void)
{
	return sizeof(struct a64_regs);
}

unsigned inj_arch_fp_regset(size_t *size_hint)
{
	/* struct user_fpsimd_state: 32 x 128-bit, fpsr, fpcr, padding (528 bytes). */
	*size_hint = 1024;
	return NT_PRFPREG;
}

unsigned inj_arch_red_zone(void)
{
	return 0;
}

unsigned inj_arch_max_args(void)
{
	return 8;
}

static struct a64_regs get(const struct inj_regs *r)
{
	struct a64_regs u;

	memcpy(&u, r->w, sizeof(u));
	return u;
}

uint64_t inj_arch_pc(const struct inj_regs *r)
{
	return get(r).pc;
}

uint64_t inj_arch_sp(const struct inj_regs *r)
{
	return get(r).sp;
}

uint64_t inj_arch_retval(const struct inj_regs *r)
{
	return get(r).regs[0];
}

void inj_arch_set_retval(struct inj_regs *r, uint64_t value)
{
	struct a64_regs u = get(r);

	u.regs[0] = value;
	memcpy(r->w, &u, sizeof(u));
}

void inj_arch_set_pc_sp(struct inj_regs *r, uint64_t pc, uint64_t sp)
{
	struct a64_regs u = get(r);

	u.pc = pc;
	u.sp = sp;
	memcpy(r->w, &u, sizeof(u));
	r->len = sizeof(u);
}

int inj_arch_restart_plain(struct inj_regs *r)
{
	/* The kernel rewound the PC before the stop and sets up no restart block then. */
	(void)r;
	return 0;
}

int inj_arch_set_call(struct inj_regs *r, uint64_t fn, const uint64_t *args, unsigned nargs,
		      uint64_t sp)
{
	struct a64_regs u = get(r);

	if (nargs > 8)
		return -1;
	for (unsigned i = 0; i < nargs; i++)
		u.regs[i] = args[i];
	u.regs[30] = 0; /* lr: return to 0 */
	u.sp = sp;
	u.pc = fn;
	u.pstate &= ~PSTATE_BTYPE;
	memcpy(r->w, &u, sizeof(u));
	return 0;
}
