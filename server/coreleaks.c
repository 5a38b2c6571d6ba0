/*
 * leaks on a core (core.h, srv_core_leaks): the core as an image
 * (coreimage.h), judged by common/leakjudge.c as memtrace judges a live
 * process, the contexts' return addresses read from the agent's table in
 * the core and decoded with the host's symbols (decode.h), and the same
 * document and text as the console's `leaks` (common/leaksdoc.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anchortab.h"
#include "annotate.h"
#include "core.h"
#include "coreimage.h"
#include "gdbmi.h"
#include "leaksdoc.h"
#include "log.h"
#include "report.h"
#include "util.h"

static int by_ctx(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* One frame as a report has it (docs/protocol.md): addr, module, offset, build_id. */
static cJSON *frame(struct srv_coreimage *ci, uint64_t pc)
{
	struct srv_coreimage_where w;
	cJSON *f = cJSON_CreateObject();
	char hex[24];

	srv_coreimage_where(ci, pc, &w);
	snprintf(hex, sizeof(hex), "0x%" PRIx64, pc);
	cJSON_AddStringToObject(f, "addr", hex);
	if (w.module) {
		cJSON_AddStringToObject(f, "module", w.module);
		snprintf(hex, sizeof(hex), "0x%" PRIx64, w.offset);
	} else {
		cJSON_AddNullToObject(f, "module");
	}
	cJSON_AddStringToObject(f, "offset", hex);
	if (w.build_id)
		cJSON_AddStringToObject(f, "build_id", w.build_id);
	return f;
}

/*
 * A report of the core's contexts that hold blocks (their frames, raw), as
 * leaksdoc.h takes it. NULL after logging.
 */
static cJSON *contexts_report(struct srv_coreimage *ci, const struct inj_leaks *l, const char *exe)
{
	struct leak_image *img = srv_coreimage_image(ci);
	struct anchortab tab = { .m = img->mem, .where = img->where, .anchor = img->anchor };
	uint32_t *ids = xmalloc((l->n + 1) * sizeof(*ids));
	uint64_t *pcs = xmalloc(ANCHORTAB_MAX_DEPTH * sizeof(*pcs));
	cJSON *rep = cJSON_CreateObject(), *ctxs;
	size_t n = 0;

	cJSON_AddNumberToObject(rep, "version", 1);
	cJSON_AddNumberToObject(rep, "pid", srv_coreimage_pid(ci));
	cJSON_AddStringToObject(rep, "program", exe);
	ctxs = cJSON_AddArrayToObject(rep, "contexts");
	for (size_t i = 0; i < l->n; i++)
		if (l->blocks[i].ctx && !l->blocks[i].internal)
			ids[n++] = l->blocks[i].ctx;
	qsort(ids, n, sizeof(*ids), by_ctx);
	if (anchortab_read(&tab) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		cJSON *c, *frames;
		unsigned depth = 0;

		if (i && ids[i] == ids[i - 1])
			continue;
		if (anchortab_ctx_pcs(&tab, ids[i], pcs, &depth) < 0)
			goto fail;
		c = cJSON_CreateObject();
		cJSON_AddNumberToObject(c, "id", ids[i]);
		frames = cJSON_AddArrayToObject(c, "frames");
		for (unsigned k = 0; k < depth; k++)
			cJSON_AddItemToArray(frames, frame(ci, pcs[k]));
		cJSON_AddItemToArray(ctxs, c);
	}
	free(ids);
	free(pcs);
	return rep;
fail:
	free(ids);
	free(pcs);
	cJSON_Delete(rep);
	return NULL;
}

/* What a first word points to in the core (leaksdoc.h's namer): its module by the core, its symbol by gdb. */
struct core_namer {
	struct srv_coreimage *ci;
	struct gdbmi_session *gdb;
	uint64_t word[16];		/* the last words named, and their names: a group shares one */
	char name[16][256];
	unsigned next;
};

/* gdb's "NAME + OFF in section S[ of FILE]" as NAME+0xOFF into SYM; "" for "No symbol matches". */
static void gdb_symbol(struct gdbmi_session *gdb, uint64_t word, char *sym, size_t len)
{
	char cmd[64], *out = NULL, *in;
	unsigned long long off = 0;

	sym[0] = '\0';
	snprintf(cmd, sizeof(cmd), "info symbol 0x%" PRIx64, word);
	if (gdbmi_console(gdb, cmd, &out, NULL) != GDBMI_OK || !out || !(in = strstr(out, " in section "))) {
		free(out);
		return;
	}
	*in = '\0';
	if ((in = strstr(out, " + ")) != NULL) {
		off = strtoull(in + 3, NULL, 10);
		*in = '\0';
	}
	snprintf(sym, len, off ? "%s+0x%llx" : "%s", out, off);
	free(out);
}

static int core_name(void *arg, uint64_t word, char *sym, size_t len, const char **module)
{
	struct core_namer *n = arg;
	struct srv_coreimage_where w;

	srv_coreimage_where(n->ci, word, &w);
	if (!w.module)
		return 0;
	*module = w.module;
	for (unsigned i = 0; i < 16; i++)
		if (n->word[i] == word && word) {
			snprintf(sym, len, "%s", n->name[i]);
			return 1;
		}
	gdb_symbol(n->gdb, word, sym, len);
	n->word[n->next % 16] = word;
	snprintf(n->name[n->next++ % 16], sizeof(n->name[0]), "%s", sym);
	return 1;
}

/* jemalloc, whose own memory keeps pointers to the blocks it handed out, when gdb finds its mallctl; else NULL. */
static const char *kind_allocator(struct gdbmi_session *gdb)
{
	static const char *const probes[] = { "(unsigned long long) &mallctl", "(unsigned long long) &je_mallctl" };

	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		char *v = NULL;
		int found = gdbmi_evaluate(gdb, probes[i], &v) == GDBMI_OK;

		free(v);
		if (found)
			return "jemalloc";
	}
	return NULL;
}

/* The verdicts of the core, into L. 0, or -1 logged. */
static int judge(struct srv_coreimage *ci, struct inj_leaks *l)
{
	struct leak_judge *j = leak_judge_new(srv_coreimage_image(ci), l);
	const struct leak_thread *t;
	size_t nt;
	int r;

	if (!j)
		return -1;
	r = leak_judge_blocks(j, 0);
	if (r == -2)
		log_info("leaks: %s", l->heap_note);
	l->before_attach = r == 1;
	t = srv_coreimage_threads(ci, &nt);
	r = r == -1 ? -1 : leak_judge_run(j, t, nt, NULL);
	leak_judge_free(j);
	return r;
}

/* LEN bytes at ADDR of the core's memory. 0, or -1 when it does not hold them. */
static int core_read_block(struct srv_coreimage *ci, uint64_t addr, void *buf, size_t len)
{
	const struct memsrc *m = srv_coreimage_image(ci)->mem;

	return m->read(m->arg, addr, buf, len);
}

int srv_core_inspect_kind(struct srv_core *c, FILE *out, unsigned long ctx, int kind, long n, const char *type,
			  size_t bytes)
{
	const char *file;
	int fd = srv_core_fd(c, &file), ret = 0;
	struct srv_coreimage *ci;
	struct inj_leaks l = { 0 };
	long found = 0, shown = 0;
	unsigned char *buf = xmalloc(bytes + 1);
	size_t len;

	if (fd < 0) {
		free(buf);
		return log_err("inspect --lost: not on a live gdb session: use dump --lost on the device");
	}
	ci = srv_coreimage_open(fd, file);
	if (ci)
		srv_coreimage_image(ci)->anchor = srv_core_anchor(c);
	if (!ci || judge(ci, &l) < 0) {
		srv_coreimage_close(ci);
		free(buf);
		return -1;
	}
	for (size_t i = 0; i < l.n; i++)
		found += l.blocks[i].ctx == ctx && !l.blocks[i].internal && leaks_kind_wanted(&l.blocks[i], kind);
	fprintf(out, "== context %lu: %ld %s blocks in the core\n", ctx, found,
		leaks_kind_text(kind));
	for (size_t i = 0; i < l.n && shown < n && ret == 0; i++) {
		const struct leak_block *b = &l.blocks[i];
		char addr[24];

		if (b->ctx != ctx || b->internal || !leaks_kind_wanted(b, kind))
			continue;
		fprintf(out, "block 0x%" PRIx64 ", %" PRIu64 " bytes, %s:\n", b->addr, b->size,
			leak_verdict_text[b->verdict]);
		shown++;
		if (type) {
			/* gdb's value of it: the gate checks TYPE (gdbcmd.h) */
			snprintf(addr, sizeof(addr), "0x%" PRIx64, b->addr);
			ret = srv_core_inspect(c, out, addr, type, bytes);
			continue;
		}
		/* Its bytes, read from the core as the judge read them */
		len = b->size < bytes ? (size_t)b->size : bytes;
		if (core_read_block(ci, b->addr, buf, len) < 0)
			fprintf(out, "  (not in the core)\n");
		else
			hexdump(out, buf, len, "  ");
	}
	inj_leaks_free(&l);
	srv_coreimage_close(ci);
	free(buf);
	return ret;
}

int srv_core_leaks(struct srv_core *c, FILE *out, const struct srv_core_leaks_options *o)
{
	const char *file;
	int fd = srv_core_fd(c, &file);
	struct srv_decoder *d = NULL;
	struct srv_coreimage *ci;
	struct inj_leaks l = { 0 };
	cJSON *rep = NULL, *doc;
	char err[256];
	int ret = -1;

	if (fd < 0)
		return log_err("leaks: not on a live gdb session: judge the live process with leaks on the device");
	ci = srv_coreimage_open(fd, file);
	if (!ci)
		return -1;
	srv_coreimage_image(ci)->anchor = srv_core_anchor(c);
	if (judge(ci, &l) < 0 || !(rep = contexts_report(ci, &l, srv_core_exe(c))))
		goto out;
	if (!l.before_attach)
		l.kind_allocator = kind_allocator(srv_core_gdb(c));
	d = srv_decoder_new((const char *const *)o->sysroots, o->n_sysroots);
	if (!d)
		goto out;
	if (srv_report_decode(d, rep, err, sizeof(err)) != SRV_REPORT_OK) {
		log_err("leaks: decoding the core's callstacks: %s", err);
		goto out;
	}
	doc = leaks_doc_new(&l, rep, o->count, o->kind);
	{
		struct core_namer n = { .ci = ci, .gdb = srv_core_gdb(c) };

		leaks_doc_groups(doc, &l, core_name, &n);
	}
	cJSON_AddBoolToObject(cJSON_GetObjectItemCaseSensitive(doc, "scan"), "core", 1);
	if (o->json) {
		ret = inj_report_print_json(out, doc);
	} else {
		leaks_doc_print(out, doc);
		ret = 0;
	}
	cJSON_Delete(doc);
out:
	srv_decoder_free(d);
	cJSON_Delete(rep);
	inj_leaks_free(&l);
	srv_coreimage_close(ci);
	return ret;
}
