/*
 * The table-driven stack walk behind the "libunwind" backend
 * (unwind_libunwind.c): the walk itself, which each architecture may bring
 * (agent/arch/ARCH/table_walk.c), else libunwind's (table_walk_libunwind.c).
 */
#ifndef AGENT_TABLE_WALK_H
#define AGENT_TABLE_WALK_H

/* Once, at agent start, outside any hook. 0 or -1. */
int agent_table_walk_init(void);

/*
 * Fill BUF with at most WANT return addresses of the calling thread, the
 * innermost first (the walk's own frames included). Returns the count; 0
 * when the walk cannot run here (the caller then takes the frame-pointer
 * walk). Never allocates through malloc; may change errno.
 */
int agent_table_walk(void **buf, int want);

/*
 * 0 when the walk must not run in this thread now (it would take a lock
 * in an order that can deadlock: see table_walk_libunwind.c), 1 otherwise.
 * Cheap: checked on every capture.
 */
int agent_table_walk_may_run(void);

#endif
