/*
 * fastpath: the cost of one malloc + free pair through the hooks, timed
 * inside the process so that neither memtrace's start nor its exit report
 * is in the figure, and robust to a loaded machine: the loop runs in REPS
 * rounds of N pairs and the fastest round counts (a round that nothing
 * interrupted).
 *
 *     fastpath [-n N] [-r REPS] [-d DEPTH]
 *
 * Each pair allocates 16 to 1024 bytes at DEPTH calls below main (default
 * 8, so a stack walk has frames to walk) and frees the block the previous
 * pair allocated, so one block is live at a time. Prints
 * "fastest N ns per malloc+free pair". Used by bench/ab.sh (FASTPATH=1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOIPA __attribute__((noipa))

static void *keep;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

NOIPA static void pair(size_t size)
{
	void *p = malloc(size);

	free(keep);
	keep = p;
}

NOIPA static void down(int depth, size_t size)
{
	if (depth <= 0)
		pair(size);
	else
		down(depth - 1, size);
	__asm__ __volatile__("" ::: "memory");
}

int main(int argc, char **argv)
{
	long n = 100000, reps = 50, depth = 8;
	long long best = -1;
	unsigned long long rng = 0x9e3779b97f4a7c15ULL;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-n"))
			n = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "-r"))
			reps = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "-d"))
			depth = atol(argv[i + 1]);
	}
	if (n < 1 || reps < 1 || depth < 0) {
		fprintf(stderr, "usage: fastpath [-n N] [-r REPS] [-d DEPTH]\n");
		return 2;
	}
	for (long r = 0; r < reps; r++) {
		long long t0 = now_ns(), t;

		for (long i = 0; i < n; i++) {
			rng ^= rng >> 12;
			rng ^= rng << 25;
			rng ^= rng >> 27;
			down((int)depth, 16 + (size_t)(rng % 1009));
		}
		t = now_ns() - t0;
		if (best < 0 || t < best)
			best = t;
	}
	free(keep);
	printf("fastest %.1f ns per malloc+free pair\n", (double)best / (double)n);
	return 0;
}
