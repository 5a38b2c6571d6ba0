/*
 * The C++ operator new/delete family, as the process sees it. tcmalloc's
 * and jemalloc's operators allocate without calling malloc, and jemalloc's
 * aligned delete frees without calling free: hooking malloc alone would
 * miss those blocks or keep them as leaks. So each global operator is
 * hooked by its mangled name (the size_t letter is a per-architecture
 * fact, agent/arch/<arch>/cxx_abi.h) and calls the real operator, found as
 * the real malloc is (agent/real.c): whatever it does (a new_handler loop,
 * std::bad_alloc thrown, NULL from nothrow) is what the program gets.
 *
 * A hook runs the real operator with the recursion guard set, so that the
 * malloc libstdc++'s operator new calls, and the nested operator a nothrow
 * or array form calls, pass straight through: the block is recorded once,
 * by the outer hook, with the stack of the operator's caller. The guard is
 * AGENT_GUARD_OPERATOR there, under which frees are still forgotten: the
 * operator may run the program's new_handler, which gives memory back.
 *
 * The throwing forms may leave by an exception, through this file's
 * frames: it is built with -fexceptions (Makefile), so that the cleanup
 * that puts the guard back runs while the exception unwinds. The personality
 * routine and _Unwind_Resume this needs come from libgcc_s.
 */
#include <errno.h>
#include <stdlib.h>

#include "agent.h"
#include "dynelf.h"
#include "hooks_cxx.h"
#include "real.h"
#include "state.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

_Static_assert(_Generic((size_t)0, unsigned long: AGENT_CXX_SIZE_CHAR == 'm',
			unsigned int: AGENT_CXX_SIZE_CHAR == 'j', default: 0),
	       "cxx_abi.h: AGENT_CXX_SIZE is not the mangled letter of this size_t");

int agent_cxx_frees(const char *name)
{
	return name[0] == '_' && name[1] == 'Z' && name[2] == 'd' && (name[3] == 'l' || name[3] == 'a');
}

int agent_cxx_replaced(const char *name)
{
	const struct link_map *lm = agent_link_map();

	return lm && agent_dynsym(lm, name) != NULL;
}

static inline void *real_op(enum agent_cxx_op op)
{
	void *f = __atomic_load_n(&agent_real.cxx[op], __ATOMIC_ACQUIRE);

	return likely(f != NULL) ? f : agent_real_cxx(op);
}

/* Run at the end of the guarded block, and while an exception leaves it. */
static void guard_put_back(int *saved)
{
	agent_guard = *saved;
}

/*
 * No real operator anywhere: unreachable in practice (the program's call
 * was bound to some definition before the agent came), but the hook must
 * not jump to NULL. The malloc family stands in; C cannot throw, so a
 * throwing form that fails ends the process as a build without exceptions
 * would.
 */
static void *no_real_new(size_t size, size_t align, int nothrow)
{
	void *p = NULL;

	if (!size)
		size = 1;
	if (align > sizeof(void *)) {
		if (agent_posix_memalign(&p, align, size))
			p = NULL;
	} else {
		p = agent_malloc(size);
	}
	if (!p && !nothrow)
		abort();
	return p;
}

/*
 * One body for every operator new. PROTO is the C prototype of the C++
 * one (std::align_val_t is a size_t, a nothrow_t reference a pointer),
 * ARGS the call with the same names, ALIGN the alignment (0: the default).
 * The block is recorded after the real operator returns it, with the
 * guard still set (the unwinder may allocate).
 */
#define NEW_HOOK(hook, op, proto, args, align, nothrow)                                   \
	static void *agent_cxx_##hook proto                                               \
	{                                                                                 \
		void *(*real) proto = (void *(*) proto)real_op(AGENT_CXX_##op);           \
		void *p;                                                                  \
                                                                                          \
		if (unlikely(!real))                                                      \
			return no_real_new(size, align, nothrow);                         \
		if (!agent_hook_recording())                                              \
			return real args;                                                 \
		{                                                                         \
			int saved __attribute__((cleanup(guard_put_back))) = agent_guard; \
                                                                                          \
			agent_guard = AGENT_GUARD_OPERATOR;                               \
			p = real args;                                                    \
			agent_guard = 1;                                                  \
			if (p)                                                            \
				agent_hook_record(p, size, __builtin_frame_address(0),    \
						  __builtin_return_address(0));           \
		}                                                                         \
		return p;                                                                 \
	}

#define NEW_HOOKS(hook, op)                                                                  \
	NEW_HOOK(hook, op, (size_t size), (size), 0, 0)                                      \
	NEW_HOOK(hook##_nothrow, op##_NOTHROW, (size_t size, const void *nt), (size, nt), 0, 1) \
	NEW_HOOK(hook##_aligned, op##_ALIGNED, (size_t size, size_t align), (size, align),   \
		 align, 0)                                                                    \
	NEW_HOOK(hook##_aligned_nothrow, op##_ALIGNED_NOTHROW,                               \
		 (size_t size, size_t align, const void *nt), (size, align, nt), align, 1)

NEW_HOOKS(new, NEW)
NEW_HOOKS(new_array, NEW_ARRAY)

/*
 * One body for every operator delete: forget, then the real one (which
 * never throws), with the guard set so that the free it calls passes.
 */
#define DELETE_HOOK(hook, op, proto, args)                                        \
	static void agent_cxx_##hook proto                                        \
	{                                                                         \
		void (*real) proto = (void (*) proto)real_op(AGENT_CXX_##op);     \
		int saved;                                                        \
                                                                                  \
		if (unlikely(!real)) {                                            \
			agent_free(p);                                            \
			return;                                                   \
		}                                                                 \
		if (!p || !agent_hook_forgetting()) {                             \
			real args;                                                \
			return;                                                   \
		}                                                                 \
		saved = agent_guard;                                              \
		agent_guard = 1;                                                  \
		agent_hook_forget(p);                                             \
		real args;                                                        \
		agent_guard = saved;                                              \
	}

#define DELETE_HOOKS(hook, op)                                                                 \
	DELETE_HOOK(hook, op, (void *p), (p))                                                  \
	DELETE_HOOK(hook##_sized, op##_SIZED, (void *p, size_t size), (p, size))               \
	DELETE_HOOK(hook##_nothrow, op##_NOTHROW, (void *p, const void *nt), (p, nt))          \
	DELETE_HOOK(hook##_aligned, op##_ALIGNED, (void *p, size_t align), (p, align))         \
	DELETE_HOOK(hook##_sized_aligned, op##_SIZED_ALIGNED,                                  \
		    (void *p, size_t size, size_t align), (p, size, align))                    \
	DELETE_HOOK(hook##_aligned_nothrow, op##_ALIGNED_NOTHROW,                              \
		    (void *p, size_t align, const void *nt), (p, align, nt))

DELETE_HOOKS(delete, DELETE)
DELETE_HOOKS(delete_array, DELETE_ARRAY)

/*
 * The mangled names, exported: in start mode the dynamic linker binds
 * every module's calls to them (memtrace puts the agent first in
 * LD_PRELOAD, before a preloaded tcmalloc or jemalloc, whose operators are
 * then the real ones). agent.map lets them out.
 */
#define EXPORT(op, hook, sym)                                                  \
	AGENT_EXPORT extern __typeof__(agent_cxx_##hook) agent_export_##hook \
		__asm__(sym) __attribute__((alias("agent_cxx_" #hook)));
AGENT_CXX_OPS(EXPORT)

#define HOOK(op, hook, sym) { sym, (void *)agent_cxx_##hook },
const struct agent_hook agent_cxx_hooks[] = {
	AGENT_CXX_OPS(HOOK)
	{ NULL, NULL },
};
