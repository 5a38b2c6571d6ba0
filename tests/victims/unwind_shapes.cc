/*
 * unwind_shapes: allocations from call shapes that stress an unwinder, for
 * comparing the "tables" unwinder's stacks with libunwind's
 * (tests/integration/t-unwind-tables.sh). Built at several optimisation
 * levels, with and without frame pointers (the Makefile's
 * unwind_shapes-VARIANT).
 *
 * Every shape leaks blocks of a size of its own (kept in a global, so the
 * exit report has them): recursion, mutual recursion, calls through a
 * function pointer, alloca, a 64 KiB and a 1 MiB frame, a leaf that only
 * calls malloc, a signal handler that allocates, a destructor allocating
 * while a C++ exception is in flight, libc's qsort calling back, a
 * dlopen'ed library calling back (ARGV[1]: its path), and a thread doing
 * some of the same. The output says only what ran, the same every run.
 */
#include <alloca.h>
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdexcept>
#include <stdlib.h>

#include "victim.h"

/* Volatile, so that no optimisation drops a block nobody reads. */
static void *volatile kept[256];
static volatile int nkept;
static volatile int sink;

static void keep(void *p)
{
	if (nkept < 256)
		kept[nkept++] = p;
}

NOINLINE static void recurse(int n)
{
	if (n == 0)
		keep(malloc(101));
	else
		recurse(n - 1);
	sink++;
}

NOINLINE static void odd(int n);
NOINLINE static void even(int n)
{
	if (n <= 0)
		keep(malloc(102));
	else
		odd(n - 1);
	sink++;
}
NOINLINE static void odd(int n)
{
	switch (n > 0) {
	case 1: even(n - 1); break;
	default: keep(malloc(103)); break;
	}
	sink++;
}

NOINLINE static void via_a(int n) { keep(malloc(104 + (size_t)n * 0)); sink++; }
NOINLINE static void via_b(int n) { recurse(n); sink++; }
static void (*volatile pointers[])(int) = { via_a, via_b, even };

NOINLINE static void with_alloca(size_t n)
{
	volatile char *p = (volatile char *)alloca(n);

	p[0] = 1;
	keep(malloc(105 + (size_t)p[0] - 1));
	sink += p[n - 1];
}

NOINLINE static void big_frame(void)
{
	volatile char buf[64 << 10];

	buf[0] = 0;
	keep(malloc(106 + (size_t)buf[0]));
	sink += buf[sizeof(buf) - 1];
}

NOINLINE static void huge_frame(void)
{
	volatile char buf[1 << 20];

	buf[0] = 0;
	keep(malloc(107 + (size_t)buf[0]));
	sink += buf[sizeof(buf) - 1];
}

/* A leaf: its only call is malloc (a tail call at -O2). */
NOINLINE static void *leaf(size_t n)
{
	return malloc(n);
}

static void on_usr1(int sig)
{
	(void)sig;
	keep(malloc(108));
}

struct Guard {
	~Guard() { keep(malloc(109)); }
};

NOINLINE static void thrower(int n)
{
	Guard g;

	if (n >= 0)
		throw std::runtime_error("in flight");
	sink++;
}

NOINLINE static void catcher(void)
{
	try {
		thrower(1);
	} catch (const std::exception &e) {
		sink += e.what()[0];
	}
}

static int compared;
static int by_value(const void *a, const void *b)
{
	if (!compared++)
		keep(malloc(110));
	return *(const int *)a - *(const int *)b;
}

NOINLINE static void through_libc(void)
{
	int v[] = { 3, 1, 2, 5, 4 };

	compared = 0;
	qsort(v, 5, sizeof(v[0]), by_value);
}

NOINLINE static void called_back(int n)
{
	keep(malloc(111));
	recurse(n);
}

NOINLINE static void through_plugin(const char *path)
{
	void *h = dlopen(path, RTLD_NOW);
	void (*run)(void (*)(int));

	if (!h)
		vt_die("dlopen libplugin_shapes.so");
	run = (void (*)(void (*)(int)))dlsym(h, "plugin_shapes_run");
	if (!run)
		vt_die("dlsym plugin_shapes_run");
	run(called_back);
}

NOINLINE static void shapes(int round)
{
	recurse(20);
	even(9);
	odd(6);
	for (int i = 0; i < 3; i++)
		pointers[i](4);
	with_alloca(1000 + (size_t)round);
	big_frame();
	if (round == 0)	/* not on the thread's 256 KiB stack */
		huge_frame();
	keep(leaf(112));
	raise(SIGUSR1);
	catcher();
	through_libc();
}

static void *thread_main(void *arg)
{
	(void)arg;
	shapes(1);
	return NULL;
}

int main(int argc, char **argv)
{
	struct vt_thread t;

	if (argc < 2) {
		vt_dprintf(2, "usage: unwind_shapes PLUGIN\n");
		return 99;
	}
	signal(SIGUSR1, on_usr1);
	shapes(0);
	through_plugin(argv[1]);
	vt_thread_start(&t, thread_main, NULL);
	vt_thread_join(&t);
	vt_printf("shapes: %d blocks kept\n", nkept);
	return 0;
}
