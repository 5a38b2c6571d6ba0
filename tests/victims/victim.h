/*
 * victim.h: helpers shared by the test victims (tests/victims/NAME.c|cc).
 *
 * A victim leaks known blocks from known functions and says so on stdout with
 * one line "EXPECT <function> <blocks> <bytes>" per leak; the integration tests
 * compare memtrace's report with those lines (docs/contract-draft.md, "Victim
 * convention").  Victims also run unchanged without memtrace, and their output
 * must then be byte for byte the same, so nothing here prints pointers or times.
 *
 * Output goes through write(2) with a small formatter of our own: stdio would
 * malloc its buffer on first use, and that block, still live at exit, would be
 * charged to whichever victim function printed first.  The formatter knows
 * %s %c %d %i %u %x (with l, z or ll) and %%, no widths; it never allocates.
 *
 * Every helper is static: each victim is one translation unit.
 */
#ifndef VICTIM_H
#define VICTIM_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>

/*
 * musl has neither pvalloc nor malloc_trim. Where a victim calls pvalloc
 * for a page-aligned block, valloc gives one (the size not rounded up to
 * whole pages: checks of the rounding ask for __GLIBC__ themselves).
 */
#ifndef __GLIBC__
#define pvalloc(size) valloc(size)
#define malloc_trim(pad) ((void)(pad))
#endif

/* Leak functions must keep their own frame and name in the callstack. */
#define NOINLINE __attribute__((noinline, noipa))
#define VT_UNUSED __attribute__((unused))
#define VT_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Enough for every line a victim prints; longer output is cut, never split. */
#define VT_LINE_MAX 512

struct vt_buf {
	char s[VT_LINE_MAX];
	size_t len;
};

static VT_UNUSED void vt_putc(struct vt_buf *b, char c)
{
	if (b->len < sizeof(b->s))
		b->s[b->len++] = c;
}

static VT_UNUSED void vt_putu(struct vt_buf *b, unsigned long long v, unsigned base)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		vt_putc(b, tmp[--n]);
}

/* Fetch an integer argument of the size its length modifier names. */
#define VT_ARG(ap, lng, sgn)                                                      \
	((lng) == 'z' ? (sgn ? (long long)va_arg(ap, ssize_t) : (long long)va_arg(ap, size_t)) : \
	 (lng) == 'L' ? (sgn ? va_arg(ap, long long) : (long long)va_arg(ap, unsigned long long)) : \
	 (lng) == 'l' ? (sgn ? (long long)va_arg(ap, long) : (long long)va_arg(ap, unsigned long)) : \
	 (sgn ? (long long)va_arg(ap, int) : (long long)va_arg(ap, unsigned)))

static VT_UNUSED void vt_vformat(struct vt_buf *b, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		char lng = 0;
		const char *s;
		long long v;

		if (*fmt != '%') {
			vt_putc(b, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == 'z') {
			lng = 'z';
			fmt++;
		} else if (fmt[0] == 'l' && fmt[1] == 'l') {
			lng = 'L';
			fmt += 2;
		} else if (*fmt == 'l') {
			lng = 'l';
			fmt++;
		}
		switch (*fmt) {
		case 's':
			s = va_arg(ap, const char *);
			for (s = s ? s : "(null)"; *s; s++)
				vt_putc(b, *s);
			break;
		case 'c':
			vt_putc(b, (char)va_arg(ap, int));
			break;
		case 'd':
		case 'i':
			v = VT_ARG(ap, lng, 1);
			if (v < 0) {
				vt_putc(b, '-');
				vt_putu(b, 0ULL - (unsigned long long)v, 10);
			} else {
				vt_putu(b, (unsigned long long)v, 10);
			}
			break;
		case 'u':
		case 'x':
			/* through long long and back: same bits for every width */
			v = VT_ARG(ap, lng, 0);
			vt_putu(b, (unsigned long long)v, *fmt == 'x' ? 16 : 10);
			break;
		case '%':
			vt_putc(b, '%');
			break;
		default: /* unknown conversion: show it, a victim bug to fix */
			vt_putc(b, '%');
			if (*fmt)
				vt_putc(b, *fmt);
			else
				fmt--;
			break;
		}
	}
}

static VT_UNUSED void vt_write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* One write(2) per call, so lines from threads or children never interleave. */
static VT_UNUSED VT_PRINTF(2, 3) void vt_dprintf(int fd, const char *fmt, ...)
{
	struct vt_buf b;
	va_list ap;
	int saved = errno;

	b.len = 0;
	va_start(ap, fmt);
	vt_vformat(&b, fmt, ap);
	va_end(ap);
	vt_write_all(fd, b.s, b.len);
	errno = saved;
}

#define vt_printf(...) vt_dprintf(1, __VA_ARGS__)

/* The same formatting into DST (N > 0 bytes), always NUL-terminated. */
static VT_UNUSED VT_PRINTF(3, 4) void vt_format(char *dst, size_t n, const char *fmt, ...)
{
	struct vt_buf b;
	va_list ap;

	b.len = 0;
	va_start(ap, fmt);
	vt_vformat(&b, fmt, ap);
	va_end(ap);
	if (b.len >= n)
		b.len = n - 1;
	memcpy(dst, b.s, b.len);
	dst[b.len] = '\0';
}

/* The line the tests read: this victim leaks <blocks> blocks, <bytes> in all,
 * whose allocator was called from <func>. */
static VT_UNUSED void vt_expect(const char *func, unsigned long blocks, unsigned long bytes)
{
	vt_printf("EXPECT %s %lu %lu\n", func, blocks, bytes);
}

/*
 * The leak of FUNC (its EXPECT line) is allocated inside a C library
 * function (strdup): where the agent cannot walk out of the C library
 * (32-bit ARM, whose libc has almost no unwind tables), its caller is lost
 * and the tests leave FUNC out of the comparison (common.sh lost_callers).
 */
static VT_UNUSED void vt_via_libc(const char *func)
{
	vt_printf("VIA_LIBC %s\n", func);
}

/*
 * Self-checks: vt_check prints "ok: WHAT" or "FAIL: WHAT", both to stdout so
 * the traced and untraced outputs are compared line by line; vt_exit_status()
 * is then 1 if any check failed.
 */
static VT_UNUSED int vt_failures;

static VT_UNUSED int vt_check(int cond, const char *what)
{
	if (cond) {
		vt_printf("ok: %s\n", what);
		return 1;
	}
	vt_printf("FAIL: %s\n", what);
	vt_failures++;
	return 0;
}

static VT_UNUSED int vt_exit_status(void)
{
	if (vt_failures)
		vt_printf("%d check(s) failed\n", vt_failures);
	return vt_failures ? 1 : 0;
}

/* Fatal trouble in the victim's own plumbing (bad argv, fork failing...). */
static VT_UNUSED void vt_die(const char *what)
{
	vt_dprintf(2, "victim: %s: %s\n", what, strerror(errno));
	exit(99);
}

static VT_UNUSED void vt_sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static VT_UNUSED long vt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until PATH exists or MS milliseconds have passed; 1 if it appeared. */
static VT_UNUSED int vt_wait_file(const char *path, long ms)
{
	long end = vt_now_ms() + ms;

	for (;;) {
		if (path && access(path, F_OK) == 0)
			return 1;
		if (vt_now_ms() >= end)
			return 0;
		vt_sleep_ms(5);
	}
}

/* Victims that die on purpose must not leave core files in the test dir. */
static VT_UNUSED void vt_no_core(void)
{
	struct rlimit rl;

	rl.rlim_cur = 0;
	rl.rlim_max = 0;
	setrlimit(RLIMIT_CORE, &rl);
}

/* Small deterministic generator (xorshift64), one state per thread. */
static VT_UNUSED uint64_t vt_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/* A value the compiler cannot see through: deliberate overflows then draw no
 * warning and no folding (gcc would turn realloc(NULL, n) into malloc(n)). */
static VT_UNUSED NOINLINE size_t vt_opaque(size_t v)
{
	return v;
}

static VT_UNUSED NOINLINE void *vt_opaque_ptr(void *p)
{
	return p;
}

/* Keep the compiler from dropping stores to a block nobody reads. */
static VT_UNUSED void vt_touch(void *p)
{
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

/*
 * P, the SIZE bytes that the NOINLINE function FUNC has just allocated, as
 * the one leak the report must charge to FUNC: filled with BYTE, touched,
 * and its EXPECT line printed. WHAT names the allocation when P is NULL
 * (the victim dies).
 */
static VT_UNUSED void vt_leak_one(void *p, size_t size, int byte, const char *func, const char *what)
{
	if (!p)
		vt_die(what);
	memset(p, byte, size);
	vt_touch(p);
	vt_expect(func, 1, size);
}

/*
 * Threads on stacks the victim maps itself.  glibc keeps the stacks of joined
 * threads in a cache together with their TLS vector, a calloc'ed block that
 * stays live until exit and would be charged to the victim function that
 * called pthread_create.  A thread on a user stack gives its vector back at
 * join, so a victim's live blocks at exit are only the ones it leaked itself.
 */
#define VT_STACK_SIZE (256 * 1024)

struct vt_thread {
	pthread_t tid;
	void *stack;
};

static VT_UNUSED void vt_thread_start(struct vt_thread *t, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;

	t->stack = mmap(NULL, VT_STACK_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (t->stack == MAP_FAILED)
		vt_die("mmap thread stack");
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, t->stack, VT_STACK_SIZE);
	errno = pthread_create(&t->tid, &attr, fn, arg);
	if (errno)
		vt_die("pthread_create");
	pthread_attr_destroy(&attr);
}

static VT_UNUSED void *vt_thread_join(struct vt_thread *t)
{
	void *ret = NULL;

	errno = pthread_join(t->tid, &ret);
	if (errno)
		vt_die("pthread_join");
	munmap(t->stack, VT_STACK_SIZE);
	return ret;
}

/* Below the rest, so that the lines above keep their numbers (docs/server.md
 * quotes one). */
#include <fcntl.h>

/*
 * The victims that run until told (ticker, core_victim, gdb_leaky): for
 * -s SECONDS at most, until the file -f STOPFILE exists, a step every -i MS.
 */
struct vt_run {
	long seconds;
	const char *stopfile;	/* NULL: none */
	long interval_ms;
	long end;		/* vt_now_ms() when the time is up (vt_run_start) */
};

/* Take option OPT (getopt's) with ARG if it is one of s, f and i: 1, else 0. */
static VT_UNUSED int vt_run_option(struct vt_run *r, int opt, const char *arg)
{
	switch (opt) {
	case 's':
		r->seconds = atol(arg);
		return 1;
	case 'f':
		r->stopfile = arg;
		return 1;
	case 'i':
		r->interval_ms = atol(arg);
		return 1;
	}
	return 0;
}

/* The run's SECONDS start now. */
static VT_UNUSED void vt_run_start(struct vt_run *r)
{
	r->end = vt_now_ms() + r->seconds * 1000;
}

/* 1 while the run goes on: time left and no stop file. */
static VT_UNUSED int vt_run_on(const struct vt_run *r)
{
	return vt_now_ms() < r->end && !(r->stopfile && access(r->stopfile, F_OK) == 0);
}

/* Write this process's pid, a line, to FILE ("NAME.started"), where the
 * tests wait for it; nothing if FILE cannot be made. */
static VT_UNUSED void vt_started(const char *file)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		vt_dprintf(fd, "%d\n", (int)getpid());
		close(fd);
	}
}

/*
 * The churning victims' block tag: T at the first, middle and last byte of
 * the SIZE bytes at P (cheap, and catches a wrong size); vt_tagged: 1 if the
 * three are still T, so a block mixed up or damaged shows.
 */
static VT_UNUSED void vt_tag(unsigned char *p, size_t size, unsigned char t)
{
	p[0] = t;
	p[size / 2] = t;
	p[size - 1] = t;
}

static VT_UNUSED int vt_tagged(const unsigned char *p, size_t size, unsigned char t)
{
	return p[0] == t && p[size / 2] == t && p[size - 1] == t;
}

#endif /* VICTIM_H */
