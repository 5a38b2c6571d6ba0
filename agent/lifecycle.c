/*
 * Attach and detach: the GOT slots and the recording flag, together. This
 * file is the one caller of got.c's agent_got_patch and agent_got_restore
 * and the one that turns recording on for an attached agent (start mode's
 * recording begins in startmode.c, at the first hook call; agent_fail in
 * state.c and a fork child turn it off). The two go together because their
 * order is what makes attach and detach safe: the slots are patched (and
 * no thread is left in an unhooked dl_iterate_phdr) before recording goes
 * on, and recording goes off before the slots are put back. got.c is only
 * the mechanism (which slots, how to write them) and keeps its own `hooked`
 * flag, under its lock, for the dlopen hook; it never reads or writes the
 * recording flag. Start mode records with no GOT at all (the dynamic linker
 * binds to the exports), and a failure or a fork child only stops
 * recording: the slots stay, the hooks passing calls through, until a
 * detach puts them back (the destructor does only for an agent that was
 * armed and never started).
 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "control.h"
#include "exit.h"
#include "fp_frame.h"
#include "got.h"
#include "lifecycle.h"
#include "loaderlock.h"
#include "real.h"
#include "state.h"
#include "tables.h"
#include "unwinder.h"

static int armed;	/* the GOTs were patched by the constructor (attach), not yet started */

void agent_forked(void)
{
	/* The child has no control thread and may have inherited a shard lock
	 * held by a thread that does not exist here: it records nothing. */
	__atomic_store_n(&agent_state.recording, 0, __ATOMIC_RELAXED);
	/* Nor does it keep its copies of the parent's sockets: a child that
	 * outlives the parent would hold memtrace's connection open, and
	 * memtrace would not see the parent end. It never holds at an
	 * allocation either (agent_control_forget disarms, hold.c). */
	agent_control_forget();
	agent_loader_lock_forked();
}

/*
 * Loaded by dlopen (memtrace -p): patch the GOTs now, with the hooks
 * passing every call through until memtrace_agent_start. A constructor
 * runs while dlopen holds the loader's lock, so no other thread is in the
 * middle of loading or unloading a module: every module in the list is
 * whole, relocated, and stays mapped while its slots are written. Done
 * later, from memtrace_agent_start, a module another thread is loading can
 * be seen half relocated (its lazy slots then get the load bias added to
 * the hook's address) or unloaded under our feet.
 */
void agent_arm(void)
{
	agent_guard = 1;
	if (agent_real_resolve() == 0 && agent_got_patch() >= 0)
		armed = 1;
	else
		agent_got_restore();
	agent_guard = 0;
}

void agent_disarm(void)
{
	/* Unloaded without being started (memtrace gone, or the start failed). */
	if (armed) {
		agent_guard = 1;
		agent_got_restore();
		armed = 0;
	}
}

int agent_attach(void)
{
	agent_guard = 1;
	/* The constructor patched every module under the loader's lock (armed);
	 * a re-attach patches here. The hooks pass calls through meanwhile. */
	if (!armed && agent_got_patch() < 0) {
		agent_got_restore();
		agent_fail("out of memory while patching the GOTs");
		agent_guard = 0;
		return -1;
	}
	armed = 0;
	/* No thread is left inside a dl_iterate_phdr it entered unhooked (got.c). */
	agent_loader_barrier();
	/* Release: a hook that sees this generation sees these settings. */
	__atomic_add_fetch(&agent_state.generation, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&agent_state.tables_open, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&agent_state.recording, 1, __ATOMIC_SEQ_CST);
	agent_guard = 0;
	return 0;
}

int agent_reattach(const struct agent_settings *s, char *err, size_t errlen)
{
	const struct agent_unwinder *u = agent_unwinder_find(s->unwind), *started;
	const char *why = NULL;
	int ret = -1;

	if (!u && strcmp(s->unwind, AGENT_UNWIND_AUTO)) {
		snprintf(err, errlen, "unknown unwinder \"%.32s\" (auto, fp, libunwind or tables)", s->unwind);
		return -1;
	}
	if (s->depth < 1 || s->depth > AGENT_MAX_DEPTH) {
		snprintf(err, errlen, "depth %d is out of range (1 to %d)", s->depth, AGENT_MAX_DEPTH);
		return -1;
	}
	/* Recording still for a memtrace that never connected (killed before
	 * its hello): start over with this one's settings. */
	if (__atomic_load_n(&agent_state.recording, __ATOMIC_ACQUIRE))
		agent_detach(NULL);
	/* Tables a stuck thread kept at the last detach: try again, else clear. */
	if (agent_tables_release(&why) < 0)
		agent_tables_clear();
	agent_guard = 1;
	started = agent_unwinder_start(s->unwind);
	if (!started) {
		const char *why = u && u->why_not ? u->why_not() : NULL;

		snprintf(err, errlen, "the %s unwinder cannot start in this process%s%s%s", u ? u->name : "libunwind",
			 why ? " (" : "", why ? why : "", why ? ")" : "");
		goto out;
	}
	agent_state.unwinder = started;
	agent_state.depth = s->depth;
	agent_state.failure = NULL;
	agent_state.start_ns = agent_now_ns();
	if (s->signals)
		agent_signals_install();
	agent_guard = 0;
	if (agent_attach() < 0) {
		snprintf(err, errlen, "%s", agent_state.failure ? agent_state.failure : "attach failed");
		agent_signals_remove();
		return -1;
	}
	return 0;
out:
	agent_guard = 0;
	return ret;
}

int agent_detach(const char **why)
{
	int ret;

	agent_guard = 1;
	/* Recording off first: once the slots go back, frees no longer pass
	 * through the hooks, so nothing may be recorded after that. A dlopen
	 * hook patches no GOT after the restore either: got.c clears its own
	 * `hooked` flag under its lock as it puts the slots back. */
	__atomic_store_n(&agent_state.recording, 0, __ATOMIC_SEQ_CST);
	agent_got_restore();
	agent_signals_remove();
	ret = agent_tables_release(why);
	agent_guard = 0;
	return ret;
}
