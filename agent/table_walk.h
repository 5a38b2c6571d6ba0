/*
 * The table-driven stack walk behind the "libunwind" backend
 * (unwind_libunwind.c, its one user). Each architecture's
 * agent/arch/ARCH/table_walk_arch.h gives it as inline functions (so the
 * walk's first frame is the capture function, which the agent's own range
 * drops): its own walk (32-bit ARM: libgcc's EHABI unwinder) or libunwind's
 * (table_walk_libunwind.h).
 *
 *   int agent_table_walk_init(void)
 *       once, at agent start, outside any hook: 0 or -1;
 *   int agent_table_walk(void **buf, int want)
 *       at most WANT return addresses of the calling thread into BUF, the
 *       innermost first; the count. Never allocates through malloc, may
 *       change errno;
 *   AGENT_TABLE_WALK_STACK
 *       the bytes of stack the walk may need below its caller's frame;
 *   int agent_table_walk_may_run(void)
 *       0 when the walk must not run in this thread now (it would take a
 *       lock in an order that can deadlock: table_walk_libunwind.h), else 1;
 *       cheap, checked on every capture.
 */
#ifndef AGENT_TABLE_WALK_H
#define AGENT_TABLE_WALK_H

#include "table_walk_arch.h"

#endif
