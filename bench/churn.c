/*
 * churn: the workload behind memtrace's per-allocation overhead figure.
 *
 * T threads each run N iterations.  An iteration frees one random slot of a
 * per-thread window of W live blocks and refills it with a 16-4096 byte block
 * allocated at the bottom of one of four recursive call paths, 3 to 20 frames
 * deep, so that a tracer has to unwind and tell apart many distinct stacks.
 * Every 10,000th iteration also leaks one 1,234-byte block through
 * leak_site -> leak_inner -> alloc_leaf; with the defaults that is 200 leaks,
 * 246,800 bytes, each with the same stack.
 *
 * Sizes are multiples of G bytes (-g, default 16, glibc's own granularity).
 * G=1 gives every size from 16 to 4096; note that heaptrack 1.4's
 * heaptrack_interpret then runs out of memory (its hash of size and stack
 * clusters badly past ~150,000 distinct pairs; KDE bug 477018), so the default
 * keeps the comparison runnable.
 *
 * Allocations made: T * (N + N / 10000); the window starts empty, so the first
 * free of each slot is free(NULL).  The only output is one checksum line that
 * depends on the options alone, never on addresses or timing, so that the
 * same line under every tool proves the program ran unchanged.
 *
 * Every function on an allocation path is noipa (no inlining, cloning or
 * inter-procedural shortcuts) and does work after its call returns, so no call
 * becomes a jump and no recursion becomes a loop: the stacks a tracer sees are
 * the stacks the source shows.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))

#define MIN_SIZE 16
#define MAX_SIZE 4096
#define MIN_DEPTH 3
#define MAX_DEPTH 20
#define LEAK_EVERY 10000
#define LEAK_SIZE 1234
#define BIG_FRAME 256

struct worker;
typedef void *(*rec_fn)(struct worker *, unsigned, size_t);

struct worker {
	pthread_t thread;
	unsigned index;
	long iterations;
	long window_size;
	unsigned grain;
	void **window;
	size_t *sizes;
	uint64_t rng;
	uint64_t sum;     /* checksum of everything this thread did */
	uint64_t trail;   /* updated on the way back up every recursion */
	rec_fn indirect;  /* set at run time so the call cannot be resolved statically */
};

/* splitmix64: small, fast and the same on every libc. */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

/*
 * The one place that calls malloc, so every stack starts here.  Writing to
 * the block after malloc returns keeps the call from being a tail jump.
 */
NOIPA void *alloc_leaf(struct worker *w, size_t size)
{
	unsigned char *p = malloc(size);

	if (!p) {
		fprintf(stderr, "churn: out of memory (%zu bytes)\n", size);
		exit(1);
	}
	p[0] = (unsigned char)size;
	p[size - 1] = (unsigned char)(size >> 8);
	w->sum = mix(w->sum, size);
	return p;
}

/* Path 0: plain self-recursion. */
NOIPA void *rec_direct(struct worker *w, unsigned depth, size_t size)
{
	void *p = depth <= 1 ? alloc_leaf(w, size) : rec_direct(w, depth - 1, size);

	w->trail = w->trail * 31 + depth;
	return p;
}

/* Path 1: two functions calling each other. */
void *rec_pong(struct worker *w, unsigned depth, size_t size);

NOIPA void *rec_ping(struct worker *w, unsigned depth, size_t size)
{
	void *p = depth <= 1 ? alloc_leaf(w, size) : rec_pong(w, depth - 1, size);

	w->trail = w->trail * 37 + depth;
	return p;
}

NOIPA void *rec_pong(struct worker *w, unsigned depth, size_t size)
{
	void *p = depth <= 1 ? alloc_leaf(w, size) : rec_ping(w, depth - 1, size);

	w->trail = w->trail * 41 + depth;
	return p;
}

/* Path 2: self-recursion through a function pointer loaded from memory. */
NOIPA void *rec_indirect(struct worker *w, unsigned depth, size_t size)
{
	void *p = depth <= 1 ? alloc_leaf(w, size) : w->indirect(w, depth - 1, size);

	w->trail = w->trail * 43 + depth;
	return p;
}

/* Keeps the big frame's buffer alive: the compiler cannot see what it reads. */
NOIPA unsigned frame_touch(unsigned char *buf, size_t len, unsigned depth)
{
	buf[depth % len] ^= (unsigned char)depth;
	return buf[0] + buf[len - 1];
}

/* Path 3: self-recursion with a large local frame on every level. */
NOIPA void *rec_bigframe(struct worker *w, unsigned depth, size_t size)
{
	unsigned char buf[BIG_FRAME];
	void *p;

	memset(buf, (int)depth, sizeof(buf));
	frame_touch(buf, sizeof(buf), depth);
	p = depth <= 1 ? alloc_leaf(w, size) : rec_bigframe(w, depth - 1, size);
	w->trail = w->trail * 47 + frame_touch(buf, sizeof(buf), depth);
	return p;
}

/* The leak path, fixed at three frames so its stack is known exactly. */
NOIPA void *leak_inner(struct worker *w)
{
	unsigned char *p = alloc_leaf(w, LEAK_SIZE);

	w->trail = w->trail * 53 + p[0];
	return p;
}

NOIPA void leak_site(struct worker *w)
{
	unsigned char *p = leak_inner(w);

	/* The block is dropped here on purpose: that is the leak. */
	w->sum = mix(w->sum, p[LEAK_SIZE - 1]);
}

static void *(*const paths[4])(struct worker *, unsigned, size_t) = {
	rec_direct, rec_ping, rec_indirect, rec_bigframe,
};

NOIPA void *churn_worker(void *arg)
{
	struct worker *w = arg;
	long i;

	for (i = 0; i < w->iterations; i++) {
		uint64_t r = rng_next(&w->rng);
		long slot = (long)(r % (uint64_t)w->window_size);
		size_t size = MIN_SIZE + w->grain * (size_t)((r >> 32) % ((MAX_SIZE - MIN_SIZE) / w->grain + 1));
		unsigned path = (unsigned)(i & 3);
		unsigned depth = MIN_DEPTH + (unsigned)((i >> 2) % (MAX_DEPTH - MIN_DEPTH + 1));
		unsigned char *old = w->window[slot];

		if (old) {
			/* Read the block back so a broken allocator would show. */
			w->sum = mix(w->sum, old[0] ^ ((uint64_t)old[w->sizes[slot] - 1] << 8));
			free(old);
		}
		w->window[slot] = paths[path](w, depth, size);
		w->sizes[slot] = size;
		w->sum = mix(w->sum, ((uint64_t)slot << 20) ^ (path << 8) ^ depth);

		if ((i + 1) % LEAK_EVERY == 0)
			leak_site(w);
	}
	w->sum = mix(w->sum, w->trail);
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: churn [-t THREADS] [-n ITERATIONS] [-w WINDOW] [-g GRAIN] [-s SEC]\n"
		   "  -t  threads (default 2)\n"
		   "  -n  iterations per thread (default 1000000)\n"
		   "  -w  live blocks per thread (default 1000)\n"
		   "  -g  block sizes are 16 + a multiple of GRAIN, up to 4096 (default 16)\n"
		   "  -s  seconds to sleep before starting (default 0), to attach a tracer\n");
}

static long parse_long(const char *s, char opt, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "churn: -%c: expected a number from %ld to %ld, got '%s'\n",
			opt, min, max, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	long threads = 2, iterations = 1000000, window = 1000, grain = 16, sleep_sec = 0;
	struct worker *workers;
	uint64_t total = 0;
	long t, i;
	int opt;

	while ((opt = getopt(argc, argv, "t:n:w:g:s:h")) != -1) {
		switch (opt) {
		case 't': threads = parse_long(optarg, 't', 1, 1024); break;
		case 'n': iterations = parse_long(optarg, 'n', 0, LONG_MAX / 2); break;
		case 'w': window = parse_long(optarg, 'w', 1, 1L << 24); break;
		case 'g': grain = parse_long(optarg, 'g', 1, MAX_SIZE - MIN_SIZE); break;
		case 's': sleep_sec = parse_long(optarg, 's', 0, 86400); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sleep_sec)
		sleep((unsigned)sleep_sec);

	workers = calloc((size_t)threads, sizeof(*workers));
	if (!workers) {
		fprintf(stderr, "churn: out of memory\n");
		return 1;
	}
	for (t = 0; t < threads; t++) {
		struct worker *w = &workers[t];

		w->index = (unsigned)t;
		w->iterations = iterations;
		w->window_size = window;
		w->grain = (unsigned)grain;
		w->window = calloc((size_t)window, sizeof(*w->window));
		w->sizes = calloc((size_t)window, sizeof(*w->sizes));
		w->rng = 0x6d656d7472616365ULL ^ ((uint64_t)t * 0x100000001b3ULL);
		w->indirect = rec_indirect;
		if (!w->window || !w->sizes) {
			fprintf(stderr, "churn: out of memory\n");
			return 1;
		}
	}
	/* Threads are started only after all set-up allocations are done. */
	for (t = 0; t < threads; t++) {
		int err = pthread_create(&workers[t].thread, NULL, churn_worker, &workers[t]);

		if (err) {
			fprintf(stderr, "churn: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	for (t = 0; t < threads; t++) {
		struct worker *w = &workers[t];

		pthread_join(w->thread, NULL);
		total = mix(total, w->sum);
		for (i = 0; i < window; i++)
			free(w->window[i]);
		free(w->window);
		free(w->sizes);
	}
	free(workers);
	printf("checksum %016" PRIx64 "\n", total);
	return 0;
}
