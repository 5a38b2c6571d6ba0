/*
 * The C++ operator new/delete family, hooked directly: every replaceable
 * global form (plain, array, nothrow, aligned, sized) by its mangled name.
 * An allocator that implements operator new itself (tcmalloc, jemalloc)
 * never calls the malloc hooks for it, so the operators are hooked as the
 * malloc family is: exported by the agent in start mode, patched into the
 * GOTs on attach. Each hook calls the real operator (agent_real.cxx) and
 * records or forgets the block with the bookkeeping of hooks.c.
 */
#ifndef AGENT_HOOKS_CXX_H
#define AGENT_HOOKS_CXX_H

#include <stddef.h>

#include "hooks.h"

enum agent_cxx_op {
	AGENT_CXX_NEW,
	AGENT_CXX_NEW_ARRAY,
	AGENT_CXX_NEW_NOTHROW,
	AGENT_CXX_NEW_ARRAY_NOTHROW,
	AGENT_CXX_NEW_ALIGNED,
	AGENT_CXX_NEW_ARRAY_ALIGNED,
	AGENT_CXX_NEW_ALIGNED_NOTHROW,
	AGENT_CXX_NEW_ARRAY_ALIGNED_NOTHROW,
	AGENT_CXX_DELETE,		/* the first of the freeing ones */
	AGENT_CXX_DELETE_ARRAY,
	AGENT_CXX_DELETE_SIZED,
	AGENT_CXX_DELETE_ARRAY_SIZED,
	AGENT_CXX_DELETE_NOTHROW,
	AGENT_CXX_DELETE_ARRAY_NOTHROW,
	AGENT_CXX_DELETE_ALIGNED,
	AGENT_CXX_DELETE_ARRAY_ALIGNED,
	AGENT_CXX_DELETE_SIZED_ALIGNED,
	AGENT_CXX_DELETE_ARRAY_SIZED_ALIGNED,
	AGENT_CXX_DELETE_ALIGNED_NOTHROW,
	AGENT_CXX_DELETE_ARRAY_ALIGNED_NOTHROW,
	AGENT_CXX_NOPS
};

/* Mangled name of each operator on this architecture (size_t's letter from cxx_abi.h). */
extern const char *const agent_cxx_names[AGENT_CXX_NOPS];

/* The hooks by mangled name, for GOT patching; terminated by a NULL name. */
extern const struct agent_hook agent_cxx_hooks[];

/* 1 if NAME is one of the operators that free (operator delete, delete[]). */
int agent_cxx_frees(const char *name);

/*
 * 1 if the main program defines operator NAME itself (it replaced it).
 * GOT patching leaves such an operator alone: the program's own calls to it
 * are direct, never through a slot, so a block allocated through a hooked
 * slot could be freed unseen. Start mode binds the same way (the program's
 * definition comes before the agent's).
 */
int agent_cxx_replaced(const char *name);

/*
 * The bookkeeping the operators share with the malloc hooks (hooks.c).
 * agent_hook_recording: this call is to be recorded (the agent records and
 * the thread is not inside the agent or a real operator).
 * agent_hook_forgetting: a block freed now is to be forgotten (as above,
 * but also inside a real operator new: its new_handler giving memory back).
 * agent_hook_record / agent_hook_forget: record block P of SIZE bytes for
 * the caller of the hook whose frame and return address are FRAME and RET,
 * or forget P if it is known. Both are called with agent_guard set.
 */
int agent_hook_recording(void);
int agent_hook_forgetting(void);
void agent_hook_record(void *p, size_t size, void *frame, void *ret);
void agent_hook_forget(void *p);

#endif
