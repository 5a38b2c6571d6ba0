/*
 * Unit test for the symbol cache (common/elfsym.c), built with
 * AddressSanitizer (and LeakSanitizer at exit, so every cache is freed).
 *
 * First on the test binary itself: a few of its functions, looked up at
 * their address minus the load bias, must come back by name and start.
 * Then on a shared object assembled at test time from a listing whose
 * every offset and size is fixed: sized symbols and the gaps after them,
 * an unsized one, three names at one address, a best name that borrows
 * another's size, a data object. A stripped copy must give exactly the
 * exported names. Missing, empty, non-ELF and truncated files give 0;
 * a module is read once (still answers after its file is deleted); the
 * root prefix is put in front of every path.
 *
 * The shared object needs $CC (default cc) and strip or objcopy; where they
 * are missing (a target without a toolchain) those parts are skipped and
 * said so. The rest works on copies of the test binary. Files go to a
 * directory made under $TMPDIR (default /tmp), removed unless the test
 * fails.
 *
 * Exit status: 0 pass, 1 fail (one "FAIL file:line" line per failed check),
 * 77 when the shared-object part could not run and the rest passed, 99 when
 * the harness itself cannot run.
 */
#include "elfsym.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa, noinline))

int main(void);

#include "check.h"

/* Where a function's code is: without the Thumb bit of its address on ARM. */
#ifdef __arm__
#define CODE_ADDR(f) ((uintptr_t)(f) & ~(uintptr_t)1)
#else
#define CODE_ADDR(f) ((uintptr_t)(f))
#endif

static char dir[4096];

/* DIR/NAME (check.h). */
#define in_dir(name) check_path(dir, name)

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) < 0)
		broken(path);
}

static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
		broken(path);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		broken(path);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void copy_file(const char *from, const char *to)
{
	size_t len;
	char *data = read_file(from, &len);

	write_file(to, data, len);
	free(data);
}

/* A shell command run quietly: its output goes to DIR/cmd.log. */
#define run(...) check_run(in_dir("cmd.log"), __VA_ARGS__)

/* A new symbol cache over ROOT (NULL: none); failing is a broken harness. */
static struct inj_symcache *cache_new(const char *root)
{
	struct inj_symcache *c = inj_symcache_new(root);

	if (!c)
		broken("inj_symcache_new");
	return c;
}

struct sym {
	int found;
	const char *name;
	uint64_t start;
};

static struct sym look(struct inj_symcache *c, const char *path, uint64_t addr)
{
	struct sym s = { 0, "(untouched)", UINT64_C(0xdeadbeef) };

	s.found = inj_symcache_lookup(c, path, addr, &s.name, &s.start);
	return s;
}

/* PATH at ADDR must be NAME starting at START (NAME NULL: nothing). */
#define CHECK_SYM(c, path, addr, name, start) check_sym_at(c, path, addr, name, start, __LINE__)
static void check_sym_at(struct inj_symcache *c, const char *path, uint64_t addr, const char *name,
			 uint64_t start, int line)
{
	struct sym s = look(c, path, addr);

	if (!name)
		check_at(s.found == 0, __FILE__, line, "%s at %#" PRIx64 ": got %s at %#" PRIx64 ", want nothing",
			 path, addr, s.found ? s.name : "?", s.found ? s.start : 0);
	else
		check_at(s.found == 1 && s.name && !strcmp(s.name, name) && s.start == start, __FILE__, line,
			 "%s at %#" PRIx64 ": got %d %s at %#" PRIx64 ", want %s at %#" PRIx64, path, addr,
			 s.found, s.found ? s.name : "-", s.found ? s.start : 0, name, start);
}

/* ---------------------------------------------------------------- the test binary */

static NOIPA int probe_one(int x)
{
	return x * 3 + 1;
}

NOIPA int elfsym_probe_global(int x);
NOIPA int elfsym_probe_global(int x)
{
	return probe_one(x) ^ 5;
}

struct bias_search {
	uintptr_t addr, bias;
	int found;
};

static int find_bias(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct bias_search *b = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && b->addr >= lo && b->addr < lo + ph->p_memsz) {
			b->bias = info->dlpi_addr;
			b->found = 1;
			return 1;
		}
	}
	return 0;
}

static uintptr_t bias_of(const void *addr)
{
	struct bias_search b = { (uintptr_t)addr, 0, 0 };

	dl_iterate_phdr(find_bias, &b);
	if (!b.found) {
		printf("BROKEN: no module holds %p\n", addr);
		exit(99);
	}
	return b.bias;
}

static uint64_t probe_v, main_v;	/* ELF virtual addresses in the test binary */

static void test_self(void)
{
	const struct {
		const char *name;
		uintptr_t addr;
	} fns[] = {
		{ "probe_one", CODE_ADDR(probe_one) },
		{ "elfsym_probe_global", CODE_ADDR(elfsym_probe_global) },
		{ "main", CODE_ADDR(main) },
		{ "check_sym_at", CODE_ADDR(check_sym_at) },
	};
	uintptr_t bias = bias_of((const void *)main);
	struct inj_symcache *c = inj_symcache_new(NULL);
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (!c || n <= 0)
		broken("inj_symcache_new or readlink");
	exe[n] = '\0';
	probe_v = (uint64_t)(CODE_ADDR(probe_one) - bias);
	main_v = (uint64_t)(CODE_ADDR(main) - bias);
	CHECK(elfsym_probe_global(1) == (4 ^ 5), "probe function broken");
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		uint64_t v = (uint64_t)(fns[i].addr - bias);

		CHECK_SYM(c, "/proc/self/exe", v, fns[i].name, v);
		CHECK_SYM(c, "/proc/self/exe", v + 1, fns[i].name, v);
		CHECK_SYM(c, exe, v + 2, fns[i].name, v);
	}
	/* Below every function: nothing. */
	CHECK_SYM(c, exe, 0, NULL, 0);
	CHECK_SYM(c, exe, 1, NULL, 0);
	inj_symcache_free(c);
	inj_symcache_free(NULL);
}

/* ---------------------------------------------------------------- the built object */

/*
 * Offsets from "anchor" in .text. Sizes are set with .size; the gaps carry
 * no symbol.
 */
static const char listing[] =
	"\t.text\n"
	"\t.globl anchor\n\t.type anchor, %function\nanchor:\n\t.fill 16, 1, 0\n\t.size anchor, 16\n"
	"\t.fill 16, 1, 0\n"							/* +16 gap */
	"\t.globl sized32\n\t.type sized32, %function\nsized32:\n\t.fill 32, 1, 0\n\t.size sized32, 32\n"	/* +32 */
	"\t.type local48, %function\nlocal48:\n\t.fill 48, 1, 0\n\t.size local48, 48\n"	/* +64 */
	"\t.globl hidden16\n\t.hidden hidden16\n\t.type hidden16, %function\n"
	"hidden16:\n\t.fill 16, 1, 0\n\t.size hidden16, 16\n"		/* +112 */
	"\t.globl unsized\n\t.type unsized, %function\nunsized:\n\t.fill 64, 1, 0\n"	/* +128 */
	"\t.type alias_local, %function\n\t.weak alias_weak\n\t.type alias_weak, %function\n"
	"\t.globl alias_global\n\t.type alias_global, %function\n"
	"alias_local:\nalias_weak:\nalias_global:\n\t.fill 16, 1, 0\n"	/* +192 */
	"\t.size alias_local, 16\n\t.size alias_weak, 16\n\t.size alias_global, 16\n"
	"\t.globl nosize_global\n\t.type nosize_global, %function\n\t.type sized_local, %function\n"
	"nosize_global:\nsized_local:\n\t.fill 24, 1, 0\n\t.size sized_local, 24\n"	/* +208 */
	"\t.fill 8, 1, 0\n"							/* +232 gap */
	"\t.globl last_fn\n\t.type last_fn, %function\nlast_fn:\n\t.fill 16, 1, 0\n\t.size last_fn, 16\n"	/* +240 */
	"\t.data\n"
	"\t.globl data_obj\n\t.type data_obj, %object\ndata_obj:\n\t.fill 64, 1, 0\n\t.size data_obj, 64\n"
	"\t.section .note.GNU-stack,\"\",%progbits\n";

static uint64_t anchor_v, data_v;	/* ELF virtual addresses in lib.so */

/* Build DIR/lib.so. 0, or -1 with the reason in *WHY. */
static int build_object(const char **why)
{
	const char *cc = getenv("CC");
	void *h;
	struct link_map *lm = NULL;
	void *a, *d;

	if (!cc || !*cc)
		cc = "cc";
	write_file(in_dir("t.s"), listing, sizeof(listing) - 1);
	if (run("%s -shared -nostdlib -o '%s' '%s'", cc, in_dir("lib.so"), in_dir("t.s")) < 0) {
		*why = "cannot build a shared object with $CC (or cc)";
		return -1;
	}
	/* Where the loader put it says where the linker did. */
	h = dlopen(in_dir("lib.so"), RTLD_NOW | RTLD_LOCAL);
	if (!h || dlinfo(h, RTLD_DI_LINKMAP, &lm) < 0 || !lm || !(a = dlsym(h, "anchor")) ||
	    !(d = dlsym(h, "data_obj"))) {
		printf("BROKEN: dlopen of the built object: %s\n", dlerror());
		exit(99);
	}
	anchor_v = (uint64_t)((uintptr_t)a - lm->l_addr);
	data_v = (uint64_t)((uintptr_t)d - lm->l_addr);
	dlclose(h);
	return 0;
}

static void test_object(void)
{
	const char *so = in_dir("lib.so");
	struct inj_symcache *c = cache_new(NULL);
	uint64_t a = anchor_v;

	CHECK(anchor_v != 0, "anchor at 0");
	CHECK_SYM(c, so, a, "anchor", a);
	CHECK_SYM(c, so, a + 15, "anchor", a);
	CHECK_SYM(c, so, a + 16, NULL, 0);		/* past a sized symbol */
	CHECK_SYM(c, so, a + 31, NULL, 0);
	CHECK_SYM(c, so, a + 32, "sized32", a + 32);
	CHECK_SYM(c, so, a + 63, "sized32", a + 32);
	CHECK_SYM(c, so, a + 64, "local48", a + 64);	/* local: from .symtab */
	CHECK_SYM(c, so, a + 111, "local48", a + 64);
	CHECK_SYM(c, so, a + 112, "hidden16", a + 112);
	CHECK_SYM(c, so, a + 127, "hidden16", a + 112);
	CHECK_SYM(c, so, a + 128, "unsized", a + 128);	/* no size: up to the next symbol */
	CHECK_SYM(c, so, a + 191, "unsized", a + 128);
	CHECK_SYM(c, so, a + 192, "alias_global", a + 192);	/* global beats weak beats local */
	CHECK_SYM(c, so, a + 207, "alias_global", a + 192);
	CHECK_SYM(c, so, a + 208, "nosize_global", a + 208);	/* best name, borrowed size */
	CHECK_SYM(c, so, a + 231, "nosize_global", a + 208);
	CHECK_SYM(c, so, a + 232, NULL, 0);
	CHECK_SYM(c, so, a + 239, NULL, 0);
	CHECK_SYM(c, so, a + 240, "last_fn", a + 240);
	CHECK_SYM(c, so, a + 255, "last_fn", a + 240);
	CHECK_SYM(c, so, a + 256, NULL, 0);		/* past the last function */
	CHECK_SYM(c, so, a - 1, NULL, 0);		/* before the first */
	CHECK_SYM(c, so, 0, NULL, 0);
	/* Data objects with a size too: what a block's first word points to (leaks' groups). */
	CHECK_SYM(c, so, data_v, "data_obj", data_v);
	CHECK_SYM(c, so, data_v + 8, "data_obj", data_v);
	CHECK_SYM(c, so, data_v + 64, NULL, 0);		/* past its size */
	CHECK_SYM(c, so, UINT64_MAX, NULL, 0);
	inj_symcache_free(c);
}

/* A stripped copy keeps .dynsym: exported names only, each still within its size. */
static void test_stripped(void)
{
	const char *st = in_dir("stripped.so");
	struct inj_symcache *c = cache_new(NULL);
	uint64_t a = anchor_v;

	CHECK_SYM(c, st, a + 5, "anchor", a);
	CHECK_SYM(c, st, a + 16, NULL, 0);
	CHECK_SYM(c, st, a + 40, "sized32", a + 32);
	CHECK_SYM(c, st, a + 64, NULL, 0);		/* local48 is gone, sized32 ends at +64 */
	CHECK_SYM(c, st, a + 100, NULL, 0);
	CHECK_SYM(c, st, a + 112, NULL, 0);		/* hidden16 was never exported */
	CHECK_SYM(c, st, a + 130, "unsized", a + 128);
	CHECK_SYM(c, st, a + 192, "alias_global", a + 192);
	CHECK_SYM(c, st, a + 208, "nosize_global", a + 208);
	/* Without sized_local there is no size to borrow: it runs to last_fn. */
	CHECK_SYM(c, st, a + 235, "nosize_global", a + 208);
	CHECK_SYM(c, st, a + 241, "last_fn", a + 240);
	CHECK_SYM(c, st, a + 256, NULL, 0);
	CHECK_SYM(c, st, data_v + 63, "data_obj", data_v);	/* exported */
	inj_symcache_free(c);
}

/* Files that are not a readable ELF object give 0, every time. */
static void test_bad_files(void)
{
	struct inj_symcache *c = cache_new(NULL);
	static const char text[] = "this is not an ELF file\n";
	size_t len;
	char *so = read_file("/proc/self/exe", &len);
	const char *const bad[] = {
		"/nonexistent/memtrace-test/lib.so", in_dir("text"), in_dir("empty"), in_dir("elf-64"),
		in_dir("elf-half"), in_dir("elf-shoff"), in_dir("elf-magic"), dir, "",
	};

	write_file(in_dir("text"), text, sizeof(text) - 1);
	write_file(in_dir("empty"), "", 0);
	write_file(in_dir("elf-64"), so, len < 64 ? len : 64);
	write_file(in_dir("elf-half"), so, len / 2);
	/* Section headers said to be far past the end of the file. */
	if (len >= 64) {
		uint64_t far64 = UINT64_C(0x7fffffff00);
		uint32_t far32 = UINT32_C(0x7fffff00);

		if (so[4] == 2)		/* EI_CLASS: e_shoff in an ELF64 header, or an ELF32 one */
			memcpy(so + 0x28, &far64, sizeof(far64));
		else
			memcpy(so + 0x20, &far32, sizeof(far32));
		write_file(in_dir("elf-shoff"), so, len);
		memcpy(so, "\177ELG", 4);
		write_file(in_dir("elf-magic"), so, len);
	}
	for (int round = 0; round < 2; round++)		/* the second time from the cache */
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct sym s = look(c, bad[i], probe_v);

			CHECK(s.found == 0, "%s (round %d): found %s", bad[i], round, s.found ? s.name : "");
		}
	free(so);
	inj_symcache_free(c);
}

/* A module is read once: after its file is gone the cache still answers. */
static void test_cached(void)
{
	struct inj_symcache *c = cache_new(NULL), *fresh;
	const char *path = in_dir("cached");

	copy_file("/proc/self/exe", path);
	CHECK_SYM(c, path, probe_v, "probe_one", probe_v);
	if (unlink(path) < 0)
		broken("unlink");
	CHECK_SYM(c, path, probe_v + 1, "probe_one", probe_v);
	CHECK_SYM(c, path, main_v, "main", main_v);
	fresh = cache_new(NULL);
	CHECK_SYM(fresh, path, probe_v, NULL, 0);	/* the file really is gone */
	/* And a module that could not be read is not retried either. */
	copy_file("/proc/self/exe", path);
	CHECK_SYM(fresh, path, probe_v, NULL, 0);
	inj_symcache_free(fresh);
	inj_symcache_free(c);
}

/* ROOT goes in front of every path. */
static void test_root(void)
{
	char root[4200], path[4300], outside[4200];
	struct inj_symcache *c, *plain;

	snprintf(root, sizeof(root), "%s", in_dir("root"));
	snprintf(outside, sizeof(outside), "%s", in_dir("outside"));
	if (mkdir(in_dir("root"), 0755) < 0 || mkdir(in_dir("root/abs"), 0755) < 0 ||
	    mkdir(in_dir("root/abs/path"), 0755) < 0)
		broken("mkdir");
	copy_file("/proc/self/exe", in_dir("root/abs/path/prog"));
	copy_file("/proc/self/exe", outside);
	c = cache_new(root);
	plain = cache_new(NULL);
	CHECK_SYM(c, "/abs/path/prog", probe_v + 1, "probe_one", probe_v);
	CHECK_SYM(plain, "/abs/path/prog", probe_v + 1, NULL, 0);
	/* Every path goes under the root, even one that exists outside it. */
	CHECK_SYM(c, outside, probe_v + 1, NULL, 0);
	CHECK_SYM(plain, outside, probe_v + 1, "probe_one", probe_v);
	inj_symcache_free(c);
	inj_symcache_free(plain);

	snprintf(path, sizeof(path), "%s/", root);
	c = cache_new(path);
	CHECK_SYM(c, "/abs/path/prog", probe_v, "probe_one", probe_v);
	inj_symcache_free(c);
}

/* What the tools said, for a skip. */
static void print_log(void)
{
	struct stat st;
	size_t len;
	char *log;

	if (stat(in_dir("cmd.log"), &st) < 0)
		return;
	log = read_file(in_dir("cmd.log"), &len);
	printf("%.*s", (int)(len > 2000 ? 2000 : len), log);
	if (len && log[len > 2000 ? 1999 : len - 1] != '\n')
		putchar('\n');
	free(log);
}

static void cleanup(void)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("warning: could not remove %s\n", dir);
}

int main(void)
{
	const char *why = NULL;
	const char *cc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	check_tmpdir(dir, sizeof(dir));

	test_self();
	test_bad_files();
	test_cached();
	test_root();
	if (build_object(&why) == 0) {
		test_object();
		if (run("strip -o '%s' '%s'", in_dir("stripped.so"), in_dir("lib.so")) == 0 ||
		    run("objcopy --strip-all '%s' '%s'", in_dir("lib.so"), in_dir("stripped.so")) == 0)
			test_stripped();
		else
			why = "no strip or objcopy to make a stripped copy";
	}

	if (failures) {
		printf("test_elfsym: %d of %d checks failed; files kept in %s\n", failures, checks, dir);
		return 1;
	}
	if (why) {
		cc = getenv("CC");
		printf("test_elfsym: %d checks passed, the shared-object part skipped\n", checks);
		print_log();
		cleanup();
		printf("SKIP: %s (CC=%s)\n", why, cc ? cc : "unset");
		return 77;
	}
	cleanup();
	return 0;
}
