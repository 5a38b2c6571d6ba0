/*
 * 32-bit ARM's unwind tables (.ARM.exidx and .ARM.extab, the EHABI) to
 * compact rows (cfi.h). Each index entry covers a function, from its
 * start to the next entry's; its unwind opcodes say how to undo the
 * function's prologue from anywhere in its body, which is all a walk meets
 * (every frame but the first is stopped at a call, and the first is the
 * agent's own, past its prologue). The opcodes are run once on a virtual
 * stack pointer: where the frame pointer (r7 in Thumb code, r11 in ARM
 * code: the agent's own instruction set says which, cfi_arch.h), the link
 * register and the pc were popped, and where the stack pointer ends,
 * make one rule for the whole function.
 *
 * The walk must give the stacks libgcc's _Unwind_Backtrace gives (the
 * "libunwind" backend here, table_walk_arch.h), so the rules follow its
 * choices: a function marked EXIDX_CANTUNWIND, or code before the first
 * entry, ends the stack without being reported (END_HIDDEN), one whose
 * opcodes refuse to unwind is reported and ends it (END), and the last
 * entry covers everything after it. Opcodes the rows cannot say (the stack pointer popped or set from a
 * register other than the frame pointer, spare encodings) are FALLBACK.
 *
 * Everything is read from the module's memory, bounded by the PT_LOAD
 * segment holding PT_ARM_EXIDX (.ARM.extab sits in it too, and an extab
 * entry outside it makes that function FALLBACK). Encodings: "Exception
 * Handling ABI for the Arm Architecture" (IHI 0038), 6 and 10.
 */
#include <elf.h>
#include <errno.h>
#include <link.h>

#include "arena.h"
#include "cfi.h"
#include "cfi_arch.h"

#if AGENT_CFI_EXIDX

#define EXIDX_CANTUNWIND 1u
/* The most opcode bytes an entry may have: 255 further words of 4. */
#define MAX_OPS (3 + 255 * 4)

/* Not popped (a position is a multiple of 4, and may be below the base). */
#define NONE INT64_MIN

/* Where registers were popped: offsets in bytes from the base, or NONE. */
struct vstate {
	int64_t vsp;			/* bytes above the base */
	int from_fp;			/* the base is the frame pointer, not the stack pointer */
	int64_t at_fp, at_lr, at_pc;
	int bad;
};

static void pop(struct vstate *v, unsigned reg)
{
	if (reg == AGENT_CFI_REG_FP)
		v->at_fp = v->vsp;
	else if (reg == 14)
		v->at_lr = v->vsp;
	else if (reg == 15)
		v->at_pc = v->vsp;
	else if (reg == 13)
		v->bad = 1;	/* the stack pointer from memory: not a CFA rule */
	v->vsp += 4;
}

/* *S for a register popped at AT (NONE: not popped, slot 0): 0, or -1 (cannot say). */
static int slot(const struct vstate *v, int64_t at, int8_t *s)
{
	if (at == NONE)
		return 0;
	if ((at - v->vsp) % 4 || agent_cfi_slot_encode((at - v->vsp) / 4, (uint32_t)(v->vsp / 4), s) < 0)
		return -1;
	return 0;
}

uint32_t agent_exidx_rule(const uint8_t *ops, size_t n)
{
	struct vstate v = { .vsp = 0, .at_fp = NONE, .at_lr = NONE, .at_pc = NONE };
	int8_t fp = 0, ra = 0;
	size_t i = 0;

	while (i < n && !v.bad) {
		uint8_t op = ops[i++];

		if ((op & 0xc0) == 0x00) {
			v.vsp += ((op & 0x3f) << 2) + 4;
		} else if ((op & 0xc0) == 0x40) {
			v.vsp -= ((op & 0x3f) << 2) + 4;
		} else if ((op & 0xf0) == 0x80) {
			unsigned mask;

			if (i >= n)
				return AGENT_CFI_FALLBACK;
			mask = (unsigned)(op & 0x0f) << 8 | ops[i++];
			if (!mask)
				return AGENT_CFI_RULE(AGENT_CFI_END, 0, 0, 0);	/* refuse to unwind */
			for (unsigned r = 0; r < 12; r++)
				if (mask & (1u << r))
					pop(&v, 4 + r);
		} else if ((op & 0xf0) == 0x90) {
			/* vsp = r[n]: only the frame pointer, before anything was popped. */
			if ((op & 0x0f) != AGENT_CFI_REG_FP || v.vsp || v.at_fp != NONE || v.at_lr != NONE || v.at_pc != NONE)
				return AGENT_CFI_FALLBACK;
			v.from_fp = 1;
		} else if ((op & 0xf0) == 0xa0) {
			for (unsigned r = 4; r <= 4u + (op & 7); r++)
				pop(&v, r);
			if (op & 0x08)
				pop(&v, 14);
		} else if (op == 0xb0) {
			break;	/* finish */
		} else if (op == 0xb1) {
			if (i >= n || !ops[i] || (ops[i] & 0xf0))
				return AGENT_CFI_FALLBACK;
			for (unsigned r = 0; r < 4; r++)
				if (ops[i] & (1u << r))
					pop(&v, r);
			i++;
		} else if (op == 0xb2) {
			uint64_t u = 0;
			unsigned shift = 0;
			uint8_t b;

			do {
				if (i >= n || shift > 28)
					return AGENT_CFI_FALLBACK;
				b = ops[i++];
				u |= (uint64_t)(b & 0x7f) << shift;
				shift += 7;
			} while (b & 0x80);
			v.vsp += 0x204 + (int64_t)(u << 2);
		} else if (op == 0xb3 || op == 0xc8 || op == 0xc9 || op == 0xc6) {
			/* FSTMFDX (8 a register and a pad word), VPUSH, iWMMXt wR: sssscccc */
			if (i >= n)
				return AGENT_CFI_FALLBACK;
			v.vsp += 8 * ((ops[i++] & 0x0f) + 1) + (op == 0xb3 ? 4 : 0);
		} else if ((op & 0xf8) == 0xb8) {
			v.vsp += 8 * ((op & 7) + 1) + 4;
		} else if ((op & 0xf8) == 0xd0) {
			v.vsp += 8 * ((op & 7) + 1);
		} else if ((op & 0xf8) == 0xc0 && op != 0xc6 && op != 0xc7) {
			v.vsp += 8 * ((op & 7) + 1);
		} else if (op == 0xc7) {
			if (i >= n || !ops[i] || (ops[i] & 0xf0))
				return AGENT_CFI_FALLBACK;
			v.vsp += 4 * __builtin_popcount(ops[i++]);
		} else {
			return AGENT_CFI_FALLBACK;	/* spare */
		}
	}
	if (v.bad || v.vsp < 0 || v.vsp % 4 || v.vsp / 4 > 0x3fff)
		return AGENT_CFI_FALLBACK;
	/* The caller's pc: popped into pc, else into lr, else still in lr. */
	if (slot(&v, v.at_pc != NONE ? v.at_pc : v.at_lr, &ra) < 0 || slot(&v, v.at_fp, &fp) < 0)
		return AGENT_CFI_FALLBACK;
	return AGENT_CFI_RULE(v.from_fp ? AGENT_CFI_CFA_FP : AGENT_CFI_CFA_SP, v.vsp / 4, fp, ra);
}

/* A prel31 at P: the address it points to. */
static uintptr_t prel31(const uint32_t *p)
{
	int32_t off = (int32_t)(*p << 1) >> 1;

	return (uintptr_t)p + (uintptr_t)(intptr_t)off;
}

/* Opcode byte K (0: the most significant) of word W. */
static uint8_t byte_of(uint32_t w, unsigned k)
{
	return (uint8_t)(w >> (24 - 8 * k));
}

/*
 * The rule of an index entry whose second word is W (at WP), the extab read
 * within [LO, HI).
 */
static uint32_t entry_rule(const uint32_t *wp, uint32_t w, const uint8_t *lo, const uint8_t *hi)
{
	uint8_t ops[MAX_OPS];
	const uint32_t *x;
	size_t n = 0;
	unsigned more, first;

	if (w == EXIDX_CANTUNWIND)
		return AGENT_CFI_END_HIDDEN;
	if (w & 0x80000000u) {
		/* Inline, compact model: only the short form (index 0) fits in a word. */
		if ((w >> 24) != 0x80)
			return AGENT_CFI_FALLBACK;
		for (unsigned k = 1; k < 4; k++)
			ops[n++] = byte_of(w, k);
		return agent_exidx_rule(ops, n);
	}
	x = (const uint32_t *)prel31(wp);
	if ((const uint8_t *)x < lo || (const uint8_t *)(x + 2) > hi || ((uintptr_t)x & 3))
		return AGENT_CFI_FALLBACK;
	if (x[0] & 0x80000000u) {
		/* Compact model in .ARM.extab: index 0 (3 bytes), 1 or 2 (a count, 2 bytes, more words). */
		unsigned idx = (x[0] >> 24) & 0x0f;

		if ((x[0] >> 28) != 8 || idx > 2)
			return AGENT_CFI_FALLBACK;
		more = idx ? byte_of(x[0], 1) : 0;
		first = idx ? 2 : 1;
		for (unsigned k = first; k < 4; k++)
			ops[n++] = byte_of(x[0], k);
		x += 1;
	} else {
		/* Generic model: a personality routine, then GNU's layout of the
		 * opcodes (the one libgcc's personality routines read): a count of
		 * further words and three opcodes, then those words. */
		more = byte_of(x[1], 0);
		for (unsigned k = 1; k < 4; k++)
			ops[n++] = byte_of(x[1], k);
		x += 2;
	}
	if ((const uint8_t *)(x + more) > hi)
		return AGENT_CFI_FALLBACK;
	for (unsigned j = 0; j < more; j++)
		for (unsigned k = 0; k < 4; k++)
			ops[n++] = byte_of(x[j], k);
	return agent_exidx_rule(ops, n);
}

int agent_exidx_compile(uintptr_t base, uintptr_t end, uintptr_t bias, struct agent_cfi_table *t)
{
	const ElfW(Phdr) *ph, *ix = NULL;
	const uint8_t *lo = NULL, *hi = NULL;
	const uint32_t *e;
	struct agent_cfi_row *rows;
	uint32_t n, nrows = 0, fallback = 0;
	uintptr_t last = 0;
	size_t size;
	int phnum;

	ph = agent_cfi_phdrs(base, end, &phnum);
	if (!ph)
		goto inval;
	for (int i = 0; i < phnum; i++)
		if (ph[i].p_type == PT_ARM_EXIDX)
			ix = &ph[i];
	if (!ix)
		goto inval;
	for (int i = 0; i < phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr <= ix->p_vaddr &&
		    ix->p_vaddr + ix->p_memsz <= ph[i].p_vaddr + ph[i].p_filesz) {
			lo = (const uint8_t *)(bias + ph[i].p_vaddr);
			hi = lo + ph[i].p_filesz;
		}
	if (!lo || ix->p_memsz % 8 || !ix->p_memsz)
		goto inval;
	e = (const uint32_t *)(bias + ix->p_vaddr);
	n = (uint32_t)(ix->p_memsz / 8);
	size = ((size_t)n + 1) * sizeof(*rows);
	rows = agent_map(size, AGENT_MEM_UNWIND);
	if (!rows)
		return -1;
	/* Code before the first entry (the loader's start code) has none: libgcc's
	 * walk ends there without reporting the frame, as at EXIDX_CANTUNWIND. */
	rows[nrows++] = (struct agent_cfi_row){ 0, AGENT_CFI_END_HIDDEN };
	for (uint32_t i = 0; i < n; i++) {
		uintptr_t fn = prel31(&e[2 * i]) & ~(uintptr_t)1;
		uint32_t rule;

		/* Sorted by the linker; an entry out of order or outside the module is left out. */
		if (fn < base || fn >= end || (last && fn <= last))
			continue;
		rule = entry_rule(&e[2 * i + 1], e[2 * i + 1], lo, hi);
		fallback += rule == AGENT_CFI_FALLBACK;
		last = fn;
		if (rows[nrows - 1].rule == rule)
			continue;
		if (rows[nrows - 1].off == fn - base)
			nrows--;	/* an entry at the module's start replaces the row before it */
		rows[nrows++] = (struct agent_cfi_row){ (uint32_t)(fn - base), rule };
	}
	t->base = base;
	t->end = end;
	t->rows = agent_cfi_rows_trim(rows, &size, nrows);
	t->nrows = nrows;
	t->map_size = size;
	t->fdes = n;
	t->fallback_fdes = fallback;
	return 0;
inval:
	errno = EINVAL;
	return -1;
}

#endif
