/*
 * server_leak: leaks for memtrace-server's decoding tests (t-server-decode).
 *
 * One block leaks from malloc called inside make_record, a helper that is
 * always inlined (even under the victims' -fno-inline) into
 * server_leak_inlined; another leaks from server_leak_plain directly. The
 * decoded report must name server_leak_inlined at the line that calls
 * make_record, with make_record inlined there at the line of its malloc.
 *
 * Besides the EXPECT lines, the victim prints where those calls are:
 *   SOURCE <function> <file> <line>      the malloc call in <function>
 *   INLINED <outer> <call line> <inner> <line>
 */
#include <stdlib.h>

#include "victim.h"

static const int record_malloc_line = __LINE__ + 5;
static inline __attribute__((always_inline)) void *make_record(size_t n)
{
	char *p;

	p = malloc(n);
	vt_touch(p);
	return p;
}

static const int inlined_call_line = __LINE__ + 3;
static NOINLINE void *server_leak_inlined(void)
{
	void *r = make_record(48);

	vt_touch(r);
	return r;
}

static const int plain_malloc_line = __LINE__ + 3;
static NOINLINE void *server_leak_plain(void)
{
	void *p = malloc(32);

	vt_touch(p);
	return p;
}

int main(void)
{
	static void *keep[2];

	keep[0] = server_leak_inlined();
	keep[1] = server_leak_plain();
	vt_touch(keep);
	vt_expect("server_leak_inlined", 1, 48);
	vt_expect("server_leak_plain", 1, 32);
	vt_printf("SOURCE server_leak_plain %s %d\n", __FILE__, plain_malloc_line);
	vt_printf("INLINED server_leak_inlined %d make_record %d\n", inlined_call_line, record_malloc_line);
	return 0;
}
