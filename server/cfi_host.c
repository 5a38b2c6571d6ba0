/*
 * A host file's call frame information to the agent's compact rows
 * (cfi_host.h). libdw interprets the CFA programs; this file only finds
 * the FDEs (dwarf_next_cfi over the raw sections, their initial location
 * and range decoded here, as libdw keeps them to itself), asks libdw for
 * the state at each address where an FDE's rule changes, and turns each
 * state into the rule agent/cfi_compile.c's rule_of() gives for it.
 *
 * What libdw 0.188 gives for each kind of rule (found by experiment, and
 * what rule_of below relies on):
 *   CFA = reg + off         dwarf_frame_cfa: one DW_OP_bregx, number the
 *                           register, number2 the offset (signed, as a
 *                           64-bit word); never DW_OP_bregN, which only an
 *                           expression (DW_CFA_def_cfa_expression) gives
 *   CFA expression          its own operations
 *   register at CFA + off   dwarf_frame_register: DW_OP_call_frame_cfa, then
 *                           DW_OP_plus_uconst with off as a 64-bit word
 *                           (negative offsets wrap) unless off is 0
 *   value CFA + off         the same with DW_OP_stack_value after it
 *   undefined               no operations, *ops the caller's array
 *   same value              no operations, *ops NULL
 *   in another register     DW_OP_regx
 *   expression              DW_OP_call_frame_cfa, then the expression's
 *   never mentioned         what the ABI's defaults say (libebl's abi_cfi,
 *                           run before the CIE): "same value" for the frame
 *                           pointer and return address of x86_64, aarch64
 *                           and ARM, as the agent assumes; a register the
 *                           ABI calls call-clobbered reads as undefined.
 *                           A machine without ABI defaults (MIPS before
 *                           elfutils 0.190) fails every lookup.
 * libdw runs an FDE's program from its start for every lookup, so the cost
 * of an FDE grows with rows times program length: bounded below.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../agent/cfi.h"
#include "cfi_host.h"
#include "util.h"

/*
 * CFA program bytes libdw may run for one module: each lookup runs its
 * FDE's program up to the address, so a module costs the sum over FDEs of
 * rows x program length. Measured (with LOOKUP_COST below): Debian 12's
 * libc 3.1 million, gdb 18 million, libLLVM-15 (117 MB, a million rows)
 * 121 million in 0.17 s. Past this, some seconds of work, the module is
 * refused rather than a decode thread held for minutes by a hostile file.
 */
#define MAX_WORK (1ull << 31)
/* What one lookup costs beyond its program (finding the FDE, copying the state), in the same units. */
#define LOOKUP_COST 64

/* The sources: .eh_frame first, so that a .debug_frame FDE at the same address comes later and wins. */
enum { SRC_EH, SRC_DEBUG, NSRC };

static const char *const src_name[NSRC] = { ".eh_frame", ".debug_frame" };

/* One FDE taken: its code [lo, hi), where it is, and a bound of its program's length. */
struct fde {
	uint64_t lo, hi;
	uint64_t off;	/* in its section: the tie-break that keeps the sort stable */
	uint32_t len;	/* the FDE's bytes: at least its program's */
	uint8_t src;
};

/* An address range of executable code. */
struct range {
	uint64_t lo, hi;
};

struct build {
	const struct srv_cfi_target *t;
	Elf *elf;
	int msb;		/* the file's byte order is big-endian */
	Dwarf *dw;		/* for .debug_frame (its CFI is owned by it) */
	Dwarf_CFI *cfi[NSRC];
	Elf_Data *data[NSRC];
	uint64_t sec_addr[NSRC]; /* the section's address: pcrel pointers are relative to it */
	struct range *code;	/* executable ranges, sorted, merged */
	size_t ncode;
	struct fde *fdes;
	size_t nfdes, capfdes;
	uint32_t per_src[NSRC];	/* FDEs compiled from each */
	struct srv_cfi_row *rows;
	uint32_t n, cap;
	uint64_t work;
	uint32_t fdes_done, fallback, failed_first;
	char dwerr[128];	/* libdw's last complaint, for an error that needs it */
	char *err;
	size_t errlen;
};

static int fail(struct build *b, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Set errno to E and the reason into the caller's buffer; -1. */
static int fail(struct build *b, int e, const char *fmt, ...)
{
	va_list ap;

	if (b->errlen) {
		va_start(ap, fmt);
		vsnprintf(b->err, b->errlen, fmt, ap);
		va_end(ap);
	}
	errno = e;
	return -1;
}

/* ---------------------------------------------------------------- rows */

/*
 * Append the row (ADDR, RULE), merged as agent/cfi_compile.c's emit()
 * merges: a later row at the same address (or an FDE starting inside the
 * previous one) wins, and a rule equal to the previous row's adds nothing.
 * ADDR fits 32 bits (every FDE taken lies in code below 4 GiB). 0 or -1.
 */
static int emit(struct build *b, uint64_t addr, uint32_t rule)
{
	uint32_t a = (uint32_t)addr;

	while (b->n && b->rows[b->n - 1].vaddr >= a)
		b->n--;
	if (b->n && b->rows[b->n - 1].rule == rule)
		return 0;
	if (b->n == b->cap) {
		uint32_t cap = b->cap ? b->cap * 2 : 1024;
		struct srv_cfi_row *r;

		if (b->n >= SRV_CFI_MAX_ROWS)
			return fail(b, E2BIG, "more than %u unwind rows: refused (memory)", SRV_CFI_MAX_ROWS);
		if (cap > SRV_CFI_MAX_ROWS)
			cap = SRV_CFI_MAX_ROWS;
		r = realloc(b->rows, (size_t)cap * sizeof(*r));
		if (!r)
			return fail(b, ENOMEM, "out of memory for %u unwind rows", cap);
		b->rows = r;
		b->cap = cap;
	}
	b->rows[b->n++] = (struct srv_cfi_row){ a, rule };
	return 0;
}

/* ---------------------------------------------------------------- rules */

/* How a followed register is recovered (cfi_compile.c's R_*). */
enum how { SAME, OFFSET, UNDEF, OTHER };

/* REG's rule in FR: its kind, and for OFFSET the offset from the CFA. */
static enum how reg_how(Dwarf_Frame *fr, unsigned reg, int64_t *off)
{
	Dwarf_Op mem[3], *ops;
	size_t n;

	if (dwarf_frame_register(fr, (int)reg, mem, &ops, &n) < 0)
		return OTHER;
	if (n == 0)
		return ops ? UNDEF : SAME;
	if (ops[0].atom != DW_OP_call_frame_cfa)
		return OTHER;	/* DW_OP_regx (in another register), or an expression */
	if (n == 1) {
		*off = 0;
		return OFFSET;
	}
	/* libdw 0.188 writes CFA + off with DW_OP_plus_uconst, off wrapped as a
	 * 64-bit word; DW_OP_consts/constu, DW_OP_plus is taken too, in case a
	 * later libdw writes negative offsets so. */
	if (n == 2 && ops[1].atom == DW_OP_plus_uconst) {
		*off = (int64_t)ops[1].number;
		return OFFSET;
	}
	if (n == 3 && (ops[1].atom == DW_OP_consts || ops[1].atom == DW_OP_constu) && ops[2].atom == DW_OP_plus) {
		*off = (int64_t)ops[1].number;
		return OFFSET;
	}
	return OTHER;	/* a value (DW_OP_stack_value), or an expression */
}

/* The slot of a register saved OFF bytes from a CFA of CFA_OFF bytes, as cfi_compile.c's slot_of(). */
static int slot_of(int64_t off, int64_t cfa_off, int64_t word, int8_t *slot)
{
	if (off % word || off == 0)
		return -1;
	return agent_cfi_slot_encode(off / word, (uint32_t)(cfa_off / word), slot);
}

/*
 * The rule of state FR (whose CIE names RA_COL the return address, SIGNAL
 * when it is a signal frame): what cfi_compile.c's rule_of() gives for the
 * same state, test by test in its order.
 */
static uint32_t rule_of(const struct srv_cfi_target *t, Dwarf_Frame *fr, int ra_col, bool signal)
{
	const int64_t word = t->word;
	Dwarf_Op *ops;
	size_t nops;
	unsigned cfa_reg;
	int64_t cfa_off, ra_off = 0, fp_off = 0;
	enum how ra, fp;
	uint32_t kind;
	int8_t fslot = 0, rslot = 0;

	/* The agent's "unusable" CIE: a signal frame, or the return address in another column. */
	if (signal || ra_col < 0 || (unsigned)ra_col != t->ra)
		return AGENT_CFI_FALLBACK;
	if (dwarf_frame_cfa(fr, &ops, &nops) < 0)
		return AGENT_CFI_FALLBACK;	/* libdw's invalid CFA (an offset change of an expression) */
	if (nops == 0) {
		/* No CFA rule anywhere: the agent's start state is the stack pointer + 0. */
		cfa_reg = t->sp;
		cfa_off = 0;
	} else if (nops == 1 && ops[0].atom == DW_OP_bregx) {
		cfa_reg = (unsigned)ops[0].number;
		cfa_off = (int64_t)ops[0].number2;
	} else {
		return AGENT_CFI_FALLBACK;	/* an expression (a lone DW_OP_bregN is one too) */
	}
	ra = reg_how(fr, t->ra, &ra_off);
	if (ra == UNDEF)
		return AGENT_CFI_RULE(AGENT_CFI_END, 0, 0, 0);
	if (cfa_reg == t->sp)
		kind = AGENT_CFI_CFA_SP;
	else if (cfa_reg == t->fp)
		kind = AGENT_CFI_CFA_FP;
	else
		return AGENT_CFI_FALLBACK;
	if (cfa_off < 0 || cfa_off % word || cfa_off / word > 0x3fff)
		return AGENT_CFI_FALLBACK;
	if (ra == OFFSET) {
		if (slot_of(ra_off, cfa_off, word, &rslot) < 0)
			return AGENT_CFI_FALLBACK;
	} else if (ra != SAME || !t->ra_in_reg) {
		return AGENT_CFI_FALLBACK;
	}
	fp = reg_how(fr, t->fp, &fp_off);
	if (fp == OFFSET) {
		if (slot_of(fp_off, cfa_off, word, &fslot) < 0)
			return AGENT_CFI_FALLBACK;
	} else if (fp != SAME) {
		return AGENT_CFI_FALLBACK;
	}
	return AGENT_CFI_RULE(kind, (uint32_t)(cfa_off / word), fslot, rslot);
}

/* ---------------------------------------------------------------- one FDE's rows */

/*
 * The rows of FDE F: libdw's state at LO, then at the end of each state's
 * range, up to HI. 1 when a row fell back, 0 when none did, -1 on an error
 * that ends the module (rows, work).
 */
static int fde_rows(struct build *b, const struct fde *f)
{
	uint64_t addr = f->lo;
	int fell = 0, bad = 0;

	while (addr < f->hi) {
		Dwarf_Frame *fr;
		Dwarf_Addr start, end;
		bool signal;
		uint32_t rule;
		int ra_col;

		b->work += (uint64_t)f->len + LOOKUP_COST;
		if (b->work > MAX_WORK)
			return fail(b, E2BIG,
				    "its CFA programs are too long and too many to compile (more than %llu bytes run)",
				    (unsigned long long)MAX_WORK);
		if (dwarf_cfi_addrframe(b->cfi[f->src], addr, &fr) < 0) {
			snprintf(b->dwerr, sizeof(b->dwerr), "%s", dwarf_errmsg(-1));
			if (addr == f->lo)
				b->failed_first++;
			bad = 1;
			break;
		}
		ra_col = dwarf_frame_info(fr, &start, &end, &signal);
		/* Another FDE answered (they overlap), or libdw's range makes no progress: not this FDE's state. */
		if (ra_col < 0 || start > addr || end <= addr || start < f->lo || end > f->hi) {
			free(fr);
			bad = 1;
			break;
		}
		rule = rule_of(b->t, fr, ra_col, signal);
		free(fr);
		if (rule == AGENT_CFI_FALLBACK)
			fell = 1;
		if (emit(b, addr, rule) < 0)
			return -1;
		addr = end;
	}
	/* A program libdw cannot run: the whole function falls back, as the agent makes one it cannot parse. */
	if (bad) {
		fell = 1;
		if (emit(b, f->lo, AGENT_CFI_FALLBACK) < 0)
			return -1;
	}
	/* Code between functions has no rule. */
	if (emit(b, f->hi, AGENT_CFI_FALLBACK) < 0)
		return -1;
	return fell;
}

/* ---------------------------------------------------------------- the file's code */

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int add_range(struct build *b, size_t *cap, uint64_t lo, uint64_t size)
{
	if (!size)
		return 0;
	if (size > UINT64_MAX - lo || lo + size > UINT32_MAX)
		return fail(b, EOVERFLOW, "its code lies above 4 GiB (at %#llx), past what unwind rows can say",
			    (unsigned long long)lo);
	if (b->ncode == *cap) {
		size_t n = *cap ? *cap * 2 : 16;
		struct range *r = realloc(b->code, n * sizeof(*r));

		if (!r)
			return fail(b, ENOMEM, "out of memory");
		b->code = r;
		*cap = n;
	}
	b->code[b->ncode++] = (struct range){ lo, lo + size };
	return 0;
}

/*
 * The file's executable code: its SHF_EXECINSTR sections (a separate debug
 * file keeps them, as SHT_NOBITS, at their addresses). Sorted, touching
 * ranges merged. A file without section headers has none, nor the CFI
 * sections this reads.
 */
static int find_code(struct build *b)
{
	Elf_Scn *scn = NULL;
	size_t cap = 0, k = 0;

	while ((scn = elf_nextscn(b->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if ((sh.sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) == (SHF_ALLOC | SHF_EXECINSTR) &&
		    add_range(b, &cap, sh.sh_addr, sh.sh_size) < 0)
			return -1;
	}
	if (!b->ncode)
		return 0;
	qsort(b->code, b->ncode, sizeof(*b->code), range_cmp);
	for (size_t i = 1; i < b->ncode; i++) {
		if (b->code[i].lo <= b->code[k].hi) {
			if (b->code[i].hi > b->code[k].hi)
				b->code[k].hi = b->code[i].hi;
		} else {
			b->code[++k] = b->code[i];
		}
	}
	b->ncode = k + 1;
	return 0;
}

/* 1 when [LO, HI) lies inside one range of code. */
static int in_code(const struct build *b, uint64_t lo, uint64_t hi)
{
	size_t l = 0, n = b->ncode;

	/* The last range starting at or below LO. */
	while (n > 0) {
		size_t half = n / 2;

		if (b->code[l + half].lo <= lo) {
			l += half + 1;
			n -= half + 1;
		} else {
			n = half;
		}
	}
	return l > 0 && hi <= b->code[l - 1].hi && lo < b->code[l - 1].hi;
}

/* ---------------------------------------------------------------- FDEs */

/* Read N (1-8) bytes at *P (before END) in the file's byte order. 0 or -1. */
static int read_n(const struct build *b, const uint8_t **p, const uint8_t *end, unsigned n, uint64_t *v)
{
	if ((size_t)(end - *p) < n)
		return -1;
	*v = 0;
	for (unsigned i = 0; i < n; i++)
		*v |= (uint64_t)(*p)[b->msb ? n - 1 - i : i] << (8 * i);
	*p += n;
	return 0;
}

static int read_leb(const uint8_t **p, const uint8_t *end, int is_signed, uint64_t *v)
{
	unsigned shift = 0;
	uint8_t byte;

	*v = 0;
	do {
		if (*p >= end)
			return -1;
		byte = *(*p)++;
		if (shift < 64)
			*v |= (uint64_t)(byte & 0x7f) << shift;
		shift += 7;
	} while (byte & 0x80);
	if (is_signed && shift < 64 && (byte & 0x40))
		*v |= ~(uint64_t)0 << shift;
	return 0;
}

/*
 * A pointer in DW_EH_PE encoding ENC at *P: its format (the low four bits)
 * and, when APPLY, its application: absolute, or pc-relative (the field's
 * own address, the section's address plus its offset). Textrel, datarel,
 * funcrel and aligned pointers are not resolved, as the agent resolves none
 * for an FDE. 0 or -1.
 */
static int read_encoded(const struct build *b, int src, const uint8_t **p, const uint8_t *end, uint8_t enc,
			int apply, uint64_t *v)
{
	uint64_t at = b->sec_addr[src] + (uint64_t)(*p - (const uint8_t *)b->data[src]->d_buf);
	int ret;

	switch (enc & 0x0f) {
	case DW_EH_PE_absptr: ret = read_n(b, p, end, b->t->word, v); break;
	case DW_EH_PE_uleb128: ret = read_leb(p, end, 0, v); break;
	case DW_EH_PE_udata2: ret = read_n(b, p, end, 2, v); break;
	case DW_EH_PE_udata4: ret = read_n(b, p, end, 4, v); break;
	case DW_EH_PE_udata8: ret = read_n(b, p, end, 8, v); break;
	case DW_EH_PE_sleb128: ret = read_leb(p, end, 1, v); break;
	case DW_EH_PE_sdata2:
		ret = read_n(b, p, end, 2, v);
		*v = (uint64_t)(int64_t)(int16_t)*v;
		break;
	case DW_EH_PE_sdata4:
		ret = read_n(b, p, end, 4, v);
		*v = (uint64_t)(int64_t)(int32_t)*v;
		break;
	case DW_EH_PE_sdata8: ret = read_n(b, p, end, 8, v); break;
	default: return -1;
	}
	if (ret < 0)
		return -1;
	if (apply) {
		switch (enc & 0x70) {
		case DW_EH_PE_absptr: break;
		case DW_EH_PE_pcrel: *v += at; break;
		default: return -1;
		}
	}
	/* Addresses wrap at the file's word. */
	if (b->t->word == 4)
		*v &= 0xffffffffu;
	return 0;
}

/* A CIE as the FDEs need it: how their initial location is encoded. */
struct cie_info {
	uint64_t off;
	int ok;		/* 0: its FDEs cannot be read (augmentation not understood) */
	uint8_t enc;
};

/*
 * The FDE pointer encoding of CIE (its 'R' augmentation; absolute words
 * without one, as in .debug_frame). 0, or -1 when the augmentation cannot be
 * read past (letters with data but no 'z' to size them).
 */
static int cie_encoding(const struct build *b, int src, const Dwarf_CIE *cie, uint8_t *enc)
{
	const char *a = cie->augmentation;
	const uint8_t *d = cie->augmentation_data, *end = d + cie->augmentation_data_size;
	uint64_t skip;

	*enc = DW_EH_PE_absptr;
	if (!a || !a[0])
		return 0;
	/* Without 'z' there is no augmentation data: only letters that need none
	 * can be read past ("S": GAS writes .cfi_signal_frame so into .debug_frame). */
	if (a[0] != 'z')
		return strspn(a, "SBG") == strlen(a) ? 0 : -1;
	if (!d)
		return -1;
	for (a++; *a; a++) {
		switch (*a) {
		case 'R':
			if (d >= end)
				return -1;
			*enc = *d++;
			break;
		case 'L':
			if (d >= end)
				return -1;
			d++;
			break;
		case 'P':
			if (d >= end)
				return -1;
			skip = *d++;
			if (read_encoded(b, src, &d, end, (uint8_t)skip & 0x7f, 0, &skip) < 0)
				return -1;
			break;
		case 'S':
		case 'B':
		case 'G':
			break;
		default:
			/* Unknown: 'z' sizes the rest, and 'R' comes first in practice (the agent stops here too). */
			return 0;
		}
	}
	return 0;
}

static int fde_cmp(const void *a, const void *b)
{
	const struct fde *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Every FDE of source SRC whose code lies in the file's code, into B's list. 0 or -1. */
static int collect_fdes(struct build *b, int src)
{
	const unsigned char *ident = (const unsigned char *)elf_getident(b->elf, NULL);
	Elf_Data *data = b->data[src];
	struct cie_info cie = { .off = (uint64_t)-1 };
	Dwarf_Off off = 0, next;
	Dwarf_CFI_Entry e;
	int rc;

	while (off < data->d_size) {
		const uint8_t *p, *end;
		uint64_t lo, range;
		Dwarf_Off here = off;

		rc = dwarf_next_cfi(ident, data, src == SRC_EH, off, &next, &e);
		if (rc == 1)
			break;
		if (rc < 0) {
			/* Some entries can be stepped over; anything else ends the section. */
			if (next == (Dwarf_Off)-1 || next <= off)
				break;
			off = next;
			continue;
		}
		if (next <= off)
			break;	/* no progress: a malformed length */
		off = next;
		if (dwarf_cfi_cie_p(&e))
			continue;
		if (e.fde.CIE_pointer != cie.off) {
			Dwarf_Off cnext;
			Dwarf_CFI_Entry ce;

			cie.off = e.fde.CIE_pointer;
			cie.ok = dwarf_next_cfi(ident, data, src == SRC_EH, e.fde.CIE_pointer, &cnext, &ce) == 0 &&
				 dwarf_cfi_cie_p(&ce) && cie_encoding(b, src, &ce.cie, &cie.enc) == 0;
		}
		if (!cie.ok)
			continue;
		p = e.fde.start;
		end = e.fde.end;
		if (read_encoded(b, src, &p, end, cie.enc, 1, &lo) < 0 ||
		    read_encoded(b, src, &p, end, cie.enc & 0x0f, 0, &range) < 0)
			continue;
		if (range > UINT64_MAX - lo || !in_code(b, lo, lo + range))
			continue;	/* a discarded function (at 0), or none of this file's code */
		if (b->nfdes == SRV_CFI_MAX_FDES)
			return fail(b, E2BIG, "more than %u FDEs: refused (memory)", SRV_CFI_MAX_FDES);
		if (b->nfdes == b->capfdes) {
			size_t n = b->capfdes ? b->capfdes * 2 : 256;
			struct fde *f;

			if (n > SRV_CFI_MAX_FDES)
				n = SRV_CFI_MAX_FDES;
			f = realloc(b->fdes, n * sizeof(*f));
			if (!f)
				return fail(b, ENOMEM, "out of memory for %zu FDEs", n);
			b->fdes = f;
			b->capfdes = n;
		}
		b->fdes[b->nfdes++] = (struct fde){
			.lo = lo,
			.hi = lo + range,
			.off = here,
			.len = (uint32_t)(e.fde.end - e.fde.start),
			.src = (uint8_t)src,
		};
	}
	return 0;
}

/* ---------------------------------------------------------------- the sources */

/* The section named NAME (or ZNAME, the old GNU-compressed name) with contents, and its header; NULL if none. */
static Elf_Scn *find_section(Elf *elf, const char *name, const char *zname, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, sh) || sh->sh_type == SHT_NOBITS || !sh->sh_size)
			continue;
		n = elf_strptr(elf, shstrndx, sh->sh_name);
		if (n && (!strcmp(n, name) || (zname && !strcmp(n, zname))))
			return scn;
	}
	return NULL;
}

/*
 * The section's data, decompressed when it is compressed (SHF_COMPRESSED,
 * or the old GNU ".zdebug" form when GNU_Z): libdw decompresses the DWARF
 * sections it opens in place, this is for one it did not. NULL when it
 * cannot be read.
 */
static Elf_Data *section_data(Elf_Scn *scn, int gnu_z)
{
	GElf_Shdr sh;
	Elf_Data *d;

	if (!gelf_getshdr(scn, &sh))
		return NULL;
	if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
		return NULL;
	d = elf_getdata(scn, NULL);
	if (gnu_z && d && d->d_buf && d->d_size >= 12 && !memcmp(d->d_buf, "ZLIB", 4)) {
		if (elf_compress_gnu(scn, 0, 0) < 0)
			return NULL;
		d = elf_getdata(scn, NULL);
	}
	return d && d->d_buf && d->d_size ? d : NULL;
}

/*
 * Open source SRC when the file has its section with contents: B->cfi[SRC]
 * and B->data[SRC] set, or left NULL with the reason in WHY when libdw or
 * libelf cannot read it (absent: WHY stays empty).
 */
static void open_source(struct build *b, int src, char *why, size_t whylen)
{
	GElf_Shdr sh;
	Elf_Scn *scn;
	int gnu_z = 0;

	if (src == SRC_DEBUG) {
		scn = find_section(b->elf, ".debug_frame", ".zdebug_frame", &sh);
		if (!scn)
			return;
		if (!(sh.sh_flags & SHF_COMPRESSED)) {
			size_t shstrndx;
			const char *n;

			gnu_z = elf_getshdrstrndx(b->elf, &shstrndx) == 0 &&
				(n = elf_strptr(b->elf, shstrndx, sh.sh_name)) && !strcmp(n, ".zdebug_frame");
		}
		/* Its CFI belongs to the Dwarf handle (dwarf_end frees it). */
		b->dw = dwarf_begin_elf(b->elf, DWARF_C_READ, NULL);
		b->cfi[src] = b->dw ? dwarf_getcfi(b->dw) : NULL;
	} else {
		/* Any type with contents: lld writes x86_64's as SHT_X86_64_UNWIND. */
		scn = find_section(b->elf, ".eh_frame", NULL, &sh);
		if (!scn)
			return;
		b->cfi[src] = dwarf_getcfi_elf(b->elf);
	}
	if (!b->cfi[src]) {
		snprintf(why, whylen, "%s: libdw cannot read it: %s", src_name[src], dwarf_errmsg(-1));
		return;
	}
	b->data[src] = section_data(scn, gnu_z);
	if (!b->data[src]) {
		snprintf(why, whylen, "%s: libelf cannot read it: %s", src_name[src], elf_errmsg(-1));
		if (src == SRC_EH)
			dwarf_cfi_end(b->cfi[src]);
		b->cfi[src] = NULL;
		return;
	}
	b->sec_addr[src] = sh.sh_addr;
}

static void build_end(struct build *b)
{
	if (b->cfi[SRC_EH])
		dwarf_cfi_end(b->cfi[SRC_EH]);
	if (b->dw)
		dwarf_end(b->dw);	/* frees .debug_frame's CFI too */
	free(b->code);
	free(b->fdes);
	free(b->rows);
}

int srv_cfi_compile(Elf *elf, const struct srv_cfi_target *t, struct srv_cfi_rows *out, char *err,
		    size_t errlen)
{
	struct build b = { .t = t, .elf = elf, .err = err, .errlen = errlen };
	const unsigned char *ident;
	char why[2][160] = { "", "" };
	size_t identlen;
	unsigned bits;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (errlen)
		err[0] = '\0';
	if (!t || (t->word != 4 && t->word != 8) || t->sp > SRV_CFI_MAX_REG || t->fp > SRV_CFI_MAX_REG ||
	    t->ra > SRV_CFI_MAX_REG)
		return fail(&b, EINVAL, "not a valid target (word 4 or 8, registers 0 to %d)", SRV_CFI_MAX_REG);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !(ident = (const unsigned char *)elf_getident(elf, &identlen)) ||
	    identlen < EI_NIDENT)
		return fail(&b, EINVAL, "not an ELF file");
	bits = ident[EI_CLASS] == ELFCLASS64 ? 64 : ident[EI_CLASS] == ELFCLASS32 ? 32 : 0;
	if (bits != 8 * t->word)
		return fail(&b, EINVAL, "a %u-bit ELF file, and the device's words are %u bytes", bits, t->word);
	b.msb = ident[EI_DATA] == ELFDATA2MSB;
	if (find_code(&b) < 0)
		goto out;
	if (!b.ncode) {
		fail(&b, ENOENT, "no executable code in it (no section headers, or no code)");
		goto out;
	}
	for (int s = 0; s < NSRC; s++) {
		open_source(&b, s, why[s], sizeof(why[s]));
		if (b.cfi[s] && collect_fdes(&b, s) < 0)
			goto out;
	}
	if (!b.cfi[SRC_EH] && !b.cfi[SRC_DEBUG]) {
		if (why[SRC_DEBUG][0] || why[SRC_EH][0])
			fail(&b, ENOENT, "no usable .debug_frame or .eh_frame (%s%s%s)", why[SRC_DEBUG],
			     why[SRC_DEBUG][0] && why[SRC_EH][0] ? "; " : "", why[SRC_EH]);
		else
			fail(&b, ENOENT, "neither .debug_frame nor .eh_frame");
		goto out;
	}
	if (!b.nfdes) {
		fail(&b, ENOENT, "no FDE of its %s covers its code",
		     b.cfi[SRC_EH] && b.cfi[SRC_DEBUG] ? ".debug_frame or .eh_frame"
		     : b.cfi[SRC_EH]		       ? ".eh_frame"
						       : ".debug_frame");
		goto out;
	}
	qsort(b.fdes, b.nfdes, sizeof(*b.fdes), fde_cmp);
	for (size_t i = 0; i < b.nfdes; i++) {
		int r = fde_rows(&b, &b.fdes[i]);

		if (r < 0)
			goto out;
		b.fdes_done++;
		b.per_src[b.fdes[i].src]++;
		if (r > 0)
			b.fallback++;
	}
	if (b.failed_first == b.fdes_done) {
		GElf_Ehdr eh;

		fail(&b, ENOTSUP, "libdw cannot run its CFI (ELF machine %d): %s",
		     gelf_getehdr(elf, &eh) ? eh.e_machine : -1, b.dwerr);
		goto out;
	}
	out->rows = b.rows;
	out->n = b.n;
	out->fdes = b.fdes_done;
	out->fallback_fdes = b.fallback;
	out->sections = b.per_src[SRC_EH] && b.per_src[SRC_DEBUG] ? ".debug_frame and .eh_frame"
			: b.per_src[SRC_DEBUG]			  ? ".debug_frame"
								  : ".eh_frame";
	b.rows = NULL;
	ret = 0;
out:
	build_end(&b);
	return ret;
}

void srv_cfi_rows_clear(struct srv_cfi_rows *r)
{
	if (!r)
		return;
	free(r->rows);
	memset(r, 0, sizeof(*r));
}

/* ---------------------------------------------------------------- cache */

struct cache_entry {
	char *key;		/* "path\0build-id\0" then the target as text */
	size_t keylen;
	char *source;
	struct srv_cfi_rows rows;
	uint64_t used;		/* when last asked for: the oldest goes first */
};

struct srv_cfi_cache {
	struct cache_entry e[SRV_CFI_CACHE_ENTRIES];
	size_t n;
	size_t bytes;
	uint64_t clock;
};

struct srv_cfi_cache *srv_cfi_cache_new(void)
{
	return xcalloc(1, sizeof(struct srv_cfi_cache));
}

static void entry_drop(struct srv_cfi_cache *c, size_t i)
{
	c->bytes -= (size_t)c->e[i].rows.n * sizeof(struct srv_cfi_row);
	free(c->e[i].key);
	free(c->e[i].source);
	srv_cfi_rows_clear(&c->e[i].rows);
	c->e[i] = c->e[--c->n];
}

void srv_cfi_cache_free(struct srv_cfi_cache *c)
{
	if (!c)
		return;
	while (c->n)
		entry_drop(c, 0);
	free(c);
}

/* The cache key of (PATH, BUILD_ID, T) into a malloc'ed buffer; its length in *LEN. */
static char *cache_key(const char *path, const char *build_id, const struct srv_cfi_target *t, size_t *len)
{
	size_t pl = strlen(path), bl = strlen(build_id);
	char *k = xmalloc(pl + bl + 64);
	int n = snprintf(k + pl + bl + 2, 62, "%u %u %u %u %d", t->word, t->sp, t->fp, t->ra, !!t->ra_in_reg);

	memcpy(k, path, pl + 1);
	memcpy(k + pl + 1, build_id, bl + 1);
	*len = pl + bl + 2 + (size_t)n;
	return k;
}

const struct srv_cfi_rows *srv_cfi_cache_get(struct srv_cfi_cache *c, const char *path, const char *build_id,
					     const struct srv_cfi_target *t, const char **source)
{
	size_t len;
	char *k = cache_key(path, build_id, t, &len);

	for (size_t i = 0; i < c->n; i++) {
		if (c->e[i].keylen == len && !memcmp(c->e[i].key, k, len)) {
			free(k);
			c->e[i].used = ++c->clock;
			*source = c->e[i].source;
			return &c->e[i].rows;
		}
	}
	free(k);
	return NULL;
}

void srv_cfi_cache_put(struct srv_cfi_cache *c, const char *path, const char *build_id,
		       const struct srv_cfi_target *t, const char *source, struct srv_cfi_rows *rows)
{
	size_t bytes = (size_t)rows->n * sizeof(struct srv_cfi_row);
	struct cache_entry *e;

	if (bytes > SRV_CFI_CACHE_BYTES) {
		srv_cfi_rows_clear(rows);
		return;
	}
	/* Room: the oldest go until it fits. */
	while (c->n && (c->n == SRV_CFI_CACHE_ENTRIES || c->bytes + bytes > SRV_CFI_CACHE_BYTES)) {
		size_t old = 0;

		for (size_t i = 1; i < c->n; i++)
			if (c->e[i].used < c->e[old].used)
				old = i;
		entry_drop(c, old);
	}
	e = &c->e[c->n++];
	e->key = cache_key(path, build_id, t, &e->keylen);
	e->source = xstrdup(source);
	e->rows = *rows;
	e->used = ++c->clock;
	c->bytes += bytes;
	memset(rows, 0, sizeof(*rows));
}
