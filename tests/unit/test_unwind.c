/*
 * Unit test for the two stack capture backends (agent/unwind_fp.c,
 * agent/unwind_libunwind.c), built without sanitizers as the agent is, with
 * frame pointers (BASE_CFLAGS has -fno-omit-frame-pointer).
 *
 * A known chain main -> chain_a -> chain_b -> chain_c -> chain_d records the
 * return address each call left, and chain_d, playing the hook, captures:
 * the frames must be exactly those return addresses, and name chain_c,
 * chain_b, chain_a, main through the test binary's own symbol table
 * (libelf) and the agent's module snapshot (agent/modules.c) for the load
 * bias. Then: recursion 200 deep against MAX, forged frame records that
 * break the chain in every way the walker guards against (one of them
 * pointing at readable memory just past a thread's stack, so a missing
 * bounds check shows up as a garbage frame, not as luck), errno, a thread
 * with a 64 KiB stack, and a signal handler on an alternate stack.
 *
 * Exit status: 0 pass, 1 fail (one "FAIL file:line" line per failed check),
 * 99 when the harness itself cannot run (no symbol table, no thread).
 */
#include "agent.h"
#include "fp_frame.h"
#include "modules.h"
#include "table_walk.h"
#include "unwinder.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa, noinline))
/* The return address as the unwinders give it (no Thumb bit on ARM). */
#define RA() AGENT_LU_RETURN_ADDRESS((uintptr_t)__builtin_return_address(0))

#include "check.h"

/* ---------------------------------------------------------------- symbols */

struct fsym {
	uintptr_t start, size;
	char *name;
};

static struct fsym *syms;
static size_t nsyms;
static uintptr_t exe_bias, exe_lo, exe_hi;

static int cmp_fsym(const void *a, const void *b)
{
	const struct fsym *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The function symbols of the test binary, from its .symtab. */
static void load_symbols(void)
{
	struct agent_modules mods;
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	Elf_Scn *scn = NULL;
	size_t cap = 0;
	Elf *elf;
	int fd, k;

	if (len <= 0)
		broken("readlink /proc/self/exe");
	exe[len] = '\0';
	if (agent_modules_snapshot(&mods) < 0)
		broken("agent_modules_snapshot");
	k = agent_modules_find(&mods, (uintptr_t)load_symbols);
	CHECK(k >= 0, "agent_modules_find found no module for the test's own code");
	if (k < 0)
		exit(1);
	CHECK(!strcmp(mods.mods[k].path, exe), "the test's module is named \"%s\", not \"%s\"",
	      mods.mods[k].path, exe);
	exe_bias = mods.mods[k].bias;
	exe_lo = mods.mods[k].lo;
	exe_hi = mods.mods[k].hi;
	agent_modules_release(&mods);

	if (elf_version(EV_CURRENT) == EV_NONE)
		broken("elf_version");
	fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		broken("open test binary");
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		broken("elf_begin");
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !(data = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *name;

			if (!gelf_getsym(data, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
			    !s.st_value || !(name = elf_strptr(elf, sh.sh_link, s.st_name)))
				continue;
			syms = check_grow(syms, nsyms, &cap, 1024, sizeof(*syms));
			syms[nsyms].start = (uintptr_t)s.st_value + exe_bias;
			syms[nsyms].size = (uintptr_t)s.st_size;
			syms[nsyms].name = strdup(name);
			nsyms++;
		}
	}
	elf_end(elf);
	close(fd);
	if (!nsyms) {
		printf("BROKEN: no .symtab in the test binary (stripped?)\n");
		exit(99);
	}
	qsort(syms, nsyms, sizeof(*syms), cmp_fsym);
}

static const struct fsym *sym_at(uintptr_t addr)
{
	for (size_t i = nsyms; i-- > 0;)
		if (syms[i].start <= addr)
			return addr < syms[i].start + (syms[i].size ? syms[i].size : 1) ? &syms[i] : NULL;
	return NULL;
}

/* Name of the function a return address PC returns into ("?" if none of ours). */
static const char *fn_of(uintptr_t pc)
{
	const struct fsym *s = pc ? sym_at(pc - 1) : NULL;

	return s ? s->name : "?";
}

/* ---------------------------------------------------------------- the chain */

enum { MODE_FP, MODE_LU };

#define MAXF 80
static uintptr_t ret_of[4];	/* into main (or the thread), chain_a, chain_b, chain_c */
static uintptr_t got[MAXF + 8];
static int got_n, got_errno;
static volatile int sink;

static NOIPA void chain_d(int mode, int max)
{
	ret_of[3] = RA();
	errno = 4242;
	if (mode == MODE_FP)
		got_n = agent_unwind_fp.capture(got, max, __builtin_frame_address(0));
	else
		got_n = agent_unwind_libunwind.capture(got, max, __builtin_frame_address(0));
	got_errno = errno;
	sink++;
}

static NOIPA void chain_c(int mode, int max)
{
	ret_of[2] = RA();
	chain_d(mode, max);
	sink++;
}

static NOIPA void chain_b(int mode, int max)
{
	ret_of[1] = RA();
	chain_c(mode, max);
	sink++;
}

static NOIPA void chain_a(int mode, int max)
{
	ret_of[0] = RA();
	chain_b(mode, max);
	sink++;
}

static void fill_canary(void)
{
	for (size_t i = 0; i < sizeof(got) / sizeof(got[0]); i++)
		got[i] = 0xc0ffee;
}

/* After a capture with MAX: no more than MAX written, nothing after. */
static void check_bounds(int max, int line)
{
	check_at(got_n >= 0 && got_n <= max, __FILE__, line, "capture with max %d returned %d", max, got_n);
	for (int i = got_n > 0 ? got_n : 0; i < (int)(sizeof(got) / sizeof(got[0])); i++)
		if (got[i] != 0xc0ffee) {
			check_at(0, __FILE__, line, "capture with max %d returned %d but wrote pcs[%d]", max, got_n, i);
			break;
		}
	for (int i = 0; i < got_n && i < MAXF; i++)
		if (!got[i]) {
			check_at(0, __FILE__, line, "capture returned a 0 frame at %d", i);
			break;
		}
}

/*
 * GOT[FIRST..] must be the chain's return addresses: into chain_c, chain_b,
 * chain_a, then CALLER.
 */
static void check_chain(int first, const char *caller, const char *what, int line)
{
	static const char *const names[] = { "chain_c", "chain_b", "chain_a" };

	check_at(got_n >= first + 4, __FILE__, line, "%s: %d frames, want at least %d", what, got_n, first + 4);
	for (int i = 0; i < 4 && first + i < got_n; i++) {
		uintptr_t pc = got[first + i];
		const char *want = i < 3 ? names[i] : caller;

		check_at(pc == ret_of[3 - i] && !strcmp(fn_of(pc), want), __FILE__, line,
			 "%s: frame %d is %#" PRIxPTR " in %s, want %#" PRIxPTR " in %s", what, first + i,
			 pc, fn_of(pc), ret_of[3 - i], want);
	}
}

/* A capture kept for checking later. */
struct kept {
	uintptr_t pcs[MAXF + 8], ret[4];
	int n, err;
};

static void keep(struct kept *k)
{
	memcpy(k->pcs, got, sizeof(got));
	memcpy(k->ret, ret_of, sizeof(ret_of));
	k->n = got_n;
	k->err = got_errno;
}

static void restore(const struct kept *k)
{
	memcpy(got, k->pcs, sizeof(got));
	memcpy(ret_of, k->ret, sizeof(ret_of));
	got_n = k->n;
	got_errno = k->err;
}

/* The backend's own function, so the tests can skip its frame as the agent does. */
static const struct fsym *lu_self;

/* Captures made by main itself (MAIN_FP, MAIN_LU_RAW without a self range, MAIN_LU after). */
static struct kept main_fp, main_lu_raw, main_lu;

static void check_main_chains(void)
{
	const struct fsym *s;

	/* fp: from chain_d's frame, the first frame is the return into chain_c. */
	restore(&main_fp);
	check_bounds(MAXF, __LINE__);
	if (AGENT_FP_SUPPORTED)
		check_chain(0, "main", "fp from main", __LINE__);
	else
		CHECK(got_n == 0, "fp where it is not supported: %d frames", got_n);
	CHECK(got_errno == 4242, "fp capture changed errno to %d", got_errno);

	/* libunwind with no self range: its own frame, then chain_d, then the chain. */
	restore(&main_lu_raw);
	check_bounds(MAXF, __LINE__);
	CHECK(got_errno == 4242, "libunwind capture changed errno to %d", got_errno);
	s = got_n > 0 ? sym_at(got[0] - 1) : NULL;
	CHECK(s == lu_self && s, "libunwind, no self range: frame 0 is in %s, not in the backend's capture function",
	      got_n > 0 ? fn_of(got[0]) : "(none)");
	CHECK(got_n > 1 && !strcmp(fn_of(got[1]), "chain_d"), "libunwind: frame 1 in %s, want chain_d",
	      got_n > 1 ? fn_of(got[1]) : "(none)");
	check_chain(2, "main", "libunwind from main", __LINE__);

	/* With the backend's function as the agent's range, its frame is skipped. */
	restore(&main_lu);
	check_bounds(MAXF, __LINE__);
	CHECK(got_n > 0 && !strcmp(fn_of(got[0]), "chain_d"),
	      "libunwind with the self range set: frame 0 in %s, want chain_d",
	      got_n > 0 ? fn_of(got[0]) : "(none)");
	check_chain(1, "main", "libunwind with self range", __LINE__);
}

/* Fewer frames than the stack has: exactly MAX, and nothing written past. */
static void test_max(void)
{
	if (!AGENT_FP_SUPPORTED)
		goto libunwind;
	fill_canary();
	chain_a(MODE_FP, 1);
	check_bounds(1, __LINE__);
	CHECK(got_n == 1 && got[0] == ret_of[3], "fp max 1: %d frames, first %#" PRIxPTR, got_n, got[0]);
	fill_canary();
	chain_a(MODE_FP, 3);
	check_bounds(3, __LINE__);
	CHECK(got_n == 3 && got[2] == ret_of[1], "fp max 3: %d frames", got_n);
	fill_canary();
	chain_a(MODE_FP, 0);
	check_bounds(0, __LINE__);
libunwind:
	fill_canary();
	chain_a(MODE_LU, 1);
	check_bounds(1, __LINE__);
	CHECK(got_n == 1 && !strcmp(fn_of(got[0]), "chain_d"), "libunwind max 1: %d frames, first in %s",
	      got_n, got_n > 0 ? fn_of(got[0]) : "(none)");
	fill_canary();
	chain_a(MODE_LU, 2);
	check_bounds(2, __LINE__);
	CHECK(got_n == 2 && got[1] == ret_of[3], "libunwind max 2: %d frames", got_n);
	fill_canary();
	chain_a(MODE_LU, 0);
	check_bounds(0, __LINE__);
}

static void test_backend_table(void)
{
	CHECK(agent_unwinder_find("fp") == &agent_unwind_fp, "agent_unwinder_find(\"fp\")");
	CHECK(agent_unwinder_find("libunwind") == &agent_unwind_libunwind, "agent_unwinder_find(\"libunwind\")");
	CHECK(agent_unwinder_find("") == NULL && agent_unwinder_find("FP") == NULL &&
	      agent_unwinder_find("fpx") == NULL && agent_unwinder_find("libunwin") == NULL,
	      "agent_unwinder_find accepted a wrong name");
	CHECK(!strcmp(agent_unwind_fp.name, "fp") && !strcmp(agent_unwind_libunwind.name, "libunwind"),
	      "backend names");
	/* 32-bit ARM has no frame-pointer walk: init refuses, capture finds nothing. */
	CHECK(agent_unwind_fp.init() == (AGENT_FP_SUPPORTED ? 0 : -1), "fp init: not %s",
	      AGENT_FP_SUPPORTED ? "0" : "-1 where frame pointers are not walked");
	CHECK(agent_unwind_libunwind.init() == 0, "libunwind init failed");

	agent_set_self_range(100, 200);
	CHECK(!agent_in_self(99) && agent_in_self(100) && agent_in_self(199) && !agent_in_self(200),
	      "agent_in_self is not [lo, hi)");
	agent_set_self_range(0, 0);
	CHECK(!agent_in_self(0) && !agent_in_self(1) && !agent_in_self(UINTPTR_MAX),
	      "agent_in_self with an empty range");
}

/* ---------------------------------------------------------------- recursion */

static uintptr_t rec_ret;

static NOIPA int recurse(int n, int mode, int max)
{
	int r;

	if (n == 0) {
		rec_ret = RA();
		if (mode == MODE_FP)
			r = agent_unwind_fp.capture(got, max, __builtin_frame_address(0));
		else
			r = agent_unwind_libunwind.capture(got, max, __builtin_frame_address(0));
	} else {
		r = recurse(n - 1, mode, max);
	}
	sink += n;	/* not a tail call */
	return r;
}

static void test_recursion(void)
{
	static const int maxes[] = { 32, 1, AGENT_MAX_DEPTH };

	for (size_t k = 0; k < sizeof(maxes) / sizeof(maxes[0]); k++) {
		int max = maxes[k], odd = 0;

		if (!AGENT_FP_SUPPORTED)
			goto libunwind;
		fill_canary();
		got_n = recurse(200, MODE_FP, max);
		check_bounds(max, __LINE__);
		CHECK(got_n == max, "fp, 200 deep, max %d: %d frames", max, got_n);
		for (int i = 0; i < got_n; i++)
			odd += got[i] != rec_ret;
		CHECK(!odd && !strcmp(fn_of(rec_ret), "recurse"),
		      "fp, 200 deep, max %d: %d frames are not the return into recurse", max, odd);
libunwind:
		fill_canary();
		got_n = recurse(200, MODE_LU, max);
		check_bounds(max, __LINE__);
		CHECK(got_n == max, "libunwind, 200 deep, max %d: %d frames", max, got_n);
		odd = 0;
		for (int i = 0; i < got_n; i++)
			odd += strcmp(fn_of(got[i]), "recurse") != 0 || (i > 0 && got[i] != rec_ret);
		CHECK(!odd, "libunwind, 200 deep, max %d: %d frames outside recurse (first in %s)", max, odd,
		      got_n > 0 ? fn_of(got[0]) : "(none)");
	}
}

/* ---------------------------------------------------------------- forged frames */

/*
 * Two frame records in the caller's memory: REC[0..1] = { &REC[2], 0x1111 },
 * REC[2..3] = { NEXT, RET2 }. The walk starting at REC must give 0x1111 and
 * RET2 (if nonzero), and stop there.
 */
static int walk_forged(uintptr_t *rec, uintptr_t next, uintptr_t ret2, uintptr_t *out, int max)
{
	rec[0] = (uintptr_t)&rec[2];
	rec[1] = 0x1111;
	rec[2] = next;
	rec[3] = ret2;
	return agent_unwind_fp.capture(out, max, rec);
}

/* The cases that need no special memory: bad NEXT values relative to REC. */
static void forged_basic(uintptr_t *rec, const char *where)
{
	uintptr_t out[16];
	uintptr_t heap_word = (uintptr_t)malloc(64);
	struct {
		const char *what;
		uintptr_t next;
	} cases[] = {
		{ "a zero frame pointer", 0 },
		{ "a frame pointer to a lower address", (uintptr_t)&rec[0] - 64 },
		{ "a frame pointer to itself", (uintptr_t)&rec[2] },
		{ "a misaligned frame pointer", (uintptr_t)&rec[4] + 4 },
		{ "a frame pointer into the heap", heap_word },
		{ "a frame pointer to the top of the address space", UINTPTR_MAX & ~(uintptr_t)15 },
		{ "a frame pointer into the kernel half", (uintptr_t)0xffff880000000000u },
	};
	int n;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 0, sizeof(out));
		n = walk_forged(rec, cases[i].next, 0x2222, out, 16);
		CHECK(n == 2 && out[0] == 0x1111 && out[1] == 0x2222,
		      "%s, %s: %d frames (%#" PRIxPTR ", %#" PRIxPTR ", %#" PRIxPTR "), want 0x1111, 0x2222",
		      where, cases[i].what, n, out[0], out[1], out[2]);
	}
	/* A zero return address ends the walk without being a frame. */
	rec[4] = 0;
	rec[5] = 0x3333;
	n = walk_forged(rec, (uintptr_t)&rec[4], 0, out, 16);
	CHECK(n == 1 && out[0] == 0x1111, "%s, zero return address: %d frames", where, n);
	/* A walk that starts on garbage gives nothing. */
	CHECK(agent_unwind_fp.capture(out, 16, NULL) == 0, "%s: capture from a NULL frame", where);
	CHECK(agent_unwind_fp.capture(out, 16, (void *)((uintptr_t)rec + 3)) == 0,
	      "%s: capture from a misaligned frame", where);
	CHECK(agent_unwind_fp.capture(out, 16, (void *)heap_word) == 0, "%s: capture from a heap frame", where);
	free((void *)heap_word);
}

static NOIPA void forged_on_main_stack(void)
{
	uintptr_t rec[8] __attribute__((aligned(16)));

	forged_basic(rec, "main stack");
}

/*
 * A thread on a stack we mapped, with a read-only page right above it that
 * holds a plausible frame record: walking into it is reading outside the
 * stack, and would show up as the frame 0xbad. The thread gets all but the
 * mapping's top page (glibc puts its descriptor at the top of the stack it
 * is given), so the forged records near the end of the mapping clobber
 * nothing.
 */
#define TSTACK (256 * 1024)

static char *tstack_top;	/* first byte above the thread's stack */

static NOIPA void forged_past_stack(void)
{
	uintptr_t rec[8] __attribute__((aligned(16)));
	uintptr_t out[16];
	uintptr_t above = (uintptr_t)tstack_top;
	int n;

	forged_basic(rec, "mapped thread stack");

	/* Into the page above the stack. */
	memset(out, 0, sizeof(out));
	n = walk_forged(rec, above, 0x2222, out, 16);
	CHECK(n == 2 && out[0] == 0x1111 && out[1] == 0x2222,
	      "frame pointer just above the stack: %d frames (third %#" PRIxPTR ")", n, out[2]);
	/* A record whose first word is the stack's last: it does not fit. */
	memset(out, 0, sizeof(out));
	n = walk_forged(rec, above - sizeof(uintptr_t), 0x2222, out, 16);
	CHECK(n == 2 && out[0] == 0x1111 && out[1] == 0x2222,
	      "frame record straddling the stack's end: %d frames (third %#" PRIxPTR ")", n, out[2]);
	/* The last record that fits is still walked. */
	{
		uintptr_t *last = (uintptr_t *)(above - 2 * sizeof(uintptr_t));

		last[0] = 0;
		last[1] = 0x4444;
		memset(out, 0, sizeof(out));
		n = walk_forged(rec, (uintptr_t)last, 0x2222, out, 16);
		CHECK(n == 3 && out[2] == 0x4444, "the last record inside the stack: %d frames", n);
	}
}

/* FN(ARG) on a new thread with ATTR (NULL: the defaults), waited for; ATTR
 * is destroyed after. A thread that cannot start is a broken harness. */
static void thread_run(pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	pthread_t t;

	errno = pthread_create(&t, attr, fn, arg);
	if (errno)
		broken("pthread_create");
	pthread_join(t, NULL);
	if (attr)
		pthread_attr_destroy(attr);
}

static void *forged_thread(void *arg)
{
	(void)arg;
	forged_past_stack();
	return NULL;
}

static void test_forged(void)
{
	if (!AGENT_FP_SUPPORTED)
		return;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	pthread_attr_t attr;
	char *map;

	forged_on_main_stack();

	map = mmap(NULL, TSTACK + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		broken("mmap");
	tstack_top = map + TSTACK;
	/* A record that would chain on: { next = itself + 16, ret = 0xbad }. */
	((uintptr_t *)tstack_top)[0] = (uintptr_t)tstack_top + 16;
	((uintptr_t *)tstack_top)[1] = 0xbad;
	((uintptr_t *)tstack_top)[2] = 0;
	((uintptr_t *)tstack_top)[3] = 0xbad;
	if (mprotect(tstack_top, page, PROT_READ) < 0)	/* a mapping of its own in /proc/self/maps */
		broken("mprotect");
	if (pthread_attr_init(&attr) || pthread_attr_setstack(&attr, map, TSTACK - page))
		broken("pthread_attr_setstack");
	thread_run(&attr, forged_thread, NULL);
	munmap(map, TSTACK + page);
}

/* ---------------------------------------------------------------- threads, errno */

struct thread_result {
	int fp_n, lu_n, fp_errno, lu_errno;
	uintptr_t fp[MAXF + 8], lu[MAXF + 8], ret_fp[4], ret_lu[4];
	int deep_n;
};

static NOIPA void small_stack_body(struct thread_result *r)
{
	/* The first capture of a new thread finds its stack in /proc/self/maps. */
	chain_a(MODE_FP, MAXF);
	r->fp_n = got_n;
	r->fp_errno = got_errno;
	memcpy(r->fp, got, sizeof(r->fp));
	memcpy(r->ret_fp, ret_of, sizeof(r->ret_fp));
	chain_a(MODE_LU, MAXF);
	r->lu_n = got_n;
	r->lu_errno = got_errno;
	memcpy(r->lu, got, sizeof(r->lu));
	memcpy(r->ret_lu, ret_of, sizeof(r->ret_lu));
	r->deep_n = recurse(100, MODE_FP, 32);
	sink++;
}

static void *small_stack_thread(void *arg)
{
	small_stack_body(arg);
	return NULL;
}

static void test_small_stack(void)
{
	struct thread_result *r = calloc(1, sizeof(*r));
	pthread_attr_t attr;

	/* 64 KiB, or the smallest stack the libc allows (128 KiB on aarch64). */
	size_t size = 64 * 1024 < PTHREAD_STACK_MIN ? PTHREAD_STACK_MIN : 64 * 1024;

	if (!r)
		broken("calloc");
	if ((errno = pthread_attr_init(&attr)) || (errno = pthread_attr_setstacksize(&attr, size)))
		broken("pthread_attr_setstacksize");
	thread_run(&attr, small_stack_thread, r);

	memcpy(ret_of, r->ret_fp, sizeof(ret_of));
	memcpy(got, r->fp, sizeof(r->fp));
	got_n = r->fp_n;
	if (AGENT_FP_SUPPORTED)
		check_chain(0, "small_stack_body", "fp on a 64 KiB thread stack", __LINE__);
	CHECK(r->fp_errno == 4242, "fp capture (first in its thread) changed errno to %d", r->fp_errno);
	memcpy(got, r->lu, sizeof(r->lu));
	memcpy(ret_of, r->ret_lu, sizeof(ret_of));
	got_n = r->lu_n;
	check_chain(1, "small_stack_body", "libunwind on a 64 KiB thread stack", __LINE__);
	CHECK(r->lu_errno == 4242, "libunwind capture changed errno to %d", r->lu_errno);
	CHECK(r->deep_n == (AGENT_FP_SUPPORTED ? 32 : 0), "fp, 100 deep on a 64 KiB stack: %d frames",
	      r->deep_n);
	free(r);
}

/*
 * A new thread's first fp capture reads /proc/self/maps. With every file
 * descriptor taken that open fails: no frames, but errno as it was.
 */
struct nofd_result {
	int opened, fp_n, fp_errno, lu_n, lu_errno;
};

static void *nofd_thread(void *arg)
{
	struct nofd_result *r = arg;
	uintptr_t pcs[MAXF];
	int fds[256];
	int fd;

	while (r->opened < 256 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		fds[r->opened++] = fd;
	errno = 4242;
	r->fp_n = agent_unwind_fp.capture(pcs, MAXF, __builtin_frame_address(0));
	r->fp_errno = errno;
	errno = 4343;
	r->lu_n = agent_unwind_libunwind.capture(pcs, MAXF, __builtin_frame_address(0));
	r->lu_errno = errno;
	while (r->opened > 0)
		close(fds[--r->opened]);
	return NULL;
}

static void test_no_fds(void)
{
	struct nofd_result r = { 0, -1, 0, -1, 0 };
	struct rlimit old, low;

	if (getrlimit(RLIMIT_NOFILE, &old) < 0)
		broken("getrlimit");
	low = old;
	low.rlim_cur = 64;
	if (setrlimit(RLIMIT_NOFILE, &low) < 0)
		broken("setrlimit");
	thread_run(NULL, nofd_thread, &r);
	if (setrlimit(RLIMIT_NOFILE, &old) < 0)
		broken("setrlimit");
	CHECK(r.fp_n >= 0 && r.fp_n <= MAXF, "fp without a free descriptor: %d frames", r.fp_n);
	CHECK(r.fp_errno == 4242, "fp without a free descriptor changed errno to %d (%s)", r.fp_errno,
	      strerror(r.fp_errno));
	CHECK(r.lu_n >= 0 && r.lu_n <= MAXF, "libunwind without a free descriptor: %d frames", r.lu_n);
	CHECK(r.lu_errno == 4343, "libunwind without a free descriptor changed errno to %d (%s)", r.lu_errno,
	      strerror(r.lu_errno));
}

/* ---------------------------------------------------------------- sigaltstack */

static volatile sig_atomic_t in_handler;
static int sig_fp_n, sig_lu_n, sig_errno_fp;
static uintptr_t sig_fp[MAXF + 8], sig_lu[MAXF + 8];
static uintptr_t sig_sp;

static void on_usr1(int sig)
{
	int saved = errno;

	(void)sig;
	in_handler = 1;
	sig_sp = (uintptr_t)__builtin_frame_address(0);
	errno = 77;
	sig_fp_n = agent_unwind_fp.capture(sig_fp, MAXF, __builtin_frame_address(0));
	sig_errno_fp = errno;
	sig_lu_n = agent_unwind_libunwind.capture(sig_lu, MAXF, __builtin_frame_address(0));
	errno = saved;
}

static NOIPA void raise_here(void)
{
	raise(SIGUSR1);
	sink++;
}

/*
 * A handler on an alternate stack of SIZE bytes. Where that leaves less
 * than the table walk's need (AGENT_TABLE_WALK_STACK: 64 KiB and more on
 * mips64el, whose libunwind cursor alone is 32 KiB), the walk must not run
 * (it overflowed such a stack): the libunwind backend gives what the
 * frame-pointer walk gives instead.
 */
static NOIPA void on_altstack(char *alt, size_t size)
{
	stack_t ss = { 0 }, old;
	struct sigaction sa;
	int found = 0;

	ss.ss_sp = alt;
	ss.ss_size = size;
	if (sigaltstack(&ss, &old) < 0)
		broken("sigaltstack");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);

	raise_here();
	CHECK(in_handler, "the handler did not run");
	CHECK(sig_sp >= (uintptr_t)alt && sig_sp < (uintptr_t)alt + size,
	      "the handler did not run on the alternate stack");
	CHECK(AGENT_FP_SUPPORTED ? sig_fp_n >= 1 && sig_fp_n <= MAXF : sig_fp_n == 0,
	      "fp on the alternate stack: %d frames", sig_fp_n);
	for (int i = 0; i < sig_fp_n && i < MAXF; i++)
		CHECK(sig_fp[i] != 0, "fp on the alternate stack: frame %d is 0", i);
	CHECK(sig_errno_fp == 77, "fp capture in a handler changed errno to %d", sig_errno_fp);
	if (size <= AGENT_TABLE_WALK_STACK) {
		CHECK(sig_lu_n == sig_fp_n && !memcmp(sig_lu, sig_fp, (size_t)sig_fp_n * sizeof(sig_fp[0])),
		      "the table walk on a %zu KiB alternate stack: %d frames, fp's %d", size / 1024,
		      sig_lu_n, sig_fp_n);
		goto out;
	}
	/* libunwind steps through the signal frame back to the code that raised it. */
	CHECK(sig_lu_n >= 2 && !strcmp(fn_of(sig_lu[0]), "on_usr1"),
	      "libunwind in a handler: %d frames, first in %s", sig_lu_n,
	      sig_lu_n > 0 ? fn_of(sig_lu[0]) : "(none)");
	for (int i = 0; i < sig_lu_n && i < MAXF; i++)
		found |= !strcmp(fn_of(sig_lu[i]), "raise_here");
	/* Through raise(), which Debian's musl built without unwind tables: the walk ends there. */
#ifdef __GLIBC__
	CHECK(found, "libunwind in a handler on the alternate stack never reached raise_here (%d frames)", sig_lu_n);
#endif
out:
	in_handler = 0;
	sigaltstack(&old, NULL);
	signal(SIGUSR1, SIG_DFL);
}

/*
 * A large alternate stack, then a small one at its top, in the same
 * mapping: the small one's bounds come from sigaltstack, not from the
 * mapping nor from the large one's, which the thread saw last.
 */
static NOIPA void test_sigaltstack(void)
{
	size_t big = AGENT_TABLE_WALK_STACK + 64 * 1024, small = AGENT_TABLE_WALK_STACK;
	char *alt = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (alt == MAP_FAILED)
		broken("mmap");
	on_altstack(alt, big);
	on_altstack(alt + big - small, small);
	munmap(alt, big);

	/* Back on the normal stack, the fp walk finds it again. */
	fill_canary();
	chain_a(MODE_FP, MAXF);
	if (AGENT_FP_SUPPORTED)
		check_chain(0, "test_sigaltstack", "fp after the handler", __LINE__);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(60);	/* a walk that loops fails by SIGALRM instead of running forever */
	load_symbols();
	CHECK((uintptr_t)chain_a >= exe_lo && (uintptr_t)chain_a < exe_hi, "chain_a outside the module's span");
	CHECK(!strcmp(fn_of((uintptr_t)chain_b + 1), "chain_b"), "the symbol table does not name chain_b");
	test_backend_table();

	/* The chain is called from main itself, so its last frame names main. */
	agent_set_self_range(0, 0);
	fill_canary();
	chain_a(MODE_FP, MAXF);
	keep(&main_fp);
	fill_canary();
	chain_a(MODE_LU, MAXF);
	keep(&main_lu_raw);
	lu_self = got_n > 0 ? sym_at(got[0] - 1) : NULL;
	if (!lu_self || (uintptr_t)agent_unwind_libunwind.capture < lu_self->start ||
	    (uintptr_t)agent_unwind_libunwind.capture >= lu_self->start + lu_self->size) {
		CHECK(0, "libunwind's first frame (%s) is not in its capture function",
		      got_n > 0 ? fn_of(got[0]) : "(none)");
		printf("test_unwind: %d of %d checks failed\n", failures, checks);
		return 1;
	}
	agent_set_self_range(lu_self->start, lu_self->start + lu_self->size);
	fill_canary();
	chain_a(MODE_LU, MAXF);
	keep(&main_lu);
	check_main_chains();

	test_max();
	test_recursion();
	test_forged();
	test_small_stack();
	test_no_fds();
	test_sigaltstack();
	alarm(0);

	for (size_t i = 0; i < nsyms; i++)
		free(syms[i].name);
	free(syms);
	if (failures)
		printf("test_unwind: %d of %d checks failed\n", failures, checks);
	return failures ? 1 : 0;
}
