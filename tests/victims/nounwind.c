/*
 * nounwind: code without unwind tables, as a device's often is
 * (t-unwind-host). Built with -fno-asynchronous-unwind-tables
 * -fno-unwind-tables -fomit-frame-pointer (the Makefile): no .eh_frame (no
 * .ARM.exidx entries on 32-bit ARM) for its own functions and no frame
 * pointer chain, only -g's .debug_frame, which stripping the device's copy
 * removes. Each function keeps a frame of its own size, so a walk that
 * guessed would go wrong.
 *
 * nu_inner leaks 3 blocks of 40 bytes, called through nu_middle and
 * nu_outer from main: that whole path is what the stacks must show.
 *
 * `nounwind DIR` is an attach victim (attach.h): ready, leaks after go,
 * leaked, and exits 0 after stop.
 */
#include <stdlib.h>

#include "attach.h"

static NOINLINE void *nu_inner(int k)
{
	volatile char pad[24];
	void *p;

	pad[k % 24] = (char)k;
	p = malloc(40);
	vt_touch(p);
	return pad[k % 24] == (char)k ? p : NULL;
}

static NOINLINE void *nu_middle(int k)
{
	volatile long pad[9];
	void *p;

	pad[k % 9] = k;
	p = nu_inner(k + (int)pad[k % 9] - k);
	vt_touch(p);
	return p;
}

static NOINLINE void *nu_outer(int k)
{
	volatile int pad[5];
	void *p;

	pad[k % 5] = k;
	p = nu_middle(pad[k % 5]);
	vt_touch(p);
	return p;
}

int main(int argc, char **argv)
{
	static void *keep[3];
	/* Read each time: one call site, not the loop unrolled into three. */
	static volatile int rounds = 3;

	if (argc > 1) {
		at_init(argc, argv);
		at_ready();
		at_wait_go();
	}
	for (int i = 0; i < rounds; i++)
		keep[i] = nu_outer(i);
	vt_touch(keep);
	vt_expect("nu_inner", 3, 120);
	if (argc > 1) {
		at_put("leaked", "leaked\n");
		at_wait("stop", AT_WAIT_MS);
	}
	return 0;
}
