/*
 * The leaks document (docs/protocol.md, "Leaks"): what `leaks --json`
 * writes and `leaks` prints, from the verdicts of common/leakjudge.h and a
 * report that gives the contexts' callstacks (the agent's, decoded or not).
 */
#ifndef MEMTRACE_LEAKSDOC_H
#define MEMTRACE_LEAKSDOC_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "leakjudge.h"

/* --kind all: every context, ranked as the default. */
#define LEAKS_KIND_ALL (-3)

/* dump --lost, inspect --lost: definitely or indirectly lost (the wire's -4). */
#define LEAKS_KIND_LOST (-4)

/* Whether block B is of KIND: an enum leak_verdict, or LEAKS_KIND_LOST. */
int leaks_kind_wanted(const struct leak_block *b, int kind);
/* KIND as words: "lost (definitely or indirectly)", "definitely lost"... */
const char *leaks_kind_text(int kind);

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

/*
 * What WORD points to, for a signature: 1 with *MODULE (the file mapped
 * there, owned by the namer until the next call) and SYM (LEN bytes: the
 * symbol covering it, "name" or "name+0xOFF"; "" when none does) when it is
 * in a file mapping; 0 when not.
 */
typedef int (*leaks_namer)(void *arg, uint64_t word, char *sym, size_t len, const char **module);

/* Groups of context 0 listed, the most lost first. */
#define LEAKS_GROUPS_MAX 20

/*
 * Context 0 of DOC (blocks from before the attach, no callstack), when
 * listed, sub-grouped: its lost blocks by size and by what their first word
 * points to, named by NAME (a C++ object's vtable names its class, as chap
 * does; a struct's ops table its type). "groups" in its JSON, lines under
 * it in the text.
 */
void leaks_doc_groups(cJSON *doc, const struct inj_leaks *l, leaks_namer name, void *arg);

/* The document as text. */
void leaks_doc_print(FILE *out, const cJSON *doc);

#endif
