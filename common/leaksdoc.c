/*
 * The leaks document (docs/protocol.md, "Leaks"): verdicts summed per
 * context, the contexts ranked and given their callstacks from a report,
 * as JSON and as text. memtrace's console builds it from a live scan,
 * memtrace-server from a core: the same document, the same text.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "leaksdoc.h"
#include "report.h"
#include "util.h"

struct agg {
	uint32_t ctx;
	uint64_t blocks[LEAK_NVERDICTS], bytes[LEAK_NVERDICTS];
};

/* The order of the contexts shown: by the kinds' bytes, most first. */
struct rank {
	int kind;		/* <0: definite, then indirect, then possible; else that kind only */
};

static const struct rank *ranking;

static int agg_cmp(const void *a, const void *b)
{
	const struct agg *x = a, *y = b;
	static const int lost[] = { LEAK_DEFINITE, LEAK_INDIRECT, LEAK_POSSIBLE };

	if (ranking->kind >= 0) {
		if (x->bytes[ranking->kind] != y->bytes[ranking->kind])
			return x->bytes[ranking->kind] > y->bytes[ranking->kind] ? -1 : 1;
	} else {
		for (int i = 0; i < 3; i++)
			if (x->bytes[lost[i]] != y->bytes[lost[i]])
				return x->bytes[lost[i]] > y->bytes[lost[i]] ? -1 : 1;
	}
	return x->ctx < y->ctx ? -1 : x->ctx > y->ctx;
}

static int by_ctx(const void *a, const void *b)
{
	const struct leak_block *x = *(const struct leak_block *const *)a, *y = *(const struct leak_block *const *)b;

	return x->ctx < y->ctx ? -1 : x->ctx > y->ctx;
}

/* The verdicts summed per context (internal blocks left out), into *OUT; their count. */
static size_t aggregate(const struct inj_leaks *l, struct agg **out, struct agg *total)
{
	const struct leak_block **v = xmalloc((l->n + 1) * sizeof(*v));
	struct agg *a;
	size_t n = 0, k = 0, nctx = 0;

	memset(total, 0, sizeof(*total));
	for (size_t i = 0; i < l->n; i++)
		if (!l->blocks[i].internal)
			v[k++] = &l->blocks[i];
	qsort(v, k, sizeof(*v), by_ctx);
	/* One entry per context, not per block. */
	for (size_t i = 0; i < k; i++)
		nctx += !i || v[i]->ctx != v[i - 1]->ctx;
	a = xcalloc(nctx + 1, sizeof(*a));
	for (size_t i = 0; i < k; i++) {
		const struct leak_block *b = v[i];

		if (!n || a[n - 1].ctx != b->ctx)
			a[n++].ctx = b->ctx;
		a[n - 1].blocks[b->verdict]++;
		a[n - 1].bytes[b->verdict] += b->size;
		total->blocks[b->verdict]++;
		total->bytes[b->verdict] += b->size;
	}
	free(v);
	*out = a;
	return n;
}

static void add_counts(cJSON *obj, const struct agg *a)
{
	for (int k = 0; k < LEAK_NVERDICTS; k++) {
		cJSON *c = cJSON_AddObjectToObject(obj, leak_verdict_key[k]);

		cJSON_AddNumberToObject(c, "blocks", (double)a->blocks[k]);
		cJSON_AddNumberToObject(c, "bytes", (double)a->bytes[k]);
	}
}

/* The report's contexts by id, for the callstacks (the report may hold thousands). */
struct by_id {
	const cJSON **v;
	size_t n;
};

static int ctx_id_cmp(const void *a, const void *b)
{
	double x = inj_json_num(*(const cJSON *const *)a, "id", -1), y = inj_json_num(*(const cJSON *const *)b, "id", -1);

	return x < y ? -1 : x > y;
}

static void index_contexts(const cJSON *rep, struct by_id *ix)
{
	const cJSON *all = cJSON_GetObjectItemCaseSensitive(rep, "contexts"), *c;

	ix->n = 0;
	ix->v = xmalloc(((size_t)cJSON_GetArraySize(all) + 1) * sizeof(*ix->v));
	cJSON_ArrayForEach(c, all)
		ix->v[ix->n++] = c;
	if (ix->n)
		qsort(ix->v, ix->n, sizeof(*ix->v), ctx_id_cmp);
}

static const cJSON *report_ctx(const struct by_id *ix, uint32_t id)
{
	size_t a = 0, b = ix->n;

	while (a < b) {
		size_t mid = a + (b - a) / 2;
		double v = inj_json_num(ix->v[mid], "id", -1);

		if (v == id)
			return ix->v[mid];
		if (v < id)
			a = mid + 1;
		else
			b = mid;
	}
	return NULL;
}

static int shown(const struct agg *a, int kind)
{
	if (kind == LEAKS_KIND_ALL)
		return 1;
	if (kind >= 0)
		return a->blocks[kind] > 0;
	return a->blocks[LEAK_DEFINITE] || a->blocks[LEAK_INDIRECT] || a->blocks[LEAK_POSSIBLE];
}

/* The public document (docs/protocol.md, "leaks"). */
cJSON *leaks_doc_new(const struct inj_leaks *l, const cJSON *rep, long count, int kind)
{
	static const char *const top[] = { "pid", "ns_pid", "program", "since", "unwinder", "depth" };
	struct agg total, *a;
	size_t n = aggregate(l, &a, &total), listed = 0;
	struct rank r = { kind };
	struct by_id ix;
	cJSON *doc = cJSON_CreateObject(), *scan, *ctxs;

	cJSON_AddNumberToObject(doc, "version", 1);
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(rep, top[i]);

		if (v)
			cJSON_AddItemToObject(doc, top[i], cJSON_Duplicate(v, 1));
	}
	add_counts(cJSON_AddObjectToObject(doc, "summary"), &total);
	scan = cJSON_AddObjectToObject(doc, "scan");
	cJSON_AddNumberToObject(scan, "stopped_ms", (double)l->stopped_ns / 1e6);
	cJSON_AddBoolToObject(scan, "snapshot", l->snapshot);
	if (l->snapshot_note[0])
		cJSON_AddStringToObject(scan, "snapshot_note", l->snapshot_note);
	cJSON_AddNumberToObject(scan, "threads", (double)l->threads);
	cJSON_AddNumberToObject(scan, "threads_running", (double)l->threads_running);
	cJSON_AddNumberToObject(scan, "blocks", (double)l->n);
	cJSON_AddNumberToObject(scan, "root_bytes", (double)l->st.root_bytes);
	cJSON_AddNumberToObject(scan, "block_bytes", (double)l->st.block_bytes);
	cJSON_AddNumberToObject(scan, "unreadable_bytes", (double)l->st.unreadable);
	cJSON_AddNumberToObject(scan, "scan_memory_bytes", (double)l->st.memory);
	cJSON_AddBoolToObject(scan, "before_attach", l->before_attach);
	if (l->heap_note[0])
		cJSON_AddStringToObject(scan, "note", l->heap_note);
	if (l->kind_allocator) {
		char why[256];

		snprintf(why, sizeof(why), "the allocator is %s, whose thread caches and bookkeeping keep pointers "
			 "to blocks it handed out: a lost block may be judged still reachable", l->kind_allocator);
		cJSON_AddStringToObject(scan, "allocator", l->kind_allocator);
		cJSON_AddStringToObject(scan, "allocator_warning", why);
	}
	if (l->own_overflow)
		cJSON_AddStringToObject(scan, "warning", "the agent could not list all its own memory: "
				       "some lost blocks may show as reachable");
	ranking = &r;
	qsort(a, n, sizeof(*a), agg_cmp);
	index_contexts(rep, &ix);
	ctxs = cJSON_AddArrayToObject(doc, "contexts");
	for (size_t i = 0; i < n && (!count || (long)listed < count); i++) {
		const cJSON *rc;
		cJSON *c;

		if (!shown(&a[i], kind))
			continue;
		c = cJSON_CreateObject();
		cJSON_AddNumberToObject(c, "id", a[i].ctx);
		rc = report_ctx(&ix, a[i].ctx);
		if (rc && cJSON_GetObjectItemCaseSensitive(rc, "frames"))
			cJSON_AddItemToObject(c, "frames",
					      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rc, "frames"), 1));
		else
			cJSON_AddArrayToObject(c, "frames");
		if (!a[i].ctx)
			cJSON_AddBoolToObject(c, "before_attach", 1);
		add_counts(c, &a[i]);
		cJSON_AddItemToArray(ctxs, c);
		listed++;
	}
	free(ix.v);
	free(a);
	return doc;
}

static void print_counts(FILE *out, const cJSON *obj, const char *sep)
{
	int first = 1;

	for (int k = LEAK_NVERDICTS - 1; k >= 0; k--) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(obj, leak_verdict_key[k]);

		if (inj_json_num(c, "blocks", 0) <= 0)
			continue;
		fprintf(out, "%s%s %.0f bytes in %.0f blocks", first ? "" : sep, leak_verdict_text[k],
			inj_json_num(c, "bytes", 0), inj_json_num(c, "blocks", 0));
		first = 0;
	}
	if (first)
		fputs("nothing", out);
}

/* ---------------------------------------------------------------- context 0's groups */

/* One lost block from before the attach, by size and signature. */
struct sig_rec {
	uint64_t size, bytes;
	char *symbol, *module;	/* NULL: the first word is in no module */
	int verdict;
};

/* A group of them. */
struct sig_group {
	struct agg a;
	const struct sig_rec *r;	/* its first record: size and signature */
};

static int str_cmp(const char *x, const char *y)
{
	return !x || !y ? (x != NULL) - (y != NULL) : strcmp(x, y);
}

static int rec_cmp(const void *a, const void *b)
{
	const struct sig_rec *x = a, *y = b;
	int c;

	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	c = str_cmp(x->symbol, y->symbol);
	return c ? c : str_cmp(x->module, y->module);
}

static int group_cmp(const void *a, const void *b)
{
	const struct sig_group *x = a, *y = b;
	int c = agg_cmp(&x->a, &y->a);

	return c ? c : rec_cmp(x->r, y->r);
}

static void add_group(cJSON *arr, const struct sig_group *g)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "size", (double)g->r->size);
	if (g->r->module) {
		cJSON *sig = cJSON_AddObjectToObject(o, "signature");

		if (g->r->symbol)
			cJSON_AddStringToObject(sig, "symbol", g->r->symbol);
		else
			cJSON_AddNullToObject(sig, "symbol");
		cJSON_AddStringToObject(sig, "module", g->r->module);
	} else {
		cJSON_AddNullToObject(o, "signature");
	}
	add_counts(o, &g->a);
	cJSON_AddItemToArray(arr, o);
}

void leaks_doc_groups(cJSON *doc, const struct inj_leaks *l, leaks_namer name, void *arg)
{
	cJSON *c0 = NULL, *c, *arr;
	struct sig_rec *r;
	struct sig_group *g;
	struct rank rk = { -1 };
	size_t ng = 0;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "contexts"))
		if (inj_json_num(c, "id", -1) == 0)
			c0 = c;
	if (!c0 || !l->nfirsts)
		return;
	r = xcalloc(l->nfirsts, sizeof(*r));
	for (size_t i = 0; i < l->nfirsts; i++) {
		const struct leak_block *b = &l->blocks[l->firsts[i].block];
		char sym[256];
		const char *mod = NULL;

		r[i] = (struct sig_rec){ .size = b->size, .bytes = b->size, .verdict = b->verdict };
		sym[0] = '\0';
		if (name(arg, l->firsts[i].word, sym, sizeof(sym), &mod) == 1 && mod) {
			r[i].module = xstrdup(mod);
			r[i].symbol = sym[0] ? xstrdup(sym) : NULL;
		}
	}
	qsort(r, l->nfirsts, sizeof(*r), rec_cmp);
	g = xcalloc(l->nfirsts, sizeof(*g));
	for (size_t i = 0; i < l->nfirsts; i++) {
		if (!ng || rec_cmp(g[ng - 1].r, &r[i]))
			g[ng++].r = &r[i];
		g[ng - 1].a.blocks[r[i].verdict]++;
		g[ng - 1].a.bytes[r[i].verdict] += r[i].bytes;
	}
	ranking = &rk;
	qsort(g, ng, sizeof(*g), group_cmp);
	arr = cJSON_AddArrayToObject(c0, "groups");
	for (size_t i = 0; i < ng && i < LEAKS_GROUPS_MAX; i++)
		add_group(arr, &g[i]);
	if (ng > LEAKS_GROUPS_MAX)
		cJSON_AddNumberToObject(c0, "groups_more", (double)(ng - LEAKS_GROUPS_MAX));
	for (size_t i = 0; i < l->nfirsts; i++) {
		free(r[i].symbol);
		free(r[i].module);
	}
	free(g);
	free(r);
}

static void print_groups(FILE *out, const cJSON *c)
{
	const cJSON *g;

	cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(c, "groups")) {
		const cJSON *sig = cJSON_GetObjectItemCaseSensitive(g, "signature");

		fprintf(out, "    %.0f bytes each", inj_json_num(g, "size", 0));
		if (cJSON_IsObject(sig))
			fprintf(out, ", first word -> %s (%s)", inj_json_str(sig, "symbol", "no symbol"),
				inj_json_str(sig, "module", "?"));
		fputs(": ", out);
		print_counts(out, g, ", ");
		fputc('\n', out);
	}
	if (inj_json_num(c, "groups_more", 0) > 0)
		fprintf(out, "    and %.0f more groups (--json lists the first %d)\n", inj_json_num(c, "groups_more", 0),
			LEAKS_GROUPS_MAX);
}

void leaks_doc_print(FILE *out, const cJSON *doc)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "summary");
	const cJSON *scan = cJSON_GetObjectItemCaseSensitive(doc, "scan");
	const cJSON *c;
	char h1[32], h2[32];

	fprintf(out, "== memtrace leaks: pid %.0f, %s\n", inj_json_num(doc, "pid", 0),
		inj_json_str(doc, "program", "?"));
	fprintf(out, "   %.0f blocks judged; %s of roots and %s of blocks read; ", inj_json_num(scan, "blocks", 0),
		human_size(h1, sizeof(h1), (uint64_t)inj_json_num(scan, "root_bytes", 0)),
		human_size(h2, sizeof(h2), (uint64_t)inj_json_num(scan, "block_bytes", 0)));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(scan, "core")))
		fputs("from a core\n", out);
	else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(scan, "snapshot")))
		fprintf(out, "the process was stopped %.1f ms, then a copy of it judged\n",
			inj_json_num(scan, "stopped_ms", 0));
	else
		fprintf(out, "the process was stopped %.1f ms\n", inj_json_num(scan, "stopped_ms", 0));
	if (inj_json_str(scan, "snapshot_note", NULL))
		fprintf(out, "   judged stopped: %s\n", inj_json_str(scan, "snapshot_note", ""));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(scan, "before_attach")))
		fprintf(out, "   blocks allocated before recording began (%s) are judged too: context 0\n",
			strcmp(inj_json_str(doc, "since", "attach"), "attach") ? "the loader's, before the agent's start"
										: "the attach");
	else
		fprintf(out, "   %s\n", inj_json_str(scan, "note", "only blocks allocated since the attach are judged"));
	if (inj_json_str(scan, "allocator_warning", NULL))
		fprintf(out, "   warning: %s\n", inj_json_str(scan, "allocator_warning", ""));
	if (inj_json_str(scan, "warning", NULL))
		fprintf(out, "   warning: %s\n", inj_json_str(scan, "warning", ""));
	for (int k = LEAK_NVERDICTS - 1; k >= 0; k--) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(s, leak_verdict_key[k]);

		fprintf(out, "%-16s %.0f bytes in %.0f blocks\n", leak_verdict_text[k], inj_json_num(v, "bytes", 0),
			inj_json_num(v, "blocks", 0));
	}
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "contexts")) {
		fprintf(out, "\ncontext %.0f%s: ", inj_json_num(c, "id", 0),
			inj_json_num(c, "id", 0) == 0 ? " (allocated before recording began: no callstack)" : "");
		print_counts(out, c, ", ");
		fputc('\n', out);
		print_groups(out, c);
		inj_report_print_frames(out, c);
	}
	if (!cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "contexts")))
		fputs("\nno context holds blocks of the kinds asked for\n", out);
	fflush(out);
}

int leaks_kind_wanted(const struct leak_block *b, int kind)
{
	if (kind == LEAKS_KIND_LOST)
		return b->verdict == LEAK_DEFINITE || b->verdict == LEAK_INDIRECT;
	return b->verdict == kind;
}

const char *leaks_kind_text(int kind)
{
	return kind == LEAKS_KIND_LOST ? "lost (definitely or indirectly)" : leak_verdict_text[kind];
}

int leaks_kind_parse(const char *s)
{
	static const char *const names[LEAK_NVERDICTS] = { "reachable", "possible", "indirect", "definite" };

	for (int k = 0; k < LEAK_NVERDICTS; k++)
		if (!strcmp(s, names[k]))
			return k;
	return !strcmp(s, "all") ? LEAKS_KIND_ALL : -2;
}
