/*
 * attach_cxx_own: memtrace -p on a C++ program that replaces the global
 * operators new and delete (plain and sized) with a pool of its own, as
 * the standard allows.  libstdc++ then allocates from the pool through its
 * GOT slot for operator new, while this program's own calls to its
 * operators are direct: a string buffer that libstdc++'s reserve() makes
 * is given back here by a direct call to the sized delete.  The agent must
 * leave operators the program defines alone (as start mode does), or it
 * records those blocks and never sees them go.
 *
 *     attach_cxx_own DIR
 *
 * Protocol in attach.h.  After go: strings grow and go, arrays come and go
 * through new[] and delete[] (not replaced: libstdc++'s, hooked, which call
 * the pool's operators), then leak_array leaks one new int[40] and
 * leak_malloc one malloc(123); blocks of the pool itself are not the
 * malloc family's and are not reported.  The output says how many pool
 * blocks are in use at each step: the same traced or not.
 */
#include <new>
#include <string>

#include "attach.h"

#define POOL_SIZE (16 << 20)

static char *pool;
static size_t pool_used;
static long pool_live;

NOINLINE void *operator new(size_t n)
{
	void *p;

	if (!pool) {
		pool = (char *)mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (pool == MAP_FAILED)
			vt_die("mmap pool");
	}
	n = (n + 15) & ~(size_t)15;
	if (pool_used + n > POOL_SIZE)
		throw std::bad_alloc();
	p = pool + pool_used;
	pool_used += n;
	pool_live++;
	return p;
}

NOINLINE void operator delete(void *p) noexcept
{
	if (p)
		pool_live--;
}

NOINLINE void operator delete(void *p, size_t n) noexcept
{
	(void)n;
	if (p)
		pool_live--;
}

/*
 * A buffer libstdc++ allocates (reserve is compiled there) and this
 * program gives back by a direct call, as an inlined ~basic_string does in
 * an optimised build (victims are built with -fno-inline: the string object
 * is left in place and its buffer freed by hand).
 */
extern "C" NOINLINE void strings(int n)
{
	alignas(std::string) static unsigned char raw[sizeof(std::string)];

	for (int i = 0; i < n; i++) {
		std::string *s = new (raw) std::string();
		char *buf;

		s->reserve(200 + (size_t)i);
		*s += "grown by libstdc++, freed here";
		buf = &(*s)[0];
		::operator delete(buf, s->capacity() + 1);
	}
}

extern "C" NOINLINE void arrays(int n)
{
	for (int i = 0; i < n; i++) {
		int *a = new int[10 + i];

		a[0] = i;
		vt_touch(a);
		delete[] a;
	}
}

static int *leaked_array;
static char *leaked_malloc;

extern "C" NOINLINE void leak_array(void)
{
	leaked_array = new int[40]();
}

extern "C" NOINLINE void leak_malloc(void)
{
	leaked_malloc = (char *)malloc(123);
	memset(leaked_malloc, 'm', 123);
}

int main(int argc, char **argv)
{
	at_start(argc, argv);
	strings(5);
	vt_printf("own: pool blocks in use before attach %ld\n", pool_live);
	at_ready();

	at_wait_go();
	pre_attach_release();
	strings(50);
	arrays(50);
	vt_printf("own: pool blocks in use after the round trips %ld\n", pool_live);
	leak_array();
	leak_malloc();
	vt_expect("leak_array", 1, 40 * sizeof(int));
	vt_expect("leak_malloc", 1, 123);
	at_leaked_then_wait_stop();

	delete[] leaked_array;
	free(leaked_malloc);
	strings(5);
	vt_printf("own: pool blocks in use at the end %ld\n", pool_live);
	pre_attach_end();
	return vt_exit_status();
}
