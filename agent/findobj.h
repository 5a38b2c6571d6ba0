/*
 * Which loaded module holds an address, asked from inside the allocation
 * hooks: no lock, no allocation, no system call (the compact-table unwinder,
 * agent/unwind_tables.c, asks on every rule-cache miss).
 *
 * glibc 2.35 answers with _dl_find_object. musl has no such call, but
 * never unloads a module (its dlclose keeps everything mapped), so a list
 * that only grows is exact: it is taken when the unwinder starts and
 * extended after each dlopen that passes through the agent's hook. A
 * module loaded otherwise (a library's own dlopen made before the hooks
 * were in place) is found once the next hooked dlopen extends the list;
 * until then its addresses are unknown and those stacks go to libunwind.
 */
#ifndef AGENT_FINDOBJ_H
#define AGENT_FINDOBJ_H

#include <link.h>
#include <stdint.h>

struct agent_fobj {
	uintptr_t lo, hi;		/* the module's mapping, [lo, hi) */
	const void *eh_frame;		/* its PT_GNU_EH_FRAME, or NULL */
	const struct link_map *lm;	/* the loader's entry (identity, bias, name) */
};

/*
 * Ready to answer: 0, or -1 when this C library offers no way (a glibc
 * older than 2.35). Idempotent; called by the unwinder's init, which runs
 * with the real allocator resolved and no hook active on this thread.
 */
int agent_findobj_init(void);

/* 1 once agent_findobj_init succeeded. */
int agent_findobj_ready(void);

/* The module holding PC into *O: 0, or -1 (in no module, or not ready). */
int agent_findobj(uintptr_t pc, struct agent_fobj *o);

/* After a dlopen returned: modules it mapped join the list (musl; glibc: nothing). */
void agent_findobj_loaded(void);

/* Why agent_findobj_init fails here, for `status` and --unwind's refusal. */
const char *agent_findobj_why_not(void);

#endif
