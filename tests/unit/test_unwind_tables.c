/*
 * Unit test of the compact unwind tables (agent/cfi_compile.c) and of the
 * "tables" backend (agent/unwind_tables.c), built without sanitizers as
 * the agent is.
 *
 * 1. Against a DWARF reference: every module loaded here (the test, libc,
 *    ld.so, and libstdc++ and libgcc_s dlopen'ed) is compiled, and every
 *    row that binutils' readelf --debug-dump=frames-interp prints for its
 *    .eh_frame (an independent CFI interpreter; read by cfi_ref.h, shared
 *    with test_cfi_host) is looked up in the compiled table at that
 *    address: the compact rule must be exactly the one the reference's CFA,
 *    frame-pointer and return-address columns say, or FALLBACK where the
 *    compact form cannot say it (expressions, signal frames). FDEs without
 *    instructions take their CIE's initial row.
 *    Skipped (the part, not the test) where readelf is missing.
 * 2. Against libunwind: stacks of many shapes (chains with and without
 *    frame pointers, recursion, mutual recursion, a function pointer,
 *    alloca, a 64 KiB frame, a frame too big for a row, qsort calling back
 *    through libc, a signal handler, a thread) are captured by both
 *    backends from one call site: the return addresses must be equal, and
 *    the tables must have walked them themselves (no fallback) except
 *    where a fallback is the rule (a signal frame, the huge frame), and two
 *    callers with equal frames calling one leaf must be told apart.
 * 3. Host rows merged into a module's own (agent_cfi_merge), on made-up rows:
 *    a hidden end where the host has no row stays a hidden end.
 *
 * Arguments: more libraries to dlopen and compile (figures for a big one).
 * Exit status: 0 pass, 1 fail, 99 broken harness.
 */
#include "agent.h"
#include "cfi.h"
#include "cfi_arch.h"
#include "fp_frame.h"
#include "unwinder.h"

#include <alloca.h>
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfi_ref.h"
#include "check.h"

#define NOIPA __attribute__((noipa, noinline))
#define NOFP __attribute__((noipa, noinline, optimize("omit-frame-pointer")))

#if defined(__x86_64__)
#define REF_SP "rsp"
#define REF_FP "rbp"
#define REF_RA "ra"
#elif defined(__aarch64__)
#define REF_SP "sp"
#define REF_FP "x29"
#define REF_RA "x30"
#else
#define REF_SP "?"
#define REF_FP "?"
#define REF_RA "?"
#endif
#define W ((long)sizeof(uintptr_t))

/* ---------------------------------------------------------------- 1. reference */

static const struct cfi_ref_regs ref_regs = { REF_SP, REF_FP, REF_RA, W, AGENT_CFI_RA_IN_REG };

/* What reference_check() looks up: module M's compiled table T. */
struct compiled {
	const struct cfi_ref_mod *m;
	const struct agent_cfi_table *t;
};

/* The rule of the table at link-time address VADDR. */
static uint32_t compiled_rule(const void *table, unsigned long vaddr)
{
	const struct compiled *c = table;

	return agent_cfi_lookup(c->t, (uint32_t)(c->m->bias + vaddr - c->t->base));
}

/* Compare module M's table with readelf's rows. Rows compared, or -1 (no readelf). */
static long reference_check(const struct cfi_ref_mod *m, const struct agent_cfi_table *t, long *mismatches)
{
	const struct compiled table = { m, t };
	struct cfi_ref_check c = { .what = m->path, .regs = &ref_regs, .rule_at = compiled_rule, .table = &table,
				   .eh_frame_only = 1 };
	long rows = cfi_ref_compare(m->path, &c);

	*mismatches = c.bad;
	return rows;
}

static void test_reference(void)
{
	static struct cfi_ref_mods mods;
	int compared = 0;

	/* The vDSO too: compiled from its mapping (readelf has no file for it). */
	cfi_ref_modules(&mods, 0);
#ifdef __GLIBC__
	CHECK(mods.n >= 3, "only %d modules with .eh_frame_hdr", mods.n);
#else
	/* musl: the program and libc.so (libunwind is linked in, the vDSO not listed). */
	CHECK(mods.n >= 2, "only %d modules with .eh_frame_hdr", mods.n);
#endif
	for (int i = 0; i < mods.n; i++) {
		const struct cfi_ref_mod *m = &mods.m[i];
		struct agent_cfi_table t;
		long mismatches = 0, rows;

		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (agent_cfi_compile(m->lo, m->hi, m->bias, &t) < 0) {
			CHECK(0, "%s: cannot compile its .eh_frame: %s", m->path, strerror(errno));
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("  %s: %u FDEs, %u with a fallback row (%.2f%%), %u rows, %zu bytes, %.2f ms\n", m->path,
		       t.fdes, t.fallback_fdes, t.fdes ? 100.0 * t.fallback_fdes / t.fdes : 0.0, t.nrows,
		       (size_t)t.nrows * sizeof(t.rows[0]),
		       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
		if (strstr(m->path, "libc.so") || strstr(m->path, "libstdc++"))
			CHECK(t.fdes > 1000 && t.fallback_fdes * 100 < t.fdes,
			      "%s: %u FDEs, %u fall back: expected > 1000, under 1%%", m->path, t.fdes,
			      t.fallback_fdes);
		rows = reference_check(m, &t, &mismatches);
		if (rows >= 0) {
			compared++;
			printf("  %s: %ld reference rows, %ld differ\n", m->path, rows, mismatches);
			CHECK(rows > 0 && mismatches == 0, "%s: %ld of %ld rows differ from readelf's", m->path,
			      mismatches, rows);
		}
		agent_cfi_release(&t);
	}
	if (!compared)
		printf("  (no readelf: the reference comparison was skipped)\n");
}

/* ---------------------------------------------------------------- damaged tables */

/*
 * The compiler reads only the segment around .eh_frame_hdr: damaged
 * tables end a compilation or an FDE, never read elsewhere or loop. The
 * test binary's own file, copied into memory where its read-only segments
 * sit at their addresses (file offset = address there), is compiled once
 * whole, then 2999 times with random bytes of .eh_frame_hdr and .eh_frame
 * changed; a read outside the segment crashes the test (the pages after it
 * and between it and the program headers are inaccessible).
 */
/*
 * 32-bit ARM's unwind opcodes (IHI 0038, 10.3), one rule each: the
 * prologues GCC writes in ARM and Thumb code, the rest of the encodings,
 * and what the rows cannot say. Word slots are 4 bytes there.
 */
static void test_exidx_rules(void)
{
	static const struct {
		const char *what;
		uint8_t ops[8];
		size_t n;
		uint32_t want;
	} cases[] = {
		{ "leaf: finish", { 0xb0 }, 1, AGENT_CFI_RULE(AGENT_CFI_CFA_SP, 0, 0, 0) },
		{ "nothing: as finish", { 0 }, 0, AGENT_CFI_RULE(AGENT_CFI_CFA_SP, 0, 0, 0) },
		{ "pop {r4, lr}", { 0xa8, 0xb0 }, 2, AGENT_CFI_RULE(AGENT_CFI_CFA_SP, 2, 0, -1) },
		{ "sub sp 16; pop {r4-r7, lr}", { 0x03, 0xab }, 2,
		  AGENT_CFI_RULE(AGENT_CFI_CFA_SP, 9, AGENT_CFI_REG_FP == 7 ? -2 : 0, -1) },
		{ "pop {r4-r11, lr}", { 0xaf }, 1,
		  AGENT_CFI_RULE(AGENT_CFI_CFA_SP, 9, AGENT_CFI_REG_FP == 7 ? -6 : -2, -1) },
		{ "pop mask {r4, r7, r11, lr}", { 0x84, 0x89 }, 2,
		  AGENT_CFI_RULE(AGENT_CFI_CFA_SP, 4, AGENT_CFI_REG_FP == 7 ? -3 : -2, -1) },
		{ "pop mask {r4, pc}", { 0x88, 0x01 }, 2, AGENT_CFI_RULE(AGENT_CFI_CFA_SP, 2, 0, -1) },
		{ "frame pointer: vsp = fp; vsp -= 4; pop {r4, fp, lr}", { (uint8_t)(0x90 | AGENT_CFI_REG_FP), 0x40,
		  0x84, (uint8_t)(AGENT_CFI_REG_FP == 7 ? 0x09 : 0x81) }, 4, 0 },
		{ "vsp += 0x204 + 8", { 0xb2, 0x02 }, 2, AGENT_CFI_RULE(AGENT_CFI_CFA_SP, (0x204 + 8) / 4, 0, 0) },
		{ "vpush d8-d9; pop {r4, lr}", { 0xd1, 0xa8 }, 2, AGENT_CFI_RULE(AGENT_CFI_CFA_SP, 6, 0, -1) },
		{ "fstmfdx d8; pop {r4, lr}", { 0xb8, 0xa8 }, 2, AGENT_CFI_RULE(AGENT_CFI_CFA_SP, 5, 0, -1) },
		{ "pop {r0-r3}", { 0xb1, 0x0f }, 2, AGENT_CFI_RULE(AGENT_CFI_CFA_SP, 4, 0, 0) },
		{ "refuse to unwind", { 0x80, 0x00 }, 2, AGENT_CFI_RULE(AGENT_CFI_END, 0, 0, 0) },
		{ "sp popped", { 0x82, 0x00 }, 2, AGENT_CFI_FALLBACK },
		{ "vsp = r5", { 0x95 }, 1, AGENT_CFI_FALLBACK },
		{ "vsp = fp after a pop", { 0xa8, (uint8_t)(0x90 | AGENT_CFI_REG_FP) }, 2, AGENT_CFI_FALLBACK },
		{ "spare 0xb4", { 0xb4 }, 1, AGENT_CFI_FALLBACK },
		{ "pop mask cut short", { 0x84 }, 1, AGENT_CFI_FALLBACK },
		{ "below the stack pointer", { 0x40 }, 1, AGENT_CFI_FALLBACK },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t want = cases[i].want, got = agent_exidx_rule(cases[i].ops, cases[i].n);

		/* The frame-pointer prologue: CFA = fp + 8, fp at -2, lr at -1 words. */
		if (i == 7)
			want = AGENT_CFI_RULE(AGENT_CFI_CFA_FP, 2, -2, -1);
		CHECK(got == want, "exidx %s: rule %#x, expected %#x", cases[i].what, got, want);
	}
	printf("  exidx: %zu opcode sequences decoded\n", sizeof(cases) / sizeof(cases[0]));
}

/* Every module of this process (the loader and the vDSO among them) compiles, or says why not. */
static int every_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	struct agent_cfi_table t;
	int has_hdr = 0;

	(void)size;
	(void)arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == (AGENT_CFI_EXIDX ? PT_ARM_EXIDX : PT_GNU_EH_FRAME))
			has_hdr = 1;
		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < lo)
			lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
			hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if (!has_hdr || lo >= hi)
		return 0;
	lo &= ~(uintptr_t)4095;
	if (agent_cfi_compile(lo, hi, info->dlpi_addr, &t) == 0) {
		printf("  module %-40s %6u rows, %5u of %5u FDEs fall back\n",
		       info->dlpi_name[0] ? info->dlpi_name : "(program)", t.nrows, t.fallback_fdes, t.fdes);
		agent_cfi_release(&t);
	} else {
		CHECK(0, "module %s (%#lx-%#lx): its .eh_frame does not compile: %s",
		      info->dlpi_name[0] ? info->dlpi_name : "(program)", (unsigned long)lo, (unsigned long)hi,
		      strerror(errno));
	}
	return 0;
}

static void test_damaged(void)
{
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	long page = getpagesize();
	const ElfW(Ehdr) *eh;
	const ElfW(Phdr) *ph, *hdr = NULL, *seg = NULL;
	uint8_t *pristine, *buf;
	size_t size, map;
	int ok = 0, failed = 0;
	FILE *f;

	if (n <= 0)
		broken("readlink");
	exe[n] = '\0';
	f = fopen(exe, "rb");
	if (!f || fseek(f, 0, SEEK_END) < 0)
		broken(exe);
	size = (size_t)ftell(f);
	rewind(f);
	map = (size + 2 * (size_t)page - 1) / (size_t)page * (size_t)page;
	pristine = malloc(size);
	buf = mmap(NULL, map + (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!pristine || buf == MAP_FAILED || fread(pristine, 1, size, f) != size)
		broken("reading the test binary");
	fclose(f);
	srandom((unsigned)check_seed(0));
	mprotect(buf + map, (size_t)page, PROT_NONE);
	eh = (const ElfW(Ehdr) *)pristine;
	ph = (const ElfW(Phdr) *)(pristine + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_GNU_EH_FRAME)
			hdr = &ph[i];
	for (int i = 0; hdr && i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr <= hdr->p_vaddr &&
		    hdr->p_vaddr < ph[i].p_vaddr + ph[i].p_filesz)
			seg = &ph[i];
	if (!seg || seg->p_offset != seg->p_vaddr || seg->p_offset + seg->p_filesz > size) {
		printf("  (the test binary's .eh_frame is not at its file offset: damaged tables not tried)\n");
		free(pristine);
		return;
	}
	/*
	 * The copy ends where the segment does, against the inaccessible page,
	 * and the whole pages between the program headers and the segment are
	 * made inaccessible too. Only what follows .eh_frame_hdr's start is
	 * changed: the program headers are the loader's.
	 */
	size = seg->p_offset + seg->p_filesz;
	for (int round = 0; round < 3000; round++) {
		struct agent_cfi_table t;
		size_t lo = hdr->p_offset, span = size - lo;
		uint8_t *base = buf + map - size;
		uintptr_t hole_lo = ((uintptr_t)base + eh->e_phoff + eh->e_phnum * sizeof(*ph) + (uintptr_t)page - 1) &
				    ~(uintptr_t)(page - 1);
		uintptr_t hole_hi = ((uintptr_t)base + seg->p_offset) & ~(uintptr_t)(page - 1);

		mprotect(buf, map, PROT_READ | PROT_WRITE);
		memset(buf, 0, map);
		memcpy(base, pristine, size);
		for (int k = 0; round > 0 && k < 1 + (int)((size_t)random() % 4); k++)
			buf[map - size + lo + (size_t)random() % span] ^= (uint8_t)(1 + (size_t)random() % 255);
		if (hole_hi > hole_lo)
			mprotect((void *)hole_lo, hole_hi - hole_lo, PROT_NONE);
		if (agent_cfi_compile((uintptr_t)base, (uintptr_t)(buf + map), (uintptr_t)base, &t) == 0) {
			ok++;
			CHECK(t.nrows == 0 || t.rows[t.nrows - 1].off <= size, "round %d: a row past the module", round);
			for (uint32_t i = 1; i < t.nrows; i++)
				if (t.rows[i].off <= t.rows[i - 1].off && !failed++)
					CHECK(0, "round %d: rows out of order at %u", round, i);
			agent_cfi_release(&t);
		} else if (round == 0) {
			CHECK(0, "the test binary's undamaged copy does not compile: %s", strerror(errno));
		}
	}
	printf("  damaged tables: %d of 3000 copies still compiled, none read outside its segment\n", ok);
	munmap(buf, map + (size_t)page);
	free(pristine);
}

/* ---------------------------------------------------------------- 2. stacks */

#define MAXF 64
struct result {
	uintptr_t pcs[MAXF];
	int n;
};
static struct result res[2];	/* tables, libunwind */
static volatile int sink;

/* One call site for both backends, so that their first frames are equal
 * (the second, into capture_both, differs by one call's length). */
static NOIPA void capture_with(const struct agent_unwinder *u, struct result *r)
{
	r->n = u->capture(r->pcs, MAXF, __builtin_frame_address(0));
	sink++;
}

static NOIPA void capture_both(void)
{
	capture_with(&agent_unwind_tables, &res[0]);
	capture_with(&agent_unwind_libunwind, &res[1]);
	sink++;
}

static const char *name_of(uintptr_t pc)
{
	Dl_info di;

	if (dladdr((void *)(pc - 1), &di) && di.dli_sname)
		return di.dli_sname;
	return "?";
}

static unsigned long fallbacks(void)
{
	struct agent_tables_stats s;

	agent_unwind_tables_stats(&s);
	return s.fallback_stacks;
}

/* Run SHAPE; its stacks must be equal, and walked by the tables unless MAY_FALL_BACK. */
static void compare(const char *shape, void (*run)(void), int may_fall_back)
{
	unsigned long before;
	int same, site = 1;	/* the frame where the two calls from capture_both differ */

	run();	/* once to compile and fill the cache */
	before = fallbacks();
	memset(res, 0, sizeof(res));
	run();
	/* A fallback's libunwind walk starts inside the tables backend: in the
	 * agent those frames are dropped with the agent's range, here they
	 * are dropped up to the first frame both walks share. */
	if (fallbacks() != before) {
		int k = 0;

		while (k < 4 && k < res[0].n && res[0].pcs[k] != res[1].pcs[0])
			k++;
		if (k < 4 && k < res[0].n) {
			memmove(res[0].pcs, res[0].pcs + k, sizeof(uintptr_t) * (size_t)(res[0].n - k));
			res[0].n -= k;
		}
	}
	/* Where the tables start at the hook's caller (x86_64: FRAME is
	 * capture_with's), libunwind's first frame, in capture_with, is not
	 * theirs: the two then differ first at the calls from capture_both. */
	if (res[0].n > 0 && res[1].n > 1 && res[0].pcs[0] != res[1].pcs[0] && res[0].pcs[0] < res[1].pcs[1]) {
		memmove(res[1].pcs, res[1].pcs + 1, sizeof(uintptr_t) * (size_t)(res[1].n - 1));
		res[1].n--;
		site = 0;
		/* Both cut at MAXF frames: libunwind's has one fewer left. */
		if (res[1].n == MAXF - 1 && res[0].n == MAXF)
			res[0].n--;
	}
	same = res[0].n == res[1].n;
	for (int i = 0; same && i < res[0].n; i++)
		same = i == site ? res[0].pcs[i] < res[1].pcs[i] : res[0].pcs[i] == res[1].pcs[i];
	CHECK(res[1].n >= 3, "%s: libunwind found %d frames", shape, res[1].n);
	CHECK(same, "%s: tables %d frames, libunwind %d, not the same", shape, res[0].n, res[1].n);
	if (!same)
		for (int i = 0; i < MAXF && (i < res[0].n || i < res[1].n); i++)
			printf("    %2d %#14lx %-24s %#14lx %s\n", i, (unsigned long)res[0].pcs[i],
			       i < res[0].n ? name_of(res[0].pcs[i]) : "", (unsigned long)res[1].pcs[i],
			       i < res[1].n ? name_of(res[1].pcs[i]) : "");
	/* Under musl the outermost frames are in libc.so, which has no unwind
	 * tables: the first run handed the stack to libunwind, which ended it
	 * there too, and made that frame a dead end; this run ends at it. */
	if (!may_fall_back)
		CHECK(fallbacks() == before, "%s: the tables handed the stack to libunwind", shape);
	else
		CHECK(fallbacks() > before, "%s: expected a fallback (the rows cannot say this frame)", shape);
}

/* Chains with and without frame pointers. */
static NOFP void nofp_c(void) { capture_both(); sink++; }
static NOFP void nofp_b(void) { nofp_c(); sink++; }
static NOIPA void fp_a(void) { nofp_b(); sink++; }
static NOFP void shape_mixed(void) { fp_a(); sink++; }

/* Recursion, deeper than MAXF, without frame pointers. */
static NOFP void recurse(int n)
{
	if (n == 0)
		capture_both();
	else
		recurse(n - 1);
	sink++;
}
static NOIPA void shape_recursion(void) { recurse(100); }

/* Mutual recursion. */
static NOFP void odd(int n);
static NOFP void even(int n)
{
	n > 0 ? odd(n - 1) : capture_both();
	sink++;
}
static NOFP void odd(int n)
{
	switch (n > 0) {
	case 1: even(n - 1); break;
	default: capture_both(); break;
	}
	sink++;
}
static NOIPA void shape_mutual(void) { even(11); }

/* Through a function pointer. */
static void (*volatile fptr)(void) = capture_both;
static NOFP void via_pointer(void) { fptr(); sink++; }
static NOIPA void shape_pointer(void) { via_pointer(); }

/* alloca: a frame whose size is known only at run time (CFA from the FP). */
static NOFP void with_alloca(int n)
{
	volatile char *p = alloca((size_t)n);

	p[0] = 1;
	capture_both();
	sink += p[0];
}
static NOIPA void shape_alloca(void) { with_alloca(1000 + sink % 7); }

/* Big frames: 64 KiB fits a row; 1 MiB does not (the walk falls back). */
#define FRAME_OF(name, bytes)                                    \
	static NOFP void name(void)                              \
	{                                                        \
		volatile char buf[bytes];                        \
                                                                 \
		buf[0] = 1;                                      \
		capture_both();                                  \
		sink += buf[0] + buf[sizeof(buf) - 1];           \
	}
FRAME_OF(big_frame, 64 << 10)
FRAME_OF(huge_frame, 1 << 20)
static NOIPA void shape_big(void) { big_frame(); }
static NOIPA void shape_huge(void) { huge_frame(); }

/* A signal handler: the signal frame is libunwind's (a fallback). */
static void on_usr1(int sig)
{
	(void)sig;
	capture_both();
}
static NOIPA void shape_signal(void)
{
	raise(SIGUSR1);
	sink++;
}

/*
 * Twins: equal frames, one leaf. The walk stands in the same state (pc, sp,
 * fp) at the leaf under either twin, and only the return address above it
 * says which: nothing kept from the walk of one may stand for the other.
 */
static NOFP void twin_leaf(void) { capture_both(); sink++; }
static NOFP void twin_a(void)
{
	volatile char pad[48];

	pad[sink & 31] = 1;
	twin_leaf();
	sink += pad[0];
}
static NOFP void twin_b(void)
{
	volatile char pad[48];

	pad[sink & 31] = 2;
	twin_leaf();
	sink += pad[0];
}
static NOIPA void shape_twins(void)
{
	twin_a();
	twin_b();
}

static void run_shapes(const char *where)
{
	char name[64];

#define SHAPE(fn, fb) (snprintf(name, sizeof(name), "%s: %s", where, #fn), compare(name, fn, fb))
	SHAPE(shape_mixed, 0);
	SHAPE(shape_recursion, 0);
	SHAPE(shape_mutual, 0);
	SHAPE(shape_pointer, 0);
	SHAPE(shape_alloca, 0);
	/* 64 KiB and more: past the rows' CFA offset (16,383 words) where a word is 4 bytes. */
	SHAPE(shape_big, sizeof(void *) == 4);
	SHAPE(shape_huge, 1);
	SHAPE(shape_signal, 1);
	SHAPE(shape_twins, 0);
#undef SHAPE
}

static void *thread_main(void *arg)
{
	(void)arg;
	run_shapes("thread");
	return NULL;
}

/* Called back from inside libc's qsort (built without frame pointers):
 * the first comparison of a run captures. */
static int qsort_first_done;
static int by_value_each(const void *a, const void *b)
{
	if (!qsort_first_done++)
		capture_both();
	return *(const int *)a - *(const int *)b;
}
static NOIPA void shape_libc_callback(void)
{
	int v[] = { 3, 1, 2, 5, 4 };

	qsort_first_done = 0;
	qsort(v, 5, sizeof(v[0]), by_value_each);
	sink++;
}

/*
 * Host rows merged into a module's own (cfi_merge.c): the host's rule where
 * the module's own is FALLBACK or a hidden end, the module's elsewhere;
 * rows out of the module or out of order are refused.
 */
static void test_merge(void)
{
	const uint32_t sp2 = AGENT_CFI_RULE(AGENT_CFI_CFA_SP, 2, 0, -1), sp4 = AGENT_CFI_RULE(AGENT_CFI_CFA_SP, 4, -2, -1);
	const uint32_t fp2 = AGENT_CFI_RULE(AGENT_CFI_CFA_FP, 2, -2, -1);
	/* Own: a function at 0x100-0x180, a hidden end at 0x200-0x280, nothing past. */
	const struct agent_cfi_row own_rows[] = {
		{ 0x100, sp2 }, { 0x180, AGENT_CFI_FALLBACK }, { 0x200, AGENT_CFI_END_HIDDEN }, { 0x280, AGENT_CFI_FALLBACK },
		{ 0x400, AGENT_CFI_END_HIDDEN },
	};
	/* Host, at link-time addresses (bias 0x1000 - 0 here: base 0x1000): all of 0x80-0x300. */
	const struct agent_cfi_row host[] = {
		{ 0x80, fp2 }, { 0x140, sp4 }, { 0x220, fp2 }, { 0x300, AGENT_CFI_FALLBACK },
	};
	const struct agent_cfi_row bad[] = { { 0x80, fp2 }, { 0x80, sp4 } };
	const struct agent_cfi_row outside[] = { { 0x5000, fp2 } };
	struct agent_cfi_table own = { .base = 0x1000, .end = 0x2000, .rows = own_rows, .nrows = 5 }, t;
	/* offset: the rule a walk must find there */
	const struct { uint32_t off, rule; } want[] = {
		{ 0x7f, AGENT_CFI_FALLBACK }, { 0x80, fp2 }, { 0xff, fp2 }, { 0x100, sp2 }, { 0x17f, sp2 },
		{ 0x180, sp4 }, { 0x1ff, sp4 }, { 0x200, sp4 }, { 0x220, fp2 }, { 0x27f, fp2 }, { 0x280, fp2 },
		{ 0x2ff, fp2 }, { 0x300, AGENT_CFI_FALLBACK }, { 0x3ff, AGENT_CFI_FALLBACK },
		/* a hidden end (_start's CANTUNWIND) where the host has no row stays one */
		{ 0x400, AGENT_CFI_END_HIDDEN }, { 0x900, AGENT_CFI_END_HIDDEN },
	};
	const char *why = NULL;

	CHECK(agent_cfi_merge(&own, 0x1000, 0x2000, 0x1000, host, 4, &t, &why) == 0, "merge: %s", why ? why : "?");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK(agent_cfi_lookup(&t, want[i].off) == want[i].rule, "merge: at %#x rule %#x, want %#x", want[i].off,
		      agent_cfi_lookup(&t, want[i].off), want[i].rule);
	for (uint32_t i = 1; i < t.nrows; i++)
		CHECK(t.rows[i].off > t.rows[i - 1].off && t.rows[i].rule != t.rows[i - 1].rule,
		      "merge: row %u not after the last, or the same rule", i);
	CHECK(agent_cfi_coverage(&t, 0x1080, 0x1300) == 1000, "merge: covers %u per mille of 0x80-0x300",
	      agent_cfi_coverage(&t, 0x1080, 0x1300));
	CHECK(agent_cfi_coverage(&own, 0x1080, 0x1300) == 200, "own rows cover %u per mille of 0x80-0x300, want 200",
	      agent_cfi_coverage(&own, 0x1080, 0x1300));
	agent_cfi_release(&t);
	/* A module without rows of its own takes the host's as they are. */
	CHECK(agent_cfi_merge(NULL, 0x1000, 0x2000, 0x1000, host, 4, &t, &why) == 0 && t.nrows == 4 &&
	      agent_cfi_lookup(&t, 0x200) == sp4, "merge into nothing");
	agent_cfi_release(&t);
	why = NULL;
	CHECK(agent_cfi_merge(&own, 0x1000, 0x2000, 0x1000, bad, 2, &t, &why) < 0 && why, "unsorted host rows taken");
	why = NULL;
	CHECK(agent_cfi_merge(&own, 0x1000, 0x2000, 0x1000, outside, 1, &t, &why) < 0 && why,
	      "a host row outside the module taken");
}

/* ARGS: more libraries to compile and compare (a big one, for the figures). */
int main(int argc, char **argv)
{
	pthread_attr_t attr;
	pthread_t th;
	int calib;

	alarm(600);
	for (int i = 1; i < argc; i++)
		if (!dlopen(argv[i], RTLD_LAZY))
			broken(argv[i]);
	/* libstdc++ and libgcc_s are compiled too: C++ code without frame pointers. */
	if (!dlopen("libstdc++.so.6", RTLD_NOW))
		printf("  (no libstdc++.so.6 here)\n");
	if (AGENT_CFI_SUPPORTED) {
		/* binutils' reference reads .eh_frame; 32-bit ARM's tables are .ARM.exidx. */
		if (AGENT_CFI_EXIDX)
			test_exidx_rules();
		else
			test_reference();
		dl_iterate_phdr(every_module, NULL);
		test_damaged();
	} else {
		printf("test_unwind_tables: no compact tables on this architecture\n");
		return check_done();
	}
	test_merge();
	CHECK(agent_unwind_tables.init() == 0, "the tables backend does not start: %s",
	      agent_unwind_tables.why_not ? agent_unwind_tables.why_not() : "?");
	if (failures)
		return check_done();
	/* libunwind's first frame is its capture function: leave it out. */
	agent_set_self_range(0, 0);
	capture_both();
	calib = res[1].n;
	CHECK(calib > 1, "libunwind found %d frames", calib);
	/* libunwind's capture drops what is in the range by the address libunwind
	 * gave, before AGENT_LU_RETURN_ADDRESS rounds it up (aarch64: by up to 3). */
	if (calib > 1)
		agent_set_self_range(res[1].pcs[0] - 3, res[1].pcs[0] + 1);

	signal(SIGUSR1, on_usr1);
	run_shapes("main");
	compare("main: qsort callback", shape_libc_callback, 0);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 4 << 20);
	if (pthread_create(&th, &attr, thread_main, NULL) != 0)
		broken("pthread_create");
	pthread_join(th, NULL);
	{
		struct agent_tables_stats s;

		agent_unwind_tables_stats(&s);
		printf("  tables: %lu modules, %lu bytes, %lu stacks fell back, %lu unknown addresses\n", s.modules,
		       s.bytes, s.fallback_stacks, s.unknown_pcs);
		CHECK(s.modules >= 2 && s.bytes > 0, "status: %lu modules, %lu bytes", s.modules, s.bytes);
	}
	alarm(0);
	return check_done();
}
