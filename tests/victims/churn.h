/*
 * churn.h: the eight-thread churn that threads.c and attach_threads.c share.
 *
 * Each thread runs random operations (malloc, calloc, realloc, free, and for
 * attach_threads posix_memalign) on a window of live blocks, writes a tag into
 * every block and checks it before the block changes hands, so an agent that
 * mixes up blocks between threads shows as a damaged block.  Then thread i
 * leaks i + 1 blocks of 24 * (i + 1) bytes from leak_t<i>, a function of its
 * own, and the victim states those leaks (churn_expect).
 *
 * Include after victim.h; one victim per translation unit, as victim.h says.
 */
#ifndef CHURN_H
#define CHURN_H

#include "victim.h"

#define NTHREADS 8
#define WINDOW 64

/* The random operations: the first four kinds, or also posix_memalign. */
#define CHURN_KINDS 4
#define CHURN_KINDS_MEMALIGN 5

struct slot {
	unsigned char *p;
	size_t size;
};

/* What a thread leaves for main to check. */
struct churn_result {
	unsigned long bad;	/* blocks whose tag was found damaged */
	void *leaked[NTHREADS];
};

/* Thread INDEX's random state and tag. */
static VT_UNUSED uint64_t churn_seed(int index)
{
	return 0x9e3779b97f4a7c15ULL * (uint64_t)(index + 1);
}

static VT_UNUSED unsigned char churn_tag(int index)
{
	return (unsigned char)(index * 16 + 1);
}

/* One random operation of KINDS kinds on window WIN. */
static VT_UNUSED void churn_op(struct churn_result *res, struct slot *win, uint64_t *rng, unsigned char t,
			       unsigned kinds)
{
	uint64_t r = vt_rand(rng);
	struct slot *s = &win[r % WINDOW];
	size_t size = 1 + (size_t)((r >> 8) % 2048);
	void *p = NULL;

	if ((r >> 40) % 64 == 0)
		size = 4096 + (size_t)((r >> 20) % 200000);	/* now and then a big one */
	if (s->p && !vt_tagged(s->p, s->size, t))
		res->bad++;
	switch ((r >> 32) % kinds) {
	case 0:
		free(s->p);
		s->p = malloc(size);
		break;
	case 1:
		free(s->p);
		s->p = calloc(1, size);
		if (s->p && s->p[size - 1] != 0)
			res->bad++;
		break;
	case 2:
		s->p = realloc(s->p, size);
		break;
	case 3:
		if (kinds == CHURN_KINDS_MEMALIGN) {
			free(s->p);
			s->p = posix_memalign(&p, 64, size) ? NULL : p;
			break;
		}
		/* fall through */
	default:
		free(s->p);
		s->p = NULL;
		return;
	}
	if (!s->p)
		vt_die("allocation failed");
	s->size = size;
	vt_tag(s->p, s->size, t);
}

/* Check and free the whole window. */
static VT_UNUSED void churn_window_free(struct churn_result *res, struct slot *win, unsigned char t)
{
	for (int i = 0; i < WINDOW; i++) {
		if (win[i].p && !vt_tagged(win[i].p, win[i].size, t))
			res->bad++;
		free(win[i].p);
	}
}

#define LEAK_FN(i)                                                       \
	NOINLINE static void leak_t##i(struct churn_result *res)         \
	{                                                                \
		for (int k = 0; k <= (i); k++) {                         \
			res->leaked[k] = malloc(24 * ((i) + 1));         \
			memset(res->leaked[k], 'A' + (i), 24 * ((i) + 1)); \
		}                                                        \
	}
LEAK_FN(0)
LEAK_FN(1)
LEAK_FN(2)
LEAK_FN(3)
LEAK_FN(4)
LEAK_FN(5)
LEAK_FN(6)
LEAK_FN(7)

/* Thread INDEX's leaks, from leak_t<INDEX>. */
static void (*const leak_fn[NTHREADS])(struct churn_result *) = {
	leak_t0, leak_t1, leak_t2, leak_t3, leak_t4, leak_t5, leak_t6, leak_t7,
};

/* Once thread I is joined: it kept its blocks' tags and wrote its leaks. */
static VT_UNUSED void churn_thread_check(const struct churn_result *res, int i)
{
	vt_check(res->bad == 0, "thread blocks kept their tags");
	for (int k = 0; k <= i; k++)
		if (!res->leaked[k] || ((unsigned char *)res->leaked[k])[0] != 'A' + i)
			vt_check(0, "leaked block written");
}

/* State the leaks: one EXPECT line per leak_t<i>, then the sum. */
static VT_UNUSED void churn_expect(void)
{
	unsigned long blocks = 0, bytes = 0;

	for (int i = 0; i < NTHREADS; i++) {
		char name[16] = "leak_t0";

		name[6] = (char)('0' + i);
		vt_expect(name, (unsigned long)i + 1, 24UL * (i + 1) * (i + 1));
		blocks += (unsigned long)i + 1;
		bytes += 24UL * (i + 1) * (i + 1);
	}
	vt_printf("leaked %lu blocks, %lu bytes in all\n", blocks, bytes);
}

#endif
