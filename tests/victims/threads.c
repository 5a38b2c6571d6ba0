/*
 * threads: eight threads allocate and free at the same time, then each leaks
 * a known number of blocks from a function of its own.
 *
 * Each thread runs OPS random operations (malloc, calloc, realloc, free) on a
 * window of live blocks, writes a tag into every block and checks it before
 * the block changes hands, so an agent that mixes up blocks between threads
 * shows as a FAIL line (churn.h).  The window is freed at the end; what stays
 * is thread i's leak: i + 1 blocks of 24 * (i + 1) bytes from leak_t<i>.
 * Threads start through vt_thread_start (victim.h), on stacks of their own,
 * so that glibc's cached TLS vectors are not charged to main.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "victim.h"
#include "churn.h"

#define OPS 40000

struct worker {
	int index;
	struct vt_thread thread;
	struct churn_result res;
};

static pthread_barrier_t start_line;

static void churn(struct worker *w)
{
	struct slot win[WINDOW] = { { NULL, 0 } };
	uint64_t rng = churn_seed(w->index);
	unsigned char t = churn_tag(w->index);

	for (int op = 0; op < OPS; op++)
		churn_op(&w->res, win, &rng, t, CHURN_KINDS);
	churn_window_free(&w->res, win, t);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(&start_line);
	churn(w);
	leak_fn[w->index](&w->res);
	return NULL;
}

int main(void)
{
	static struct worker w[NTHREADS];

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
		vt_printf("thread %d: %d operations, %lu damaged blocks\n", i, OPS, w[i].res.bad);
		churn_thread_check(&w[i].res, i);
	}
	churn_expect();
	return vt_exit_status();
}
