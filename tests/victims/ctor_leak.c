/*
 * ctor_leak: a program linked with liblinked_ctor.so (tests/victims/
 * linked_ctor.c), whose constructor allocates before the agent's
 * constructor runs. The library states its own leaks (EXPECT lines from its
 * constructor and from linked_ctor_grow); this program frees the block the
 * constructor kept for it, and leaks two blocks of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "victim.h"

int linked_ctor_intact(void);
int linked_ctor_grow(void);
void linked_ctor_release(void);

NOINLINE static void leak_in_main(void)
{
	for (int i = 0; i < 2; i++) {
		char *p = malloc(100);

		if (!p)
			vt_die("malloc");
		memset(p, 'm', 100);
		vt_touch(p);
	}
	vt_expect("leak_in_main", 2, 200);
}

int main(void)
{
	vt_check(linked_ctor_intact(), "the constructor's blocks are intact");
	vt_check(linked_ctor_grow(), "realloc kept the constructor's bytes");
	linked_ctor_release();
	leak_in_main();
	return vt_exit_status();
}
