/*
 * Start mode (memtrace PROG: the agent preloaded, its settings in the
 * environment) and the beginning of recording, which both modes share.
 * Nothing here takes a lock or allocates: the hooks call it (startmode.c).
 */
#ifndef AGENT_STARTMODE_H
#define AGENT_STARTMODE_H

/* The settings memtrace passes: MEMTRACE_CONFIG in start mode, the
 * argument of memtrace_agent_start on attach ("key=value ..."). */
struct agent_config {
	char unwind[16];
	int depth;
	int wait_ms;
	int signals;
	int parent;		/* start mode: memtrace's pid, the parent of the program */
};

/* The defaults: libunwind, AGENT_DEFAULT_DEPTH frames, a 10 s wait, signal reports on. */
void agent_config_defaults(struct agent_config *cfg);

/* Apply "key=value key=value ..." from S (NULL: nothing); unknown keys and
 * values out of range are ignored (a newer memtrace). */
void agent_config_parse(struct agent_config *cfg, const char *s);

/*
 * The part of the start that only turns recording on: the real allocator,
 * the unwinder, the clocks; agent_state.pid becomes this process. SINCE is
 * "start" (recording is on when this returns) or "attach" (lifecycle.c's
 * agent_attach turns it on, once the hooks are in). 0, or -1 after
 * agent_fail().
 */
int agent_recording_begin(const struct agent_config *cfg, const char *since);

/*
 * Called by the hooks while nothing records and agent_state.start_pending is
 * set. The first call that can tell start mode begins recording there, so
 * blocks allocated by constructors run before the agent's own are recorded
 * with their callstacks. A thread that comes while another one decides
 * passes its call through (the block is then unknown and its free ignored,
 * as for any block from before recording). 1 if the caller should record.
 */
int agent_start_pending(void);

enum agent_start_mode {
	AGENT_STARTMODE_NO,		/* not start mode: loaded by dlopen (attach) or by hand */
	AGENT_STARTMODE_YES,	/* start mode, recording */
	AGENT_STARTMODE_FOREIGN,	/* start mode's environment, but memtrace did not start this process */
	AGENT_STARTMODE_FAILED,	/* start mode, but recording could not begin (agent_state.failure) */
};

/*
 * The constructor's decision, final: waits for a hook that is deciding,
 * decides if none has (an environment not set up means no), and in the
 * three start-mode answers removes MEMTRACE_* and the agent's LD_PRELOAD
 * entry from the environment. *CFG is then start mode's settings.
 */
enum agent_start_mode agent_start_settle(const struct agent_config **cfg);

#endif
