/*
 * The leaks document (docs/protocol.md, "Leaks"): what `leaks --json`
 * writes and `leaks` prints, from the verdicts of common/leakjudge.h and a
 * report that gives the contexts' callstacks (the agent's, decoded or not).
 */
#ifndef MEMTRACE_LEAKSDOC_H
#define MEMTRACE_LEAKSDOC_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "leakjudge.h"

/* --kind all: every context, ranked as the default. */
#define LEAKS_KIND_ALL (-3)

/* "definite", "indirect", "possible", "reachable": the enum leak_verdict;
 * "all": LEAKS_KIND_ALL; -2 for anything else. */
int leaks_kind_parse(const char *s);

/*
 * The document of L: the summary, how the scan went, and the contexts
 * holding blocks of KIND (-1: lost blocks of any kind, ranked by definitely,
 * then indirectly, then possibly lost bytes; LEAKS_KIND_ALL: every context,
 * ranked so), the first COUNT of them (0: all), each with its frames from
 * REP's context of the same id. REP's pid, program and such are copied.
 */
cJSON *leaks_doc_new(const struct inj_leaks *l, const cJSON *rep, long count, int kind);

/* The document as text. */
void leaks_doc_print(FILE *out, const cJSON *doc);

#endif
