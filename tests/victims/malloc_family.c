/*
 * malloc_family: every allocator memtrace replaces, with its edge cases.
 *
 * First the libc semantics a program relies on are checked (one "ok:" or
 * "FAIL:" line each, exit status 1 if any failed), so that a traced run whose
 * output differs from the plain one shows which promise the agent broke.
 * Then one known block is leaked per allocator, each from its own function,
 * and announced with an EXPECT line.  The edge cases leave nothing behind.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "victim.h"

static size_t page;

static int aligned(const void *p, size_t align)
{
	return p && ((uintptr_t)p & (align - 1)) == 0;
}

static int all_bytes(const unsigned char *p, size_t n, unsigned char c)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

static void fill_pattern(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + 3);
}

static int has_pattern(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 7 + 3))
			return 0;
	return 1;
}

/* ------------------------------------------------------------ semantics */

static void check_malloc_free(void)
{
	void *p = malloc(0);

	/* glibc gives a unique pointer for 0 bytes; a NULL would also be legal,
	 * so only what glibc does is printed, and the traced run must agree. */
	vt_printf("malloc(0) returns %s\n", p ? "a pointer" : "NULL");
	free(p);
	free(NULL);
	vt_check(1, "free(NULL) returns");

	errno = 0;
	p = malloc(vt_opaque(SIZE_MAX - 4096));
	vt_check(p == NULL && errno == ENOMEM, "malloc(SIZE_MAX - 4096) fails with ENOMEM");
	free(p);
}

static void check_calloc(void)
{
	unsigned char *p;
	void *q;

	/* dirty a block, give it back, and ask calloc for the same size: the
	 * allocator may hand the dirty memory back, calloc must clear it */
	p = malloc(1000);
	memset(p, 0xa5, 1000);
	vt_touch(p);
	free(p);
	p = calloc(10, 100);
	vt_check(p && all_bytes(p, 1000, 0), "calloc(10, 100) memory is zeroed");
	free(p);

	p = calloc(1, 1 << 20);
	vt_check(p && all_bytes(p, 1 << 20, 0), "calloc(1, 1 MiB) memory is zeroed");
	free(p);

	errno = 0;
	q = calloc(vt_opaque(SIZE_MAX / 2), 3);
	vt_check(q == NULL && errno == ENOMEM, "calloc(SIZE_MAX/2, 3) overflows: NULL, ENOMEM");
	free(q);

	errno = 0;
	q = calloc(vt_opaque((size_t)1 << (sizeof(size_t) * 4)), (size_t)1 << (sizeof(size_t) * 4));
	vt_check(q == NULL && errno == ENOMEM, "calloc(2^half, 2^half) overflows: NULL, ENOMEM");
	free(q);

	q = calloc(0, 16);
	vt_printf("calloc(0, 16) returns %s\n", q ? "a pointer" : "NULL");
	free(q);
}

static void check_realloc(void)
{
	unsigned char *p, *q, *r;

	p = realloc(vt_opaque_ptr(NULL), 64);
	vt_check(p != NULL, "realloc(NULL, 64) acts as malloc");
	fill_pattern(p, 64);

	q = realloc(p, 100000);	/* far beyond the block: must move or grow */
	vt_check(q && has_pattern(q, 64), "realloc grow to 100000 keeps the first 64 bytes");
	p = q;
	fill_pattern(p, 100000);

	q = realloc(p, 16);
	vt_check(q && has_pattern(q, 16), "realloc shrink to 16 keeps the first 16 bytes");
	p = q;

	q = realloc(p, 48);
	vt_check(q && has_pattern(q, 16), "realloc regrow to 48 keeps the first 16 bytes");
	p = q;

	errno = 0;
	r = realloc(vt_opaque_ptr(p), vt_opaque(SIZE_MAX - 4096));
	vt_check(r == NULL && errno == ENOMEM, "realloc to SIZE_MAX - 4096 fails with ENOMEM");
	if (r) {
		free(r);
	} else {
		vt_check(has_pattern(p, 16), "failed realloc leaves the block untouched");
		free(p);
	}

	/* glibc frees the block and returns NULL; C23 calls it undefined, so
	 * print what happens and let the traced run be compared with it */
	p = malloc(32);
	q = realloc(p, 0);
	vt_printf("realloc(p, 0) returns %s\n", q ? "a pointer" : "NULL");
	free(q);
}

static void check_reallocarray(void)
{
	unsigned char *p, *q, *r;

	p = reallocarray(vt_opaque_ptr(NULL), 10, 8);
	vt_check(p != NULL, "reallocarray(NULL, 10, 8) acts as malloc");
	fill_pattern(p, 80);

	q = reallocarray(p, 1000, 8);
	vt_check(q && has_pattern(q, 80), "reallocarray grow keeps contents");
	p = q;

	errno = 0;
	r = reallocarray(vt_opaque_ptr(p), vt_opaque(SIZE_MAX / 2), 3);
	vt_check(r == NULL && errno == ENOMEM, "reallocarray(p, SIZE_MAX/2, 3) overflows: NULL, ENOMEM");
	if (r) {
		free(r);
	} else {
		vt_check(has_pattern(p, 80), "overflowing reallocarray leaves the block untouched");
		free(p);
	}
}

static void check_posix_memalign(void)
{
	static const size_t bad[] = { 0, 1, 2, 3, 4, 12, 24, 48, 4095 };
	void *p;
	int rc, ok = 1;

	for (size_t a = sizeof(void *); a <= 4096; a *= 2) {
		p = NULL;
		rc = posix_memalign(&p, a, 100);
		if (rc != 0 || !aligned(p, a)) {
			vt_printf("posix_memalign(&p, %zu, 100) = %d, aligned: %s\n",
				  a, rc, aligned(p, a) ? "yes" : "no");
			ok = 0;
		}
		memset(p, 0x5a, 100);
		free(p);
	}
	vt_check(ok, "posix_memalign alignments sizeof(void*)..4096 are honoured");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (bad[i] >= sizeof(void *) && (bad[i] & (bad[i] - 1)) == 0)
			continue;	/* a valid alignment on this target */
		p = &p;		/* must come back untouched */
		errno = 4242;
		rc = posix_memalign(&p, bad[i], 64);
		if (rc != EINVAL || errno != 4242 || p != &p) {
			vt_printf("posix_memalign(&p, %zu, 64) = %d, errno %s, memptr %s\n", bad[i], rc,
				  errno == 4242 ? "kept" : "changed", p == &p ? "kept" : "changed");
			ok = 0;
		}
	}
	vt_check(ok, "posix_memalign bad alignments: EINVAL returned, errno and memptr kept");

	/* glibc sets errno on this path itself, so only the result is checked */
	p = &p;
	rc = posix_memalign(&p, 64, vt_opaque(SIZE_MAX - 4096));
	vt_check(rc == ENOMEM && p == &p, "posix_memalign(&p, 64, huge): ENOMEM returned, memptr kept");

	p = NULL;
	errno = 4242;
	rc = posix_memalign(&p, 64, 64);
	vt_check(rc == 0 && errno == 4242 && aligned(p, 64), "posix_memalign success keeps errno");
	free(p);
}

static void check_aligned(void)
{
	void *p;
	int ok = 1;

	for (size_t a = 1; a <= 4096; a *= 2) {
		p = aligned_alloc(a, 4 * a);
		if (!aligned(p, a))
			ok = 0;
		free(p);
	}
	vt_check(ok, "aligned_alloc alignments 1..4096 are honoured");

	for (size_t a = 1; a <= 8192; a *= 2) {
		p = memalign(a, 10);
		if (!aligned(p, a))
			ok = 0;
		free(p);
	}
	vt_check(ok, "memalign alignments 1..8192 are honoured");

	errno = 0;
	p = memalign(64, vt_opaque(SIZE_MAX - 4096));
	vt_check(p == NULL && errno == ENOMEM, "memalign(64, huge) fails with ENOMEM");

	p = valloc(10);
	vt_check(aligned(p, page), "valloc(10) is page aligned");
	free(p);
	p = valloc(3 * page + 1);
	vt_check(aligned(p, page), "valloc(3 pages + 1) is page aligned");
	free(p);

#ifdef __GLIBC__
	p = pvalloc(100);
	vt_check(aligned(p, page), "pvalloc(100) is page aligned");
	/* pvalloc rounds the size up to whole pages: all of the page is ours */
	if (p)
		memset(p, 0x33, page);
	vt_check(p && all_bytes(p, page, 0x33), "pvalloc(100) gives a whole page");
	free(p);

	p = pvalloc(page + 1);
	vt_check(aligned(p, page), "pvalloc(page + 1) is page aligned");
	if (p)
		memset(p, 0x44, 2 * page);
	vt_check(p && all_bytes(p, 2 * page, 0x44), "pvalloc(page + 1) gives two whole pages");
	free(p);
#endif
}

/* --------------------------------------------------------------- leaks */

NOINLINE static void *leak_malloc(void)
{
	void *p = malloc(100);

	memset(p, 1, 100);
	return p;
}

NOINLINE static void *leak_malloc_many(void)
{
	void *last = NULL;

	for (int i = 0; i < 10; i++) {
		last = malloc(33);
		memset(last, 2, 33);
	}
	return last;
}

NOINLINE static void *leak_calloc(void)
{
	return calloc(3, 50);
}

NOINLINE static void *leak_realloc(void)
{
	return realloc(vt_opaque_ptr(NULL), 200);
}

NOINLINE static void *leak_reallocarray(void)
{
	return reallocarray(vt_opaque_ptr(NULL), 7, 40);
}

NOINLINE static void *leak_posix_memalign(void)
{
	void *p = NULL;

	if (posix_memalign(&p, 256, 64) != 0)
		return NULL;
	return p;
}

NOINLINE static void *leak_aligned_alloc(void)
{
	return aligned_alloc(64, 128);
}

NOINLINE static void *leak_memalign(void)
{
	return memalign(32, 96);
}

NOINLINE static void *leak_valloc(void)
{
	return valloc(1000);
}

/* pvalloc hands out a whole page, but the size asked for is what a leak
 * report states, so the EXPECT line says 100 */
NOINLINE static void *leak_pvalloc(void)
{
	return pvalloc(100);
}

/* The block is allocated here with 10 bytes... */
NOINLINE static void *grow_alloc(void)
{
	void *p = malloc(10);

	memcpy(p, "123456789", 10);
	return p;
}

/* ...and grown here, probably moving: the leak then belongs to realloc's
 * caller, with the new size, and grow_alloc holds nothing. */
NOINLINE static void *grow_realloc(void *p)
{
	return realloc(p, 5000);
}

NOINLINE static void *shrink_alloc(void)
{
	return malloc(5000);
}

/* Shrinking stays in place with glibc: same address, new owner, new size. */
NOINLINE static void *shrink_realloc(void *p)
{
	return realloc(p, 20);
}

static void *leaked[16];

static void leak_all(void)
{
	int n = 0;

	leaked[n++] = leak_malloc();
	vt_expect("leak_malloc", 1, 100);
	leaked[n++] = leak_malloc_many();
	vt_expect("leak_malloc_many", 10, 330);
	leaked[n++] = leak_calloc();
	vt_expect("leak_calloc", 1, 150);
	leaked[n++] = leak_realloc();
	vt_expect("leak_realloc", 1, 200);
	leaked[n++] = leak_reallocarray();
	vt_expect("leak_reallocarray", 1, 280);
	leaked[n++] = leak_posix_memalign();
	vt_expect("leak_posix_memalign", 1, 64);
	leaked[n++] = leak_aligned_alloc();
	vt_expect("leak_aligned_alloc", 1, 128);
	leaked[n++] = leak_memalign();
	vt_expect("leak_memalign", 1, 96);
	leaked[n++] = leak_valloc();
	vt_expect("leak_valloc", 1, 1000);
	leaked[n++] = leak_pvalloc();
	vt_expect("leak_pvalloc", 1, 100);
	leaked[n++] = grow_realloc(grow_alloc());
	vt_expect("grow_realloc", 1, 5000);
	leaked[n++] = shrink_realloc(shrink_alloc());
	vt_expect("shrink_realloc", 1, 20);

	for (int i = 0; i < n; i++)
		if (!leaked[i])
			vt_check(0, "a leak allocation succeeded");
	vt_check(aligned(leaked[5], 256) && aligned(leaked[6], 64) && aligned(leaked[7], 32) &&
			 aligned(leaked[8], page) && aligned(leaked[9], page),
		 "leaked aligned blocks are aligned");
	vt_check(memcmp(leaked[10], "123456789", 10) == 0, "grown block kept its contents");
}

int main(void)
{
	page = (size_t)sysconf(_SC_PAGESIZE);

	check_malloc_free();
	check_calloc();
	check_realloc();
	check_reallocarray();
	check_posix_memalign();
	check_aligned();
	leak_all();
	return vt_exit_status();
}
