/*
 * stall: how long a busy thread is held up, while CONTEXTS allocation
 * contexts are live (bench/sample.sh: memtrace's samples must not stall
 * the process they sample).
 *
 *     stall CONTEXTS SECONDS
 *
 * CONTEXTS distinct callstacks come from a walk down a binary tree of two
 * functions (left, right), one level a bit of the context's number, 11
 * levels for 2,048 paths. One thread loops for SECONDS: it allocates 32
 * bytes through the next path and frees the block that path allocated the
 * round before, so every context keeps one live block and the agent's
 * tables are busy. Each iteration reads the monotonic clock; the gaps
 * between iterations go to a histogram. Prints one line:
 *
 *     iterations N max_gap_us G p999_us P p9999_us Q
 *
 * where p999 and p9999 are the gaps 99.9 % and 99.99 % of iterations stay
 * under (their histogram bucket's upper edge, a power of two in us).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define LEVELS 11
#define BUCKETS 40

static void *walk(unsigned bits, int depth);

static __attribute__((noinline)) void *left(unsigned bits, int depth)
{
	void *p = walk(bits, depth);

	__asm__ volatile("" : : "r"(p) : "memory"); /* no tail call: a frame of its own */
	return p;
}

static __attribute__((noinline)) void *right(unsigned bits, int depth)
{
	void *p = walk(bits, depth);

	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

static __attribute__((noinline)) void *walk(unsigned bits, int depth)
{
	void *p;

	if (!depth)
		return malloc(32);
	p = bits & 1 ? left(bits >> 1, depth - 1) : right(bits >> 1, depth - 1);
	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The upper edge (us) of the bucket under which FRACTION of the N gaps in H stay. */
static uint64_t quantile(const uint64_t *h, uint64_t n, double fraction)
{
	uint64_t seen = 0;

	for (int b = 0; b < BUCKETS; b++) {
		seen += h[b];
		if ((double)seen >= fraction * (double)n)
			return (1ull << b) / 1000 ? (1ull << b) / 1000 : 1;
	}
	return (1ull << (BUCKETS - 1)) / 1000;
}

int main(int argc, char **argv)
{
	long contexts = argc > 1 ? atol(argv[1]) : 2000;
	double seconds = argc > 2 ? atof(argv[2]) : 10;
	void **live;
	uint64_t hist[BUCKETS] = { 0 }, n = 0;
	int64_t start, end, last, max = 0;

	if (argc != 3 || contexts < 1 || contexts > (1L << LEVELS) || seconds <= 0) {
		fprintf(stderr, "usage: stall CONTEXTS SECONDS (CONTEXTS 1 to %ld)\n", 1L << LEVELS);
		return 2;
	}
	live = calloc((size_t)contexts, sizeof(*live));
	if (!live)
		return 1;
	start = last = now_ns();
	end = start + (int64_t)(seconds * 1e9);
	for (long i = 0;; i++) {
		long k = i % contexts;
		int64_t t, gap;
		int b = 0;

		free(live[k]);
		live[k] = walk((unsigned)k, LEVELS);
		t = now_ns();
		gap = t - last;
		last = t;
		if (gap > max)
			max = gap;
		while (b < BUCKETS - 1 && (1ll << b) < gap)
			b++;
		hist[b]++;
		n++;
		if (t >= end)
			break;
	}
	printf("iterations %llu max_gap_us %lld p999_us %llu p9999_us %llu\n", (unsigned long long)n,
	       (long long)(max / 1000), (unsigned long long)quantile(hist, n, 0.999),
	       (unsigned long long)quantile(hist, n, 0.9999));
	for (long k = 0; k < contexts; k++)
		free(live[k]);
	free(live);
	return 0;
}
