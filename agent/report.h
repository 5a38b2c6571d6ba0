/*
 * Reports and status, written as JSON by the agent (docs/protocol.md has
 * the field list). Everything here is async-signal-safe: the exit report
 * may be written from a fatal-signal handler.
 */
#ifndef AGENT_REPORT_H
#define AGENT_REPORT_H

#include "jsonw.h"

/* Members "summary" and "agent" into the open object of W. */
void agent_status_write(struct jsonw *w);

/*
 * Members of a report into the open object of W: the status members plus
 * "modules" and "contexts" (the COUNT contexts with the most live bytes;
 * COUNT 0 means every context with live blocks). 0, or -1 out of memory.
 */
int agent_report_write(struct jsonw *w, int count);

/*
 * A sample for memtrace's growth series (the "sample" request): uptime,
 * the heap's totals and, for every context holding live blocks,
 * [id, live_bytes, live_blocks]; no frames, no sort, no module list, so it
 * costs one pass over the contexts' counters. 0, or -1 (out of memory).
 */
int agent_sample_write(struct jsonw *w);

#endif
