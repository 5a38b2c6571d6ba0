/*
 * The console's leaks command (docs/user-guide.md, "Leak verdicts"):
 *
 *     leaks [-c N] [--json] [-o FILE] [--kind definite|indirect|possible|reachable|all] [--raw]
 *
 * The process is stopped for the scan (inject/leaks/scan.h) and let go;
 * then the verdicts are summed per context and shown with the contexts'
 * callstacks, which the agent's report gives (decoded by memtrace-server
 * when linked). Which contexts: by default those holding lost blocks
 * (definitely, indirectly or possibly), ranked by definitely lost bytes,
 * then indirectly, then possibly lost; with --kind K, those holding blocks
 * of kind K, ranked by K's bytes (all: every context, ranked as the
 * default). Context 0 holds the blocks from before
 * the attach (no callstack).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "console/console.h"
#include "injector/loader.h"
#include "leaks/scan.h"
#include "log.h"
#include "report.h"
#include "util.h"

struct agg {
	uint32_t ctx;
	uint64_t blocks[LEAK_NVERDICTS], bytes[LEAK_NVERDICTS];
};

/* --kind all: every context, ranked as the default. */
#define KIND_ALL INJ_CONSOLE_KIND_ALL

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
	if (kind == KIND_ALL)
		return 1;
	if (kind >= 0)
		return a->blocks[kind] > 0;
	return a->blocks[LEAK_DEFINITE] || a->blocks[LEAK_INDIRECT] || a->blocks[LEAK_POSSIBLE];
}

/* The public document (docs/protocol.md, "leaks"). */
static cJSON *leaks_doc(const struct inj_leaks *l, const cJSON *rep, long count, int kind)
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

static void print_leaks(FILE *out, const cJSON *doc)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "summary");
	const cJSON *scan = cJSON_GetObjectItemCaseSensitive(doc, "scan");
	const cJSON *c;
	char h1[32], h2[32];

	fprintf(out, "== memtrace leaks: pid %.0f, %s\n", inj_json_num(doc, "pid", 0),
		inj_json_str(doc, "program", "?"));
	fprintf(out, "   %.0f blocks judged; %s of roots and %s of blocks read; the process was stopped %.1f ms\n",
		inj_json_num(scan, "blocks", 0), human_size(h1, sizeof(h1), (uint64_t)inj_json_num(scan, "root_bytes", 0)),
		human_size(h2, sizeof(h2), (uint64_t)inj_json_num(scan, "block_bytes", 0)), inj_json_num(scan, "stopped_ms", 0));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(scan, "before_attach")))
		fputs("   blocks allocated before recording began (the attach) are judged too: context 0\n", out);
	else
		fprintf(out, "   %s\n", inj_json_str(scan, "note", "only blocks allocated since the attach are judged"));
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
		inj_report_print_frames(out, c);
	}
	if (!cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "contexts")))
		fputs("\nno context holds blocks of the kinds asked for\n", out);
	fflush(out);
}

int inj_console_leak_kind(const char *s)
{
	static const char *const names[LEAK_NVERDICTS] = { "reachable", "possible", "indirect", "definite" };

	for (int k = 0; k < LEAK_NVERDICTS; k++)
		if (!strcmp(s, names[k]))
			return k;
	return !strcmp(s, "all") ? KIND_ALL : -2;
}

int inj_console_leaks(struct inj_console *con, int argc, char **argv)
{
	struct inj_report_opts o = INJ_REPORT_OPTS;
	const char *v;
	int kind = -1, ret;
	struct inj_leaks l;
	cJSON *rep, *doc;

	for (int i = 1; i < argc; i++) {
		int r = inj_console_report_opt("leaks", argc, argv, &i, &o);

		if (r < 0)
			return -1;
		if (r)
			continue;
		if (!strcmp(argv[i], "--kind")) {
			if (!(v = inj_console_optval("leaks", argc, argv, &i)))
				return -1;
			if ((kind = inj_console_leak_kind(v)) == -2)
				return log_err("leaks: --kind is definite, indirect, possible, reachable or all, "
					       "not '%s'", v);
		} else {
			return inj_console_bad_option("leaks", argv[i]);
		}
	}
	if (inj_console_need_session(con, "leaks") < 0)
		return -1;
	if (inj_leaks_scan(con->pid, NULL, &l) < 0)
		return -1;
	/* The callstacks: every context's, as the agent has them now (contexts are never
	 * forgotten while attached, so every one the scan saw is there). */
	rep = inj_console_fetch_report(con, "leaks", 0, o.raw);
	if (!rep) {
		inj_leaks_free(&l);
		return -1;
	}
	doc = leaks_doc(&l, rep, o.count, kind);
	inj_leaks_free(&l);
	cJSON_Delete(rep);
	ret = inj_console_output(con, "leaks", o.file, o.json, doc, print_leaks);
	cJSON_Delete(doc);
	return ret;
}

/* memtrace --leaks, at the program's end: the same document and text as leaks. */
cJSON *inj_console_leaks_doc(const struct inj_leaks *l, const cJSON *rep, long count, int kind)
{
	return leaks_doc(l, rep, count, kind);
}

void inj_console_leaks_print(FILE *out, const cJSON *doc)
{
	print_leaks(out, doc);
}

/* What mapping of process PID holds ADDR, for the user: a path, [stack], "anonymous". */
static const char *mapping_name(const struct inj_maps *m, uint64_t addr)
{
	for (size_t i = 0; m && i < m->n; i++)
		if (addr >= m->v[i].start && addr < m->v[i].end)
			return m->v[i].path[0] ? m->v[i].path : "anonymous memory";
	return "no mapping now";
}

static void print_holder(FILE *out, const struct inj_leaks *l, const struct inj_leaks_holder *h,
			 const struct inj_maps *maps, uint64_t addr)
{
	if (h->tid) {
		fprintf(out, "  register %" PRIu64 " of thread %d", h->where, h->tid);
	} else if (h->block >= 0) {
		const struct leak_block *b = &l->blocks[h->block];

		fprintf(out, "  block 0x%" PRIx64 " (%" PRIu64 " bytes, context %u, %s) at +%" PRIu64, b->addr,
			b->size, b->ctx, leak_verdict_text[b->verdict], h->where - b->addr);
	} else {
		fprintf(out, "  0x%" PRIx64 " in %s", h->where, mapping_name(maps, h->where));
	}
	fprintf(out, ": 0x%" PRIx64 "%s\n", h->value, h->value == addr ? "" : " (inside)");
}

int inj_console_who_points(struct inj_console *con, int argc, char **argv)
{
	struct inj_leaks_who who = { .len = 0 };
	const struct leak_block *in = NULL;
	struct inj_maps maps, *mp = &maps;
	struct inj_leaks l;
	long len;

	if (argc < 2 || argc > 3)
		return log_err("who-points: which address? who-points ADDR [LEN]");
	if (parse_u64(argv[1], &who.addr) < 0)
		return log_err("who-points: '%s' is not an address (0x1a2b or decimal)", argv[1]);
	if (argc == 3 && parse_long(argv[2], 1, 1L << 30, &len) < 0)
		return log_err("who-points: LEN is a number of bytes from 1, not '%s'", argv[2]);
	if (argc == 3)
		who.len = (uint64_t)len;
	if (inj_console_need_session(con, "who-points") < 0)
		return -1;
	if (inj_leaks_scan(con->pid, &who, &l) < 0)
		return -1;
	if (inj_maps_read(con->pid, &maps) < 0)
		mp = NULL;
	for (size_t i = 0; i < l.n; i++)
		if (who.addr >= l.blocks[i].addr && who.addr < l.blocks[i].addr + (l.blocks[i].size ? l.blocks[i].size : 1))
			in = &l.blocks[i];
	if (in)
		fprintf(con->out, "0x%" PRIx64 " is in block 0x%" PRIx64 " of %" PRIu64 " bytes, context %u: %s\n",
			who.addr, in->addr, in->size, in->ctx, leak_verdict_text[in->verdict]);
	else
		fprintf(con->out, "0x%" PRIx64 " is in no live block\n", who.addr);
	fprintf(con->out, "%zu pointer%s to 0x%" PRIx64 "%s:\n", l.nholders, l.nholders == 1 ? "" : "s", who.addr,
		who.len > 1 || (!who.len && in) ? " or into what follows it" : "");
	for (size_t i = 0; i < l.nholders; i++)
		print_holder(con->out, &l, &l.holders[i], mp, who.addr);
	fflush(con->out);
	if (mp)
		inj_maps_free(mp);
	inj_leaks_free(&l);
	return 0;
}

/* LOST: definitely or indirectly lost; else KIND exactly. */
static int wanted(const struct leak_block *b, int kind)
{
	if (kind == INJ_CONSOLE_KIND_LOST)
		return b->verdict == LEAK_DEFINITE || b->verdict == LEAK_INDIRECT;
	return b->verdict == kind;
}

int inj_console_dump_kind(struct inj_console *con, long id, int kind, long n, long bytes)
{
	unsigned char *buf = xmalloc((size_t)bytes);
	struct inj_leaks l;
	long shown = 0, found = 0;

	if (inj_console_need_session(con, "dump") < 0 || inj_leaks_scan(con->pid, NULL, &l) < 0) {
		free(buf);
		return -1;
	}
	for (size_t i = 0; i < l.n; i++)
		found += l.blocks[i].ctx == (uint32_t)id && !l.blocks[i].internal && wanted(&l.blocks[i], kind);
	fprintf(con->out, "context %ld: %ld %s blocks\n", id, found,
		kind == INJ_CONSOLE_KIND_LOST ? "lost (definitely or indirectly)" : leak_verdict_text[kind]);
	/* Read now that the process runs again: a lost block has no owner to free it. */
	for (size_t i = 0; i < l.n && shown < n; i++) {
		const struct leak_block *b = &l.blocks[i];
		size_t len = b->size < (uint64_t)bytes ? (size_t)b->size : (size_t)bytes;
		struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)b->addr, len };

		if (b->ctx != (uint32_t)id || b->internal || !wanted(b, kind))
			continue;
		fprintf(con->out, "block 0x%" PRIx64 ", %" PRIu64 " bytes, %s:\n", b->addr, b->size,
			leak_verdict_text[b->verdict]);
		if (process_vm_readv(con->pid, &local, 1, &remote, 1, 0) != (ssize_t)len)
			fprintf(con->out, "  (not readable: %s)\n", strerror(errno));
		else
			hexdump(con->out, buf, len, "  ");
		shown++;
	}
	fflush(con->out);
	inj_leaks_free(&l);
	free(buf);
	return 0;
}
