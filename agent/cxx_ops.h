/*
 * The replaceable global C++ operators new and delete, once: each one's
 * enum agent_cxx_op, its hook's name (hooks_cxx.c) and its mangled symbol
 * (size_t's letter is a per-architecture fact, agent/arch/<arch>/cxx_abi.h).
 * real.c looks the real ones up by these names, hooks_cxx.c defines and
 * exports a hook for each: the list is the one fact both follow.
 */
#ifndef AGENT_CXX_OPS_H
#define AGENT_CXX_OPS_H

#include "cxx_abi.h"

#define AGENT_CXX_S AGENT_CXX_SIZE
#define AGENT_CXX_ALIGN "St11align_val_t"
#define AGENT_CXX_NOTHROW "RKSt9nothrow_t"

/* X(enum suffix, hook suffix, mangled name); the freeing ones after the allocating ones. */
#define AGENT_CXX_OPS(X)                                                                                      \
	X(NEW, new, "_Znw" AGENT_CXX_S)                                                                       \
	X(NEW_ARRAY, new_array, "_Zna" AGENT_CXX_S)                                                           \
	X(NEW_NOTHROW, new_nothrow, "_Znw" AGENT_CXX_S AGENT_CXX_NOTHROW)                                     \
	X(NEW_ARRAY_NOTHROW, new_array_nothrow, "_Zna" AGENT_CXX_S AGENT_CXX_NOTHROW)                         \
	X(NEW_ALIGNED, new_aligned, "_Znw" AGENT_CXX_S AGENT_CXX_ALIGN)                                       \
	X(NEW_ARRAY_ALIGNED, new_array_aligned, "_Zna" AGENT_CXX_S AGENT_CXX_ALIGN)                           \
	X(NEW_ALIGNED_NOTHROW, new_aligned_nothrow, "_Znw" AGENT_CXX_S AGENT_CXX_ALIGN AGENT_CXX_NOTHROW)     \
	X(NEW_ARRAY_ALIGNED_NOTHROW, new_array_aligned_nothrow,                                               \
	  "_Zna" AGENT_CXX_S AGENT_CXX_ALIGN AGENT_CXX_NOTHROW)                                               \
	X(DELETE, delete, "_ZdlPv")                                                                           \
	X(DELETE_ARRAY, delete_array, "_ZdaPv")                                                               \
	X(DELETE_SIZED, delete_sized, "_ZdlPv" AGENT_CXX_S)                                                   \
	X(DELETE_ARRAY_SIZED, delete_array_sized, "_ZdaPv" AGENT_CXX_S)                                       \
	X(DELETE_NOTHROW, delete_nothrow, "_ZdlPv" AGENT_CXX_NOTHROW)                                         \
	X(DELETE_ARRAY_NOTHROW, delete_array_nothrow, "_ZdaPv" AGENT_CXX_NOTHROW)                             \
	X(DELETE_ALIGNED, delete_aligned, "_ZdlPv" AGENT_CXX_ALIGN)                                           \
	X(DELETE_ARRAY_ALIGNED, delete_array_aligned, "_ZdaPv" AGENT_CXX_ALIGN)                               \
	X(DELETE_SIZED_ALIGNED, delete_sized_aligned, "_ZdlPv" AGENT_CXX_S AGENT_CXX_ALIGN)                   \
	X(DELETE_ARRAY_SIZED_ALIGNED, delete_array_sized_aligned, "_ZdaPv" AGENT_CXX_S AGENT_CXX_ALIGN)       \
	X(DELETE_ALIGNED_NOTHROW, delete_aligned_nothrow, "_ZdlPv" AGENT_CXX_ALIGN AGENT_CXX_NOTHROW)         \
	X(DELETE_ARRAY_ALIGNED_NOTHROW, delete_array_aligned_nothrow, "_ZdaPv" AGENT_CXX_ALIGN AGENT_CXX_NOTHROW)

#define AGENT_CXX_ENUM(op, hook, sym) AGENT_CXX_##op,
enum agent_cxx_op { AGENT_CXX_OPS(AGENT_CXX_ENUM) AGENT_CXX_NOPS };
#undef AGENT_CXX_ENUM

#endif
