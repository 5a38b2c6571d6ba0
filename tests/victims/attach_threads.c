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
 * hands: churn.h).  Threads run on stacks of their own (victim.h) and are joined
 * before leaked, so nothing else of this program is live then.
 */
#include <stdatomic.h>

#include "attach.h"
#include "churn.h"

#define OPS_AFTER 20000

struct worker {
	int index;
	struct vt_thread thread;
	struct churn_result res;
	unsigned long ops_before; /* operations before go: timing, not printed */
};

static atomic_int go_seen;
static atomic_int running;

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct slot win[WINDOW];
	uint64_t rng = churn_seed(w->index);
	unsigned char t = churn_tag(w->index);

	memset(win, 0, sizeof(win));
	atomic_fetch_add(&running, 1);
	while (!atomic_load(&go_seen)) {
		churn_op(&w->res, win, &rng, t, CHURN_KINDS_MEMALIGN);
		w->ops_before++;
	}
	for (int i = 0; i < OPS_AFTER; i++)
		churn_op(&w->res, win, &rng, t, CHURN_KINDS_MEMALIGN);
	churn_window_free(&w->res, win, t);
	leak_fn[w->index](&w->res);
	return NULL;
}

int main(int argc, char **argv)
{
	static struct worker w[NTHREADS];
	unsigned long blocks = 0;

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
		vt_printf("thread %d: %d operations after go, %lu damaged blocks\n", i, OPS_AFTER, w[i].res.bad);
		churn_thread_check(&w[i].res, i);
		vt_check(w[i].ops_before > 0, "thread was churning before go");
	}
	churn_expect();
	at_leaked_then_wait_stop();

	for (int i = 0; i < NTHREADS; i++)
		for (int k = 0; k <= i; k++) {
			blocks += ((unsigned char *)w[i].res.leaked[k])[24 * (i + 1) - 1] != 'A' + i;
			free(w[i].res.leaked[k]);
		}
	vt_check(blocks == 0, "leaked blocks intact at stop");
	pre_attach_end();
	return vt_exit_status();
}
