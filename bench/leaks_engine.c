/*
 * leaks_engine: speed and memory of the leak verdict engine (common/leaks.c)
 * on synthetic heaps built in this process's own memory.
 *
 *     build/bench/leaks_engine [-r RUNS] [-d DENSITY] [-l NEAR] [-v|-V] [HEAP...]
 *
 * HEAP is "10MB" (blocks of 32-2048 bytes, about 10 MB), "100MB" (the
 * same, about 100 MB) or "1M" (1,000,000 blocks of 16-184 bytes, about
 * 100 MB); all three by default. Blocks are laid out as glibc would, one
 * after the other with a 16-byte header and 16-byte alignment, in one
 * mapping. DENSITY percent of their words (default 20) point to a random
 * block (or, NEAR percent of them (default 0), to one of the 64 blocks on
 * either side, as lists and trees built together are; the default, no
 * locality at all, is the worst case for the lookup's caches): nine in ten
 * to its start, one in ten inside; the other words are
 * small numbers and zeros. A 64 KiB root range holds pointers to 1 % of
 * the blocks, so most of the heap is reachable and the rest is lost, as in
 * a real program with a few leaks.
 *
 * Memory is read through a struct memsrc that memcpy's from this process
 * (the engine's own cost), or with -v through process_vm_readv on this
 * process (what memtrace pays reading a stopped process from outside: one
 * system call per block or 64 KiB piece), or with -V the same with the
 * memsrc's readv (one system call for up to 64 blocks).
 *
 * For each heap the best of RUNS (default 3) runs of the whole scan
 * (leak_scan_new, the root range, leak_scan_finish) is printed: ms, ns
 * per word scanned, ms per 100 MB scanned, and the scan's own memory in %
 * of the heap, beside the caller's block array (struct leak_block, which
 * the caller owns), and the time of one leak_scan_who_points (a rescan of
 * the roots and every block). The goal (issue 17): at most 100 ms per 100 MB scanned
 * and the scan's memory at most 10 % of the heap.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "leaks.h"

#define ROOT_BYTES (64 * 1024)

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * UINT64_C(0x2545F4914F6CDD1D);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int read_copy(void *arg, uint64_t addr, void *buf, size_t len)
{
	(void)arg;
	memcpy(buf, (const void *)(uintptr_t)addr, len);
	return 0;
}

static int read_vm(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t got = process_vm_readv(*(pid_t *)arg, &local, 1, &remote, 1, 0);

	if (got == (ssize_t)len)
		return 0;
	if (got >= 0)
		errno = EFAULT;
	return -1;
}

/* Up to MEMSRC_READV_MAX blocks in one system call. */
static int readv_vm(void *arg, const struct memsrc_piece *pc, size_t n)
{
	struct iovec local[MEMSRC_READV_MAX], remote[MEMSRC_READV_MAX];
	size_t i, want = 0;
	ssize_t got;

	for (i = 0; i < n; i++) {
		local[i].iov_base = pc[i].buf;
		local[i].iov_len = pc[i].len;
		remote[i].iov_base = (void *)(uintptr_t)pc[i].addr;
		remote[i].iov_len = pc[i].len;
		want += pc[i].len;
	}
	got = process_vm_readv(*(pid_t *)arg, local, n, remote, n, 0);
	if (got == (ssize_t)want)
		return 0;
	if (got >= 0)
		errno = EFAULT;
	return -1;
}

struct heap {
	const char *name;
	unsigned char *mem;
	size_t len;		/* bytes of the mapping */
	uint64_t bytes;		/* bytes in blocks */
	struct leak_block *b;
	size_t n;
	uint64_t *root;		/* ROOT_BYTES */
};

/* Blocks of MIN + a multiple of 8 up to MAX bytes until BYTES or COUNT. */
static int build(struct heap *h, uint64_t bytes, size_t count, unsigned min, unsigned max, unsigned density,
		 unsigned near)
{
	size_t cap = count ? count : (size_t)(bytes / ((min + max) / 2)) + 16, i;
	unsigned char *p;
	uint64_t words;

	h->len = (size_t)(count ? (uint64_t)count * (max + 32) : bytes + bytes / 4 + 4096 * 16);
	h->mem = mmap(NULL, h->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	h->b = malloc(cap * sizeof(*h->b));
	h->root = malloc(ROOT_BYTES);
	if (h->mem == MAP_FAILED || !h->b || !h->root)
		return -1;
	p = h->mem;
	h->n = 0;
	h->bytes = 0;
	while (h->n < cap && (count ? h->n < count : h->bytes < bytes)) {
		uint64_t size = min + 8 * (rnd() % ((max - min) / 8 + 1));

		p += 16;	/* the chunk header */
		if (p + size > h->mem + h->len)
			break;
		h->b[h->n].addr = (uintptr_t)p;
		h->b[h->n].size = size;
		h->b[h->n].ctx = 0;
		h->b[h->n].internal = 0;
		h->n++;
		h->bytes += size;
		p += (size + 15) & ~(uint64_t)15;
	}
	for (i = 0; i < h->n; i++) {
		uint64_t *w = (uint64_t *)(uintptr_t)h->b[i].addr;
		size_t k;

		for (k = 0; k < h->b[i].size / 8; k++) {
			uint64_t r = rnd();

			if (r % 100 < density) {
				size_t to = (r >> 8) % h->n;
				const struct leak_block *t;

				/* Near: one of the 64 blocks either side, as lists and trees built together are. */
				if ((r >> 24) % 100 < near)
					to = (i + h->n + (r >> 32) % 129 - 64) % h->n;
				t = &h->b[to];

				w[k] = t->addr + ((r >> 40) % 10 ? 0 : (r >> 48) % t->size);
			} else {
				w[k] = (r >> 8) % 4 ? 0 : (r >> 16) % 100000;
			}
		}
	}
	words = ROOT_BYTES / 8;
	for (i = 0; i < words; i++)
		h->root[i] = i < h->n / 100 ? h->b[rnd() % h->n].addr : 0;
	return 0;
}

static void drop(struct heap *h)
{
	if (h->mem && h->mem != MAP_FAILED)
		munmap(h->mem, h->len);
	free(h->b);
	free(h->root);
}

static void count_hit(void *arg, uint64_t where, uint64_t value, long block)
{
	(void)where;
	(void)value;
	(void)block;
	++*(unsigned long *)arg;
}

static int run(struct heap *h, const struct memsrc *m, int runs)
{
	double best = 0, best_new = 0, who = 0;
	unsigned long hits = 0;
	struct leak_scan_stats st = { 0 };
	uint64_t count[LEAK_NVERDICTS] = { 0 };
	int r;
	size_t i;

	for (r = 0; r < runs; r++) {
		double t0 = now_ms(), t1, t2;
		struct leak_scan *s = leak_scan_new(h->b, h->n, 8);

		if (!s)
			return -1;
		t1 = now_ms();
		if (leak_scan_root_range(s, m, (uintptr_t)h->root, (uintptr_t)h->root + ROOT_BYTES) < 0 ||
		    leak_scan_finish(s, m) < 0) {
			leak_scan_free(s);
			return -1;
		}
		t2 = now_ms();
		leak_scan_stats(s, &st);
		if (r == runs - 1) {
			double t3 = now_ms();

			if (leak_scan_who_points(s, m, h->b[h->n / 2].addr, 1, count_hit, &hits) < 0) {
				leak_scan_free(s);
				return -1;
			}
			who = now_ms() - t3;
		}
		leak_scan_free(s);
		if (!r || t2 - t0 < best) {
			best = t2 - t0;
			best_new = t1 - t0;
		}
	}
	for (i = 0; i < h->n; i++)
		count[h->b[i].verdict < LEAK_NVERDICTS ? h->b[i].verdict : 0]++;
	{
		uint64_t scanned = st.root_bytes + st.block_bytes;
		double per100 = best * 100e6 / (double)scanned;
		double mem = 100.0 * (double)st.memory / (double)h->bytes;

		printf("%-6s %8zu blocks %6.1f MB: %7.1f ms (index %.1f ms), %6.2f ns/word, %6.1f ms per 100 MB %s, "
		       "memory %.2f%% of the heap %s (+ %.1f%% the caller's block array)\n",
		       h->name, h->n, h->bytes / 1e6, best, best_new, best * 1e6 / (double)(scanned / 8), per100,
		       per100 <= 100 ? "met" : "NOT met", mem, mem <= 10 ? "met" : "NOT met",
		       100.0 * (double)(h->n * sizeof(struct leak_block)) / (double)h->bytes);
		printf("       verdicts: %" PRIu64 " reachable, %" PRIu64 " possibly, %" PRIu64 " indirectly, %" PRIu64
		       " definitely lost; %.1f MB scanned in %" PRIu64 " reads; who_points %.1f ms (%lu holders)\n",
		       count[LEAK_REACHABLE], count[LEAK_POSSIBLE], count[LEAK_INDIRECT], count[LEAK_DEFINITE],
		       scanned / 1e6, st.reads, who, hits);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const all[] = { "10MB", "100MB", "1M" };
	unsigned density = 20, near = 0;
	int runs = 3, opt, vm = 0, i, nheaps;
	const char *const *heaps = all;
	pid_t self = getpid();
	struct memsrc m = { .read = read_copy, .ptr_size = 8 };

	while ((opt = getopt(argc, argv, "r:d:l:vV")) != -1) {
		switch (opt) {
		case 'r':
			runs = atoi(optarg) > 0 ? atoi(optarg) : 1;
			break;
		case 'd':
			density = (unsigned)atoi(optarg);
			break;
		case 'l':
			near = (unsigned)atoi(optarg);
			break;
		case 'v':
			vm = 1;
			break;
		case 'V':
			vm = 2;
			break;
		default:
			fprintf(stderr, "usage: %s [-r RUNS] [-d DENSITY] [-l NEAR] [-v|-V] [10MB|100MB|1M...]\n", argv[0]);
			return 2;
		}
	}
	if (vm) {
		m.read = read_vm;
		m.arg = &self;
		if (vm > 1)
			m.readv = readv_vm;
	}
	nheaps = optind < argc ? argc - optind : 3;
	if (optind < argc)
		heaps = (const char *const *)argv + optind;
	printf("leak engine, %s, %u%% pointer words (%u%% of them near), best of %d\n",
	       vm > 1 ? "process_vm_readv on itself, up to 64 blocks a call" :
	       vm ? "process_vm_readv on itself, a call per block" : "memcpy memsrc", density, near, runs);
	for (i = 0; i < nheaps; i++) {
		struct heap h = { .name = heaps[i] };
		int rc;

		if (!strcmp(heaps[i], "10MB"))
			rc = build(&h, 10000000, 0, 32, 2048, density, near);
		else if (!strcmp(heaps[i], "100MB"))
			rc = build(&h, 100000000, 0, 32, 2048, density, near);
		else if (!strcmp(heaps[i], "1M"))
			rc = build(&h, 0, 1000000, 16, 184, density, near);
		else {
			fprintf(stderr, "%s: unknown heap %s\n", argv[0], heaps[i]);
			return 2;
		}
		if (rc < 0 || run(&h, &m, runs) < 0) {
			fprintf(stderr, "%s: %s: %s\n", argv[0], heaps[i], strerror(errno));
			drop(&h);
			return 1;
		}
		drop(&h);
	}
	return 0;
}
