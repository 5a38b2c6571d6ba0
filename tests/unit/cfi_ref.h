/*
 * The DWARF reference of the unit tests of compact unwind rows
 * (test_unwind_tables: the agent's, compiled from a module's mapping;
 * test_cfi_host: the host's, compiled from a file). Each test is one
 * translation unit, so these are static inline functions, as check.h's
 * are: a test that uses only some of them draws no warning.
 *
 * The reference is binutils' readelf --debug-dump=frames-interp, a CFI
 * interpreter independent of ours: it prints each FDE's table of rows
 * (its CFA and each register's rule from each address on), which
 * cfi_ref_compare() reads and checks against the compiled rows at every
 * row's address. The helpers:
 *
 * - cfi_ref_expected(): the compact rule (cfi.h's limits) that readelf's
 *   CFA, frame-pointer and return-address columns say, or FALLBACK where a
 *   rule cannot say it (expressions, other registers, signal frames);
 *   cfi_ref_agrees() allows for readelf's "u", an undefined return address
 *   or one that stays in its register.
 * - cfi_ref_compare(): runs readelf on a file and compares every row of
 *   every FDE (and, for an FDE without rows of its own, its CIE's initial
 *   row at its start) with the rule a lookup function gives there; prints
 *   the first ten that differ; lists the FDEs' ranges when asked.
 * - cfi_ref_modules(): the modules loaded in this process that have
 *   .eh_frame_hdr, with the file each was loaded from and its mapping.
 * - cfi_ref_rule_text(): a rule in words, for messages.
 *
 * The checks stay the test's: these only count and print what differs.
 */
#ifndef TEST_CFI_REF_H
#define TEST_CFI_REF_H

#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cfi.h"

/* ---------------------------------------------------------------- rules */

/* How readelf names a target's registers, and the target's word. */
struct cfi_ref_regs {
	const char *sp, *fp;	/* readelf's names of the registers a CFA may be based on */
	const char *ra;		/* another name of the return-address column, or NULL ("ra" always is) */
	long word;		/* bytes */
	int ra_in_reg;		/* a return address may stay in its register (a link register) */
};

/* The rule readelf's columns CFA, FP and RA (NULL when absent) say for REGS; SIGNAL: a signal frame's CIE. */
static inline uint32_t cfi_ref_expected(const struct cfi_ref_regs *regs, const char *cfa, const char *fp,
					const char *ra, int signal)
{
	const long w = regs->word;
	long off, fslot = 0, rslot = 0;
	uint32_t kind;
	char reg[16];
	int8_t s8;

	if (signal)
		return AGENT_CFI_FALLBACK;
	/* readelf prints "u" for a column never set, and for undefined: where
	 * the return address starts in a register, the first (cfi_ref_agrees()). */
	if (ra && !strcmp(ra, "u") && !regs->ra_in_reg)
		return AGENT_CFI_RULE(AGENT_CFI_END, 0, 0, 0);
	if (ra && !strcmp(ra, "u"))
		ra = NULL;
	if (sscanf(cfa, "%15[a-z0-9]+%ld", reg, &off) != 2)
		return AGENT_CFI_FALLBACK;
	if (!strcmp(reg, regs->sp))
		kind = AGENT_CFI_CFA_SP;
	else if (!strcmp(reg, regs->fp))
		kind = AGENT_CFI_CFA_FP;
	else
		return AGENT_CFI_FALLBACK;
	if (off < 0 || off % w || off / w > 0x3fff)
		return AGENT_CFI_FALLBACK;
	if (!ra || !strcmp(ra, "s")) {
		if (!regs->ra_in_reg)
			return AGENT_CFI_FALLBACK;
	} else if (ra[0] == 'c' && sscanf(ra + 1, "%ld", &rslot) == 1) {
		if (rslot % w || !rslot || agent_cfi_slot_encode(rslot / w, (uint32_t)(off / w), &s8) < 0)
			return AGENT_CFI_FALLBACK;
		rslot = s8;
	} else {
		return AGENT_CFI_FALLBACK;
	}
	if (fp && fp[0] == 'c' && sscanf(fp + 1, "%ld", &fslot) == 1) {
		if (fslot % w || !fslot || agent_cfi_slot_encode(fslot / w, (uint32_t)(off / w), &s8) < 0)
			return AGENT_CFI_FALLBACK;
		fslot = s8;
	} else if (fp && strcmp(fp, "u") && strcmp(fp, "s")) {
		return AGENT_CFI_FALLBACK;
	}
	return AGENT_CFI_RULE(kind, off / w, fslot, rslot);
}

/* GOT for a row whose reference rule is WANT: equal, or an undefined
 * return address that readelf cannot tell from one in the link register. */
static inline int cfi_ref_agrees(const struct cfi_ref_regs *regs, uint32_t got, uint32_t want, const char *ra)
{
	return got == want ||
	       (regs->ra_in_reg && ra && !strcmp(ra, "u") && got == AGENT_CFI_RULE(AGENT_CFI_END, 0, 0, 0));
}

/* Rule R in words: one of four static buffers used in turn. */
static inline const char *cfi_ref_rule_text(uint32_t r)
{
	static char bufs[4][64];
	static int k;
	char *b = bufs[k++ & 3];
	static const char *const kinds[] = { "FALLBACK", "SP", "FP", "END" };

	snprintf(b, sizeof(bufs[0]), "%#x (%s+%u words, fp %d, ra %d)", r, kinds[AGENT_CFI_KIND(r)],
		 AGENT_CFI_CFA_WORDS(r), AGENT_CFI_FP_SLOT(r), AGENT_CFI_RA_SLOT(r));
	return b;
}

/* ---------------------------------------------------------------- beside readelf */

struct cfi_ref_fde {
	unsigned long lo, hi;
};

/* What cfi_ref_compare() compares, and what it found. */
struct cfi_ref_check {
	const char *what;	/* the start of its messages */
	const struct cfi_ref_regs *regs;
	/* The compiled rule at link-time address VADDR. */
	uint32_t (*rule_at)(const void *table, unsigned long vaddr);
	const void *table;
	unsigned long skip_lo, skip_hi;	/* rows not compared (a rule readelf cannot tell apart) */
	struct cfi_ref_fde *fdes;	/* when not NULL, the FDEs' ranges, up to max_fdes */
	int max_fdes;
	int eh_frame_only;	/* leave out .debug_frame (what the agent compiles is .eh_frame) */
	/* out */
	int nfdes;
	long bad;		/* rows that differ */
};

struct cfi_ref_cie {
	unsigned long off;
	int signal;
	char cfa[32], fp[32], ra[32];	/* its initial row's columns, "" when absent */
};

/*
 * Compare C's rows with readelf's interpretation of PATH's .eh_frame and
 * .debug_frame: rows compared, or -1 when readelf cannot be run (or
 * printed nothing it could read); C->bad the rows that differ, the first
 * ten printed; C->fdes the FDEs' ranges. PATH may be up to twice PATH_MAX
 * long (a test's temporary directory and a name).
 */
static inline long cfi_ref_compare(const char *path, struct cfi_ref_check *c)
{
	static struct cfi_ref_cie cies[256];
	int ncies = 0, ncols = 0, in_cie = 0, fde_rows = 0, have_cie_row = 0;
	char cmd[2 * PATH_MAX + 128], line[1024], cols[16][16];
	const struct cfi_ref_cie *cur = NULL;
	struct cfi_ref_cie *cie = NULL;
	unsigned long lo = 0, hi = 0;
	long rows = 0;
	FILE *f;

	c->nfdes = 0;
	c->bad = 0;
	snprintf(cmd, sizeof(cmd), "readelf --debug-dump=frames-interp '%s' 2>/dev/null", path);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	/* Each FDE's rows are checked as they come; an FDE without rows of its own has its CIE's. */
#define CFI_REF_FDE_DONE()                                                                                  \
	do {                                                                                                \
		if (!in_cie && cur && !fde_rows && hi > lo && have_cie_row &&                               \
		    !(lo >= c->skip_lo && lo < c->skip_hi)) {                                               \
			const char *ra_ = cur->ra[0] ? cur->ra : NULL;                                      \
			uint32_t want = cfi_ref_expected(c->regs, cur->cfa, cur->fp[0] ? cur->fp : NULL,    \
							 ra_, cur->signal);                                 \
			uint32_t got = c->rule_at(c->table, lo);                                            \
                                                                                                            \
			rows++;                                                                             \
			if (!cfi_ref_agrees(c->regs, got, want, ra_) && c->bad++ < 10)                      \
				printf("  %s: FDE %#lx (no rows): rule %s, reference %s\n", c->what, lo,    \
				       cfi_ref_rule_text(got), cfi_ref_rule_text(want));                    \
		}                                                                                           \
	} while (0)
	while (fgets(line, sizeof(line), f)) {
		unsigned long x, y, z;
		char kind[8], rest[256];

		if (!strncmp(line, "Contents of the ", 16)) {
			CFI_REF_FDE_DONE();
			/* A .debug_frame (musl's crt1 brings one) after .eh_frame. */
			if (c->eh_frame_only && strstr(line, ".debug_frame"))
				break;
			/* CIE offsets are per section. */
			ncies = 0;
			cur = NULL;
			in_cie = 0;
			ncols = 0;
			continue;
		}
		if (sscanf(line, "%lx %lx %lx %7s %255[^\n]", &x, &y, &z, kind, rest) == 5 &&
		    (!strcmp(kind, "CIE") || !strcmp(kind, "FDE"))) {
			CFI_REF_FDE_DONE();
			ncols = 0;
			fde_rows = 0;
			if (!strcmp(kind, "CIE")) {
				/* A signal frame: "S" in the augmentation string. */
				const char *q1 = strchr(rest, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL, *s;

				in_cie = 1;
				cie = ncies < 256 ? &cies[ncies++] : NULL;
				if (cie) {
					memset(cie, 0, sizeof(*cie));
					cie->off = x;
					s = q1 ? strchr(q1, 'S') : NULL;
					cie->signal = s && q2 && s < q2;
				}
			} else {
				unsigned long cid;

				in_cie = 0;
				cur = NULL;
				have_cie_row = 0;
				if (sscanf(rest, "cie=%lx pc=%lx..%lx", &cid, &lo, &hi) != 3)
					continue;
				for (int i = 0; i < ncies; i++)
					if (cies[i].off == cid)
						cur = &cies[i];
				have_cie_row = cur && cur->cfa[0];
				if (c->fdes && c->nfdes < c->max_fdes)
					c->fdes[c->nfdes++] = (struct cfi_ref_fde){ lo, hi };
			}
			continue;
		}
		if (strstr(line, "LOC") && strstr(line, "CFA")) {
			char *tok = strtok(line, " \n");

			ncols = 0;
			while (tok && ncols < 16) {
				snprintf(cols[ncols++], sizeof(cols[0]), "%s", tok);
				tok = strtok(NULL, " \n");
			}
			continue;
		}
		if (ncols >= 2 && line[0] != ' ' && sscanf(line, "%lx", &x) == 1) {
			char vals[16][32];
			const char *cfa = NULL, *fp = NULL, *ra = NULL;
			char *tok = strtok(line, " \n");
			int nv = 0;

			while (tok && nv < 16) {
				/* "r0 (rax)": a register rule names its register twice */
				if (tok[0] == '(' && nv > 0)
					strncat(vals[nv - 1], tok, sizeof(vals[0]) - strlen(vals[nv - 1]) - 1);
				else
					snprintf(vals[nv++], sizeof(vals[0]), "%s", tok);
				tok = strtok(NULL, " \n");
			}
			for (int i = 1; i < nv && i < ncols; i++) {
				if (!strcmp(cols[i], "CFA"))
					cfa = vals[i];
				else if (!strcmp(cols[i], c->regs->fp))
					fp = vals[i];
				else if (!strcmp(cols[i], "ra") || (c->regs->ra && !strcmp(cols[i], c->regs->ra)))
					ra = vals[i];
			}
			if (!cfa)
				continue;
			if (in_cie) {
				if (cie) {
					snprintf(cie->cfa, sizeof(cie->cfa), "%s", cfa);
					snprintf(cie->fp, sizeof(cie->fp), "%s", fp ? fp : "");
					snprintf(cie->ra, sizeof(cie->ra), "%s", ra ? ra : "");
				}
				continue;
			}
			fde_rows++;
			if (!cur || x < lo || x >= hi || (x >= c->skip_lo && x < c->skip_hi))
				continue;
			{
				uint32_t want = cfi_ref_expected(c->regs, cfa, fp, ra, cur->signal);
				uint32_t got = c->rule_at(c->table, x);

				rows++;
				if (!cfi_ref_agrees(c->regs, got, want, ra) && c->bad++ < 10)
					printf("  %s: %#lx: rule %s, reference %s (CFA %s, fp %s, ra %s)\n", c->what, x,
					       cfi_ref_rule_text(got), cfi_ref_rule_text(want), cfa, fp ? fp : "-",
					       ra ? ra : "-");
			}
		}
	}
	CFI_REF_FDE_DONE();
#undef CFI_REF_FDE_DONE
	if (pclose(f) != 0 && rows == 0)
		return -1;
	return rows;
}

/* ---------------------------------------------------------------- modules */

struct cfi_ref_mod {
	char path[PATH_MAX];	/* the file it was loaded from */
	uintptr_t bias, lo, hi;	/* its load bias; its mapping from a page start */
};

struct cfi_ref_mods {
	struct cfi_ref_mod m[64];
	int n;
	int files_only;		/* leave out modules without a file (the vDSO) */
};

static inline int cfi_ref_collect(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct cfi_ref_mods *ms = arg;
	struct cfi_ref_mod *m = &ms->m[ms->n];
	const char *name = info->dlpi_name;
	int has_hdr = 0;

	(void)size;
	if (ms->n == 64)
		return 1;
	m->lo = UINTPTR_MAX;
	m->hi = 0;
	m->bias = info->dlpi_addr;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];

		if (p->p_type == PT_GNU_EH_FRAME)
			has_hdr = 1;
		if (p->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + p->p_vaddr < m->lo)
			m->lo = (info->dlpi_addr + p->p_vaddr) & ~(uintptr_t)(getpagesize() - 1);
		if (info->dlpi_addr + p->p_vaddr + p->p_memsz > m->hi)
			m->hi = info->dlpi_addr + p->p_vaddr + p->p_memsz;
	}
	if (!has_hdr)
		return 0;
	if (name && name[0] && (name[0] == '/' || !ms->files_only)) {
		snprintf(m->path, sizeof(m->path), "%s", name);
	} else if ((!name || !name[0]) && ms->n == 0) {
		/* the program */
		ssize_t n = readlink("/proc/self/exe", m->path, sizeof(m->path) - 1);

		if (n <= 0)
			return 0;
		m->path[n] = '\0';
	} else {
		return 0;	/* the vDSO: no file */
	}
	ms->n++;
	return 0;
}

/* The modules of this process with .eh_frame_hdr into MS; FILES_ONLY: only those loaded from a file. */
static inline void cfi_ref_modules(struct cfi_ref_mods *ms, int files_only)
{
	ms->n = 0;
	ms->files_only = files_only;
	dl_iterate_phdr(cfi_ref_collect, ms);
}

#endif
