/*
 * Table-driven backend ("--unwind libunwind"): true stacks through code
 * without frame pointers, from the modules' unwind tables. The walk itself
 * is table_walk.h's: libunwind's everywhere but where an architecture
 * brings its own (32-bit ARM: libgcc's EHABI unwinder, arch/arm/table_walk_arch.h
 * says why). Where the walk must not run (table_walk.h), the frame-pointer
 * walk stands in.
 */
#include <errno.h>

#include "agent.h"
#include "fp_frame.h"
#include "stackmap.h"
#include "table_walk.h"
#include "unwinder.h"

/*
 * Room on this thread's stack for the walk (AGENT_TABLE_WALK_STACK): a
 * thread on a small stack, or a signal handler on a small alternate stack,
 * must lose a callstack rather than overflow. Where the stack cannot be
 * found, or it is the main thread's, which the kernel grows as it is used,
 * the walk runs as it always did.
 */
static int room_for_walk(uintptr_t sp)
{
	if (agent_stack_of(sp) < 0 || agent_stack_grows)
		return 1;
	return sp - agent_stack_lo >= AGENT_TABLE_WALK_STACK;
}

static int lu_capture(uintptr_t *pcs, int max, void *frame)
{
	/* Room for the agent's own frames on top of MAX. */
	void *buf[AGENT_MAX_DEPTH + 16];
	int saved = errno;
	int want = max + 16;
	int n, skip = 0, out = 0;

	if (!agent_table_walk_may_run() || !room_for_walk((uintptr_t)buf))
		return agent_unwind_fp.capture(pcs, max, frame);
	if (want > (int)(sizeof(buf) / sizeof(buf[0])))
		want = (int)(sizeof(buf) / sizeof(buf[0]));
	n = agent_table_walk(buf, want);
	while (skip < n && agent_in_self((uintptr_t)buf[skip]))
		skip++;
	for (int i = skip; i < n && out < max; i++)
		pcs[out++] = AGENT_LU_RETURN_ADDRESS((uintptr_t)buf[i]);
	errno = saved;
	return out;
}

const struct agent_unwinder agent_unwind_libunwind = {
	.name = "libunwind",
	.init = agent_table_walk_init,
	.capture = lu_capture,
};
