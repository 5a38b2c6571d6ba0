/*
 * A report as a pprof profile (report --pprof): the gzip'ed protocol
 * buffer of github.com/google/pprof's profile.proto, which `go tool pprof`
 * and the tools built on it read. Four sample types, as Go's own heap
 * profiles have them: inuse_space and inuse_objects (the live bytes and
 * blocks), alloc_space and alloc_objects (every allocation since the
 * recording began). A sample a context, its locations the frames from the
 * allocating one outwards; a location's lines its decoded function and
 * the calls inlined into it (innermost first), or its ELF symbol, or
 * module+offset.
 */
#ifndef MEMTRACE_PPROF_H
#define MEMTRACE_PPROF_H

#include <stdio.h>

#include <cjson/cJSON.h>

/* REP (docs/protocol.md's report, decoded or not) written to OUT, gzip'ed. 0, or -1 (out of memory, zlib). */
int report_pprof_write(FILE *out, const cJSON *rep);

#endif
