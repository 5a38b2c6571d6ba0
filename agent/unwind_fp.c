/*
 * Frame-pointer walk. Every frame pointer is checked before it is read:
 * inside the mapping that holds the current stack pointer, aligned, and
 * strictly above the previous one, so a chain broken by code built without
 * frame pointers ends the stack instead of faulting or looping. The stack
 * mapping is found once per thread from /proc/self/maps with raw reads (no
 * stdio, no allocation) and again whenever the stack pointer leaves it
 * (sigaltstack, coroutines).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fp_frame.h"
#include "unwinder.h"

static __thread uintptr_t stack_lo, stack_hi;

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Find the mapping holding SP. 0 and bounds set, or -1. */
static int find_stack(uintptr_t sp, uintptr_t *lo, uintptr_t *hi)
{
	char buf[4096];
	uintptr_t a = 0, b = 0;
	int field = 0;		/* 0: start, 1: end, 2: rest of line */
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	int found = -1;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (found < 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];
			int v;

			if (c == '\n') {
				if (field >= 1 && sp >= a && sp < b) {
					*lo = a;
					*hi = b;
					found = 0;
					break;
				}
				a = b = 0;
				field = 0;
				continue;
			}
			if (field == 2)
				continue;
			if (c == '-' && field == 0) {
				field = 1;
				continue;
			}
			v = hexval(c);
			if (v < 0) {
				field = 2;
				continue;
			}
			if (field == 0)
				a = a << 4 | (uintptr_t)v;
			else
				b = b << 4 | (uintptr_t)v;
		}
	}
	close(fd);
	return found;
}

static int fp_init(void)
{
	return AGENT_FP_SUPPORTED ? 0 : -1;
}

static int fp_capture(uintptr_t *pcs, int max, void *frame)
{
	uintptr_t fp = (uintptr_t)frame;
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	const uintptr_t rec = (AGENT_FP_RET + 1) * sizeof(uintptr_t);
	int n = 0;

	if (!AGENT_FP_SUPPORTED)
		return 0;
	if (sp < stack_lo || sp >= stack_hi) {
		int saved = errno;
		uintptr_t lo, hi;

		if (find_stack(sp, &lo, &hi) < 0) {
			errno = saved;
			return 0;
		}
		stack_lo = lo;
		stack_hi = hi;
		errno = saved;
	}
	while (n < max) {
		const uintptr_t *f;
		uintptr_t ret, next;

		if (fp < stack_lo || fp > stack_hi - rec || fp % AGENT_FP_ALIGN)
			break;
		f = (const uintptr_t *)fp;
		ret = f[AGENT_FP_RET];
		next = f[AGENT_FP_NEXT];
		if (!ret)
			break;
		pcs[n++] = ret;
		if (next <= fp)
			break;
		fp = next;
	}
	return n;
}

const struct agent_unwinder agent_unwind_fp = {
	.name = "fp",
	.init = fp_init,
	.capture = fp_capture,
};
