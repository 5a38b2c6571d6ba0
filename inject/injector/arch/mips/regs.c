/*
 * MIPS facts for remote calls, o32 (mipsel) and n64 (mips64el), measured in
 * Debian's malta VMs (../shared/notes/mips-musl.md, part 2):
 *
 * - NT_PRSTATUS: 45 words (u32 on o32, r0 at word 6; u64 on n64, r0 at 0):
 *   r0-r31, lo, hi, epc, badvaddr, status, cause. It shows r0 and k0 (r26)
 *   as 0 and PTRACE_SETREGSET cannot write them, yet that is where the
 *   kernel keeps an interrupted system call's restart: its number in r0,
 *   the original a3 in k0. Registers restored through the regset make the
 *   program see errno 512 (ERESTARTSYS) from a read the stop cut. So here
 *   the registers are read and written with PTRACE_GETREGS/SETREGS (struct
 *   user_pt_regs: 64-bit words on every ABI, r0 and k0 included) and kept
 *   in inj_regs in the NT_PRSTATUS layout with those two filled in
 *   (inj_arch_regs_get/set; regs.h).
 * - The kernel restarts after the stop (as on x86_64): a call started with
 *   v0 still 512-516 and r0 still the number would be entered at fn - 4.
 *   A call's frame sets v0 and r0 to 0.
 * - A PIC callee computes $gp from $t9: t9 = fn. Return address in ra (0).
 * - o32 reserves 16 bytes above the caller's sp where the callee may store
 *   a0-a3 (varargs functions do): ARCH_ARG_AREA.
 * - No red zone: the kernel's signal frame goes right below sp.
 */
#include <elf.h>
#include <errno.h>
#include <endian.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#if _MIPS_SIM == _ABIO32
typedef uint32_t arch_word_t;
enum { MIPS_R0 = 6 }; /* EF_R0: six words of padding first */
#define ARCH_MAX_ARGS 4
#define ARCH_ARG_AREA 16
#elif _MIPS_SIM == _ABI64
typedef uint64_t arch_word_t;
enum { MIPS_R0 = 0 };
#define ARCH_MAX_ARGS 8
#define ARCH_ARG_AREA 0
#else
#error "MIPS n32 is not supported"
#endif

enum {
	MIPS_V0 = 2, MIPS_A0 = 4, MIPS_A3 = 7, MIPS_T9 = 25, MIPS_K0 = 26, MIPS_SP = 29, MIPS_RA = 31,
	MIPS_LO = MIPS_R0 + 32, MIPS_HI, MIPS_EPC, MIPS_BADVADDR, MIPS_STATUS, MIPS_CAUSE
};

/* NT_PRSTATUS as the kernel writes it (and cores hold it): 45 words. */
typedef struct {
	arch_word_t w[45];
} arch_regs_t;
#define ARCH_PC(u) ((u).w[MIPS_EPC])
#define ARCH_SP(u) ((u).w[MIPS_R0 + MIPS_SP])
#define ARCH_RETVAL(u) ((u).w[MIPS_R0 + MIPS_V0])
#define ARCH_RED_ZONE 0
#define ARCH_PC_SP_ONLY(u) ((void)0) /* nothing else */

#include "injector/arch/regs_access.h"

#define REG(u, n) ((u).w[MIPS_R0 + (n)])

/* The kernel's ERESTART_RESTARTBLOCK, seen in v0 (with a3 = 1) at a stop. */
#define ERESTART_RESTARTBLOCK_ 516

/* PTRACE_GETREGS / SETREGS: glibc's <sys/ptrace.h> on MIPS names neither. */
#define MIPS_PTRACE_GETREGS 12
#define MIPS_PTRACE_SETREGS 13
struct mips_user_regs {
	uint64_t regs[32];
	uint64_t lo, hi, epc, badvaddr, status, cause;
};

int inj_arch_regs_get(int tid, struct inj_regs *r)
{
	struct mips_user_regs k;
	arch_regs_t u;

	if (ptrace((enum __ptrace_request)MIPS_PTRACE_GETREGS, tid, NULL, &k) < 0)
		return -1;
	memset(&u, 0, sizeof(u));
	for (int i = 0; i < 32; i++)
		REG(u, i) = (arch_word_t)k.regs[i];
	/* k1 is the kernel's scratch register: zero, as NT_PRSTATUS shows it. */
	REG(u, 27) = 0;
	u.w[MIPS_LO] = (arch_word_t)k.lo;
	u.w[MIPS_HI] = (arch_word_t)k.hi;
	u.w[MIPS_EPC] = (arch_word_t)k.epc;
	u.w[MIPS_BADVADDR] = (arch_word_t)k.badvaddr;
	u.w[MIPS_STATUS] = (arch_word_t)k.status;
	u.w[MIPS_CAUSE] = (arch_word_t)k.cause;
	put(r, &u);
	r->len = sizeof(u);
	return 0;
}

/* Sign-extended, as the kernel keeps a 32-bit task's registers. */
static uint64_t widen(arch_word_t v)
{
	return sizeof(v) == 4 ? (uint64_t)(int64_t)(int32_t)v : (uint64_t)v;
}

int inj_arch_regs_set(int tid, const struct inj_regs *r)
{
	arch_regs_t u = get(r);
	struct mips_user_regs k;

	memset(&k, 0, sizeof(k));
	for (int i = 0; i < 32; i++)
		k.regs[i] = widen(REG(u, i));
	k.lo = widen(u.w[MIPS_LO]);
	k.hi = widen(u.w[MIPS_HI]);
	k.epc = widen(u.w[MIPS_EPC]);
	/* badvaddr, status and cause are not written by the kernel. */
	return ptrace((enum __ptrace_request)MIPS_PTRACE_SETREGS, tid, NULL, &k) < 0 ? -1 : 0;
}

int inj_arch_gpr(const struct inj_regs *r, unsigned n, uint64_t *v)
{
	if (n > 31)
		return -1;
	*v = REG(get(r), n);
	return 0;
}

unsigned inj_arch_fp_regset(size_t *size_hint)
{
	/* 32 x 64-bit FPRs, fcsr and fir: 264 bytes. (NT_MIPS_MSA would add the
	 * upper halves of MSA vector registers: no CPU memtrace is tested on has MSA.) */
	*size_hint = 512;
	return NT_PRFPREG;
}

long inj_arch_syscall_nr(const struct inj_regs *r)
{
	arch_regs_t u = get(r);

	/* At the entry the number is in v0; o32's syscall(2) passes the real one in a0. */
#if _MIPS_SIM == _ABIO32
	if (REG(u, MIPS_V0) == SYS_syscall)
		return (long)(int32_t)REG(u, MIPS_A0);
#endif
	return (long)(int64_t)widen(REG(u, MIPS_V0));
}

int inj_arch_syscall_cancel(int tid, struct inj_regs *r)
{
	/*
	 * The kernel skips a system call when the tracer sets its number to -1,
	 * which it takes from v0 on every register write; the thread would then
	 * go on with v0 = -1 instead of the number, and no write can set one
	 * without the other. The thread stays held at the entry (ptrace.c).
	 */
	(void)tid;
	(void)r;
	errno = ENOSYS;
	return -1;
}

/* The system call instruction (its code field, bits 6-25, may be anything). */
static int is_syscall_insn(uint32_t insn)
{
	return (insn & 0xfc00003fu) == 0x0000000cu;
}

static int read_insn(int tid, uint64_t addr, uint32_t *insn)
{
	struct iovec l = { insn, sizeof(*insn) }, rem = { (void *)(uintptr_t)addr, sizeof(*insn) };

	return (addr & 3) == 0 && process_vm_readv(tid, &l, 1, &rem, 1, 0) == (ssize_t)sizeof(*insn)
		       ? 0
		       : -1;
}

int inj_arch_syscall_eintr(int tid, const struct inj_regs *r, long *nr)
{
	arch_regs_t u = get(r);
	uint32_t insn;

	/* An error is a3 = 1 with the positive errno in v0; the kernel put the
	 * number in r0 for the restart, and epc is past the instruction. */
	if (REG(u, MIPS_A3) != 1 || REG(u, MIPS_V0) != EINTR || REG(u, 0) == 0 ||
	    read_insn(tid, u.w[MIPS_EPC] - 4, &insn) < 0 || !is_syscall_insn(insn))
		return 0;
	*nr = (long)(int64_t)widen(REG(u, 0));
	return 1;
}

/* The kernel's own restart: number back in v0, a3 as it was, epc on the instruction. */
static void redo(arch_regs_t *u)
{
	REG(*u, MIPS_V0) = REG(*u, 0);
	REG(*u, MIPS_A3) = REG(*u, MIPS_K0);
	u->w[MIPS_EPC] -= 4;
	REG(*u, 0) = 0;
}

int inj_arch_syscall_redo(struct inj_regs *r, const uint64_t *arg0)
{
	arch_regs_t u = get(r);

	/* a0-a2 are left as they were by a system call; a3 is in k0. */
	(void)arg0;
	if (REG(u, 0) == 0) {
		errno = EINVAL;
		return -1;
	}
	redo(&u);
	put(r, &u);
	return 0;
}

int inj_arch_restart_plain(struct inj_regs *r)
{
	arch_regs_t u = get(r);

	if (REG(u, 0) == 0 || REG(u, MIPS_A3) != 1 || REG(u, MIPS_V0) != ERESTART_RESTARTBLOCK_)
		return 0;
	redo(&u);
	put(r, &u);
	return 1;
}

/* The I-th argument register (I < ARCH_MAX_ARGS) of U: a0-a3 (o32), a0-a7 (n64). */
static arch_word_t *arch_arg(arch_regs_t *u, unsigned i)
{
	return &REG(*u, MIPS_A0 + i);
}

/* The rest of a call of FN on stack SP. */
static void arch_call_frame(arch_regs_t *u, uint64_t fn, uint64_t sp)
{
	REG(*u, MIPS_RA) = 0;
	REG(*u, MIPS_T9) = (arch_word_t)fn;
	REG(*u, MIPS_SP) = (arch_word_t)sp;
	u->w[MIPS_EPC] = (arch_word_t)fn;
	/* Not in a system call: no restart applied to the call's frame. */
	REG(*u, MIPS_V0) = 0;
	REG(*u, 0) = 0;
}

int inj_arch_after_call(int tid, uint64_t addr)
{
	uint32_t insn;

	/* The return address is past the call and its delay slot. */
	if (addr < 8 || read_insn(tid, addr - 8, &insn) < 0)
		return 0;
	switch (insn >> 26) {
	case 3: /* jal */
		return 1;
	case 0: /* SPECIAL: jalr (funct 9) */
		return (insn & 0x3f) == 9;
	case 1: /* REGIMM: bltzal, bgezal (bal), bltzall, bgezall */
		return ((insn >> 16) & 0x1c) == 0x10;
	default:
		return 0;
	}
}

/* How far into a function its prologue may lie (instructions). */
#define PROLOGUE_MAX 64

/* The word at ADDR in TID's memory into *V. */
static int read_word(int tid, uint64_t addr, uint64_t *v)
{
	arch_word_t w = 0;
	struct iovec l = { &w, sizeof(w) }, r = { (void *)(uintptr_t)addr, sizeof(w) };

	if (process_vm_readv(tid, &l, 1, &r, 1, 0) != (ssize_t)sizeof(w))
		return -1;
	*v = w;
	return 0;
}

/* How far back from a pc the start of its function is looked for (instructions). */
#define BODY_MAX 4096

/*
 * Where the function holding PC opened its frame, for code without
 * symbols: backwards from PC to an addiu (daddiu) sp,sp,-N, not past the
 * jr ra that ends the function before it (a jr ra whose delay slot pops a
 * frame, addiu sp,sp,+N, is an early return of this one). 0 if none.
 */
static uint64_t function_start(int tid, uint64_t pc)
{
	uint32_t next = 0;

	for (uint64_t a = pc - 4; a + 4 * BODY_MAX > pc && a >= 4; a -= 4) {
		uint32_t insn;

		if (read_insn(tid, a, &insn) < 0)
			return 0;
		if (((insn & 0xffff0000u) == 0x27bd0000u || (insn & 0xffff0000u) == 0x67bd0000u) &&
		    (int16_t)(insn & 0xffffu) < 0)
			return a;
		if (insn == 0x03e00008u && !(((next & 0xffff0000u) == 0x27bd0000u ||
					      (next & 0xffff0000u) == 0x67bd0000u) &&
					     (int16_t)(next & 0xffffu) > 0))
			return 0;
		next = insn;
	}
	return 0;
}

int inj_arch_prologue_caller(int tid, uint64_t start, uint64_t pc, uint64_t sp, uint64_t ra,
			     uint64_t fp, uint64_t *cpc, uint64_t *csp, uint64_t *cfp)
{
	const uint32_t store = sizeof(arch_word_t) == 4 ? 0xaf000000u : 0xff000000u; /* sw / sd */
	int64_t frame = 0, ra_at = -1, fp_at = -1;
	uint64_t ret;

	if (!start)
		start = function_start(tid, pc);
	if (!start || start > pc || (start & 3))
		return 0;
	/*
	 * gcc's prologue opens the frame with addiu (daddiu on n64) sp,sp,-N and
	 * stores ra with sw (sd) ra,M(sp), both before the body; only what ran
	 * before PC counts.
	 */
	for (uint64_t a = start; a < pc && a < start + 4 * PROLOGUE_MAX; a += 4) {
		uint32_t insn;

		if (read_insn(tid, a, &insn) < 0)
			return 0;
		if ((insn & 0xffff0000u) == 0x27bd0000u || (insn & 0xffff0000u) == 0x67bd0000u) {
			int16_t imm = (int16_t)(insn & 0xffffu);

			if (imm >= 0)
				break; /* an epilogue: no prologue before it */
			if (!frame)
				frame = -imm;
		} else if ((insn & 0xffff0000u) == (store | 0x00bf0000u)) {
			ra_at = (int16_t)(insn & 0xffffu); /* sw ra,M(sp) */
		} else if ((insn & 0xffff0000u) == (store | 0x00be0000u)) {
			fp_at = (int16_t)(insn & 0xffffu); /* sw s8,M(sp): the caller's $fp */
		} else if (insn == 0x03e00008u) {
			break; /* jr ra */
		}
	}
	if (ra_at >= 0) {
		if (!frame || read_word(tid, sp + (uint64_t)ra_at, &ret) < 0)
			return 0;
	} else {
		/* Not stored (yet): still in ra, which only the innermost frame has. */
		ret = ra;
	}
	if (!ret || !inj_arch_after_call(tid, ret))
		return 0;
	*cfp = fp;
	if (fp_at >= 0 && frame && read_word(tid, sp + (uint64_t)fp_at, cfp) < 0)
		return 0;
	*cpc = ret;
	*csp = sp + (uint64_t)frame;
	return 1;
}

/* <asm/ptrace.h>: the thread pointer (UserLocal) of the thread. */
#define MIPS_PTRACE_GET_THREAD_AREA 25
/* The MIPS TLS ABI: the thread pointer is 0x7000 past the end of the TCB. */
#define MIPS_TP_OFFSET 0x7000

int inj_arch_thread_block(int tid, uint64_t *addr)
{
	unsigned long tp = 0;

	if (ptrace((enum __ptrace_request)MIPS_PTRACE_GET_THREAD_AREA, tid, NULL, &tp) < 0)
		return -1;
	if (tp < MIPS_TP_OFFSET)
		return -1;
	*addr = tp - MIPS_TP_OFFSET;
	return 0;
}

uint32_t inj_arch_audit(void)
{
#if _MIPS_SIM == _ABIO32
	return __BYTE_ORDER == __LITTLE_ENDIAN ? AUDIT_ARCH_MIPSEL : AUDIT_ARCH_MIPS;
#else
	return __BYTE_ORDER == __LITTLE_ENDIAN ? AUDIT_ARCH_MIPSEL64 : AUDIT_ARCH_MIPS64;
#endif
}

#include "injector/arch/walk_libunwind.h"
