/*
 * What every architecture's regs.c does the same way: the registers stand
 * in inj_regs.w as the architecture's NT_PRSTATUS struct, read out whole
 * (get) and written back whole (put); the program counter, the stack
 * pointer and the return value are fields of that struct, and a remote
 * call's arguments go in registers before the frame is set. One copy of this
 * logic serves x86_64, aarch64 and 32-bit ARM; the facts themselves (the
 * layout, which field is which register) stay in inject/injector/arch/ARCH/.
 *
 * Included once, by inject/injector/arch/ARCH/regs.c, after it defines:
 *   arch_regs_t      the NT_PRSTATUS layout;
 *   arch_word_t      the type of one general register in it;
 *   ARCH_PC(u), ARCH_SP(u), ARCH_RETVAL(u)
 *                    the program counter, stack pointer and return-value
 *                    register of an arch_regs_t U, as lvalues;
 *   ARCH_RED_ZONE    the ABI's red zone in bytes;
 *   ARCH_MAX_ARGS    how many integer arguments go in registers;
 *   ARCH_ARG_AREA    (optional, else 0) bytes above the stack pointer that
 *                    a callee may write (MIPS o32's argument save area);
 *   ARCH_PC_SP_ONLY(u)
 *                    what else U needs to stand for a thread known only by
 *                    its PC and SP (inj_arch_set_pc_sp);
 *   ARCH_NO_RESTART_BLOCK
 *                    (optional) defined when the kernel rewinds the PC of an
 *                    interrupted system call before the stop and sets up no
 *                    restart block: inj_arch_restart_plain is then here;
 *                    without it the architecture's regs.c defines it.
 * and, anywhere in the file, the two static functions declared below:
 * arch_arg (where an argument goes) and arch_call_frame (the return
 * address, stack, PC and state of a call), for inj_arch_set_call.
 * Defines the static get and put and the hooks inj_arch_regs_size,
 * inj_arch_red_zone, inj_arch_arg_area, inj_arch_max_args, inj_arch_pc, inj_arch_sp,
 * inj_arch_retval, inj_arch_set_retval, inj_arch_set_pc_sp and
 * inj_arch_set_call (injector/regs.h says what they do).
 */
#ifndef INJ_ARCH_REGS_ACCESS_H
#define INJ_ARCH_REGS_ACCESS_H

#include <string.h>

#include "injector/regs.h"

_Static_assert(sizeof(arch_regs_t) <= sizeof(((struct inj_regs *)0)->w),
	       "struct inj_regs holds the whole NT_PRSTATUS regset");

size_t inj_arch_regs_size(void)
{
	return sizeof(arch_regs_t);
}

unsigned inj_arch_red_zone(void)
{
	return ARCH_RED_ZONE;
}

#ifndef ARCH_ARG_AREA
#define ARCH_ARG_AREA 0
#endif
_Static_assert(ARCH_ARG_AREA % 16 == 0, "the argument area keeps the stack 16-byte aligned");

unsigned inj_arch_arg_area(void)
{
	return ARCH_ARG_AREA;
}

unsigned inj_arch_max_args(void)
{
	return ARCH_MAX_ARGS;
}

/* R's registers as the architecture's struct, copied (no type punning of R->w). */
static arch_regs_t get(const struct inj_regs *r)
{
	arch_regs_t u;

	memcpy(&u, r->w, sizeof(u));
	return u;
}

/* U back into R; R->len stays as it is. */
static void put(struct inj_regs *r, const arch_regs_t *u)
{
	memcpy(r->w, u, sizeof(*u));
}

uint64_t inj_arch_pc(const struct inj_regs *r)
{
	return ARCH_PC(get(r));
}

uint64_t inj_arch_sp(const struct inj_regs *r)
{
	return ARCH_SP(get(r));
}

uint64_t inj_arch_retval(const struct inj_regs *r)
{
	return ARCH_RETVAL(get(r));
}

void inj_arch_set_retval(struct inj_regs *r, uint64_t value)
{
	arch_regs_t u = get(r);

	ARCH_RETVAL(u) = (arch_word_t)value;
	put(r, &u);
}

void inj_arch_set_pc_sp(struct inj_regs *r, uint64_t pc, uint64_t sp)
{
	arch_regs_t u = get(r);

	ARCH_PC(u) = (arch_word_t)pc;
	ARCH_SP(u) = (arch_word_t)sp;
	ARCH_PC_SP_ONLY(u);
	put(r, &u);
	r->len = sizeof(u);
}

static arch_word_t *arch_arg(arch_regs_t *u, unsigned i);
static void arch_call_frame(arch_regs_t *u, uint64_t fn, uint64_t sp);

int inj_arch_set_call(struct inj_regs *r, uint64_t fn, const uint64_t *args, unsigned nargs,
		      uint64_t sp)
{
	arch_regs_t u = get(r);

	if (nargs > ARCH_MAX_ARGS)
		return -1;
	for (unsigned i = 0; i < nargs; i++)
		*arch_arg(&u, i) = (arch_word_t)args[i];
	arch_call_frame(&u, fn, sp);
	put(r, &u);
	return 0;
}

#ifdef ARCH_NO_RESTART_BLOCK
int inj_arch_restart_plain(struct inj_regs *r)
{
	/* The kernel rewound the PC before the stop and sets up no restart block then. */
	(void)r;
	return 0;
}
#endif

#endif
