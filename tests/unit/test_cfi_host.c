/*
 * Unit test of the unwind rows compiled on the host (server/cfi_host.c)
 * and of the server link's unwind request (server/request.c), built with
 * AddressSanitizer (host code; LeakSanitizer at exit: all must be freed).
 *
 * 1. Beside readelf: the fixture (tests/unit/cfi_host_fixture.c, built by
 *    server/server.mk without unwind tables: its functions' CFI is in
 *    .debug_frame, its start files' in .eh_frame) is compiled, and every
 *    row binutils' readelf --debug-dump=frames-interp prints for either
 *    section (an independent CFI interpreter; read by cfi_ref.h, shared
 *    with test_unwind_tables) must have the rule its CFA, frame-pointer
 *    and return-address columns say; each FDE's end must be FALLBACK
 *    unless another FDE starts there; the FDE count must be readelf's. On
 *    x86_64 the fixture's assembly gives the rare rules, each checked by
 *    name too. The same for the fixture built at test time by each cross
 *    compiler found (aarch64, ARM hard- and soft-float).
 *    Skipped (the part, not the test) without readelf.
 * 2. Beside the agent: every module loaded here that has .eh_frame and no
 *    .debug_frame (libc, ld.so, libdw, this test, and the fixture built
 *    with unwind tables as a shared object, dlopen'ed) is compiled from its
 *    file here and from its mapping by the agent (agent/cfi_compile.c):
 *    the rule at every row boundary of either table must be the same, and
 *    so must the counts of FDEs and of FDEs that fall back.
 * 3. Bad input: no CFI, not ELF, a class other than the target's word, an
 *    invalid target, truncated copies of the fixture and copies with
 *    damaged CFI bytes: an error or sorted rows, never a crash.
 * 4. The unwind request, with the fixture's directory as sysroot: the
 *    reply's base64 rows are the compiled rows, a second request is served
 *    from the cache, each invalid member is refused by name, a build-id
 *    mismatch and a missing module are said, a module without CFI whose
 *    build-id debug file has .debug_frame is compiled from that (objcopy),
 *    and the decode pool's path (srv_request_run) answers it too.
 *
 * Arguments: more libraries to dlopen for part 2 (a big one's figures).
 * Exit status: 0 pass, 1 fail, 99 broken harness.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libgen.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "b64.h"
#include "cfi.h"
#include "cfi_arch.h"
#include "cfi_host.h"
#include "decode.h"
#include "elfinfo.h"
#include "log.h"
#include "request.h"

#include "cfi_ref.h"
#include "check.h"

static char dir[4096];		/* this test's temporary directory */
static char fixture[PATH_MAX + 64];	/* the fixtures server.mk built beside this test */
static char fixture_eh[PATH_MAX + 64];

/* ---------------------------------------------------------------- helpers */

/* Compile PATH for T into *R; the errno of a failure, 0 on success, with the reason in ERR. */
static int compile_path(const char *path, const struct srv_cfi_target *t, struct srv_cfi_rows *r, char *err,
			size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret, e;
	Elf *elf;

	memset(r, 0, sizeof(*r));
	if (fd < 0) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return errno;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	ret = srv_cfi_compile(elf, t, r, err, len);
	e = ret < 0 ? errno : 0;
	elf_end(elf);
	close(fd);
	return e;
}

/* The rule of R at VADDR: its last row at or below it (FALLBACK before the first). */
static uint32_t lookup(const struct srv_cfi_rows *r, uint64_t vaddr)
{
	uint32_t lo = 0, n = r->n;

	if (!n || vaddr < r->rows[0].vaddr)
		return AGENT_CFI_FALLBACK;
	if (vaddr > UINT32_MAX)
		return r->rows[n - 1].rule;
	while (n > 1) {
		uint32_t half = n / 2;

		if (r->rows[lo + half].vaddr <= vaddr)
			lo += half;
		n -= half;
	}
	return r->rows[lo].rule;
}

/* 1 when R's rows are strictly ascending and no two neighbours have the same rule. */
static int well_formed(const struct srv_cfi_rows *r)
{
	for (uint32_t i = 1; i < r->n; i++)
		if (r->rows[i].vaddr <= r->rows[i - 1].vaddr || r->rows[i].rule == r->rows[i - 1].rule)
			return 0;
	return 1;
}

/* The value of symbol NAME in PATH's symbol table; 0 when it has none. */
static uint64_t sym_addr(const char *path, const char *name)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : NULL;
	Elf_Scn *scn = NULL;
	uint64_t v = 0;

	while (elf && !v && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / (sh.sh_entsize ? sh.sh_entsize : 1); i++) {
			GElf_Sym s;
			const char *n;

			if (gelf_getsym(d, (int)i, &s) && (n = elf_strptr(elf, sh.sh_link, s.st_name)) &&
			    !strcmp(n, name)) {
				v = s.st_value;
				break;
			}
		}
	}
	elf_end(elf);
	if (fd >= 0)
		close(fd);
	return v;
}

/* ---------------------------------------------------------------- 1. beside readelf */

/* How readelf names the target's registers in its interpreted tables. */
struct arch_ref {
	const char *what;
	const char *cc;		/* the compiler that builds the fixture for it ("" this test's) */
	const char *sp, *fp;	/* readelf's names of the CFA's registers ("ra" is always the RA column) */
	struct srv_cfi_target t;
};

/* The rule of host rows R (a struct srv_cfi_rows) at VADDR. */
static uint32_t rows_rule(const void *r, unsigned long vaddr)
{
	return lookup(r, vaddr);
}

/*
 * Compare R (PATH compiled for A) with readelf's interpretation of PATH,
 * but for [SKIP_LO, SKIP_HI) (a rule readelf cannot tell apart). Rows
 * compared, or -1 when readelf cannot be run.
 */
static long reference_check(const struct arch_ref *a, const char *path, const struct srv_cfi_rows *r,
			    uint64_t skip_lo, uint64_t skip_hi)
{
	static struct cfi_ref_fde fdes[4096];
	const struct cfi_ref_regs regs = { a->sp, a->fp, NULL, a->t.word, a->t.ra_in_reg };
	char what[sizeof(fixture) + sizeof(dir) + 80];
	struct cfi_ref_check c = { .what = what, .regs = &regs, .rule_at = rows_rule, .table = r,
				   .skip_lo = skip_lo, .skip_hi = skip_hi, .fdes = fdes, .max_fdes = 4096 };
	long rows, bad;

	snprintf(what, sizeof(what), "%s %s", a->what, path);
	rows = cfi_ref_compare(path, &c);
	if (rows < 0)
		return -1;
	CHECK(c.bad == 0, "%s %s: %ld of %ld rows differ from readelf's", a->what, path, c.bad, rows);
	/* Code between functions: FALLBACK at each end where no FDE starts. */
	bad = 0;
	for (int i = 0; i < c.nfdes; i++) {
		int starts = 0;

		for (int k = 0; k < c.nfdes && !starts; k++)
			starts = fdes[k].lo == fdes[i].hi;
		if (!starts && lookup(r, fdes[i].hi) != AGENT_CFI_FALLBACK && bad++ < 5)
			printf("  %s: the end of FDE %#lx..%#lx is %s, not FALLBACK\n", a->what, fdes[i].lo,
			       fdes[i].hi, cfi_ref_rule_text(lookup(r, fdes[i].hi)));
	}
	CHECK(bad == 0, "%s: %ld FDE ends are not FALLBACK", a->what, bad);
	CHECK(r->fdes == (uint32_t)c.nfdes, "%s: %u FDEs compiled, readelf lists %d", a->what, r->fdes, c.nfdes);
	return rows;
}

/* The rules of R inside [LO, HI) equal to WANT. */
static int rules_in(const struct srv_cfi_rows *r, uint64_t lo, uint64_t hi, uint32_t want)
{
	int n = 0;

	for (uint32_t i = 0; i < r->n; i++)
		n += r->rows[i].vaddr >= lo && r->rows[i].vaddr < hi && r->rows[i].rule == want;
	return n;
}

#if defined(__x86_64__)
/* Symbol NAME of PATH, which must have it. */
static uint64_t need_sym(const char *path, const char *name)
{
	uint64_t a = sym_addr(path, name);

	CHECK(a, "no symbol %s in %s", name, path);
	return a;
}

/* The fixture's assembly, by name (cfi_host_fixture.c): the rows inside each function. */
static void x86_rare_rules(const char *path, const struct srv_cfi_rows *r)
{
	const uint32_t fb = AGENT_CFI_FALLBACK;
	struct srv_cfi_target same = { 8, 7, 6, 16, 1 };
	struct srv_cfi_rows r2;
	char err[256];
	uint64_t a;

	a = need_sym(path, "fx_ra_in_rax");
	CHECK(rules_in(r, a, a + 3, fb) == 1, "the return address in a register is not FALLBACK");
	a = need_sym(path, "fx_cfa_expr");
	CHECK(rules_in(r, a, a + 9, fb) == 1, "a CFA expression is not FALLBACK");
	a = need_sym(path, "fx_outermost");
	CHECK(lookup(r, a) == AGENT_CFI_RULE(AGENT_CFI_END, 0, 0, 0), "an undefined return address is %s, not END",
	      cfi_ref_rule_text(lookup(r, a)));
	a = need_sym(path, "fx_signal");
	CHECK(lookup(r, a) == fb && lookup(r, a + 1) == fb, "a signal frame is not FALLBACK");
	a = need_sym(path, "fx_remember");
	/* After the push, after restore_state at the early return's end, after the pop of rbx. */
	CHECK(rules_in(r, a, a + 11, AGENT_CFI_RULE(AGENT_CFI_CFA_SP, 2, -2, -1)) == 3,
	      "remember/restore state: the pushed frame pointer's rule is not back after the early return");
	a = need_sym(path, "fx_fp_expr");
	CHECK(rules_in(r, a, a + 3, fb) == 1, "a frame pointer saved by an expression is not FALLBACK");
	a = need_sym(path, "fx_fp_val");
	CHECK(rules_in(r, a, a + 3, fb) == 1, "a frame pointer's value rule is not FALLBACK");
	a = need_sym(path, "fx_fp_undef");
	CHECK(rules_in(r, a, a + 3, fb) == 1, "an undefined frame pointer is not FALLBACK");
	a = need_sym(path, "fx_fp_bottom");
	CHECK(rules_in(r, a, a + 23, AGENT_CFI_RULE(AGENT_CFI_CFA_SP, 256, AGENT_CFI_SLOT_BOTTOM, -1)) == 1,
	      "a frame pointer at the bottom of a 2 KiB frame has no bottom slot");
	a = need_sym(path, "fx_huge");
	CHECK(rules_in(r, a, a + 15, fb) == 1, "a frame larger than a rule is not FALLBACK");
	a = need_sym(path, "fx_ra_same");
	CHECK(rules_in(r, a, a + 3, fb) == 1, "a \"same value\" return address on x86_64 is not FALLBACK");
	/* With a link register, "same value" is in it (slot 0). */
	CHECK(compile_path(path, &same, &r2, err, sizeof(err)) == 0, "%s with ra_in_reg: %s", path, err);
	CHECK(rules_in(&r2, a, a + 3, AGENT_CFI_RULE(AGENT_CFI_CFA_SP, 1, 0, 0)) == 1,
	      "a \"same value\" return address with a link register is not slot 0");
	srv_cfi_rows_clear(&r2);
}
#endif

static void test_reference(void)
{
	static const struct arch_ref arches[] = {
#if defined(__x86_64__)
		{ "x86_64", "", "rsp", "rbp", { 8, 7, 6, 16, 0 } },
#elif defined(__aarch64__)
		{ "aarch64", "", "sp", "x29", { 8, 31, 29, 30, 1 } },
#endif
		{ "aarch64", "aarch64-linux-gnu-gcc", "sp", "x29", { 8, 31, 29, 30, 1 } },
		{ "armhf", "arm-linux-gnueabihf-gcc", "r13", "r7", { 4, 13, 7, 14, 1 } },
		{ "armel", "arm-linux-gnueabi-gcc", "r13", "r11", { 4, 13, 11, 14, 1 } },
	};
	int compared = 0;

	check_step("1. beside readelf", 120);
	for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++) {
		const struct arch_ref *a = &arches[i];
		char path[sizeof(dir) + 64], err[256];
		struct srv_cfi_rows r;
		uint64_t skip_lo = 0, skip_hi = 0;
		long rows;
		int e;

		if (a->cc[0]) {
			snprintf(path, sizeof(path), "%s/fixture-%s", dir, a->what);
			if (check_run(check_path(dir, "cc.log"),
				      "command -v %s >/dev/null && %s -g -O2 -fno-asynchronous-unwind-tables "
				      "-fno-unwind-tables -fomit-frame-pointer -o '%s' '%s'",
				      a->cc, a->cc, path, FIXTURE_SRC) < 0) {
				printf("  %s: no %s that links: skipped\n", a->what, a->cc);
				continue;
			}
		} else {
			snprintf(path, sizeof(path), "%s", fixture);
		}
		e = compile_path(path, &a->t, &r, err, sizeof(err));
		CHECK(e == 0, "%s %s: %s", a->what, path, err);
		if (e)
			continue;
		printf("  %s %s: %u rows, %u FDEs, %u with a fallback row, from %s\n", a->what, path, r.n, r.fdes,
		       r.fallback_fdes, r.sections);
		CHECK(well_formed(&r), "%s: rows not sorted, or neighbours with equal rules", a->what);
		CHECK(!strcmp(r.sections, a->cc[0] && strncmp(a->what, "aarch64", 7) ? ".debug_frame"
								     : ".debug_frame and .eh_frame"),
		      "%s: compiled from %s", a->what, r.sections);
#if defined(__x86_64__)
		if (!a->cc[0]) {
			/* readelf prints an undefined frame pointer as it prints one never set. */
			skip_lo = sym_addr(path, "fx_fp_undef");
			skip_hi = skip_lo + 3;
			x86_rare_rules(path, &r);
		}
#endif
		rows = reference_check(a, path, &r, skip_lo, skip_hi);
		if (rows >= 0) {
			compared++;
			printf("  %s: %ld reference rows compared\n", a->what, rows);
			CHECK(rows > 10, "%s: only %ld reference rows", a->what, rows);
		}
		srv_cfi_rows_clear(&r);
	}
	if (!compared)
		printf("  (no readelf: the reference comparison was skipped)\n");
}

/* ---------------------------------------------------------------- 2. beside the agent */

/* 1 when PATH has a .debug_frame with contents (the host then prefers it: not the agent's source). */
static int has_debug_frame(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), found = 0;
	Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : NULL;
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0) {
		while (!found && (scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			const char *n;

			found = gelf_getshdr(scn, &sh) && sh.sh_type != SHT_NOBITS && sh.sh_size &&
				(n = elf_strptr(elf, shstrndx, sh.sh_name)) &&
				(!strcmp(n, ".debug_frame") || !strcmp(n, ".zdebug_frame"));
		}
	}
	elf_end(elf);
	if (fd >= 0)
		close(fd);
	return found;
}

static void test_agent(char **extra)
{
	static struct cfi_ref_mods mods;
	const struct srv_cfi_target t = { sizeof(uintptr_t), AGENT_CFI_REG_SP, AGENT_CFI_REG_FP, AGENT_CFI_REG_RA,
					  AGENT_CFI_RA_IN_REG };
	void *h;
	int compared = 0, saw_libc = 0, saw_fixture = 0;

	check_step("2. beside the agent", 120);
	if (AGENT_CFI_EXIDX) {
		printf("  (32-bit ARM: the agent reads .ARM.exidx, not .eh_frame: skipped)\n");
		return;
	}
	h = dlopen(fixture_eh, RTLD_NOW | RTLD_LOCAL);
	CHECK(h, "dlopen %s: %s", fixture_eh, dlerror());
	for (; *extra; extra++)
		CHECK(dlopen(*extra, RTLD_LAZY | RTLD_LOCAL), "dlopen %s: %s", *extra, dlerror());
	cfi_ref_modules(&mods, 1);
	for (int i = 0; i < mods.n; i++) {
		const struct cfi_ref_mod *m = &mods.m[i];
		struct agent_cfi_table at;
		struct srv_cfi_rows r;
		char err[256];
		long bad = 0, points = 0;

		if (has_debug_frame(m->path)) {
			printf("  %s: has .debug_frame (the host takes it over .eh_frame): skipped\n", m->path);
			continue;
		}
		if (compile_path(m->path, &t, &r, err, sizeof(err))) {
			CHECK(0, "%s: %s", m->path, err);
			continue;
		}
		if (agent_cfi_compile(m->lo, m->hi, m->bias, &at) < 0) {
			CHECK(0, "%s: the agent cannot compile it: %s", m->path, strerror(errno));
			srv_cfi_rows_clear(&r);
			continue;
		}
		/* The rule at every boundary of either table: host rows are vaddrs, the agent's offsets from its start. */
		for (uint32_t k = 0; k < r.n; k++) {
			uint64_t v = r.rows[k].vaddr;
			uintptr_t run = (uintptr_t)v + m->bias;
			uint32_t theirs = run >= at.base && run - at.base <= UINT32_MAX
						  ? agent_cfi_lookup(&at, (uint32_t)(run - at.base))
						  : AGENT_CFI_FALLBACK;

			points++;
			if (theirs != r.rows[k].rule && bad++ < 10)
				printf("  %s: %#llx: host %s, agent %s\n", m->path, (unsigned long long)v,
				       cfi_ref_rule_text(r.rows[k].rule), cfi_ref_rule_text(theirs));
		}
		for (uint32_t k = 0; k < at.nrows; k++) {
			uint64_t v = (uint64_t)(at.base + at.rows[k].off - m->bias);

			points++;
			if (lookup(&r, v) != at.rows[k].rule && bad++ < 10)
				printf("  %s: %#llx: host %s, agent %s\n", m->path, (unsigned long long)v,
				       cfi_ref_rule_text(lookup(&r, v)), cfi_ref_rule_text(at.rows[k].rule));
		}
		printf("  %s: host %u rows, %u FDEs, %u falling back; agent %u rows, %u FDEs, %u falling back; %ld of %ld "
		       "boundaries differ\n",
		       m->path, r.n, r.fdes, r.fallback_fdes, at.nrows, at.fdes, at.fallback_fdes, bad, points);
		CHECK(bad == 0, "%s: %ld of %ld row boundaries differ from the agent's", m->path, bad, points);
		CHECK(r.fdes == at.fdes && r.fallback_fdes == at.fallback_fdes,
		      "%s: host %u FDEs (%u fall back), agent %u (%u)", m->path, r.fdes, r.fallback_fdes, at.fdes,
		      at.fallback_fdes);
		CHECK(r.n == at.nrows, "%s: host %u rows, agent %u", m->path, r.n, at.nrows);
		compared++;
		saw_libc |= !!strstr(m->path, "libc.so");
		saw_fixture |= !strcmp(m->path, fixture_eh);
		agent_cfi_release(&at);
		srv_cfi_rows_clear(&r);
	}
	CHECK(compared >= 3 && saw_libc && saw_fixture, "only %d modules compared (libc %d, the fixture %d)", compared,
	      saw_libc, saw_fixture);
	if (h)
		dlclose(h);
}

/* ---------------------------------------------------------------- 3. bad input */

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) < 0)
		broken("read the fixture");
	buf = malloc((size_t)n);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		broken("read the fixture");
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Compile LEN bytes at IMAGE (copied: libelf may write to it) for T: the errno, 0 when rows came (then checked). */
static int compile_image(const unsigned char *image, size_t len, const struct srv_cfi_target *t, char *err,
			 size_t errlen)
{
	char *copy = malloc(len ? len : 1);
	struct srv_cfi_rows r;
	Elf *elf;
	int e;

	if (!copy)
		broken("malloc");
	memcpy(copy, image, len);
	elf = elf_memory(copy, len);
	e = srv_cfi_compile(elf, t, &r, err, errlen) < 0 ? errno : 0;
	if (!e)
		CHECK(r.n > 0 && well_formed(&r), "a damaged copy gave %u rows, not well formed", r.n);
	else
		CHECK(r.n == 0 && !r.rows && err[0], "an error left rows, or said nothing");
	srv_cfi_rows_clear(&r);
	elf_end(elf);
	free(copy);
	return e;
}

/* A CFI section of the fixture's image: its contents, and its header (to shorten it). */
struct span {
	size_t off, size;	/* its bytes in the file */
	size_t shdr;		/* its section header's offset in the file */
};

/* The fixture image's .debug_frame and .eh_frame, for damaging them: how many found (up to 2). */
static int cfi_spans(const unsigned char *image, size_t len, struct span spans[2])
{
	char *copy = malloc(len);
	Elf *elf;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	size_t shstrndx;
	int n = 0;

	memcpy(copy, image, len);
	elf = elf_memory(copy, len);
	if (elf && gelf_getehdr(elf, &eh) && elf_getshdrstrndx(elf, &shstrndx) == 0) {
		while (n < 2 && (scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			const char *name;

			if (gelf_getshdr(scn, &sh) && (name = elf_strptr(elf, shstrndx, sh.sh_name)) &&
			    (!strcmp(name, ".debug_frame") || !strcmp(name, ".eh_frame")) && sh.sh_size &&
			    sh.sh_offset + sh.sh_size <= len) {
				spans[n].off = sh.sh_offset;
				spans[n].size = sh.sh_size;
				spans[n].shdr = eh.e_shoff + elf_ndxscn(scn) * (size_t)eh.e_shentsize;
				n++;
			}
		}
	}
	elf_end(elf);
	free(copy);
	return n;
}

/* IMAGE with the section of span S cut to SIZE bytes (its header says so: the entries run out mid-way). */
static int compile_cut(const unsigned char *image, size_t len, const struct span *s, size_t size,
		       const struct srv_cfi_target *t, char *err, size_t errlen)
{
	unsigned char *copy = malloc(len);
	ElfW(Shdr) sh;
	int e;

	memcpy(copy, image, len);
	memcpy(&sh, copy + s->shdr, sizeof(sh));
	sh.sh_size = size;
	memcpy(copy + s->shdr, &sh, sizeof(sh));
	e = compile_image(copy, len, t, err, errlen);
	free(copy);
	return e;
}

static void test_bad_input(void)
{
	const struct srv_cfi_target host = { sizeof(void *), AGENT_CFI_REG_SP, AGENT_CFI_REG_FP, AGENT_CFI_REG_RA,
					     AGENT_CFI_RA_IN_REG };
	struct srv_cfi_target t = host;
	struct srv_cfi_rows r;
	unsigned char *image, small[sizeof(Elf64_Ehdr)];
	struct span spans[2];
	size_t len;
	char err[256];
	int n, ok = 0, e;
	unsigned long long seed = check_seed(0);

	check_step("3. bad input", 120);
	srandom((unsigned)seed);
	/* No CFI: an ELF header and nothing else. */
	memset(small, 0, sizeof(small));
	memcpy(small, ELFMAG, SELFMAG);
	small[EI_CLASS] = sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32;
	small[EI_DATA] = ELFDATA2LSB;
	small[EI_VERSION] = EV_CURRENT;
	e = compile_image(small, sizeof(small), &host, err, sizeof(err));
	CHECK(e == ENOENT, "an ELF header alone: %s (%s), not ENOENT", strerror(e), err);
	e = compile_image((const unsigned char *)"not an ELF file at all", 22, &host, err, sizeof(err));
	CHECK(e == EINVAL && strstr(err, "not an ELF file"), "not ELF: %s (%s)", strerror(e), err);
	CHECK(srv_cfi_compile(NULL, &host, &r, err, sizeof(err)) < 0 && errno == EINVAL, "a NULL ELF accepted");
	/* The word is the ELF class's. */
	t.word = sizeof(void *) == 8 ? 4 : 8;
	e = compile_path(fixture, &t, &r, err, sizeof(err));
	CHECK(e == EINVAL && strstr(err, "words are"), "a word of %u on the fixture: %s (%s)", t.word, strerror(e), err);
	/* Targets out of range. */
	t = host;
	t.word = 5;
	CHECK(compile_path(fixture, &t, &r, err, sizeof(err)) == EINVAL, "word 5 accepted");
	t = host;
	t.fp = SRV_CFI_MAX_REG + 1;
	CHECK(compile_path(fixture, &t, &r, err, sizeof(err)) == EINVAL, "register %u accepted", t.fp);
	/* Truncated copies: every 1/32 of the file (its section headers, at its end, go first). */
	image = slurp(fixture, &len);
	n = cfi_spans(image, len, spans);
	CHECK(n == 2, "the fixture's CFI sections not found (%d)", n);
	for (int k = 0; k < 32; k++)
		ok += compile_image(image, len * (size_t)k / 32, &host, err, sizeof(err)) == 0;
	CHECK(compile_image(image, len, &host, err, sizeof(err)) == 0, "the whole fixture in memory: %s", err);
	printf("  %d of 32 truncated files compiled (rows checked), the others refused\n", ok);
	/* Truncated CFI: each section cut at 40 places, its last entries running out mid-way. */
	ok = 0;
	for (int k = 0; k < n; k++)
		for (int c = 0; c < 40; c++)
			ok += compile_cut(image, len, &spans[k], spans[k].size * (size_t)c / 40 + (size_t)c % 7, &host,
					  err, sizeof(err)) == 0;
	printf("  %d of %d truncated CFI sections compiled (rows checked), the others refused\n", ok, 40 * n);
	/* Damaged CFI: a few random bytes of either section changed, 300 times. */
	ok = 0;
	for (int k = 0; k < 300 && n; k++) {
		unsigned char *bad = malloc(len);
		int s = (int)(random() % n), flips = 1 + (int)(random() % 6);

		memcpy(bad, image, len);
		for (int f = 0; f < flips; f++)
			bad[spans[s].off + (size_t)random() % spans[s].size] = (unsigned char)random();
		ok += compile_image(bad, len, &host, err, sizeof(err)) == 0;
		free(bad);
	}
	printf("  %d of 300 damaged copies compiled (rows checked), the others refused\n", ok);
	free(image);
}

/* ---------------------------------------------------------------- 4. the unwind request */

static struct srv_request_limits lim = { 8, 64 };

/* The reply of decoder D to the request TEXT (an unwind): deleted by the caller. */
static cJSON *ask(struct srv_decoder *d, const char *text)
{
	cJSON *msg = cJSON_Parse(text), *reply;
	int end;

	if (!msg)
		broken("a test request is not JSON");
	reply = srv_request_answer(d, &lim, msg, 7, "unwind", &end);
	cJSON_Delete(msg);
	return reply;
}

/* The error of REPLY, or NULL when it is an ok reply. */
static const char *error_of(const cJSON *reply)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");

	return cJSON_IsString(e) ? e->valuestring : NULL;
}

/* REPLY's rows equal R's, in count, FDEs and bytes. */
static void check_rows(const cJSON *reply, const struct srv_cfi_rows *r, const char *what)
{
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(reply, "rows");
	size_t len = cJSON_IsString(rows) ? strlen(rows->valuestring) : 0;
	uint8_t *bytes = malloc(len + 3);
	long n = cJSON_IsString(rows) ? b64_decode(rows->valuestring, len, bytes, len + 3) : -1;
	int same = n == (long)r->n * 8;

	for (uint32_t i = 0; same && i < r->n; i++) {
		uint32_t v = 0, rule = 0;

		for (int k = 0; k < 4; k++) {
			v |= (uint32_t)bytes[8 * i + k] << (8 * k);
			rule |= (uint32_t)bytes[8 * i + 4 + k] << (8 * k);
		}
		same = v == r->rows[i].vaddr && rule == r->rows[i].rule;
	}
	CHECK(same, "%s: the reply's rows (%ld bytes) are not the compiled ones (%u rows)", what, n, r->n);
	CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(reply, "count")) == r->n &&
		      cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(reply, "fdes")) == r->fdes &&
		      cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(reply, "fallback_fdes")) == r->fallback_fdes,
	      "%s: count, fdes or fallback_fdes differ", what);
	free(bytes);
}

#if defined(__x86_64__)
#define defined_x86_64 1
#else
#define defined_x86_64 0
#endif
#define REGS "\"regs\":{\"word\":8,\"sp\":7,\"fp\":6,\"ra\":16,\"ra_in_reg\":false}"

static void test_request(void)
{
	const struct srv_cfi_target t = { 8, 7, 6, 16, 0 };
	struct {
		const char *request, *error;	/* the error must hold this */
	} refused[] = {
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\"," REGS "}", "no \"module\" string" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":5," REGS "}", "no \"module\" string" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"\"," REGS "}", "no \"module\" string" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"cfi_host_fixture\"," REGS "}",
		  "module path refused: not an absolute path" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/a/../cfi_host_fixture\"," REGS "}",
		  "module path refused: has a \"..\" component" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\",\"build_id\":\"XYZ\"," REGS "}",
		  "\"build_id\" is not 4 to 128 lowercase hex digits" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\",\"build_id\":7," REGS "}",
		  "\"build_id\" is not" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\"}", "no \"regs\" object" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\",\"regs\":[8,7,6,16]}",
		  "no \"regs\" object" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\",\"regs\":{\"sp\":7,\"fp\":6,\"ra\":16}}",
		  "no \"regs\".\"word\"" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\",\"regs\":{\"word\":6,\"sp\":7,\"fp\":6,\"ra\":16}}",
		  "\"regs\".\"word\" must be 4 or 8" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\",\"regs\":{\"word\":\"8\",\"sp\":7,\"fp\":6,\"ra\":16}}",
		  "\"regs\".\"word\" must be an integer from 4 to 8" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\",\"regs\":{\"word\":8,\"sp\":-1,\"fp\":6,\"ra\":16}}",
		  "\"regs\".\"sp\" must be an integer from 0 to 287" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\",\"regs\":{\"word\":8,\"sp\":7,\"fp\":288,\"ra\":16}}",
		  "\"regs\".\"fp\" must be an integer from 0 to 287" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\",\"regs\":{\"word\":8,\"sp\":7,\"fp\":6,\"ra\":16.5}}",
		  "\"regs\".\"ra\" must be an integer" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\",\"regs\":{\"word\":8,\"sp\":7,\"fp\":6,\"ra\":1e300}}",
		  "\"regs\".\"ra\" must be an integer" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\",\"regs\":{\"word\":8,\"sp\":7,\"fp\":6}}",
		  "no \"regs\".\"ra\"" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\",\"regs\":{\"word\":8,\"sp\":7,\"fp\":6,\"ra\":16,\"ra_in_reg\":\"yes\"}}",
		  "\"regs\".\"ra_in_reg\" must be true or false" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/nothing/here.so\"," REGS "}",
		  "no unwind tables for /nothing/here.so on the host: /nothing/here.so not found in the sysroots" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\",\"build_id\":\"00112233\"," REGS "}",
		  "no unwind tables for /cfi_host_fixture on the host: build-id mismatch" },
		{ "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\",\"regs\":{\"word\":4,\"sp\":7,\"fp\":6,\"ra\":16}}",
		  "a 64-bit ELF file, and the device's words are 4 bytes" },
	};
	char root[sizeof(fixture)], req[2 * PATH_MAX + 512], err[256], *long_path, *text;
	const char *rootp = root, *e;
	struct srv_elfinfo info;
	struct srv_cfi_rows r;
	struct srv_decoder *d;
	cJSON *reply, *again;
	int fd;

	check_step("4. the unwind request", 120);
	if (!defined_x86_64) {
		printf("  (not an x86_64 host: the request's registers here are x86_64's: skipped)\n");
		return;
	}
	snprintf(root, sizeof(root), "%s", fixture);
	dirname(root);
	d = srv_decoder_new(&rootp, 1);
	if (!d)
		broken("srv_decoder_new");
	CHECK(compile_path(fixture, &t, &r, err, sizeof(err)) == 0, "%s: %s", fixture, err);
	fd = open(fixture, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || srv_elfinfo_read(fd, &info) < 0)
		broken("the fixture's build-id");
	close(fd);

	/* Answered, then from the cache, with and without the build-id. */
	reply = ask(d, "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\"," REGS "}");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok")), "refused: %s", check_show(error_of(reply)));
	check_rows(reply, &r, "the fixture");
	{
		const char *src = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply, "source"));
		char want[sizeof(fixture) + 64], *real = realpath(fixture, NULL);

		snprintf(want, sizeof(want), "%s .debug_frame and .eh_frame", real ? real : fixture);
		CHECK(src && !strcmp(src, want), "source %s, not %s", check_show(src), check_show(want));
		free(real);
	}
	again = ask(d, "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\"," REGS "}");
	{
		char *a = cJSON_PrintUnformatted(reply), *b = cJSON_PrintUnformatted(again);

		CHECK(a && b && !strcmp(a, b), "the second reply (from the cache) differs from the first");
		free(a);
		free(b);
	}
	cJSON_Delete(reply);
	cJSON_Delete(again);
	if (info.build_id[0]) {
		snprintf(req, sizeof(req),
			 "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\",\"build_id\":\"%s\"," REGS "}",
			 info.build_id);
		reply = ask(d, req);
		CHECK(!error_of(reply), "with its build-id: %s", check_show(error_of(reply)));
		check_rows(reply, &r, "the fixture by build-id");
		cJSON_Delete(reply);
	}

	/* Refusals, each naming what is wrong. */
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		reply = ask(d, refused[i].request);
		e = error_of(reply);
		CHECK(e && strstr(e, refused[i].error) && !strncmp(e, "unwind: ", 8), "%s: error %s, expected one with %s",
		      refused[i].request, check_show(e), check_show(refused[i].error));
		CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(reply, "id")) == 7, "the error's id is not 7");
		cJSON_Delete(reply);
	}
	long_path = malloc(PATH_MAX + 10);
	memset(long_path, 'a', PATH_MAX + 9);
	long_path[0] = '/';
	long_path[PATH_MAX + 9] = '\0';
	text = malloc(PATH_MAX + 200);
	snprintf(text, PATH_MAX + 200, "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"%s\"," REGS "}", long_path);
	reply = ask(d, text);
	CHECK(error_of(reply) && strstr(error_of(reply), "\"module\" is longer than"), "a long module path: %s",
	      check_show(error_of(reply)));
	cJSON_Delete(reply);
	free(text);
	free(long_path);

	/* The decode pool's path. */
	{
		struct srv_request_job *j = calloc(1, sizeof(*j));
		cJSON *parsed;

		j->text = strdup("{\"v\":1,\"id\":9,\"cmd\":\"unwind\",\"module\":\"/cfi_host_fixture\"," REGS "}");
		j->len = strlen(j->text);
		j->lim = lim;
		CHECK(srv_request_offloads("unwind"), "unwind is not offloaded to the decode pool");
		srv_request_run(d, j);
		parsed = j->reply ? cJSON_Parse(j->reply) : NULL;
		CHECK(!j->msg && parsed && !j->is_error && j->id == 9, "the pool's job: %s", check_show(j->reply));
		if (parsed)
			check_rows(parsed, &r, "the pool's job");
		cJSON_Delete(parsed);
		srv_request_job_free(j);
	}
	/* The unknown-command text names it. */
	{
		cJSON *msg = cJSON_Parse("{\"v\":1,\"id\":3,\"cmd\":\"frob\"}");
		int end;

		reply = srv_request_answer(d, &lim, msg, 3, "frob", &end);
		CHECK(error_of(reply) && strstr(error_of(reply), "unwind"), "the unknown-command text: %s",
		      check_show(error_of(reply)));
		cJSON_Delete(reply);
		cJSON_Delete(msg);
	}
	srv_decoder_free(d);
	srv_cfi_rows_clear(&r);

	/* A host file without CFI whose build-id debug file has .debug_frame (objcopy makes both). */
	if (info.build_id[0] &&
	    check_run(check_path(dir, "objcopy.log"),
		      "command -v objcopy >/dev/null && mkdir -p '%s/root/bin' '%s/root/usr/lib/debug/.build-id/%.2s' && "
		      "objcopy -R .debug_frame -R .eh_frame -R .eh_frame_hdr '%s' '%s/root/bin/fx'",
		      dir, dir, info.build_id, fixture, dir) == 0) {
		char sysroot[sizeof(dir) + 16];
		const char *sp = sysroot;
		const char *src;

		snprintf(sysroot, sizeof(sysroot), "%s/root", dir);
		d = srv_decoder_new(&sp, 1);
		if (!d)
			broken("srv_decoder_new");
		snprintf(req, sizeof(req),
			 "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/bin/fx\",\"build_id\":\"%s\"," REGS "}",
			 info.build_id);
		reply = ask(d, req);
		CHECK(error_of(reply) && strstr(error_of(reply), "/bin/fx: neither .debug_frame nor .eh_frame"),
		      "a file without CFI and no debug file: %s", check_show(error_of(reply)));
		cJSON_Delete(reply);
		srv_decoder_free(d);
		if (check_run(check_path(dir, "objcopy.log"),
			      "objcopy --only-keep-debug '%s' '%s/root/usr/lib/debug/.build-id/%.2s/%s.debug'", fixture, dir,
			      info.build_id, info.build_id + 2) < 0)
			broken("objcopy --only-keep-debug");
		d = srv_decoder_new(&sp, 1);
		if (!d)
			broken("srv_decoder_new");
		/* With the device's build-id, and without (the host file's own names the debug file). */
		for (int with = 1; with >= 0; with--) {
			if (!with)
				snprintf(req, sizeof(req), "{\"v\":1,\"id\":7,\"cmd\":\"unwind\",\"module\":\"/bin/fx\"," REGS "}");
			reply = ask(d, req);
			src = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply, "source"));
			CHECK(!error_of(reply) && src && strstr(src, "/usr/lib/debug/.build-id/") &&
				      strstr(src, ".debug .debug_frame"),
			      "a file without CFI and its debug file (%s build-id): %s, source %s", with ? "with" : "without",
			      check_show(error_of(reply)), check_show(src));
			CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(reply, "count")) > 10,
			      "the debug file's rows are too few");
			cJSON_Delete(reply);
		}
		srv_decoder_free(d);
	} else {
		printf("  (no objcopy: the debug-file fallback was not tried)\n");
	}
	srv_elfinfo_clear(&info);
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	ssize_t n;

	(void)argc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_set_level(LOG_ERR);
	elf_version(EV_CURRENT);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		broken("readlink /proc/self/exe");
	self[n] = '\0';
	snprintf(fixture, sizeof(fixture), "%s/cfi_host_fixture", dirname(self));
	snprintf(fixture_eh, sizeof(fixture_eh), "%s/cfi_host_fixture_eh.so", self);
	if (access(fixture, R_OK) || access(fixture_eh, R_OK)) {
		errno = ENOENT;
		broken("the fixtures are not beside the test (make builds them)");
	}
	check_tmpdir(dir, sizeof(dir));
	test_reference();
	test_agent(argv + 1);
	test_bad_input();
	test_request();
	check_step("done", 0);
	if (!failures)
		check_run(NULL, "rm -rf '%s'", dir);
	else
		printf("  files kept in %s\n", dir);
	return check_done();
}
