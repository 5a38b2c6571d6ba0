/*
 * .eh_frame to compact rows (cfi.h). The FDEs are taken in the order of
 * .eh_frame_hdr's binary-search table, which sorts them by address, and
 * each FDE's program runs once front to back (CIE's initial instructions
 * first), emitting a row at every advance: no re-execution per row, no
 * sort. Only the CFA, the frame pointer and the return address are
 * followed; a rule for any other register is skipped, since the walk
 * recovers only those three.
 *
 * Everything is read from the module's memory, bounded by the PT_LOAD
 * segment that holds PT_GNU_EH_FRAME (.eh_frame and .eh_frame_hdr sit in
 * it): malformed tables end the module's compilation, never read outside
 * that segment. Rows are written twice over: a first pass counts them,
 * the second fills one mapping of that size (no allocator, no lock).
 *
 * Encodings: Linux Standard Base Core, 10.5-10.6 (.eh_frame,
 * .eh_frame_hdr); CFA instructions: DWARF 5, 6.4.2.
 */
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>

#include "arena.h"
#include "cfi.h"
#include "cfi_arch.h"

#define WORD ((int64_t)sizeof(uintptr_t))
#define STATE_STACK 16

/* A reader over [p, end): a read past the end sets bad and yields 0. */
struct cur {
	const uint8_t *p, *end;
	int bad;
};

static uint64_t rd(struct cur *c, size_t n)
{
	uint64_t v = 0;

	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = 1;
		return 0;
	}
	/* Host order is the module's (the agent runs in it). */
	if (n == 1)
		v = *c->p;
	else if (n == 2) {
		uint16_t x;

		memcpy(&x, c->p, 2);
		v = x;
	} else if (n == 4) {
		uint32_t x;

		memcpy(&x, c->p, 4);
		v = x;
	} else {
		memcpy(&v, c->p, 8);
	}
	c->p += n;
	return v;
}

/* An LEB128 number, sign-extended when SIGNED. */
static uint64_t leb(struct cur *c, int is_signed)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b;

	do {
		b = (uint8_t)rd(c, 1);
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while ((b & 0x80) && !c->bad);
	if (is_signed && shift < 64 && (b & 0x40))
		v |= ~(uint64_t)0 << shift;
	return v;
}

static uint64_t uleb(struct cur *c)
{
	return leb(c, 0);
}

static int64_t sleb(struct cur *c)
{
	return (int64_t)leb(c, 1);
}

/* DW_EH_PE_* (LSB 10.5.1). */
#define PE_OMIT 0xff
#define PE_INDIRECT 0x80

/*
 * A pointer in encoding ENC, relative to DATAREL for datarel. Encodings
 * the agent cannot resolve (textrel, funcrel, aligned) mark C bad; an
 * indirect pointer is read but not followed (only personality routines use
 * it, and they are only skipped).
 */
static uintptr_t encoded(struct cur *c, uint8_t enc, uintptr_t datarel)
{
	const uint8_t *at = c->p;
	uint64_t v;

	if (enc == PE_OMIT)
		return 0;
	switch (enc & 0x0f) {
	case 0x00: v = rd(c, sizeof(uintptr_t)); break;
	case 0x01: v = uleb(c); break;
	case 0x02: v = rd(c, 2); break;
	case 0x03: v = rd(c, 4); break;
	case 0x04: v = rd(c, 8); break;
	case 0x09: v = (uint64_t)sleb(c); break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)rd(c, 2); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)rd(c, 4); break;
	case 0x0c: v = rd(c, 8); break;
	default: c->bad = 1; return 0;
	}
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: v += (uintptr_t)at; break;
	case 0x30: v += datarel; break;
	default: c->bad = 1; return 0;
	}
	return (uintptr_t)v;
}

struct cie {
	const uint8_t *at;		/* where it starts: the cache key */
	const uint8_t *insns, *insns_end;
	uint64_t code_align;
	int64_t data_align;
	uint8_t fde_enc;
	uint8_t has_z;
	uint8_t unusable;		/* 'S' (a signal frame), or RA in another column */
};

/* A CFI entry's length and the end of its contents; NULL when it runs out of SEG. */
static const uint8_t *entry_end(struct cur *c)
{
	uint64_t len = rd(c, 4);

	if (len == 0xffffffffu)
		len = rd(c, 8);
	if (c->bad || len > (uint64_t)(c->end - c->p))
		return NULL;
	return c->p + len;
}

static int cie_parse(const uint8_t *at, const uint8_t *seg_end, struct cie *cie)
{
	struct cur c = { at, seg_end, 0 };
	const uint8_t *end = entry_end(&c), *aug;
	unsigned version;

	if (!end)
		return -1;
	c.end = end;
	if (rd(&c, 4) != 0)	/* CIE id: 0 in .eh_frame */
		return -1;
	memset(cie, 0, sizeof(*cie));
	cie->at = at;
	version = (unsigned)rd(&c, 1);
	aug = c.p;
	while (rd(&c, 1) != 0 && !c.bad)
		;
	if (c.bad || (version != 1 && version != 3 && version != 4))
		return -1;
	if (version == 4) {	/* address and segment sizes */
		if (rd(&c, 1) != sizeof(uintptr_t) || rd(&c, 1) != 0)
			return -1;
	}
	cie->code_align = uleb(&c);
	cie->data_align = sleb(&c);
	if ((version == 1 ? rd(&c, 1) : uleb(&c)) != AGENT_CFI_REG_RA)
		cie->unusable = 1;
	if (aug[0] == 'z') {
		uint64_t len = uleb(&c);
		const uint8_t *aug_end = c.p + len;

		if (c.bad || len > (uint64_t)(c.end - c.p))
			return -1;
		cie->has_z = 1;
		for (const uint8_t *a = aug + 1; *a && !c.bad; a++) {
			if (*a == 'R')
				cie->fde_enc = (uint8_t)rd(&c, 1);
			else if (*a == 'P')
				encoded(&c, (uint8_t)rd(&c, 1) & (uint8_t)~PE_INDIRECT, 0);
			else if (*a == 'L')
				rd(&c, 1);
			else if (*a == 'S')
				cie->unusable = 1;
			else if (*a != 'B' && *a != 'G')
				break;	/* unknown: the length lets us skip the rest */
		}
		c.p = aug_end;
	} else if (aug[0]) {
		return -1;	/* an augmentation without 'z' cannot be skipped */
	}
	if (c.bad || cie->code_align == 0)
		return -1;
	cie->insns = c.p;
	cie->insns_end = end;
	return 0;
}

/* How a followed register is recovered. */
enum { R_SAME, R_OFFSET, R_UNDEF, R_OTHER };

struct reg_rule {
	uint8_t how;
	int64_t off;			/* R_OFFSET: saved at CFA + off */
};

struct cfa_state {
	unsigned cfa_reg;
	int64_t cfa_off;
	int cfa_expr;
	struct reg_rule fp, ra;
};

/* Where rows go: counted (rows NULL) or written, merged as they come. */
struct out {
	struct agent_cfi_row *rows;
	uint32_t n, cap;
	uint64_t raw;
	uint32_t fallback;
};

static void emit(struct out *o, uint32_t off, uint32_t rule)
{
	o->raw++;
	if (!o->rows)
		return;
	/* A later row at the same address (or an FDE starting inside the
	 * previous one) wins: the state after the instructions there. */
	while (o->n && o->rows[o->n - 1].off >= off)
		o->n--;
	if (o->n && o->rows[o->n - 1].rule == rule)
		return;
	if (o->n < o->cap)
		o->rows[o->n++] = (struct agent_cfi_row){ off, rule };
}

static int slot_of(int64_t off, int64_t cfa_off, int8_t *slot)
{
	if (off % WORD || off == 0)
		return -1;
	return agent_cfi_slot_encode(off / WORD, (uint32_t)(cfa_off / WORD), slot);
}

static uint32_t rule_of(const struct cfa_state *s, const struct cie *cie)
{
	uint32_t kind;
	int8_t fp = 0, ra = 0;

	if (cie->unusable || s->cfa_expr)
		return AGENT_CFI_FALLBACK;
	if (s->ra.how == R_UNDEF)
		return AGENT_CFI_RULE(AGENT_CFI_END, 0, 0, 0);
	if (s->cfa_reg == AGENT_CFI_REG_SP)
		kind = AGENT_CFI_CFA_SP;
	else if (s->cfa_reg == AGENT_CFI_REG_FP)
		kind = AGENT_CFI_CFA_FP;
	else
		return AGENT_CFI_FALLBACK;
	if (s->cfa_off < 0 || s->cfa_off % WORD || s->cfa_off / WORD > 0x3fff)
		return AGENT_CFI_FALLBACK;
	if (s->ra.how == R_OFFSET) {
		if (slot_of(s->ra.off, s->cfa_off, &ra) < 0)
			return AGENT_CFI_FALLBACK;
	} else if (s->ra.how != R_SAME || !AGENT_CFI_RA_IN_REG) {
		return AGENT_CFI_FALLBACK;
	}
	if (s->fp.how == R_OFFSET) {
		if (slot_of(s->fp.off, s->cfa_off, &fp) < 0)
			return AGENT_CFI_FALLBACK;
	} else if (s->fp.how != R_SAME) {
		return AGENT_CFI_FALLBACK;
	}
	return AGENT_CFI_RULE(kind, s->cfa_off / WORD, fp, ra);
}

/* One CFA program's run: the CIE's (FDE NULL: no rows) or an FDE's. */
struct run {
	const struct cie *cie;
	struct cfa_state st;
	const struct cfa_state *init;	/* the CIE's state, for DW_CFA_restore */
	uintptr_t loc, base;
	uintptr_t end;			/* the FDE's end: no row at or past it */
	struct out *out;		/* NULL while running the CIE */
	int bad;
	int fell;			/* a row fell back */
};

static struct reg_rule *followed(struct run *r, uint64_t reg)
{
	if (reg == AGENT_CFI_REG_FP)
		return &r->st.fp;
	if (reg == AGENT_CFI_REG_RA)
		return &r->st.ra;
	return NULL;
}

static void set_reg(struct run *r, uint64_t reg, uint8_t how, int64_t off)
{
	struct reg_rule *rr = followed(r, reg);

	if (rr) {
		rr->how = how;
		rr->off = off;
	}
}

static void restore_reg(struct run *r, uint64_t reg)
{
	struct reg_rule *rr = followed(r, reg);

	if (rr && r->init)
		*rr = reg == AGENT_CFI_REG_FP ? r->init->fp : r->init->ra;
	else if (rr)
		rr->how = R_SAME;
}

static void advance(struct run *r, uint64_t delta)
{
	if (r->out && r->loc < r->end) {
		uint32_t rule = rule_of(&r->st, r->cie);

		if (rule == AGENT_CFI_FALLBACK)
			r->fell = 1;
		emit(r->out, (uint32_t)(r->loc - r->base), rule);
	}
	r->loc += delta;
}

/* Skip a DWARF expression block; its register becomes "other". */
static void skip_block(struct cur *c)
{
	uint64_t len = uleb(c);

	if (len > (uint64_t)(c->end - c->p))
		c->bad = 1;
	else
		c->p += len;
}

static void execute(struct run *r, const uint8_t *p, const uint8_t *end)
{
	struct cfa_state stack[STATE_STACK];
	int depth = 0;
	struct cur c = { p, end, 0 };
	const struct cie *cie = r->cie;

	while (c.p < c.end && !c.bad) {
		uint8_t op = (uint8_t)rd(&c, 1);
		uint64_t reg, v;

		switch (op >> 6) {
		case 1: advance(r, (uint64_t)(op & 0x3f) * cie->code_align); continue;
		case 2: set_reg(r, op & 0x3f, R_OFFSET, (int64_t)uleb(&c) * cie->data_align); continue;
		case 3: restore_reg(r, op & 0x3f); continue;
		default: break;
		}
		switch (op) {
		case 0x00: break;					/* nop */
		case 0x01:						/* set_loc */
			v = encoded(&c, cie->fde_enc, 0);
			if (v < r->loc)
				c.bad = 1;
			else
				advance(r, v - r->loc);
			break;
		case 0x02: advance(r, rd(&c, 1) * cie->code_align); break;
		case 0x03: advance(r, rd(&c, 2) * cie->code_align); break;
		case 0x04: advance(r, rd(&c, 4) * cie->code_align); break;
		case 0x05:						/* offset_extended */
			reg = uleb(&c);
			set_reg(r, reg, R_OFFSET, (int64_t)uleb(&c) * cie->data_align);
			break;
		case 0x06: restore_reg(r, uleb(&c)); break;		/* restore_extended */
		case 0x07: set_reg(r, uleb(&c), R_UNDEF, 0); break;	/* undefined */
		case 0x08: set_reg(r, uleb(&c), R_SAME, 0); break;	/* same_value */
		case 0x09:						/* register */
			set_reg(r, uleb(&c), R_OTHER, 0);
			uleb(&c);
			break;
		case 0x0a:						/* remember_state */
			if (depth == STATE_STACK)
				c.bad = 1;
			else
				stack[depth++] = r->st;
			break;
		case 0x0b:						/* restore_state */
			/* The CFA too, as GCC's and libunwind's unwinders do:
			 * epilogues are described by remember, change, restore. */
			if (depth == 0)
				c.bad = 1;
			else
				r->st = stack[--depth];
			break;
		case 0x0c:						/* def_cfa */
			r->st.cfa_reg = (unsigned)uleb(&c);
			r->st.cfa_off = (int64_t)uleb(&c);
			r->st.cfa_expr = 0;
			break;
		case 0x0d: r->st.cfa_reg = (unsigned)uleb(&c); r->st.cfa_expr = 0; break;
		case 0x0e: r->st.cfa_off = (int64_t)uleb(&c); break;
		case 0x0f: skip_block(&c); r->st.cfa_expr = 1; break;	/* def_cfa_expression */
		case 0x10:						/* expression */
		case 0x16:						/* val_expression */
			set_reg(r, uleb(&c), R_OTHER, 0);
			skip_block(&c);
			break;
		case 0x11:						/* offset_extended_sf */
			reg = uleb(&c);
			set_reg(r, reg, R_OFFSET, sleb(&c) * cie->data_align);
			break;
		case 0x12:						/* def_cfa_sf */
			r->st.cfa_reg = (unsigned)uleb(&c);
			r->st.cfa_off = sleb(&c) * cie->data_align;
			r->st.cfa_expr = 0;
			break;
		case 0x13: r->st.cfa_off = sleb(&c) * cie->data_align; break;
		case 0x14:						/* val_offset */
		case 0x15:						/* val_offset_sf */
			reg = uleb(&c);
			if (op == 0x14)
				uleb(&c);
			else
				sleb(&c);
			set_reg(r, reg, R_OTHER, 0);
			break;
		case 0x2d: break;	/* aarch64 negate_ra_state: the walk strips the code */
		case 0x2e: uleb(&c); break;				/* GNU_args_size */
		case 0x2f:						/* GNU_negative_offset_extended */
			reg = uleb(&c);
			set_reg(r, reg, R_OFFSET, -(int64_t)uleb(&c) * cie->data_align);
			break;
		default: c.bad = 1; break;
		}
	}
	if (c.bad)
		r->bad = 1;
}

/* The CIE's initial state: the registers' rules at every function's entry. */
static int cie_initial(const struct cie *cie, struct cfa_state *st)
{
	struct run r = { .cie = cie };

	r.st.fp.how = R_SAME;
	r.st.ra.how = R_SAME;
	r.st.cfa_reg = AGENT_CFI_REG_SP;
	execute(&r, cie->insns, cie->insns_end);
	*st = r.st;
	return r.bad ? -1 : 0;
}

/* Where the module keeps its tables. */
struct module {
	uintptr_t base, end;
	const uint8_t *seg_lo, *seg_hi;	/* the PT_LOAD holding .eh_frame_hdr */
	const uint8_t *hdr;		/* .eh_frame_hdr: the base of its datarel pointers */
	const uint8_t *table;		/* its sorted (location, FDE) pairs */
	uint32_t count;
};

const ElfW(Phdr) *agent_cfi_phdrs(uintptr_t base, uintptr_t end, int *n)
{
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)base;

	if (end - base < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_phentsize != sizeof(ElfW(Phdr)) || eh->e_phoff > end - base ||
	    (uintptr_t)eh->e_phnum * sizeof(ElfW(Phdr)) > end - base - eh->e_phoff)
		return NULL;
	*n = eh->e_phnum;
	return (const ElfW(Phdr) *)(base + eh->e_phoff);
}

static int module_find(uintptr_t base, uintptr_t end, uintptr_t bias, struct module *m)
{
	const ElfW(Phdr) *ph, *hdr_ph = NULL;
	const uint8_t *hdr;
	struct cur c;
	uint8_t enc_ptr, enc_count, enc_table;
	int phnum;

	ph = agent_cfi_phdrs(base, end, &phnum);
	if (!ph)
		return -1;
	for (int i = 0; i < phnum; i++)
		if (ph[i].p_type == PT_GNU_EH_FRAME)
			hdr_ph = &ph[i];
	if (!hdr_ph)
		return -1;
	m->base = base;
	m->end = end;
	m->seg_lo = NULL;
	for (int i = 0; i < phnum; i++) {
		if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr <= hdr_ph->p_vaddr &&
		    hdr_ph->p_vaddr - ph[i].p_vaddr < ph[i].p_filesz) {
			m->seg_lo = (const uint8_t *)(bias + ph[i].p_vaddr);
			m->seg_hi = m->seg_lo + ph[i].p_filesz;
		}
	}
	if (!m->seg_lo)
		return -1;
	hdr = (const uint8_t *)(bias + hdr_ph->p_vaddr);
	c = (struct cur){ hdr, m->seg_hi, 0 };
	if (rd(&c, 1) != 1)
		return -1;
	enc_ptr = (uint8_t)rd(&c, 1);
	enc_count = (uint8_t)rd(&c, 1);
	enc_table = (uint8_t)rd(&c, 1);
	encoded(&c, enc_ptr, (uintptr_t)hdr);
	m->count = (uint32_t)encoded(&c, enc_count, (uintptr_t)hdr);
	/* Only the fixed-size table can be searched; it is what ld makes. */
	if (c.bad || enc_table != 0x3b || (uint64_t)m->count * 8 > (uint64_t)(m->seg_hi - c.p))
		return -1;
	m->hdr = hdr;
	m->table = c.p;
	return 0;
}

/*
 * One FDE's rows (the table's entry I): 0, 1 when some of them fall back,
 * -1 when it is malformed (skipped: its code has no rows).
 */
static int fde_compile(const struct module *m, uint32_t i, struct cie *cie, struct out *o)
{
	const uint8_t *hdr_entry = m->table + (size_t)i * 8;
	const uint8_t *fde, *end, *cie_at;
	struct cfa_state init;
	struct cur c;
	struct run r;
	int32_t rel;
	uintptr_t begin, range;

	memcpy(&rel, hdr_entry + 4, 4);
	fde = m->hdr + rel;	/* datarel */
	if (fde < m->seg_lo || fde >= m->seg_hi)
		return -1;
	c = (struct cur){ fde, m->seg_hi, 0 };
	end = entry_end(&c);
	if (!end)
		return -1;
	c.end = end;
	rel = (int32_t)rd(&c, 4);
	cie_at = c.p - 4 - (uint32_t)rel;
	if (c.bad || rel == 0 || cie_at < m->seg_lo || cie_at >= m->seg_hi)
		return -1;
	if (cie->at != cie_at && cie_parse(cie_at, m->seg_hi, cie) < 0) {
		cie->at = NULL;
		return -1;
	}
	begin = encoded(&c, cie->fde_enc, 0);
	range = encoded(&c, cie->fde_enc & 0x0f, 0);
	if (cie->has_z)
		skip_block(&c);
	if (c.bad || begin < m->base || begin >= m->end || range > m->end - begin ||
	    begin + range - m->base > UINT32_MAX)
		return -1;
	if (cie_initial(cie, &init) < 0)
		return -1;
	r = (struct run){ .cie = cie, .st = init, .init = &init, .loc = begin, .base = m->base,
			  .end = begin + range, .out = o };
	execute(&r, c.p, end);
	if (r.bad || r.loc > begin + range) {
		/* Its program is not understood: the whole function falls back. */
		emit(o, (uint32_t)(begin - m->base), AGENT_CFI_FALLBACK);
		r.fell = 1;
	} else {
		advance(&r, 0);
	}
	/* Code between functions has no rule. */
	emit(o, (uint32_t)(begin + range - m->base), AGENT_CFI_FALLBACK);
	return r.fell;
}

/* Every FDE's rows into O; the FDEs compiled, and those with a fallback row. */
static uint32_t compile_all(const struct module *m, struct out *o)
{
	struct cie cie = { .at = NULL };
	uint32_t fdes = 0;

	for (uint32_t i = 0; i < m->count; i++) {
		int ret = fde_compile(m, i, &cie, o);

		if (ret >= 0)
			fdes++;
		if (ret > 0)
			o->fallback++;
	}
	return fdes;
}

struct agent_cfi_row *agent_cfi_rows_trim(struct agent_cfi_row *rows, size_t *size, uint32_t n)
{
	size_t want = (size_t)n * sizeof(*rows);
	struct agent_cfi_row *r;

	if (want + agent_page_size() > *size)
		return rows;
	r = agent_remap(rows, *size, want ? want : 1, AGENT_MEM_UNWIND);
	if (!r)
		return rows;
	*size = want ? want : 1;
	return r;
}

int agent_cfi_compile(uintptr_t base, uintptr_t end, uintptr_t bias, struct agent_cfi_table *t)
{
	struct out o = { 0 };
	struct module m;
	size_t size;
	uint32_t fdes;

#if AGENT_CFI_EXIDX
	/* Rows hold 32-bit offsets: always so here. */
	return agent_exidx_compile(base, end, bias, t);
#endif
	/* Rows hold 32-bit offsets. */
	if (!AGENT_CFI_SUPPORTED || end - base > UINT32_MAX || module_find(base, end, bias, &m) < 0) {
		errno = EINVAL;
		return -1;
	}
	compile_all(&m, &o);
	if (o.raw == 0 || o.raw > UINT32_MAX / 2) {
		errno = EINVAL;
		return -1;
	}
	size = (size_t)o.raw * sizeof(*o.rows);
	o.rows = agent_map(size, AGENT_MEM_UNWIND);
	if (!o.rows)
		return -1;
	o.cap = (uint32_t)o.raw;
	o.fallback = 0;
	fdes = compile_all(&m, &o);
	/* Merging leaves most of the first pass's room unused: give it back. */
	o.rows = agent_cfi_rows_trim(o.rows, &size, o.n);
	t->base = base;
	t->end = end;
	t->rows = o.rows;
	t->nrows = o.n;
	t->map_size = size;
	t->fdes = fdes;
	t->fallback_fdes = o.fallback;
	return 0;
}

void agent_cfi_release(struct agent_cfi_table *t)
{
	if (t->rows)
		agent_unmap((void *)t->rows, t->map_size, AGENT_MEM_UNWIND);
	t->rows = NULL;
	t->nrows = 0;
}
