/*
 * deep: a leak at the bottom of a deep recursion, and one from a shallow stack.
 *
 * recurse() calls itself 100 times (argv[1] changes that) and leaks one block
 * of 100 bytes at the bottom, so a callstack cut at the depth limit (-d N,
 * 32 by default) holds exactly N frames, all in recurse, and is marked
 * truncated.  leak_shallow() leaks 50 bytes from a stack a few frames high,
 * which no limit of 8 or more cuts.
 */
#include <stdlib.h>
#include <string.h>

#include "victim.h"

static void *bottom;

/* Not a tail call: the addition after the call keeps every frame alive. */
NOINLINE static int recurse(int depth)
{
	if (depth <= 1) {
		bottom = malloc(100);
		memset(bottom, 'D', 100);
		vt_touch(bottom);
		return 1;
	}
	return recurse(depth - 1) + 1;
}

NOINLINE static void *leak_shallow(void)
{
	return malloc(50);
}

int main(int argc, char **argv)
{
	static void *keep;
	int depth = argc > 1 ? atoi(argv[1]) : 100;
	int got;

	if (depth < 1)
		depth = 1;
	got = recurse(depth);
	vt_printf("recursed %d levels deep\n", got);
	vt_expect("recurse", 1, 100);
	keep = leak_shallow();
	vt_touch(keep);
	vt_expect("leak_shallow", 1, 50);
	return got == depth ? 0 : 1;
}
