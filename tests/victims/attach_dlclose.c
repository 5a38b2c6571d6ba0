/*
 * attach_dlclose: dlcloses, after the attach, a plugin that was loaded (and
 * so patched) before it, loads it again, and exits cleanly.
 *
 *     attach_dlclose DIR PLUGIN
 *
 * Protocol in attach.h.  Before ready PLUGIN (libplugin_leak.so) is loaded
 * with RTLD_NOW and used.  After go the plugin churns through its patched
 * slots, is dlclosed and must be gone from the address space (a loader that
 * keeps it, or an agent that pins it, is a FAIL line: the program sees its
 * dlclose not unload), then is dlopened again: that new copy leaks 2 blocks
 * from plugin_leak_blocks, and this program 1 block from leak_after_dlclose.
 * Detaching must then put back the slots of the live copy and leave the
 * unmapped one alone.  After stop: the plugin used, freed, dlclosed again.
 */
#include "attach.h"
#include "plugin.h"

static void *mine;
static char plugin_base[256];

NOINLINE static void leak_after_dlclose(void)
{
	mine = malloc(64);
	memset(mine, 'c', 64);
}

int main(int argc, char **argv)
{
	int arg = at_init(argc, argv);
	const char *plugin, *slash;
	void *h;

	if (argc <= arg) {
		vt_dprintf(2, "usage: attach_dlclose DIR PLUGIN\n");
		return 2;
	}
	plugin = argv[arg];
	slash = strrchr(plugin, '/');
	vt_format(plugin_base, sizeof(plugin_base), "/%s", slash ? slash + 1 : plugin);
	at_start(argc, argv);
	h = load_plugin(plugin, RTLD_NOW);
	vt_check(((long (*)(int))sym(h, "plugin_churn"))(10) == churn_sum(10), "plugin works before attach");
	vt_check(at_mapped(plugin_base), "plugin mapped before attach");
	at_ready();

	at_wait_go();
	pre_attach_release();
	vt_check(((long (*)(int))sym(h, "plugin_churn"))(1000) == churn_sum(1000), "plugin works after attach");
	vt_check(dlclose(h) == 0, "dlclose after attach");
	vt_check(!at_mapped(plugin_base), "plugin unmapped by dlclose after attach");
	h = load_plugin(plugin, RTLD_LAZY);
	vt_check(at_mapped(plugin_base), "plugin mapped again");
	vt_check(((long (*)(int))sym(h, "plugin_churn"))(1000) == churn_sum(1000), "reloaded plugin works");
	((void (*)(int))sym(h, "plugin_leak_blocks"))(2);
	leak_after_dlclose();
	vt_expect("plugin_leak_blocks", 2, 2 * 96);
	vt_expect("leak_after_dlclose", 1, 64);
	at_leaked_then_wait_stop();

	vt_check(((int (*)(void))sym(h, "plugin_kept_intact"))() == 2, "plugin's blocks intact at stop");
	vt_check(((long (*)(int))sym(h, "plugin_churn"))(1000) == churn_sum(1000), "plugin works after stop");
	((void (*)(void))sym(h, "plugin_free_all"))();
	free(mine);
	vt_check(dlclose(h) == 0, "dlclose after stop");
	vt_check(!at_mapped(plugin_base), "plugin unmapped by dlclose after stop");
	pre_attach_end();
	return vt_exit_status();
}
