/*
 * attach_threads: eight threads allocate and free as hard as they can from
 * before ready, through the attach, until each has done OPS_AFTER more
 * operations after go; then each frees its window and leaks i + 1 blocks of
 * 24 * (i + 1) bytes from leak_t<i>.
 *
 *     attach_threads DIR
 *
 * Protocol in attach.h.  The GOT slots change under the threads' feet, so a
 * block may be allocated through the old slot and freed through the hook, or
 * the other way round: the report must still show exactly the leaks, and
 * no block may be damaged (each carries a tag checked before it changes
 * hands).  Threads run on stacks of their own (victim.h) and are joined
 * before leaked, so nothing else of this program is live then.
 */
#include <stdatomic.h>

#include "attach.h"

#define NTHREADS 8
#define OPS_AFTER 20000
#define WINDOW 64

struct worker {
	int index;
	struct vt_thread thread;
	unsigned long bad;
	unsigned long ops_before; /* operations before go: timing, not printed */
	void *leaked[NTHREADS];
};

static atomic_int go_seen;
static atomic_int running;

struct slot {
	unsigned char *p;
	size_t size;
};

static void tag(struct slot *s, unsigned char t)
{
	s->p[0] = t;
	s->p[s->size / 2] = t;
	s->p[s->size - 1] = t;
}

static int tagged(const struct slot *s, unsigned char t)
{
	return s->p[0] == t && s->p[s->size / 2] == t && s->p[s->size - 1] == t;
}

#define LEAK_FN(i)                                                       \
	NOINLINE static void leak_t##i(struct worker *w)                 \
	{                                                                \
		for (int k = 0; k <= (i); k++) {                         \
			w->leaked[k] = malloc(24 * ((i) + 1));           \
			memset(w->leaked[k], 'A' + (i), 24 * ((i) + 1)); \
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

static void (*const leak_fn[NTHREADS])(struct worker *) = {
	leak_t0, leak_t1, leak_t2, leak_t3, leak_t4, leak_t5, leak_t6, leak_t7,
};

/* One random operation on the window. */
static void op(struct worker *w, struct slot *win, uint64_t *rng, unsigned char t)
{
	uint64_t r = vt_rand(rng);
	struct slot *s = &win[r % WINDOW];
	size_t size = 1 + (size_t)((r >> 8) % 2048);
	void *p = NULL;

	if ((r >> 40) % 64 == 0)
		size = 4096 + (size_t)((r >> 20) % 200000);
	if (s->p && !tagged(s, t))
		w->bad++;
	switch ((r >> 32) % 5) {
	case 0: free(s->p); s->p = malloc(size); break;
	case 1:
		free(s->p);
		s->p = calloc(1, size);
		if (s->p && s->p[size - 1] != 0)
			w->bad++;
		break;
	case 2: s->p = realloc(s->p, size); break;
	case 3:
		free(s->p);
		s->p = posix_memalign(&p, 64, size) ? NULL : p;
		break;
	default: free(s->p); s->p = NULL; return;
	}
	if (!s->p)
		vt_die("allocation failed");
	s->size = size;
	tag(s, t);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct slot win[WINDOW];
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(w->index + 1);
	unsigned char t = (unsigned char)(w->index * 16 + 1);

	memset(win, 0, sizeof(win));
	atomic_fetch_add(&running, 1);
	while (!atomic_load(&go_seen)) {
		op(w, win, &rng, t);
		w->ops_before++;
	}
	for (int i = 0; i < OPS_AFTER; i++)
		op(w, win, &rng, t);
	for (int i = 0; i < WINDOW; i++) {
		if (win[i].p && !tagged(&win[i], t))
			w->bad++;
		free(win[i].p);
	}
	leak_fn[w->index](w);
	return NULL;
}

int main(int argc, char **argv)
{
	static struct worker w[NTHREADS];
	unsigned long blocks = 0, bytes = 0;

	at_start(argc, argv);
	for (int i = 0; i < NTHREADS; i++) {
		w[i].index = i;
		vt_thread_start(&w[i].thread, worker_main, &w[i]);
	}
	while (atomic_load(&running) < NTHREADS)
		vt_sleep_ms(1);
	vt_printf("threads: %d threads churning\n", NTHREADS);
	at_ready();

	at_wait_go();
	atomic_store(&go_seen, 1);
	pre_attach_release();
	for (int i = 0; i < NTHREADS; i++)
		vt_thread_join(&w[i].thread);
	for (int i = 0; i < NTHREADS; i++) {
		vt_printf("thread %d: %d operations after go, %lu damaged blocks\n", i, OPS_AFTER, w[i].bad);
		vt_check(w[i].bad == 0, "thread blocks kept their tags");
		vt_check(w[i].ops_before > 0, "thread was churning before go");
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
	at_leaked_then_wait_stop();

	blocks = 0;
	for (int i = 0; i < NTHREADS; i++)
		for (int k = 0; k <= i; k++) {
			blocks += ((unsigned char *)w[i].leaked[k])[24 * (i + 1) - 1] != 'A' + i;
			free(w[i].leaked[k]);
		}
	vt_check(blocks == 0, "leaked blocks intact at stop");
	pre_attach_end();
	return vt_exit_status();
}
