/*
 * plugin_shapes: the dlopen'ed library of unwind_shapes.cc. It leaks a
 * block of its own and calls back into the program, so stacks cross the
 * library in both directions (program -> library -> program -> malloc).
 */
#include <stdlib.h>

#define NOINLINE __attribute__((noinline, noipa))

static void *kept[8];
static volatile int sink;

NOINLINE void plugin_shapes_run(void (*back)(int))
{
	kept[0] = malloc(77);
	back(3);
	sink++;
}
