/*
 * plugin_leak: a plugin that the attach victims dlopen (built as
 * build/tests/victims/libplugin_leak.so).
 *
 * plugin_leak_blocks(n) leaks n blocks of PLUGIN_BLOCK bytes from a function
 * of the plugin itself, so a report names plugin_leak_blocks in this module;
 * plugin_churn(n) allocates and frees n blocks and returns a checksum of
 * what it wrote (the same in every run).  Its constructor allocates and frees a
 * block, so the loader runs the plugin's malloc while dlopen is in progress.
 * The plugin calls malloc through its own PLT, lazily bound unless the
 * program asks for RTLD_NOW: slots the agent must patch when dlopen returns.
 */
#include <stdlib.h>
#include <string.h>

#include "victim.h"

#define PLUGIN_BLOCK 96

static void *kept[64];
static int nkept;

__attribute__((constructor)) static void plugin_init(void)
{
	char *p = malloc(200);

	if (p)
		memset(p, 'i', 200);
	free(p);
}

NOINLINE void plugin_leak_blocks(int n)
{
	for (int i = 0; i < n && nkept < 64; i++) {
		kept[nkept] = malloc(PLUGIN_BLOCK);
		memset(kept[nkept], 'p', PLUGIN_BLOCK);
		nkept++;
	}
}

NOINLINE long plugin_churn(int n)
{
	long sum = 0;

	for (int i = 0; i < n; i++) {
		unsigned char *p = (i % 2) ? calloc(1, 16 + (size_t)i % 500) : malloc(16 + (size_t)i % 500);

		if (!p)
			return -1;
		p[0] = (unsigned char)i;
		p = realloc(p, 600);
		if (!p)
			return -1;
		sum += p[0];
		free(p);
	}
	return sum;
}

/* Blocks this plugin holds and their first bytes intact. */
NOINLINE int plugin_kept_intact(void)
{
	for (int i = 0; i < nkept; i++)
		if (((unsigned char *)kept[i])[0] != 'p' || ((unsigned char *)kept[i])[PLUGIN_BLOCK - 1] != 'p')
			return 0;
	return nkept;
}

NOINLINE void plugin_free_all(void)
{
	while (nkept > 0)
		free(kept[--nkept]);
}
