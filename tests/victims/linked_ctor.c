/*
 * linked_ctor: a library the ctor_leak victim is linked with (built as
 * build/tests/victims/liblinked_ctor.so, found through the victim's $ORIGIN
 * RUNPATH), not dlopen'ed. The loader runs the constructors of the
 * libraries a program needs before those of LD_PRELOAD's libraries, so this
 * one runs before the agent's own constructor, and its allocations are the
 * ones start mode used to miss.
 *
 * The constructor leaks 1000 bytes from ctor_leak() (and says so), keeps a
 * block the program frees later (linked_ctor_release) and one the program
 * has grown with realloc (linked_ctor_grow): a block allocated before the
 * agent's constructor is forgotten when freed and follows its realloc.
 */
#include <stdlib.h>
#include <string.h>

#include "victim.h"

#define KEEP_BYTES 300
#define GROW_FROM 50
#define GROW_TO 2000

static unsigned char *kept;
static unsigned char *grown;

NOINLINE static void ctor_leak(void)
{
	vt_leak_one(malloc(1000), 1000, 'c', "ctor_leak", "malloc in a constructor");
}

NOINLINE static void ctor_keep(void)
{
	kept = malloc(KEEP_BYTES);
	grown = calloc(1, GROW_FROM);
	if (!kept || !grown)
		vt_die("malloc in a constructor");
	memset(kept, 'k', KEEP_BYTES);
	memset(grown, 'g', GROW_FROM);
}

__attribute__((constructor)) static void linked_ctor_init(void)
{
	ctor_leak();
	ctor_keep();
}

/* The blocks the constructor kept are as it left them. */
NOINLINE int linked_ctor_intact(void)
{
	for (int i = 0; i < KEEP_BYTES; i++)
		if (kept[i] != 'k')
			return 0;
	for (int i = 0; i < GROW_FROM; i++)
		if (grown[i] != 'g')
			return 0;
	return 1;
}

/* Grow the constructor's block: the leak is then this function's. */
NOINLINE int linked_ctor_grow(void)
{
	unsigned char *p = realloc(grown, GROW_TO);

	if (!p)
		return 0;
	grown = p;
	memset(grown + GROW_FROM, 'G', GROW_TO - GROW_FROM);
	vt_expect("linked_ctor_grow", 1, GROW_TO);
	return grown[0] == 'g' && grown[GROW_FROM - 1] == 'g';
}

NOINLINE void linked_ctor_release(void)
{
	free(kept);
	kept = NULL;
}
