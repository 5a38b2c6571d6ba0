/*
 * gdb_leaky: a victim that leaks, then keeps still, for the gdb commands'
 * tests (tests/integration/t-gdbinit*.sh), which read the agent's tables
 * with gdb and compare them with memtrace's own report of the same moment.
 *     gdb_leaky [-m MANY] [-b BULK] [-f STOPFILE] [-s SECONDS]
 * It leaks from leak_big (1 x 50000 bytes), leak_medium (10 x 1000),
 * leak_small (100 x 16, half of them freed again), leak_tie_a (2 x 500) and
 * leak_tie_b (4 x 250: the same live bytes as leak_tie_a, so the order of the
 * two is the id's), leak_in_thread (20 x 64 from a second thread, which the
 * main thread frees 8 of: one counter slot goes negative), and with -m,
 * MANY contexts from leak_many_leaf, each through its own call path, of
 * 24 to 168 bytes (many ties), and with -b, BULK blocks of 8 bytes from
 * leak_bulk (for timing the block walks). Then it writes "gdb_leaky.started" in the
 * current directory (its pid, then the address of the fourth leak_medium
 * block, in hex) and waits, allocating nothing, until STOPFILE exists or
 * SECONDS (30) have passed.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "victim.h"

#define MEDIUM 10
#define SMALL 100
#define THREAD_BLOCKS 20
#define THREAD_FREED 8

static void *keep_big, *keep_medium[MEDIUM], *keep_small[SMALL], *keep_tie[6];
static void *keep_thread[THREAD_BLOCKS];
static void **keep_many;

NOINLINE static void *leak_big(void)
{
	return malloc(50000);
}

NOINLINE static void *leak_medium(void)
{
	return malloc(1000);
}

NOINLINE static void *leak_small(void)
{
	return malloc(16);
}

NOINLINE static void *leak_tie_a(void)
{
	return malloc(500);
}

NOINLINE static void *leak_tie_b(void)
{
	return malloc(250);
}

NOINLINE static void *leak_in_thread(void)
{
	return malloc(64);
}

static void *thread_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < THREAD_BLOCKS; i++)
		keep_thread[i] = leak_in_thread();
	return NULL;
}

static size_t many_size(unsigned i)
{
	return 24 * (i % 7 + 1);
}

NOINLINE static void *leak_bulk(void *next)
{
	void **p = malloc(8);

	*p = next;
	return p;
}

NOINLINE static void *leak_many_leaf(unsigned i)
{
	return malloc(many_size(i));
}

/* Two call sites per level: the bits of I pick the path, so every I below
 * 2^LEVELS has a callstack of its own. */
NOINLINE static void *many_a(unsigned i, int level);
NOINLINE static void *many_b(unsigned i, int level);

NOINLINE static void *many_step(unsigned i, int level)
{
	if (level == 0)
		return leak_many_leaf(i);
	return (i >> (level - 1)) & 1 ? many_b(i, level - 1) : many_a(i, level - 1);
}

NOINLINE static void *many_a(unsigned i, int level)
{
	return many_step(i, level);
}

NOINLINE static void *many_b(unsigned i, int level)
{
	return many_step(i, level);
}

int main(int argc, char **argv)
{
	struct vt_run run = { .seconds = 30 };
	unsigned many = 0, bulk = 0;
	void *bulk_list = NULL;
	unsigned long many_bytes = 0;
	struct vt_thread t;
	int opt, fd, levels = 0;

	while ((opt = getopt(argc, argv, "m:b:f:s:")) != -1) {
		if (vt_run_option(&run, opt, optarg))
			continue;
		switch (opt) {
		case 'm':
			many = (unsigned)atoi(optarg);
			break;
		case 'b':
			bulk = (unsigned)atoi(optarg);
			break;
		default:
			vt_dprintf(2, "usage: gdb_leaky [-m MANY] [-b BULK] [-f STOPFILE] [-s SECONDS]\n");
			return 2;
		}
	}
	if (many > 16384) {
		vt_dprintf(2, "gdb_leaky: -m at most 16384\n");
		return 2;
	}

	keep_big = leak_big();
	for (int i = 0; i < MEDIUM; i++)
		keep_medium[i] = leak_medium();
	for (int i = 0; i < SMALL; i++)
		keep_small[i] = leak_small();
	for (int i = 0; i < SMALL; i += 2)
		free(keep_small[i]);
	for (int i = 0; i < 2; i++)
		keep_tie[i] = leak_tie_a();
	for (int i = 2; i < 6; i++)
		keep_tie[i] = leak_tie_b();
	vt_thread_start(&t, thread_main, NULL);
	vt_thread_join(&t);
	for (int i = 0; i < THREAD_FREED; i++)
		free(keep_thread[i]);
	if (many) {
		while ((1u << levels) < many)
			levels++;
		keep_many = mmap(NULL, many * sizeof(void *), PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (keep_many == MAP_FAILED)
			vt_die("mmap");
		for (unsigned i = 0; i < many; i++) {
			keep_many[i] = many_step(i, levels);
			many_bytes += many_size(i);
		}
	}
	for (unsigned i = 0; i < bulk; i++)
		bulk_list = leak_bulk(bulk_list);

	fd = open("gdb_leaky.started", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		vt_die("gdb_leaky.started");
	vt_dprintf(fd, "%d\n%lx\n", (int)getpid(), (unsigned long)(uintptr_t)keep_medium[3]);
	close(fd);

	vt_run_start(&run);
	while (vt_run_on(&run))
		vt_sleep_ms(20);

	vt_touch(keep_big);
	vt_touch(keep_medium);
	vt_touch(keep_small);
	vt_touch(keep_tie);
	vt_touch(keep_thread);
	vt_touch(bulk_list);
	vt_expect("leak_big", 1, 50000);
	vt_expect("leak_medium", MEDIUM, MEDIUM * 1000);
	vt_expect("leak_small", SMALL / 2, SMALL / 2 * 16);
	vt_expect("leak_tie_a", 2, 1000);
	vt_expect("leak_tie_b", 4, 1000);
	vt_expect("leak_in_thread", THREAD_BLOCKS - THREAD_FREED, (THREAD_BLOCKS - THREAD_FREED) * 64);
	if (many)
		vt_expect("leak_many_leaf", many, many_bytes);
	if (bulk)
		vt_expect("leak_bulk", bulk, 8ul * bulk);
	return 0;
}
