/*
 * The C++ operator new/delete family, hooked directly: every replaceable
 * global form (plain, array, nothrow, aligned, sized) by its mangled name.
 * An allocator that implements operator new itself (tcmalloc, jemalloc)
 * never calls the malloc hooks for it, so the operators are hooked as the
 * malloc family is: exported by the agent in start mode, patched into the
 * GOTs on attach. Each hook calls the real operator (agent_real.cxx) and
 * records or forgets the block with the bookkeeping of hooks.c (hooks.h).
 */
#ifndef AGENT_HOOKS_CXX_H
#define AGENT_HOOKS_CXX_H

#include <stddef.h>

#include "cxx_ops.h"
#include "hooks.h"

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

#endif
