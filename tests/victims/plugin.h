/*
 * plugin.h: loading libplugin_leak.so (plugin_leak.c) and checking its churn,
 * shared by the victims that dlopen it (attach_dlopen, attach_dlclose).
 * Include after victim.h.
 */
#ifndef PLUGIN_H
#define PLUGIN_H

#include <dlfcn.h>

#include "victim.h"

/*
 * The plugin at PATH, opened with MODE; exits 99 if it cannot be. The
 * loader's own blocks for the plugin are charged to this function when the
 * loader allocates through a hooked malloc; the tests leave it out
 * (EXPECT_IGNORE=load_plugin).
 */
NOINLINE static void *load_plugin(const char *path, int mode)
{
	void *h = dlopen(path, mode);

	if (!h) {
		vt_dprintf(2, "victim: dlopen %s: %s\n", path, dlerror());
		exit(99);
	}
	return h;
}

/* Symbol NAME of the plugin H; exits 99 if it has none. */
static void *sym(void *h, const char *name)
{
	void *p = dlsym(h, name);

	if (!p) {
		vt_dprintf(2, "victim: dlsym %s: %s\n", name, dlerror());
		exit(99);
	}
	return p;
}

/* What the plugin's plugin_churn(N) returns when it works. */
static VT_UNUSED long churn_sum(int n)
{
	long s = 0;

	for (int i = 0; i < n; i++)
		s += (unsigned char)i;
	return s;
}

#endif
