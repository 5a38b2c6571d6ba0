/*
 * fastpath: the cost of one malloc + free pair through the hooks, timed
 * inside the process so that neither memtrace's start nor its exit report
 * is in the figure, and robust to a loaded machine: the loop runs in REPS
 * rounds of N pairs and the fastest round counts (a round that nothing
 * interrupted).
 *
 *     fastpath [-n N] [-r REPS] [-d DEPTH] [-t THREADS]
 *
 * Each pair allocates 16 to 1024 bytes at DEPTH calls below the thread's
 * start (default 8, so a stack walk has frames to walk) and frees the
 * block the previous pair allocated, so one block is live at a time per
 * thread. THREADS threads (default 1) do the same at once, each timing its
 * own rounds. Prints "fastest N ns per malloc+free pair" (the fastest round
 * of any thread). bench/README.md says how to compare agent builds with it.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOIPA __attribute__((noipa))

static __thread void *keep;
static long n = 100000, reps = 50, depth = 8;

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

static void *run(void *arg)
{
	unsigned long long rng = 0x9e3779b97f4a7c15ULL + (unsigned long long)(uintptr_t)arg;
	long long *best = arg;

	*best = -1;
	for (long r = 0; r < reps; r++) {
		long long t0 = now_ns(), t;

		for (long i = 0; i < n; i++) {
			rng ^= rng >> 12;
			rng ^= rng << 25;
			rng ^= rng >> 27;
			down((int)depth, 16 + (size_t)(rng % 1009));
		}
		t = now_ns() - t0;
		if (*best < 0 || t < *best)
			*best = t;
	}
	free(keep);
	return NULL;
}

int main(int argc, char **argv)
{
	long threads = 1;
	long long best = -1, each[64];
	pthread_t th[64];

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-n"))
			n = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "-r"))
			reps = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "-d"))
			depth = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "-t"))
			threads = atol(argv[i + 1]);
	}
	if (n < 1 || reps < 1 || depth < 0 || threads < 1 || threads > 64) {
		fprintf(stderr, "usage: fastpath [-n N] [-r REPS] [-d DEPTH] [-t THREADS (1-64)]\n");
		return 2;
	}
	for (long t = 0; t < threads; t++)
		if (pthread_create(&th[t], NULL, run, &each[t])) {
			fprintf(stderr, "fastpath: pthread_create failed\n");
			return 1;
		}
	for (long t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		if (best < 0 || each[t] < best)
			best = each[t];
	}
	printf("fastest %.1f ns per malloc+free pair\n", (double)best / (double)n);
	return 0;
}
