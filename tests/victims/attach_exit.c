/*
 * attach_exit: a victim that ends while memtrace -p is attached, in the
 * way its second argument says, after leaking known blocks.
 *
 *     attach_exit DIR HOW [N]
 *
 * HOW: return (main returns N), exit (exit(N) from a function), _exit
 * (_exit(N), no destructor runs), TERM (it sends itself SIGTERM, left at
 * its default action) or SEGV (a store through a null pointer). N defaults
 * to 3.
 *
 * Protocol in attach.h.  Before ready it makes its pre-attach blocks.
 * After go it frees a quarter of them, leaks from leak_exit_malloc,
 * leak_exit_calloc and leak_exit_strdup (the EXPECT lines), frees every
 * other block it made after go, says leaked and waits for stop; then it
 * ends as HOW says, without freeing anything more: the leaks, and the
 * pre-attach blocks it still holds, are what an exit report lists (the
 * pre-attach ones never: they were made before the attach).  Output and
 * status depend on HOW and N only.
 */
#include <signal.h>

#include "attach.h"

static void *kept[8];
static int nkept;

static void keep(void *p, size_t size, int fill)
{
	if (!p)
		vt_die("leak allocation");
	memset(p, fill, size);
	kept[nkept++] = p;
}

NOINLINE static void leak_exit_malloc(void)
{
	for (int i = 0; i < 3; i++)
		keep(malloc(48), 48, 'm');
}

NOINLINE static void leak_exit_calloc(void)
{
	for (int i = 0; i < 2; i++)
		keep(calloc(25, 4), 100, 'c');
}

NOINLINE static void leak_exit_strdup(void)
{
	keep(strdup("left behind by attach_exit"), 27, 's');
}

/* Allocations that are freed again: the report must not show them. */
NOINLINE static void work(void)
{
	void *p[64];

	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 64; i++)
			if (!(p[i] = malloc(16 + (size_t)(i * 8))))
				vt_die("work");
		for (int i = 0; i < 64; i++)
			free(p[i]);
	}
}

NOINLINE static void end_by_exit(int n)
{
	exit(n);
}

NOINLINE static void end_by_underscore_exit(int n)
{
	_exit(n);
}

static int *volatile nowhere;

NOINLINE static void end_by_fault(void)
{
	*nowhere = 1;
}

int main(int argc, char **argv)
{
	const char *how;
	int n = 3;

	at_start(argc, argv);
	if (argc < 3)
		vt_die("usage: attach_exit DIR return|exit|_exit|TERM|SEGV [N]");
	how = argv[2];
	if (argc > 3)
		n = atoi(argv[3]);
	vt_printf("exit: started, will end by %s\n", how);
	at_ready();

	at_wait_go();
	pre_attach_release();
	work();
	leak_exit_malloc();
	leak_exit_calloc();
	leak_exit_strdup();
	vt_expect("leak_exit_malloc", 3, 144);
	vt_expect("leak_exit_calloc", 2, 200);
	vt_expect("leak_exit_strdup", 1, 27);
	vt_via_libc("leak_exit_strdup");
	at_leaked_then_wait_stop();

	vt_printf("exit: ending by %s\n", how);
	if (!strcmp(how, "return"))
		return n;
	if (!strcmp(how, "exit"))
		end_by_exit(n);
	if (!strcmp(how, "_exit"))
		end_by_underscore_exit(n);
	if (!strcmp(how, "TERM"))
		kill(getpid(), SIGTERM);
	if (!strcmp(how, "SEGV"))
		end_by_fault();
	vt_printf("FAIL: still here after ending by %s\n", how);
	return 99;
}
