/*
 * The calling thread's stack mapping (stackmap.h), from /proc/self/maps.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "quiesce.h"
#include "stackmap.h"

__thread uintptr_t agent_stack_lo, agent_stack_hi;
__thread int agent_stack_grows, agent_stack_alt;

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int agent_maps_find_grows(uintptr_t sp, uintptr_t *lo, uintptr_t *hi, int *grows)
{
	static const char tag[] = "[stack]";
	char tail[sizeof(tag) - 1] = { 0 };
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
					if (grows)
						*grows = !memcmp(tail, tag, sizeof(tail));
					found = 0;
					break;
				}
				a = b = 0;
				field = 0;
				memset(tail, 0, sizeof(tail));
				continue;
			}
			/* The line's last characters: "[stack]" names the main thread's. */
			memmove(tail, tail + 1, sizeof(tail) - 1);
			tail[sizeof(tail) - 1] = c;
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

int agent_maps_find(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
	return agent_maps_find_grows(addr, lo, hi, NULL);
}

int agent_stack_find(uintptr_t sp)
{
	int saved = errno, grows = 0, on_alt = 0;
	uintptr_t lo, hi;
	int ret = agent_maps_find_grows(sp, &lo, &hi, &grows);
	stack_t alt;

	/*
	 * On an alternate signal stack, that stack's own bounds: the kernel
	 * merges an alternate stack mapped beside other memory into one
	 * mapping, and what lies below it is not the handler's to use. Not
	 * under a seccomp filter, which may kill for a call it did not expect.
	 */
	if (ret == 0 && !agent_seccomp_filtered() && sigaltstack(NULL, &alt) == 0 &&
	    (alt.ss_flags & SS_ONSTACK) && sp >= (uintptr_t)alt.ss_sp && sp - (uintptr_t)alt.ss_sp < alt.ss_size) {
		lo = (uintptr_t)alt.ss_sp;
		hi = lo + alt.ss_size;
		grows = 0;
		on_alt = 1;
	}
	if (ret == 0) {
		agent_stack_lo = lo;
		agent_stack_hi = hi;
		agent_stack_grows = grows;
		agent_stack_alt = on_alt;
	}
	errno = saved;
	return ret;
}
