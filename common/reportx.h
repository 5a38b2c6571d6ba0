/*
 * Reports turned into other forms (docs/user-guide.md, "Reports over
 * time"): what grew between two reports, and the folded stacks that
 * flame-graph tools read.
 */
#ifndef MEMTRACE_REPORTX_H
#define MEMTRACE_REPORTX_H

#include <stdio.h>

#include <cjson/cJSON.h>

/*
 * What grew from report BEFORE to report NOW (both of docs/protocol.md):
 * the contexts matched by their callstack (module and offset of every
 * frame: the ids of two sessions differ), each with its live bytes and
 * blocks now and their change; sorted by the change in bytes, the most
 * grown first; a context of BEFORE that is gone shows with what it lost.
 * COUNT (0: all) limits the contexts. A new document (docs/protocol.md,
 * "Report since").
 */
cJSON *report_since(const cJSON *now, const cJSON *before, long count);

/* The text of a report_since document. */
void report_since_print(FILE *out, const cJSON *doc);

/*
 * Report REP as folded stacks, one line a context: its frames from the
 * outermost to the allocating one joined by ';', a space, its live bytes
 * (the input of flamegraph.pl and inferno). A frame is named by its
 * decoded function (inlined calls as frames of their own), else its ELF
 * symbol without the offset, else module+offset.
 */
void report_folded_print(FILE *out, const cJSON *rep);

#endif
