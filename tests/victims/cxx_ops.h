/*
 * cxx_ops.h: every form of the global operators new and delete, shared by
 * the victims cxx_ops.cc (start mode) and attach_cxx_ops.cc (attach).
 *
 * They run under whichever allocator the test preloads: glibc's (where
 * libstdc++'s operators call malloc), tcmalloc or jemalloc (whose operators
 * never call malloc, and whose aligned delete never calls free).  What must
 * hold in all three: each form of new the victim leaks is in the report
 * with its size, under the function that leaked it, and nothing that was
 * deleted (by whatever form, or in the new_handler of a failing new, or
 * after an exception went through the operator) stays as a leak.
 *
 *   ops_roundtrip(N)   N rounds of every new form with every delete form that
 *                      matches it, explicit operator calls and new-expressions,
 *                      each block filled and checked before it goes
 *   ops_mismatched()   new freed by free(), malloc freed by delete: undefined
 *                      in C++, but fine in all three allocators, and the agent
 *                      must neither keep nor lose those blocks
 *   ops_out_of_memory() bad_alloc thrown through the operators, nothrow forms
 *                      returning NULL, and a new_handler that gives two
 *                      reserve blocks back (one by delete[], one by free)
 *   ops_leak()         one leak per form of new, from leak_<form>, with the
 *                      EXPECT lines; ops_release() deletes them again
 *
 * Nothing here prints pointers; a victim's output is the same traced or not.
 */
#ifndef CXX_OPS_H
#define CXX_OPS_H

#include <fcntl.h>
#include <new>

#include "victim.h"

struct ops_node {
	long id;
	char name[40];
	ops_node *next;
};

struct alignas(64) ops_aligned {
	unsigned char bytes[128];
};

/* A destructor: new[] of it carries a cookie and delete[] is sized. */
struct ops_counted {
	static int alive;
	int v[4];
	ops_counted() : v{ 1, 2, 3, 4 } { alive++; }
	~ops_counted() { alive--; }
};
int ops_counted::alive;

struct alignas(128) ops_aligned_counted {
	static int alive;
	unsigned char bytes[128];
	ops_aligned_counted() { alive++; }
	~ops_aligned_counted() { alive--; }
};
int ops_aligned_counted::alive;

static const std::align_val_t OPS_A64 = std::align_val_t(64);
static const std::align_val_t OPS_A256 = std::align_val_t(256);

/* Fill a block with a pattern of its own; check it before it goes. */
static VT_UNUSED void ops_fill(void *p, size_t n, unsigned seed)
{
	unsigned char *b = (unsigned char *)p;

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(seed + i * 7);
}

static VT_UNUSED int ops_intact(const void *p, size_t n, unsigned seed)
{
	const unsigned char *b = (const unsigned char *)p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

static VT_UNUSED int ops_aligned_to(const void *p, size_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

/* Which allocator serves the process, from the libraries it maps (what the
 * test preloaded): "tcmalloc", "jemalloc", else "glibc".  No malloc. */
static VT_UNUSED const char *ops_allocator(void)
{
	char buf[4096], line[512];
	const char *found = "glibc";
	size_t len = 0;
	ssize_t n;
	int fd = open("/proc/self/maps", O_RDONLY);

	if (fd < 0)
		vt_die("/proc/self/maps");
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (len < sizeof(line) - 1)
					line[len++] = buf[i];
				continue;
			}
			line[len] = '\0';
			len = 0;
			if (strstr(line, "/libtcmalloc"))
				found = "tcmalloc";
			else if (strstr(line, "/libjemalloc"))
				found = "jemalloc";
		}
	}
	close(fd);
	return found;
}

/* ------------------------------------------------------------ every form once */

/*
 * Allocation form K (0-7: plain, array, nothrow, array nothrow, then the
 * same four aligned to 64) of N bytes; ops_delete_form frees it by one of
 * the delete forms that match (chosen by WAY).
 */
#define OPS_NFORMS 8

static VT_UNUSED void *ops_new_form(int k, size_t n)
{
	switch (k) {
	case 0: return ::operator new(n);
	case 1: return ::operator new[](n);
	case 2: return ::operator new(n, std::nothrow);
	case 3: return ::operator new[](n, std::nothrow);
	case 4: return ::operator new(n, OPS_A64);
	case 5: return ::operator new[](n, OPS_A64);
	case 6: return ::operator new(n, OPS_A64, std::nothrow);
	default: return ::operator new[](n, OPS_A64, std::nothrow);
	}
}

static VT_UNUSED void ops_delete_form(int k, void *p, size_t n, unsigned way)
{
	int array = k & 1;

	if (k < 4) {
		switch (way % 3) {
		case 0: array ? ::operator delete[](p) : ::operator delete(p); break;
		case 1: array ? ::operator delete[](p, n) : ::operator delete(p, n); break;
		default:
			array ? ::operator delete[](p, std::nothrow) : ::operator delete(p, std::nothrow);
			break;
		}
		return;
	}
	switch (way % 3) {
	case 0: array ? ::operator delete[](p, OPS_A64) : ::operator delete(p, OPS_A64); break;
	case 1: array ? ::operator delete[](p, n, OPS_A64) : ::operator delete(p, n, OPS_A64); break;
	default:
		array ? ::operator delete[](p, OPS_A64, std::nothrow) : ::operator delete(p, OPS_A64, std::nothrow);
		break;
	}
}

extern "C" {

/* Every new form with every matching delete form, and new-expressions. */
NOINLINE static VT_UNUSED void ops_roundtrip(int rounds)
{
	int bad = 0, misaligned = 0;

	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < OPS_NFORMS; k++) {
			for (unsigned way = 0; way < 3; way++) {
				size_t n = 1 + (size_t)(r * 37 + k * 11 + way * 5) % 700;
				void *p = ops_new_form(k, n);

				if (!p)
					vt_die("operator new");
				misaligned += k >= 4 && !ops_aligned_to(p, 64);
				ops_fill(p, n, (unsigned)(r + k + way));
				bad += !ops_intact(p, n, (unsigned)(r + k + way));
				ops_delete_form(k, p, n, way);
			}
		}
		/* new-expressions: the compiler picks the forms (sized deletes,
		 * array cookies, aligned forms for over-aligned types) */
		ops_node *node = new ops_node();
		int *ints = new int[100 + r];
		ops_counted *counted = new ops_counted[5];
		ops_aligned *al = new ops_aligned;
		ops_aligned *als = new ops_aligned[3];
		ops_aligned_counted *alc = new ops_aligned_counted[2];
		ops_node *nt = new (std::nothrow) ops_node;
		char *ntc = new (std::nothrow) char[50 + r];
		ops_aligned *ntal = new (std::nothrow) ops_aligned;
		ops_aligned *ntals = new (std::nothrow) ops_aligned[2];

		if (!nt || !ntc || !ntal || !ntals)
			vt_die("nothrow new");
		node->id = r;
		ints[99 + r] = r;
		/* (not alc: 32-bit ARM's C++ ABI puts an 8-byte cookie before
		 * any array, so its elements are only 8-byte aligned there) */
		misaligned += !ops_aligned_to(al, 64) + !ops_aligned_to(als, 64) + !ops_aligned_to(ntal, 64) +
			      !ops_aligned_to(ntals, 64);
		bad += ops_counted::alive != 5 || ops_aligned_counted::alive != 2;
		vt_touch(node);
		vt_touch(ints);
		delete node;
		delete[] ints;
		delete[] counted;
		delete al;
		delete[] als;
		delete[] alc;
		delete nt;
		delete[] ntc;
		delete ntal;
		delete[] ntals;
		bad += ops_counted::alive != 0 || ops_aligned_counted::alive != 0;
	}
	vt_check(bad == 0, "every form of new gave blocks that kept their bytes (and ran constructors)");
	vt_check(misaligned == 0, "aligned forms of new gave aligned blocks");
}

/* Blocks from new freed by free, from malloc deleted (on purpose: the
 * compiler's warning is off for this function). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
NOINLINE static VT_UNUSED void ops_mismatched(void)
{
	int bad = 0;

	for (int i = 0; i < 20; i++) {
		size_t n = 16 + (size_t)i * 40;
		void *a = ::operator new(n);
		void *b = malloc(n);
		void *c = ::operator new[](n, std::nothrow);

		if (!b || !c)
			vt_die("allocation");
		ops_fill(a, n, 1);
		ops_fill(b, n, 2);
		ops_fill(c, n, 3);
		bad += !ops_intact(a, n, 1) + !ops_intact(b, n, 2) + !ops_intact(c, n, 3);
		free(a);
		::operator delete(b);
		free(c);
	}
	vt_check(bad == 0, "blocks freed by the other family kept their bytes");
}
#pragma GCC diagnostic pop

static void *ops_reserve_new;
static void *ops_reserve_malloc;
static int ops_handler_calls;

/* A new_handler that gives back a reserve each time it is called. */
static void ops_handler(void)
{
	ops_handler_calls++;
	if (ops_reserve_new) {
		delete[] (char *)ops_reserve_new;
		ops_reserve_new = nullptr;
	} else if (ops_reserve_malloc) {
		free(ops_reserve_malloc);
		ops_reserve_malloc = nullptr;
	} else {
		std::set_new_handler(nullptr);
	}
}

NOINLINE static void ops_take_reserves(void)
{
	ops_reserve_new = new char[1000];
	ops_reserve_malloc = malloc(1000);
	if (!ops_reserve_malloc)
		vt_die("malloc");
	memset(ops_reserve_new, 'r', 1000);
	memset(ops_reserve_malloc, 'R', 1000);
}

/* Failing operators: throwing, nothrow, and the new_handler loop. */
NOINLINE static VT_UNUSED void ops_out_of_memory(void)
{
	/* beyond PTRDIFF_MAX: every allocator refuses at once */
	size_t huge = vt_opaque((size_t)-1 / 2 + 1);
	int thrown = 0, nulls = 0;

	for (int k = 0; k < OPS_NFORMS; k++) {
		if (k == 2 || k == 3 || k == 6 || k == 7) {
			nulls += ops_new_form(k, huge) == nullptr;
			continue;
		}
		try {
			void *p = ops_new_form(k, huge);

			vt_touch(p);
		} catch (const std::bad_alloc &) {
			thrown++;
		}
	}
	vt_check(thrown == 4 && nulls == 4, "failing new: the throwing forms threw bad_alloc, nothrow gave NULL");

	ops_take_reserves();
	std::set_new_handler(ops_handler);
	thrown = 0;
	try {
		void *p = ::operator new(huge);

		vt_touch(p);
	} catch (const std::bad_alloc &) {
		thrown = 1;
	}
	std::set_new_handler(nullptr);
	vt_check(thrown && !ops_reserve_new && !ops_reserve_malloc && ops_handler_calls >= 3,
		 "the new_handler gave both reserves back before new threw");
}

/* ------------------------------------------------------------ leaks */

static void *ops_leaked[OPS_NFORMS];

NOINLINE static void leak_new(void)
{
	ops_leaked[0] = new ops_node();
}

NOINLINE static void leak_new_array(void)
{
	ops_leaked[1] = new int[25]();
}

NOINLINE static void leak_new_nothrow(void)
{
	ops_leaked[2] = new (std::nothrow) ops_node();
}

NOINLINE static void leak_new_array_nothrow(void)
{
	ops_leaked[3] = new (std::nothrow) char[77]();
}

NOINLINE static void leak_new_aligned(void)
{
	ops_leaked[4] = new ops_aligned();
}

NOINLINE static void leak_new_array_aligned(void)
{
	ops_leaked[5] = new ops_aligned[3]();
}

NOINLINE static void leak_new_aligned_nothrow(void)
{
	ops_leaked[6] = new (std::nothrow) ops_aligned();
}

NOINLINE static void leak_new_array_aligned_nothrow(void)
{
	ops_leaked[7] = ::operator new[](300, OPS_A256, std::nothrow);
}

} /* extern "C" */

/* One leak per form of new, each from its own function, and their EXPECT lines. */
static VT_UNUSED void ops_leak(void)
{
	leak_new();
	leak_new_array();
	leak_new_nothrow();
	leak_new_array_nothrow();
	leak_new_aligned();
	leak_new_array_aligned();
	leak_new_aligned_nothrow();
	leak_new_array_aligned_nothrow();
	for (int k = 0; k < OPS_NFORMS; k++)
		if (!ops_leaked[k])
			vt_die("leak allocation");
	vt_check(ops_aligned_to(ops_leaked[4], 64) && ops_aligned_to(ops_leaked[5], 64) &&
			 ops_aligned_to(ops_leaked[6], 64) && ops_aligned_to(ops_leaked[7], 256),
		 "leaked aligned blocks are aligned");
	vt_expect("leak_new", 1, sizeof(ops_node));
	vt_expect("leak_new_array", 1, 25 * sizeof(int));
	vt_expect("leak_new_nothrow", 1, sizeof(ops_node));
	vt_expect("leak_new_array_nothrow", 1, 77);
	vt_expect("leak_new_aligned", 1, sizeof(ops_aligned));
	vt_expect("leak_new_array_aligned", 1, 3 * sizeof(ops_aligned));
	vt_expect("leak_new_aligned_nothrow", 1, sizeof(ops_aligned));
	vt_expect("leak_new_array_aligned_nothrow", 1, 300);
}

/* Give the leaks back, each by a delete that matches its new. */
static VT_UNUSED void ops_release(void)
{
	delete (ops_node *)ops_leaked[0];
	delete[] (int *)ops_leaked[1];
	delete (ops_node *)ops_leaked[2];
	delete[] (char *)ops_leaked[3];
	delete (ops_aligned *)ops_leaked[4];
	delete[] (ops_aligned *)ops_leaked[5];
	delete (ops_aligned *)ops_leaked[6];
	::operator delete[](ops_leaked[7], OPS_A256, std::nothrow);
	for (int k = 0; k < OPS_NFORMS; k++)
		ops_leaked[k] = nullptr;
}

#endif /* CXX_OPS_H */
