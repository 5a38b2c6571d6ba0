/*
 * How the agent comes in, and goes. Preloaded by memtrace (start mode,
 * startmode.c) or dlopen'ed into a running process (memtrace -p, which
 * then calls memtrace_agent_start), or loaded any other way and left idle.
 * This is the top of the agent: it starts the control thread with the
 * command table (commands.c), which itself drives lifecycle.c's attach and
 * detach; nothing calls back into this file.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "agent.h"
#include "commands.h"
#include "control.h"
#include "exit.h"
#include "got.h"
#include "lifecycle.h"
#include "loaderlock.h"
#include "proto.h"
#include "startmode.h"
#include "state.h"

static int started;		/* recording and the control thread are up */

/* agent_start failed because another process holds the socket's names. */
static int name_taken;

/*
 * The part of the start that may take locks and allocate (pthread_atfork,
 * the control thread, sigaction): never from inside a hook. Begins
 * recording first if BEGUN is 0.
 */
static int agent_start(const struct agent_config *cfg, const char *since, int begun)
{
	int ret = -1;

	if (started)
		return 0;
	if (!begun && agent_recording_begin(cfg, since) < 0)
		return -1;
	agent_guard = 1;
	pthread_atfork(NULL, NULL, agent_forked);
	agent_loader_lock_find(agent_got_real_iterate());
	if (agent_control_start(&agent_commands) < 0) {
		name_taken = errno == EADDRINUSE;
		agent_fail(name_taken ? "the control socket's name is taken by another process"
				      : "the control socket could not be created");
		goto out;
	}
	agent_exit_watch();
	if (cfg->signals)
		agent_signals_install();
	started = 1;
	ret = 0;
out:
	agent_guard = 0;
	return ret;
}

AGENT_EXPORT int memtrace_agent_start(const char *config)
{
	struct agent_config cfg;

	agent_config_defaults(&cfg);
	/* A running program keeps its signal dispositions unless asked (memtrace
	 * asks, unless --no-signal-report). */
	cfg.signals = 0;
	agent_config_parse(&cfg, config);
	/* Before the control thread starts: its first poll must see the deadline. */
	agent_control_expect_session(cfg.wait_ms);
	if (agent_start(&cfg, "attach", 0) < 0)
		return name_taken ? AGENT_START_NAME_TAKEN : -1;
	return agent_attach();
}

__attribute__((constructor)) static void agent_preload_init(void)
{
	const struct agent_config *cfg = NULL;

	switch (agent_start_settle(&cfg)) {
	case AGENT_STARTMODE_NO:
		agent_arm();
		return;
	case AGENT_STARTMODE_FOREIGN:
	case AGENT_STARTMODE_FAILED:
		return;
	case AGENT_STARTMODE_YES:
		break;
	}
	if (getpid() != agent_state.pid) {
		/* A constructor that ran before ours forked and this is the
		 * child: no memtrace waits for it (see agent_forked). */
		agent_forked();
		return;
	}
	if (agent_start(cfg, "start", 1) < 0)
		return;
	if (agent_control_wait_resume(cfg->wait_ms) < 0)
		agent_fail("memtrace did not connect in time");
}

__attribute__((destructor)) static void agent_fini(void)
{
	agent_exit_report_due();
	agent_disarm();
}
