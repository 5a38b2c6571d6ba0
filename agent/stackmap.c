/*
 * The calling thread's stack mapping (stackmap.h), from /proc/self/maps.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "stackmap.h"

__thread uintptr_t agent_stack_lo, agent_stack_hi;

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int agent_maps_find(uintptr_t sp, uintptr_t *lo, uintptr_t *hi)
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

int agent_stack_find(uintptr_t sp)
{
	int saved = errno;
	uintptr_t lo, hi;
	int ret = agent_maps_find(sp, &lo, &hi);

	if (ret == 0) {
		agent_stack_lo = lo;
		agent_stack_hi = hi;
	}
	errno = saved;
	return ret;
}
