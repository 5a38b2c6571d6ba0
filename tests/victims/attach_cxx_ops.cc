/*
 * attach_cxx_ops: memtrace -p on a C++ program that uses every form of the
 * operators new and delete (tests/victims/cxx_ops.h), under glibc's
 * allocator or a preloaded tcmalloc or jemalloc.
 *
 *     attach_cxx_ops DIR [OPS]
 *
 * Protocol in attach.h.  Before ready, blocks of every form of new are made
 * (after go they are checked and deleted by every delete form: the agent
 * never saw them allocated), and two threads start allocating and deleting
 * through every form, each block tagged and checked, on and on through the
 * attach while the GOT slots change under them, until OPS (20000) more
 * operations after go each; then they give everything back and are joined.
 * After go: round trips of every form, new and malloc blocks freed by the
 * other family, failing operators and a new_handler, then one leak per form
 * of new (EXPECT lines), so the report must hold exactly those.  After stop
 * (memtrace has detached) the leaks are deleted and more round trips run.
 *
 * No malloc-family blocks before the attach (attach.h's pre_attach_alloc):
 * jemalloc has no pvalloc, so glibc's would hand out a block jemalloc's
 * free cannot take.
 */
#include <atomic>

#include "attach.h"
#include "cxx_ops.h"

#define NTHREADS 2
#define OPS_AFTER 20000	/* default of OPS */
#define WINDOW 32
#define PRE_BLOCKS (OPS_NFORMS * 3)

struct churn_slot {
	unsigned char *p;
	size_t size;
	int form;	/* 0-7 cxx_ops.h's forms, 8 malloc */
};

struct worker {
	int index;
	struct vt_thread thread;
	unsigned long bad;
	unsigned long ops_before;	/* timing, not printed */
};

static std::atomic<int> go_seen;
static std::atomic<int> running;
static long ops_after = OPS_AFTER;

static void churn_release(struct churn_slot *s, unsigned way)
{
	if (!s->p)
		return;
	if (s->form == OPS_NFORMS)
		free(s->p);
	else
		ops_delete_form(s->form, s->p, s->size, way);
	s->p = NULL;
}

/* One random operation on the window: give a block back, take another. */
static void churn_op(struct worker *w, struct churn_slot *win, uint64_t *rng, unsigned char t)
{
	uint64_t r = vt_rand(rng);
	struct churn_slot *s = &win[r % WINDOW];

	if (s->p && !vt_tagged(s->p, s->size, t))
		w->bad++;
	churn_release(s, (unsigned)(r >> 8));
	if ((r >> 16) % 8 == 0)
		return;
	s->size = 1 + (size_t)((r >> 24) % 1500);
	s->form = (int)((r >> 40) % (OPS_NFORMS + 1));
	s->p = (unsigned char *)(s->form == OPS_NFORMS ? malloc(s->size) : ops_new_form(s->form, s->size));
	if (!s->p)
		vt_die("allocation failed");
	vt_tag(s->p, s->size, t);
}

static void *worker_main(void *arg)
{
	struct worker *w = (struct worker *)arg;
	struct churn_slot win[WINDOW];
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(w->index + 1);
	unsigned char t = (unsigned char)(w->index * 16 + 1);

	memset(win, 0, sizeof(win));
	running++;
	while (!go_seen.load()) {
		churn_op(w, win, &rng, t);
		w->ops_before++;
	}
	for (long i = 0; i < ops_after; i++)
		churn_op(w, win, &rng, t);
	for (int i = 0; i < WINDOW; i++) {
		if (win[i].p && !vt_tagged(win[i].p, win[i].size, t))
			w->bad++;
		churn_release(&win[i], (unsigned)i);
	}
	return NULL;
}

static void *pre_blocks[PRE_BLOCKS];

static size_t pre_size(int i)
{
	return 24 + (size_t)i * 29;
}

/* Before ready: blocks of every form of new. */
extern "C" NOINLINE void pre_attach_new(void)
{
	for (int i = 0; i < PRE_BLOCKS; i++) {
		pre_blocks[i] = ops_new_form(i % OPS_NFORMS, pre_size(i));
		if (!pre_blocks[i])
			vt_die("pre-attach new");
		ops_fill(pre_blocks[i], pre_size(i), (unsigned)i);
	}
}

/* After go: each checked, then deleted by one of the forms that match. */
extern "C" NOINLINE void pre_attach_delete(void)
{
	int bad = 0;

	for (int i = 0; i < PRE_BLOCKS; i++) {
		bad += !ops_intact(pre_blocks[i], pre_size(i), (unsigned)i);
		ops_delete_form(i % OPS_NFORMS, pre_blocks[i], pre_size(i), (unsigned)(i / OPS_NFORMS));
		pre_blocks[i] = NULL;
	}
	vt_check(bad == 0, "blocks made by new before the attach intact after it");
}

int main(int argc, char **argv)
{
	static struct worker w[NTHREADS];

	int arg = at_init(argc, argv);

	if (argc > arg)
		ops_after = atol(argv[arg]);
	vt_printf("cxx_ops: allocator %s\n", ops_allocator());
	pre_attach_new();
	at_got_snapshot();
	for (int i = 0; i < NTHREADS; i++) {
		w[i].index = i;
		vt_thread_start(&w[i].thread, worker_main, &w[i]);
	}
	while (running.load() < NTHREADS)
		vt_sleep_ms(1);
	vt_printf("cxx_ops: %d threads churning through every form\n", NTHREADS);
	at_ready();

	at_wait_go();
	go_seen.store(1);
	pre_attach_delete();
	ops_roundtrip(50);
	ops_mismatched();
	ops_out_of_memory();
	ops_roundtrip(10);
	for (int i = 0; i < NTHREADS; i++) {
		vt_thread_join(&w[i].thread);
		vt_check(w[i].bad == 0, "churning threads' blocks kept their tags");
		vt_check(w[i].ops_before > 0, "thread was churning before go");
	}
	ops_leak();
	at_leaked_then_wait_stop();

	ops_release();
	ops_roundtrip(10);
	vt_printf("cxx_ops: every form of new and delete done\n");
	return vt_exit_status();
}
