/*
 * Unit test for the decoder (server/), built with AddressSanitizer (and
 * LeakSanitizer at exit: the decoder must free everything).
 *
 * 1. Beside addr2line: every 7th instruction address (objdump -d) of a few
 *    binaries built here with -g is decoded, and the chain of places
 *    (inlined calls innermost first, then the function) must be the one
 *    `addr2line -a -f -i -C -e FILE` prints for the same address: function,
 *    file and line, but for the one known slip of binutils 2.40's addr2line
 *    (addr2line_file1_slip), counted apart. The binaries: this test itself
 *    (-O1: real inlining), and
 *    when the environment names them (tests/run.sh does), the server_leak
 *    and cxx victims (always_inline, C++ names) and memtrace (-O2); and
 *    any listed in $TEST_DECODE_FILES (space-separated).
 * 2. Sysroot containment: srv_root_open on a tree with links inside, links
 *    leading out by "..", absolute links (taken inside the sysroot), a loop,
 *    a FIFO and a directory.
 * 3. The decoder's answers for refused, missing, mismatched and absent
 *    modules, and its caching (the same result for the same address).
 *
 * Needs objdump and addr2line (binutils); without them part 1 is skipped
 * and said so. Files go to a directory made under $TMPDIR (default /tmp),
 * removed unless the test fails.
 *
 * Exit status: 0 pass, 1 fail (one "FAIL file:line" line per failed
 * check), 99 when the harness itself cannot run.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dwarf.h>
#include <elfutils/libdw.h>

#include "decode.h"
#include "elfinfo.h"
#include "log.h"
#include "rootfs.h"

#include "check.h"

/* Addresses taken per binary at most (every 7th instruction, spread further beyond). */
#define MAX_ADDRS 4000
#define MAX_CHAIN 64

static char dir[4096];

/* ---------------------------------------------------------------- 1. beside addr2line */

struct place {
	char *function, *file;
	unsigned line;
};

struct chain {
	struct place p[MAX_CHAIN];
	int n;
};

static void chain_clear(struct chain *c)
{
	for (int i = 0; i < c->n; i++) {
		free(c->p[i].function);
		free(c->p[i].file);
	}
	c->n = 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* "file:line" as addr2line prints it: "??" and "?" are unknown; a discriminator is dropped. */
static void parse_file_line(char *s, struct place *p)
{
	char *colon, *disc = strstr(s, " (discriminator ");

	if (disc)
		*disc = '\0';
	colon = strrchr(s, ':');
	p->line = 0;
	if (colon) {
		*colon = '\0';
		p->line = (unsigned)strtoul(colon + 1, NULL, 10);
	}
	p->file = strcmp(s, "??") ? strdup(s) : NULL;
}

static int get_line(FILE *f, char *buf, size_t size)
{
	size_t n;

	if (!fgets(buf, (int)size, f))
		return 0;
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 1;
}

/* addr2line's chains for the N addresses of FILE, read from "-a" output. */
static struct chain *addr2line_chains(const char *file, const uint64_t *addrs, size_t n)
{
	char in[4200], out[4200], line[8192];
	struct chain *chains = calloc(n, sizeof(*chains));
	FILE *f;
	long k = -1;

	snprintf(in, sizeof(in), "%s/addrs", dir);
	snprintf(out, sizeof(out), "%s/a2l.out", dir);
	f = fopen(in, "w");
	if (!f || !chains)
		broken(in);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "0x%" PRIx64 "\n", addrs[i]);
	fclose(f);
	if (check_run(NULL, "addr2line -a -f -i -C -e '%s' <'%s' >'%s'", file, in, out) < 0)
		broken("addr2line");
	f = fopen(out, "r");
	if (!f)
		broken(out);
	while (get_line(f, line, sizeof(line))) {
		struct chain *c;

		if (!strncmp(line, "0x", 2)) {
			k++;
			continue;
		}
		if (k < 0 || (size_t)k >= n)
			break;
		c = &chains[k];
		if (c->n == MAX_CHAIN)
			continue;
		c->p[c->n].function = strcmp(line, "??") ? strdup(line) : NULL;
		if (!get_line(f, line, sizeof(line)))
			break;
		parse_file_line(line, &c->p[c->n]);
		c->n++;
	}
	fclose(f);
	CHECK((size_t)(k + 1) == n, "%s: addr2line gave %ld answers for %zu addresses", file, k + 1, n);
	return chains;
}

struct extent {
	uint64_t start, end;
};

static int extent_cmp(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The extents of FILE's function symbols (nm -S), sorted. */
static struct extent *function_extents(const char *file, size_t *n)
{
	char out[4200], line[4096];
	struct extent *e = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(out, sizeof(out), "%s/nm.out", dir);
	/* The symbol table, or for a stripped library the dynamic one. */
	if (check_run(NULL, "{ nm -S --defined-only '%s' | grep . || nm -D -S --defined-only '%s'; } >'%s' 2>/dev/null",
		file, file, out) < 0)
		broken("nm");
	f = fopen(out, "r");
	if (!f)
		broken(out);
	*n = 0;
	while (get_line(f, line, sizeof(line))) {
		unsigned long long start, size;
		char type;

		/* "0000000000001139 0000000000000025 T main" */
		if (sscanf(line, "%llx %llx %c", &start, &size, &type) != 3 || !strchr("tTwWi", type) || !size)
			continue;
		e = check_grow(e, *n, &cap, 1024, sizeof(*e));
		e[*n].start = start;
		e[(*n)++].end = start + size;
	}
	fclose(f);
	if (*n)
		qsort(e, *n, sizeof(*e), extent_cmp);
	return e;
}

static int in_function(const struct extent *e, size_t n, uint64_t a)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e[mid].start <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Symbols may nest (aliases); any one holding A will do. */
	for (size_t i = lo; i-- > 0 && lo - i < 8;)
		if (a < e[i].end)
			return 1;
	return 0;
}

/*
 * Every 7th instruction address (objdump -d) inside FILE's functions, at
 * most MAX_ADDRS. The padding between functions is left out: no function
 * holds it, and addr2line names the symbol before it.
 */
static uint64_t *instruction_addrs(const char *file, size_t *n)
{
	char out[4200], line[4096];
	uint64_t *all = NULL, *pick;
	size_t cap = 0, count = 0, step, n_ext;
	struct extent *ext = function_extents(file, &n_ext);
	FILE *f;

	snprintf(out, sizeof(out), "%s/objdump.out", dir);
	if (check_run(NULL, "objdump -d --no-show-raw-insn '%s' >'%s' 2>/dev/null", file, out) < 0)
		broken("objdump");
	f = fopen(out, "r");
	if (!f)
		broken(out);
	while (get_line(f, line, sizeof(line))) {
		char *end;
		uint64_t a;

		/* "    1139:\tpush   %rbp" */
		if (line[0] != ' ')
			continue;
		a = strtoull(line, &end, 16);
		if (end == line || end[0] != ':' || end[1] != '\t' || !in_function(ext, n_ext, a))
			continue;
		all = check_grow(all, count, &cap, 4096, sizeof(*all));
		all[count++] = a;
	}
	fclose(f);
	free(ext);
	step = 7;
	if (count / step > MAX_ADDRS)
		step = count / MAX_ADDRS + 1;
	pick = malloc((count / step + 1) * sizeof(*pick));
	if (!pick)
		broken("malloc");
	*n = 0;
	for (size_t i = 0; i < count; i += step)
		pick[(*n)++] = all[i];
	free(all);
	return pick;
}

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* PATH after the unit's DW_AT_comp_dir when relative (as both tools show it), into BUF. */
static const char *joined(Dwarf_Die *cu, const char *path, char *buf, size_t size)
{
	Dwarf_Attribute a;
	const char *dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &a));

	if (!path || path[0] == '/' || !dir)
		return path;
	snprintf(buf, size, "%s/%s", dir, path);
	return buf;
}

/*
 * The one way binutils 2.40's addr2line is known to differ (docs/server.md):
 * for rows of a DWARF 5 line table in file 1 (the file register's initial
 * value, which a line program that never sets it keeps), addr2line names
 * file 0, the unit's own source file. So: everything else the same, the
 * decoder's innermost file is file 1 of the unit at ADDR, addr2line's file
 * 0. gdb and readelf --debug-dump=decodedline side with the decoder there.
 */
static int addr2line_file1_slip(Dwarf *dbg, uint64_t addr, const struct chain *ours, const struct chain *a2l)
{
	char b1[8192], b2[8192];
	const char *file1, *file0;
	Dwarf_Files *files;
	Dwarf_Die cu;
	size_t nf;

	if (!dbg || ours->n != a2l->n)
		return 0;
	for (int k = 0; k < ours->n; k++)
		if (!same_str(ours->p[k].function, a2l->p[k].function) || ours->p[k].line != a2l->p[k].line ||
		    (k && !same_str(ours->p[k].file, a2l->p[k].file)))
			return 0;
	if (!dwarf_addrdie(dbg, addr, &cu) || dwarf_getsrcfiles(&cu, &files, &nf) != 0 || nf < 2)
		return 0;
	file1 = joined(&cu, dwarf_filesrc(files, 1, NULL, NULL), b1, sizeof(b1));
	file0 = joined(&cu, dwarf_filesrc(files, 0, NULL, NULL), b2, sizeof(b2));
	return file1 && file0 && strcmp(file1, file0) && same_str(ours->p[0].file, file1) &&
	       same_str(a2l->p[0].file, file0);
}

static void describe(const char *who, const struct chain *c)
{
	for (int i = 0; i < c->n; i++)
		printf("    %-9s %s at %s:%u\n", i ? "" : who, c->p[i].function ? c->p[i].function : "??",
		       c->p[i].file ? c->p[i].file : "??", c->p[i].line);
}

/* Decode every address of FILE and compare with addr2line. */
static void compare_file(const char *file)
{
	char real[PATH_MAX];
	struct srv_elfinfo info;
	const char *root = "/";
	struct srv_decoder *d;
	struct chain *a2l, ours = { .n = 0 };
	uint64_t *addrs;
	size_t n, bad = 0, slips = 0, inlined = 0;
	char path[4200];
	Dwarf *dbg;
	int fd, dfd = -1;

	if (!realpath(file, real))
		broken(file);
	fd = open(real, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || srv_elfinfo_read(fd, &info) < 0)
		broken(real);
	dbg = dwarf_begin(fd, DWARF_C_READ);
	if (!dbg && info.build_id[0]) { /* its DWARF in a debug file, as addr2line finds it */
		snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug", info.build_id, info.build_id + 2);
		dfd = open(path, O_RDONLY | O_CLOEXEC);
		dbg = dfd < 0 ? NULL : dwarf_begin(dfd, DWARF_C_READ);
	}
	addrs = instruction_addrs(real, &n);
	CHECK(n > 10, "%s: only %zu instruction addresses", real, n);
	a2l = addr2line_chains(real, addrs, n);
	d = srv_decoder_new(&root, 1);
	if (!d)
		broken("srv_decoder_new");
	for (size_t i = 0; i < n; i++) {
		const struct srv_frame_info *fi =
			srv_decode(d, real, info.build_id[0] ? info.build_id : NULL, addrs[i]);
		int same;

		if (fi->status != SRV_OK) {
			CHECK(0, "%s: %#" PRIx64 " not decoded: %s", real, addrs[i], fi->message);
			continue;
		}
		CHECK(srv_decode(d, real, info.build_id[0] ? info.build_id : NULL, addrs[i]) == fi,
		      "%s: %#" PRIx64 ": a second lookup gives another result", real, addrs[i]);
		for (size_t k = 0; k < fi->n_inlined && ours.n < MAX_CHAIN; k++, ours.n++) {
			ours.p[ours.n].function = dup_or_null(fi->inlined[k].function);
			ours.p[ours.n].file = dup_or_null(fi->inlined[k].file);
			ours.p[ours.n].line = fi->inlined[k].line;
		}
		ours.p[ours.n].function = dup_or_null(fi->loc.function);
		ours.p[ours.n].file = dup_or_null(fi->loc.file);
		ours.p[ours.n].line = fi->loc.line;
		ours.n++;
		inlined += fi->n_inlined > 0;
		same = ours.n == a2l[i].n;
		for (int k = 0; same && k < ours.n; k++)
			same = same_str(ours.p[k].function, a2l[i].p[k].function) &&
			       same_str(ours.p[k].file, a2l[i].p[k].file) && ours.p[k].line == a2l[i].p[k].line;
		if (!same && addr2line_file1_slip(dbg, addrs[i], &ours, &a2l[i])) {
			slips++;
			same = 1;
		}
		if (!same && bad++ < 10) {
			printf("differs from addr2line: %s at %#" PRIx64 "\n", real, addrs[i]);
			describe("decoder", &ours);
			describe("addr2line", &a2l[i]);
		}
		chain_clear(&ours);
	}
	CHECK(bad == 0, "%s: %zu of %zu addresses decoded otherwise than addr2line", real, bad, n);
	printf("# %s: %zu addresses (%zu in inlined code): %zu as addr2line, %zu in file 1 where addr2line "
	       "slips, %zu otherwise\n", real, n, inlined, n - bad - slips, slips, bad);
	if (dbg)
		dwarf_end(dbg);
	if (dfd >= 0)
		close(dfd);
	close(fd);
	for (size_t i = 0; i < n; i++)
		chain_clear(&a2l[i]);
	free(a2l);
	free(addrs);
	srv_decoder_free(d);
}

/* The test's own inlining, two deep, so that this binary has inlined frames. */
static inline __attribute__((always_inline)) int bump(int x)
{
	return x > 1000 ? x / 3 : x + 7;
}

static inline __attribute__((always_inline)) int twice(int x)
{
	return bump(x) * 2;
}

int decode_probe(int x);
int decode_probe(int x)
{
	return twice(x) + twice(x + 1);
}

static void test_addr2line(void)
{
	const char *victims = getenv("VICTIMS"), *build = getenv("BUILD");
	const char *extra = getenv("TEST_DECODE_FILES");
	char path[4096];

	if (check_run(NULL, "command -v addr2line >/dev/null && command -v objdump >/dev/null") < 0) {
		printf("# addr2line or objdump missing (binutils): the comparison is skipped\n");
		return;
	}
	compare_file("/proc/self/exe");
	if (victims) {
		snprintf(path, sizeof(path), "%s/server_leak", victims);
		compare_file(path);
		snprintf(path, sizeof(path), "%s/cxx", victims);
		compare_file(path);
	}
	if (build) {
		snprintf(path, sizeof(path), "%s/memtrace", build);
		if (access(path, R_OK) == 0)
			compare_file(path);
	}
	/* More, by hand: TEST_DECODE_FILES="FILE..." */
	if (extra) {
		char *list = strdup(extra), *save = NULL;

		for (char *f = strtok_r(list, " ", &save); f; f = strtok_r(NULL, " ", &save))
			compare_file(f);
		free(list);
	}
}

/* ---------------------------------------------------------------- 2. containment */

#define in_dir(name) check_path(dir, name)

static void make_file(const char *name, const char *text)
{
	int fd = open(in_dir(name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) < 0)
		broken(name);
}

#define CHECK_OPEN(r, path, want_err, want_res) check_open_at(r, path, want_err, want_res, __LINE__)
/* PATH in R opens WANT_RES (relative to the test dir), or fails with WANT_ERR. */
static void check_open_at(const struct srv_root *r, const char *path, int want_err, const char *want_res,
			  int line)
{
	char *res = NULL;
	int fd;

	errno = 0;
	fd = srv_root_open(r, path, &res);
	if (want_err) {
		check_at(fd < 0 && errno == want_err, __FILE__, line, "open %s: got fd %d errno %s, want %s",
			 path, fd, strerror(errno), strerror(want_err));
	} else {
		check_at(fd >= 0 && res && !strcmp(res, in_dir(want_res)), __FILE__, line,
			 "open %s: got fd %d (%s) resolved %s, want %s", path, fd, fd < 0 ? strerror(errno) : "ok",
			 res ? res : "-", in_dir(want_res));
	}
	if (fd >= 0)
		close(fd);
	free(res);
}

static void test_rootfs(void)
{
	struct srv_root *r;
	const char *const *names;
	size_t n;

	if (mkdir(in_dir("root"), 0755) < 0 || mkdir(in_dir("root/usr"), 0755) < 0 ||
	    mkdir(in_dir("root/usr/lib"), 0755) < 0 || mkdir(in_dir("root/lib"), 0755) < 0 ||
	    mkdir(in_dir("outside"), 0755) < 0)
		broken("mkdir");
	make_file("root/usr/lib/libx.so.1", "inside");
	make_file("root/lib/libx.so.1", "inside too");
	make_file("outside/secret", "outside");
	if (symlink("libx.so.1", in_dir("root/usr/lib/libx.so")) < 0 ||
	    symlink("../../../outside/secret", in_dir("root/usr/lib/escape")) < 0 ||
	    symlink("/usr/lib/libx.so.1", in_dir("root/lib/abs")) < 0 ||
	    symlink("/../../../../outside/secret", in_dir("root/lib/abs_up")) < 0 ||
	    symlink("usr/lib", in_dir("root/ulib")) < 0 ||
	    symlink("../outside", in_dir("root/outdir")) < 0 ||
	    symlink("loop2", in_dir("root/loop1")) < 0 || symlink("loop1", in_dir("root/loop2")) < 0 ||
	    mkfifo(in_dir("root/fifo"), 0644) < 0)
		broken("symlink");
	r = srv_root_new(in_dir("root"));
	if (!r)
		broken("srv_root_new");
	CHECK(!strcmp(srv_root_path(r), in_dir("root")), "root path %s", srv_root_path(r));
	CHECK_OPEN(r, "/usr/lib/libx.so.1", 0, "root/usr/lib/libx.so.1");
	CHECK_OPEN(r, "usr//lib/./libx.so", 0, "root/usr/lib/libx.so.1");
	CHECK_OPEN(r, "/ulib/libx.so", 0, "root/usr/lib/libx.so.1");
	CHECK_OPEN(r, "/lib/abs", 0, "root/usr/lib/libx.so.1");
	CHECK_OPEN(r, "/usr/lib/../../lib/libx.so.1", 0, "root/lib/libx.so.1");
	CHECK_OPEN(r, "/../outside/secret", EXDEV, NULL);
	CHECK_OPEN(r, "/usr/../../outside/secret", EXDEV, NULL);
	CHECK_OPEN(r, "/usr/lib/escape", EXDEV, NULL);
	CHECK_OPEN(r, "/lib/abs_up", EXDEV, NULL);
	CHECK_OPEN(r, "/outdir/secret", EXDEV, NULL);
	CHECK_OPEN(r, "/loop1", ELOOP, NULL);
	CHECK_OPEN(r, "/fifo", EINVAL, NULL);
	CHECK_OPEN(r, "/usr/lib", EINVAL, NULL);
	CHECK_OPEN(r, "/usr/lib/libx.so.1/x", ENOTDIR, NULL);
	CHECK_OPEN(r, "/usr/lib/none", ENOENT, NULL);
	names = srv_root_find_name(r, "libx.so.1", &n);
	CHECK(n == 2 && !strcmp(names[0], "/lib/libx.so.1") && !strcmp(names[1], "/usr/lib/libx.so.1"),
	      "find libx.so.1: %zu names, first %s", n, n ? names[0] : "-");
	names = srv_root_find_name(r, "secret", &n);
	CHECK(n == 0 && !names, "find secret (outside): %zu names", n);
	names = srv_root_find_name(r, "escape", &n);
	CHECK(n == 1, "find escape (a link): %zu names", n);
	srv_root_free(r);
	srv_root_free(NULL);
	CHECK(srv_root_new(in_dir("no-such-dir")) == NULL, "a missing sysroot is refused");
}

/* ---------------------------------------------------------------- 3. decoder answers */

#define CHECK_STATUS(d, mod, bid, want) check_status_at(d, mod, bid, want, __LINE__)
static void check_status_at(struct srv_decoder *d, const char *mod, const char *bid, enum srv_status want,
			    int line)
{
	const struct srv_frame_info *fi = srv_decode(d, mod, bid, 0x1000);

	check_at(fi && fi->status == want && (want == SRV_OK) == !fi->message, __FILE__, line,
		 "%s (build-id %s): status %s (%s), want %s", mod ? mod : "(null)", bid ? bid : "-",
		 fi ? srv_status_name(fi->status) : "-", fi && fi->message ? fi->message : "-",
		 srv_status_name(want));
}

static void test_answers(void)
{
	const char *roots[] = { in_dir("root") };
	char self[PATH_MAX], copy[4200];
	struct srv_elfinfo info;
	struct srv_decoder *d;
	int fd;

	/* This test binary in the sysroot (before the first search by name reads the tree). */
	if (!realpath("/proc/self/exe", self))
		broken("realpath /proc/self/exe");
	snprintf(copy, sizeof(copy), "cp '%s' '%s'", self, in_dir("root/usr/lib/test_decode"));
	if (system(copy) != 0)
		broken(copy);
	d = srv_decoder_new(roots, 1);
	if (!d)
		broken("srv_decoder_new");
	CHECK_STATUS(d, NULL, NULL, SRV_NO_MODULE);
	CHECK_STATUS(d, "usr/lib/libx.so.1", NULL, SRV_REFUSED);
	CHECK_STATUS(d, "/usr/lib/../lib/libx.so.1", NULL, SRV_REFUSED);
	CHECK_STATUS(d, "/..", NULL, SRV_REFUSED);
	CHECK_STATUS(d, "/usr/lib/", NULL, SRV_REFUSED);
	CHECK_STATUS(d, "/usr/lib/libx.so.1", "ABCD", SRV_REFUSED);
	CHECK_STATUS(d, "/usr/lib/libx.so.1", "abc", SRV_REFUSED);
	CHECK_STATUS(d, "/usr/lib/libx.so.1", "../../etc", SRV_REFUSED);
	CHECK_STATUS(d, "/usr/lib/libx.so.1", NULL, SRV_NOT_FOUND); /* not ELF */
	CHECK_STATUS(d, "/usr/lib/escape", NULL, SRV_NOT_FOUND);
	CHECK_STATUS(d, "/usr/lib/nothing.so", "abcd", SRV_NOT_FOUND);

	/* The test binary: decoded, and by build-id checked. */
	fd = open(self, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || srv_elfinfo_read(fd, &info) < 0)
		broken(self);
	close(fd);
	if (info.build_id[0]) {
		char other[SRV_BUILD_ID_MAX + 1];

		snprintf(other, sizeof(other), "%s", info.build_id);
		other[0] = other[0] == '0' ? '1' : '0';
		CHECK_STATUS(d, "/usr/lib/test_decode", info.build_id, SRV_OK);
		CHECK_STATUS(d, "/usr/lib/test_decode", other, SRV_BUILD_ID_MISMATCH);
		/* Found by name elsewhere in the sysroot. */
		CHECK_STATUS(d, "/opt/bin/test_decode", info.build_id, SRV_OK);
		/* A frame of the test: decode_probe's own name comes back. */
		{
			const struct srv_frame_info *fi;
			uintptr_t probe = (uintptr_t)decode_probe;
			FILE *maps = fopen("/proc/self/maps", "r");
			char line[4096];
			uintptr_t bias = 0;

			/* The load bias: the start of the mapping at file offset 0. */
			while (maps && get_line(maps, line, sizeof(line)))
				if (strstr(line, self) && strstr(line, " 00000000 ")) {
					bias = (uintptr_t)strtoull(line, NULL, 16);
					break;
				}
			if (maps)
				fclose(maps);
			fi = srv_decode(d, "/usr/lib/test_decode", info.build_id, probe - bias);
			CHECK(fi->status == SRV_OK && fi->loc.function && !strcmp(fi->loc.function, "decode_probe") &&
				      fi->loc.file && strstr(fi->loc.file, "test_decode.c"),
			      "decode_probe at %#lx: %s at %s:%u", (unsigned long)(probe - bias),
			      fi->loc.function ? fi->loc.function : "??", fi->loc.file ? fi->loc.file : "??",
			      fi->loc.line);
			CHECK(fi->host_file && !strcmp(fi->host_file, in_dir("root/usr/lib/test_decode")),
			      "host_file %s", fi->host_file ? fi->host_file : "-");
		}
	} else {
		printf("# this binary has no build-id: the build-id checks are skipped\n");
	}
	srv_decoder_free(d);
	srv_decoder_free(NULL);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_set_name("test_decode");
	check_tmpdir(dir, sizeof(dir));
	test_addr2line();
	test_rootfs();
	test_answers();
	printf("%d checks, %d failed\n", checks, failures);
	if (!failures)
		check_run(NULL, "rm -rf '%s'", dir);
	else
		printf("files kept in %s\n", dir);
	return failures ? 1 : 0;
}
