/*
 * attach_dlopen: dlopens a plugin after the attach and leaks through it.
 *
 *     attach_dlopen DIR PLUGIN
 *
 * Protocol in attach.h.  After go it dlopens PLUGIN (libplugin_leak.so, by
 * the absolute path the test gives, which is then the module's name in the
 * report) lazily, so the agent must patch the new module's GOT from its
 * dlopen hook; the plugin churns (nothing left) and leaks 3 blocks from
 * plugin_leak_blocks; this program leaks 2 blocks from leak_after_dlopen.
 * After stop it uses the plugin again, frees everything, dlcloses it.
 */
#include "attach.h"
#include "plugin.h"

static void *mine[2];

NOINLINE static void leak_after_dlopen(void)
{
	for (int i = 0; i < 2; i++) {
		mine[i] = malloc(48);
		memset(mine[i], 'd', 48);
	}
}

int main(int argc, char **argv)
{
	int arg = at_init(argc, argv);
	void (*leak_blocks)(int);
	long (*churn)(int);
	int (*intact)(void);
	void (*free_all)(void);
	void *h;

	if (argc <= arg) {
		vt_dprintf(2, "usage: attach_dlopen DIR PLUGIN\n");
		return 2;
	}
	at_start(argc, argv);
	vt_printf("dlopen: started\n");
	at_ready();

	at_wait_go();
	pre_attach_release();
	h = load_plugin(argv[arg], RTLD_LAZY);
	vt_printf("dlopen: plugin loaded after go\n");
	leak_blocks = (void (*)(int))sym(h, "plugin_leak_blocks");
	churn = (long (*)(int))sym(h, "plugin_churn");
	intact = (int (*)(void))sym(h, "plugin_kept_intact");
	free_all = (void (*)(void))sym(h, "plugin_free_all");
	vt_check(churn(1000) == churn_sum(1000), "plugin allocates and frees after attach");
	leak_blocks(3);
	leak_after_dlopen();
	vt_expect("plugin_leak_blocks", 3, 3 * 96);
	vt_expect("leak_after_dlopen", 2, 96);
	at_leaked_then_wait_stop();

	vt_check(intact() == 3, "plugin's blocks intact at stop");
	vt_check(churn(1000) == churn_sum(1000), "plugin works after stop");
	free_all();
	free(mine[0]);
	free(mine[1]);
	vt_check(dlclose(h) == 0, "dlclose of the plugin");
	pre_attach_end();
	return vt_exit_status();
}
