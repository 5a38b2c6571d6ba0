/*
 * decode: memtrace-server's decoder beside addr2line on the same addresses.
 *
 *   decode FILE [NADDR [RUNS]]
 *
 * Two reports of NADDR (default 2000) addresses each: instructions inside
 * FILE's functions (nm -S, objdump -d), spread over the whole file and dealt
 * alternately to report A and report B. Timed, each the median of RUNS
 * (default 5) runs:
 *   addr2line -f -i -C -e FILE <REPORT_A   a new process: every report is a first one
 *   first report      a new decoder (FILE opened, DWARF read) decodes REPORT_A
 *   repeated report   the same decoder decodes REPORT_A again (results cached)
 *   new addresses     the same decoder decodes REPORT_B (module open, addresses new)
 * The decoder is given FILE with its own build-id and "/" as the sysroot,
 * as memtrace-server is given a frame of a module found on the host.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "decode.h"
#include "elfinfo.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct extent {
	uint64_t start, end;
};

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 4096;
	p = realloc(p, *cap * size);
	if (!p) {
		fprintf(stderr, "decode: out of memory\n");
		exit(1);
	}
	return p;
}

/* The output of TOOL (a command line) run on FILE. */
static FILE *run_tool(const char *tool, const char *file)
{
	char cmd[PATH_MAX + 128];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s '%s' 2>/dev/null", tool, file);
	f = popen(cmd, "r");
	if (!f) {
		perror(cmd);
		exit(1);
	}
	return f;
}

static int cmp_extent(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Append the function extents TOOL (an nm command) lists for FILE to *E. */
static void read_extents(const char *tool, const char *file, struct extent **e, size_t *ne, size_t *cap)
{
	FILE *f = run_tool(tool, file);
	char line[4096];

	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, size;
		char type;

		if (sscanf(line, "%llx %llx %c", &start, &size, &type) == 3 && strchr("tTwWi", type) && size) {
			*e = grow(*e, cap, *ne, sizeof(**e));
			(*e)[*ne].start = start;
			(*e)[(*ne)++].end = start + size;
		}
	}
	pclose(f);
}

/* Instruction addresses inside FILE's function symbols, ascending. */
static uint64_t *function_insns(const char *file, size_t *n)
{
	struct extent *e = NULL;
	uint64_t *a = NULL;
	size_t ne = 0, cap_e = 0, cap_a = 0, k = 0;
	char line[4096];
	FILE *f;

	read_extents("nm -S --defined-only", file, &e, &ne, &cap_e);
	if (!ne) /* a stripped library: its dynamic symbols */
		read_extents("nm -D -S --defined-only", file, &e, &ne, &cap_e);
	qsort(e, ne, sizeof(*e), cmp_extent);
	*n = 0;
	f = run_tool("objdump -d --no-show-raw-insn", file);
	while (fgets(line, sizeof(line), f)) {
		char *end;
		uint64_t v;

		if (line[0] != ' ')
			continue;
		v = strtoull(line, &end, 16);
		if (end == line || end[0] != ':' || end[1] != '\t')
			continue;
		while (k < ne && e[k].end <= v)
			k++;
		if (k < ne && e[k].start <= v) {
			a = grow(a, &cap_a, *n, sizeof(*a));
			a[(*n)++] = v;
		}
	}
	pclose(f);
	free(e);
	return a;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One addr2line run over the addresses in ADDRS; milliseconds. */
static double time_addr2line(const char *file, const char *addrs)
{
	double t0 = now_ms();
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		int in = open(addrs, O_RDONLY), out = open("/dev/null", O_WRONLY);

		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0)
			_exit(127);
		execlp("addr2line", "addr2line", "-f", "-i", "-C", "-e", file, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "decode: addr2line failed\n");
		exit(1);
	}
	return now_ms() - t0;
}

/* Decode the N addresses of A; milliseconds. */
static double time_decode(struct srv_decoder *d, const char *module, const char *build_id,
			  const uint64_t *a, size_t n, size_t *inlined)
{
	double t0 = now_ms();

	for (size_t i = 0; i < n; i++) {
		const struct srv_frame_info *fi = srv_decode(d, module, build_id, a[i]);

		if (fi->status != SRV_OK) {
			fprintf(stderr, "decode: %s: %s\n", module, fi->message);
			exit(1);
		}
		*inlined += fi->n_inlined > 0;
	}
	return now_ms() - t0;
}

static void row(const char *what, double ms, size_t n, double base)
{
	printf("  %-44s %10.2f ms %12.0f addr/s", what, ms, n / (ms / 1e3));
	if (base > 0)
		printf("  %8.1fx addr2line", base / ms);
	putchar('\n');
}

int main(int argc, char **argv)
{
	const char *root = "/";
	char module[PATH_MAX], a_file[] = "/tmp/decode-bench.XXXXXX";
	uint64_t *insns;
	size_t n_insns, want;
	FILE *af;
	struct srv_elfinfo info;
	double a2l[64], cold[64], again[64], fresh[64];
	size_t na, nb, inlined = 0, ignored = 0;
	uint64_t *a, *b;
	int runs, fd;

	if (argc < 2) {
		fprintf(stderr, "usage: decode FILE [NADDR [RUNS]]\n");
		return 2;
	}
	want = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000;
	runs = argc > 3 ? atoi(argv[3]) : 5;
	if (runs < 1 || runs > 64)
		runs = 5;
	if (!realpath(argv[1], module) || (fd = open(module, O_RDONLY)) < 0 || srv_elfinfo_read(fd, &info) < 0) {
		fprintf(stderr, "decode: %s: not an ELF file\n", argv[1]);
		return 1;
	}
	close(fd);
	insns = function_insns(module, &n_insns);
	if (!want || n_insns < 2 * want) {
		fprintf(stderr, "decode: %s has %zu instructions in functions, fewer than 2 x %zu\n", module,
			n_insns, want);
		return 1;
	}
	a = malloc(want * sizeof(*a));
	b = malloc(want * sizeof(*b));
	if (!a || !b)
		return 1;
	for (size_t i = 0; i < 2 * want; i++) {
		uint64_t v = insns[(size_t)((double)i * n_insns / (2 * want))];

		if (i % 2)
			b[i / 2] = v;
		else
			a[i / 2] = v;
	}
	na = nb = want;
	free(insns);
	af = fdopen(mkstemp(a_file), "w");
	if (!af) {
		perror(a_file);
		return 1;
	}
	for (size_t i = 0; i < na; i++)
		fprintf(af, "0x%llx\n", (unsigned long long)a[i]);
	fclose(af);
	for (int r = 0; r < runs; r++) {
		const char *id = info.build_id[0] ? info.build_id : NULL;
		struct srv_decoder *d;
		double t0;

		a2l[r] = time_addr2line(module, a_file);
		t0 = now_ms();
		d = srv_decoder_new(&root, 1);
		if (!d)
			return 1;
		time_decode(d, module, id, a, na, r ? &ignored : &inlined);
		cold[r] = now_ms() - t0;
		again[r] = time_decode(d, module, id, a, na, &ignored);
		fresh[r] = time_decode(d, module, id, b, nb, &ignored);
		srv_decoder_free(d);
	}
	printf("%s: reports of %zu and %zu addresses, median of %d runs (%zu of the first report's "
	       "addresses in inlined code)\n", module, na, nb, runs, inlined);
	row("addr2line -f -i -C (each report)", median(a2l, runs), na, 0);
	row("decoder: first report (opens the file)", median(cold, runs), na, median(a2l, runs));
	row("decoder: repeated report (cached)", median(again, runs), na, median(a2l, runs));
	row("decoder: new addresses, module open", median(fresh, runs), nb, median(a2l, runs) * nb / na);
	unlink(a_file);
	free(a);
	free(b);
	srv_elfinfo_clear(&info);
	return 0;
}
