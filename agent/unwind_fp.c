/*
 * Frame-pointer walk. Every frame pointer is checked before it is read:
 * inside the mapping that holds the current stack pointer, aligned, and
 * strictly above the previous one, so a chain broken by code built without
 * frame pointers ends the stack instead of faulting or looping (the stack
 * mapping: stackmap.h).
 */
#include "fp_frame.h"
#include "stackmap.h"
#include "unwinder.h"

static int fp_init(void)
{
	return AGENT_FP_SUPPORTED ? 0 : -1;
}

static const char *fp_why_not(void)
{
	return AGENT_FP_WHY_NOT;
}

static int fp_capture(uintptr_t *pcs, int max, void *frame)
{
	uintptr_t fp = (uintptr_t)frame;
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	const uintptr_t rec = (AGENT_FP_RET + 1) * sizeof(uintptr_t);
	uintptr_t stack_lo, stack_hi;
	int n = 0;

	if (!AGENT_FP_SUPPORTED)
		return 0;
	if (agent_stack_of(sp) < 0)
		return 0;
	stack_lo = agent_stack_lo;
	stack_hi = agent_stack_hi;
	while (n < max) {
		const uintptr_t *f;
		uintptr_t ret, next;

		if (fp < stack_lo || fp > stack_hi - rec || fp % AGENT_FP_ALIGN)
			break;
		f = (const uintptr_t *)fp;
		ret = f[AGENT_FP_RET];
		next = f[AGENT_FP_NEXT];
		if (!ret)
			break;
		pcs[n++] = ret;
		if (next <= fp)
			break;
		fp = next;
	}
	return n;
}

const struct agent_unwinder agent_unwind_fp = {
	.name = "fp",
	.init = fp_init,
	.capture = fp_capture,
	.why_not = fp_why_not,
};
