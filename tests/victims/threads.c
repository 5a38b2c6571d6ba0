/*
 * threads: eight threads allocate and free at the same time, then each leaks
 * a known number of blocks from a function of its own.
 *
 * Each thread runs OPS random operations (malloc, calloc, realloc, free) on a
 * window of live blocks, writes a tag into every block and checks it before
 * the block changes hands, so an agent that mixes up blocks between threads
 * shows as a FAIL line.  The window is freed at the end; what stays is thread
 * i's leak: i + 1 blocks of 24 * (i + 1) bytes from leak_t<i>.
 * Threads start through vt_thread_start (victim.h), on stacks of their own,
 * so that glibc's cached TLS vectors are not charged to main.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "victim.h"

#define NTHREADS 8
#define OPS 40000
#define WINDOW 64

struct slot {
	unsigned char *p;
	size_t size;
};

struct worker {
	int index;
	struct vt_thread thread;
	unsigned long bad;	/* blocks whose tag was found damaged */
	void *leaked[NTHREADS];
};

static pthread_barrier_t start_line;

static void tag(struct slot *s, unsigned char t)
{
	/* first, middle and last byte: cheap, and catches wrong sizes */
	s->p[0] = t;
	s->p[s->size / 2] = t;
	s->p[s->size - 1] = t;
}

static int tagged(const struct slot *s, unsigned char t)
{
	return s->p[0] == t && s->p[s->size / 2] == t && s->p[s->size - 1] == t;
}

#define LEAK_FN(i)                                                   \
	NOINLINE static void leak_t##i(struct worker *w)             \
	{                                                            \
		for (int k = 0; k <= (i); k++) {                     \
			w->leaked[k] = malloc(24 * ((i) + 1));       \
			memset(w->leaked[k], 'A' + (i), 24 * ((i) + 1)); \
		}                                                    \
	}
LEAK_FN(0)
LEAK_FN(1)
LEAK_FN(2)
LEAK_FN(3)
LEAK_FN(4)
LEAK_FN(5)
LEAK_FN(6)
LEAK_FN(7)

static void (*const leak_fn[NTHREADS])(struct worker *) = {
	leak_t0, leak_t1, leak_t2, leak_t3, leak_t4, leak_t5, leak_t6, leak_t7,
};

static void churn(struct worker *w)
{
	struct slot win[WINDOW] = { { NULL, 0 } };
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(w->index + 1);
	unsigned char t = (unsigned char)(w->index * 16 + 1);

	for (int op = 0; op < OPS; op++) {
		uint64_t r = vt_rand(&rng);
		struct slot *s = &win[r % WINDOW];
		size_t size = 1 + (size_t)((r >> 8) % 2048);

		if ((r >> 40) % 64 == 0)
			size = 4096 + (size_t)((r >> 20) % 200000);	/* now and then a big one */
		if (s->p && !tagged(s, t))
			w->bad++;
		switch ((r >> 32) % 4) {
		case 0:
			free(s->p);
			s->p = malloc(size);
			break;
		case 1:
			free(s->p);
			s->p = calloc(1, size);
			if (s->p && s->p[size - 1] != 0)
				w->bad++;
			break;
		case 2:
			s->p = realloc(s->p, size);
			break;
		default:
			free(s->p);
			s->p = NULL;
			continue;
		}
		if (!s->p)
			vt_die("allocation failed");
		s->size = size;
		tag(s, t);
	}
	for (int i = 0; i < WINDOW; i++) {
		if (win[i].p && !tagged(&win[i], t))
			w->bad++;
		free(win[i].p);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(&start_line);
	churn(w);
	leak_fn[w->index](w);
	return NULL;
}

int main(void)
{
	static struct worker w[NTHREADS];
	unsigned long blocks = 0, bytes = 0;

	if (pthread_barrier_init(&start_line, NULL, NTHREADS) != 0)
		vt_die("pthread_barrier_init");
	for (int i = 0; i < NTHREADS; i++) {
		w[i].index = i;
		vt_thread_start(&w[i].thread, worker_main, &w[i]);
	}
	for (int i = 0; i < NTHREADS; i++)
		vt_thread_join(&w[i].thread);
	pthread_barrier_destroy(&start_line);

	for (int i = 0; i < NTHREADS; i++) {
		vt_printf("thread %d: %d operations, %lu damaged blocks\n", i, OPS, w[i].bad);
		vt_check(w[i].bad == 0, "thread blocks kept their tags");
		for (int k = 0; k <= i; k++)
			if (!w[i].leaked[k] || ((unsigned char *)w[i].leaked[k])[0] != 'A' + i)
				vt_check(0, "leaked block written");
	}
	for (int i = 0; i < NTHREADS; i++) {
		char name[16] = "leak_t0";

		name[6] = (char)('0' + i);
		vt_expect(name, (unsigned long)i + 1, 24UL * (i + 1) * (i + 1));
		blocks += (unsigned long)i + 1;
		bytes += 24UL * (i + 1) * (i + 1);
	}
	vt_printf("leaked %lu blocks, %lu bytes in all\n", blocks, bytes);
	return vt_exit_status();
}
