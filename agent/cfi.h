/*
 * Compact unwind rows compiled from a module's .eh_frame (the "tables"
 * unwinder, unwind_tables.c). Each row says, from its address to the next
 * row's, how to find the caller: CFA = SP or FP + offset, the return
 * address and the caller's frame pointer at fixed slots from the CFA (or
 * the return address still in the link register, on aarch64). What does
 * not fit (DWARF expressions, signal frames, registers saved in other
 * registers, code between functions) is a FALLBACK row: the walk hands
 * that stack to libunwind.
 */
#ifndef AGENT_CFI_H
#define AGENT_CFI_H

#include <link.h>
#include <stddef.h>
#include <stdint.h>

/* A row's kind, in the low two bits of its rule. */
enum {
	AGENT_CFI_FALLBACK = 0,	/* not expressible: libunwind walks this stack */
	AGENT_CFI_CFA_SP = 1,	/* CFA = stack pointer + offset */
	AGENT_CFI_CFA_FP = 2,	/* CFA = frame pointer + offset */
	AGENT_CFI_END = 3,	/* the return address is undefined: the outermost frame */
};

/*
 * A rule in 32 bits: kind (2 bits), CFA offset in words (14 bits, unsigned),
 * the caller's FP slot (signed 8 bits, below; 0: the FP is unchanged), the
 * return address's slot likewise (0: in the link register).
 */
#define AGENT_CFI_KIND(r) ((r) & 3u)
#define AGENT_CFI_CFA_WORDS(r) (((r) >> 2) & 0x3fffu)
#define AGENT_CFI_FP_SLOT(r) ((int8_t)((r) >> 16))
#define AGENT_CFI_RA_SLOT(r) ((int8_t)((r) >> 24))
#define AGENT_CFI_RULE(kind, cfa_words, fp_slot, ra_slot)                                     \
	((uint32_t)(kind) | (uint32_t)(cfa_words) << 2 | (uint32_t)(uint8_t)(fp_slot) << 16 | \
	 (uint32_t)(uint8_t)(ra_slot) << 24)

/*
 * A slot is a word offset from the CFA, -120 to 127, or from the frame's
 * bottom (the CFA less its offset) when in AGENT_CFI_SLOT_BOTTOM ..
 * AGENT_CFI_SLOT_BOTTOM + 7: aarch64 code saves x29/x30 at the bottom of a
 * frame too big for their usual place (GCC's stack-clash protection: a
 * 64 KiB frame puts the return address 8194 words below the CFA).
 */
#define AGENT_CFI_SLOT_BOTTOM (-128)
#define AGENT_CFI_SLOT_NEAR_MIN (-120)

/* Slot for a register saved WORDS words from the CFA of a rule of CFA_WORDS: 0, or -1 (cannot say). */
static inline int agent_cfi_slot_encode(int64_t words, uint32_t cfa_words, int8_t *slot)
{
	if (words >= AGENT_CFI_SLOT_NEAR_MIN && words <= 127 && words != 0) {
		*slot = (int8_t)words;
		return 0;
	}
	if (words + cfa_words >= 0 && words + cfa_words <= 7) {
		*slot = (int8_t)(AGENT_CFI_SLOT_BOTTOM + (int)(words + cfa_words));
		return 0;
	}
	return -1;
}

/* The words from the CFA that SLOT (not 0) of a rule of CFA_WORDS says. */
static inline intptr_t agent_cfi_slot_words(int8_t slot, uint32_t cfa_words)
{
	if (slot < AGENT_CFI_SLOT_NEAR_MIN)
		return (intptr_t)(slot - AGENT_CFI_SLOT_BOTTOM) - (intptr_t)cfa_words;
	return slot;
}

/* END with its CFA field 1: the stack ends before this frame, which is not
 * reported (32-bit ARM's EXIDX_CANTUNWIND, as libgcc's walk treats it). */
#define AGENT_CFI_END_HIDDEN AGENT_CFI_RULE(AGENT_CFI_END, 1, 0, 0)

/* One row: the rule from module offset OFF up to the next row's. */
struct agent_cfi_row {
	uint32_t off;
	uint32_t rule;
};

/* A module's rows, sorted by off, from agent_map (AGENT_MEM_UNWIND). */
struct agent_cfi_table {
	uintptr_t base;			/* offsets are from here (the module's start) */
	uintptr_t end;			/* the module's end */
	const struct agent_cfi_row *rows;
	uint32_t nrows;
	size_t map_size;		/* what was mapped for ROWS */
	uint32_t fdes;			/* FDEs compiled */
	uint32_t fallback_fdes;		/* FDEs with a FALLBACK row */
};

/*
 * The program headers of the module whose ELF header the loader mapped at
 * BASE, checked to lie inside [BASE, END): the first one, their count in
 * *N; NULL when BASE holds no ELF header of this machine's class.
 */
const ElfW(Phdr) *agent_cfi_phdrs(uintptr_t base, uintptr_t end, int *n);

/*
 * Compile the .eh_frame of the module mapped at [BASE, END) whose ELF
 * header is at BASE, with load bias BIAS, into T. Reads only the module's
 * memory (its program headers, PT_GNU_EH_FRAME and the PT_LOAD around it),
 * every read bounds-checked against that segment; no file, no lock, no
 * malloc: callable from an allocator hook. 0, or -1 (EINVAL: no usable
 * .eh_frame_hdr, or malformed; ENOMEM) with T untouched.
 */
int agent_cfi_compile(uintptr_t base, uintptr_t end, uintptr_t bias, struct agent_cfi_table *t);

/*
 * Rows compiled on the host (HOST, NHOST, keyed by link-time address,
 * sorted) merged into the module's own OWN (NULL: none) for the module at
 * [BASE, END) with load bias BIAS (cfi_merge.c): the host's rule wherever
 * the module's own is FALLBACK or a hidden end and the host's is not
 * FALLBACK, else the module's. OUT's
 * rows are a new mapping (AGENT_MEM_UNWIND); OWN is not changed. 0, or -1
 * with *WHY (static) and errno (EINVAL: a host row outside the module or
 * out of order; ENOMEM).
 */
int agent_cfi_merge(const struct agent_cfi_table *own, uintptr_t base, uintptr_t end, uintptr_t bias,
		    const struct agent_cfi_row *host, uint32_t nhost, struct agent_cfi_table *out,
		    const char **why);

/* Per mille of [TEXT_LO, TEXT_HI) (run-time addresses) that T's rows say (neither FALLBACK nor a hidden end). */
unsigned agent_cfi_coverage(const struct agent_cfi_table *t, uintptr_t text_lo, uintptr_t text_hi);

/* Give T's rows back. */
void agent_cfi_release(struct agent_cfi_table *t);

/* ROWS, mapped with *SIZE bytes, trimmed to N rows where that gives pages back (*SIZE updated). */
struct agent_cfi_row *agent_cfi_rows_trim(struct agent_cfi_row *rows, size_t *size, uint32_t n);

/*
 * 32-bit ARM (cfi_arch.h's AGENT_CFI_EXIDX): agent_cfi_compile reads the
 * module's .ARM.exidx instead (arch/arm/cfi_exidx.c), each function's
 * unwind opcodes made one rule by agent_exidx_rule (N opcode bytes at OPS).
 */
int agent_exidx_compile(uintptr_t base, uintptr_t end, uintptr_t bias, struct agent_cfi_table *t);
uint32_t agent_exidx_rule(const uint8_t *ops, size_t n);

/* The rule for module offset OFF (FALLBACK outside every row). */
static inline uint32_t agent_cfi_lookup(const struct agent_cfi_table *t, uint32_t off)
{
	const struct agent_cfi_row *r = t->rows;
	uint32_t lo = 0, n = t->nrows;

	if (!n || off < r[0].off)
		return AGENT_CFI_FALLBACK;
	/* The last row at or below OFF, branch-light. */
	while (n > 1) {
		uint32_t half = n / 2;

		lo = r[lo + half].off <= off ? lo + half : lo;
		n -= half;
	}
	return r[lo].rule;
}

#endif
