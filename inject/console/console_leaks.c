/*
 * The console's leaks command (docs/user-guide.md, "Leak verdicts"):
 *
 *     leaks [-c N] [--json] [-o FILE] [--kind definite|indirect|possible|reachable|all] [--raw] [--core]
 *           [--no-fork]
 *
 * The process is stopped while a copy of it is made, and the copy judged
 * (inject/leaks/scan.h); with --no-fork, stopped for the whole scan;
 * then the verdicts are summed per context and shown with the contexts'
 * callstacks, which the agent's report gives (decoded by memtrace-server
 * when linked). Which contexts: by default those holding lost blocks
 * (definitely, indirectly or possibly), ranked by definitely lost bytes,
 * then indirectly, then possibly lost; with --kind K, those holding blocks
 * of kind K, ranked by K's bytes (all: every context, ranked as the
 * default). Context 0 holds the blocks from before
 * the attach (no callstack). With --core, linked, memtrace-server judges
 * the core this console sent last (coredump) instead, and decodes it.
 */
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "console/console.h"
#include "console/console_server.h"
#include "injector/loader.h"
#include "leaks/scan.h"
#include "leaksdoc.h"
#include "link/srvlink.h"
#include "elfsym.h"
#include "log.h"
#include "report.h"
#include "util.h"

/* A core judged on the host: gdb has it open already; the scan takes a second per 100 MB or so. */
#define CORE_LEAKS_MS 300000

/*
 * leaks --core: memtrace-server judges the core this console sent last
 * (coredump) and answers with the document, which is printed here as the
 * console prints its own.
 */
static int leaks_of_core(struct inj_console *con, const struct inj_report_opts *o, int kind)
{
	cJSON *args, *r, *doc = NULL;
	long id;
	int ret = -1;

	if (inj_console_need_link(con, "leaks --core") < 0)
		return -1;
	args = cJSON_CreateObject();
	cJSON_AddNumberToObject(args, "count", (double)o->count);
	cJSON_AddNumberToObject(args, "kind", kind);
	id = inj_link_send(con->link, "leaks", args);
	r = id < 0 ? NULL : inj_link_wait(con->link, id, CORE_LEAKS_MS);
	if (!r)
		return -1;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")))
		log_err("leaks --core: %s", inj_json_str(r, "error", "memtrace-server refused, giving no reason"));
	else if (!(doc = cJSON_Parse(inj_json_str(r, "text", ""))) || !cJSON_IsObject(doc))
		log_err("leaks --core: memtrace-server's answer is not a leaks document");
	else
		ret = inj_console_output(con, "leaks", o->file, o->json, doc, leaks_doc_print);
	cJSON_Delete(doc);
	cJSON_Delete(r);
	return ret;
}

/* What a first word of a block points to in process PID (leaksdoc.h's namer), from its maps and ELF symbols. */
struct live_namer {
	struct inj_console *con;
	struct inj_maps maps;
	const struct inj_map *hit;	/* the mapping of the last word */
	const struct inj_map *last;	/* the module of the last word, and its load bias */
	uint64_t bias;
};

/* A module's load bias: 0 for an executable at its link address, else where offset 0 is mapped. */
static uint64_t load_bias(struct live_namer *n, const struct inj_map *m)
{
	struct inj_module mod;
	struct inj_elf_info info;
	char path[PATH_MAX + 32];

	if (inj_module_of(&n->maps, m, &mod) < 0)
		return m->start - m->offset;
	snprintf(path, sizeof(path), "/proc/%d/root%s", n->con->pid, m->path);
	return inj_elf_info(path, &info) == 0 && info.type == ET_EXEC ? 0 : mod.base;
}

/*
 * A vtable's ELF name as a C++ user reads it: _ZTV7Session "vtable for
 * Session", _ZTVN2ns7SessionE "vtable for ns::Session"; NAME as it is for
 * anything else (templates and the like are left mangled).
 */
static void vtable_name(const char *name, char *out, size_t len)
{
	const char *p = name + 4;
	int nested = 0, n = 0;
	size_t at;

	if (strncmp(name, "_ZTV", 4) || len < 16) {
		snprintf(out, len, "%s", name);
		return;
	}
	if (*p == 'N') {
		nested = 1;
		p++;
	}
	at = (size_t)snprintf(out, len, "vtable for ");
	while (*p >= '1' && *p <= '9' && at < len) {
		long l = strtol(p, (char **)&p, 10);

		if ((long)strnlen(p, (size_t)l) < l || at + (size_t)l + 3 >= len)
			break;
		at += (size_t)snprintf(out + at, len - at, "%s%.*s", n++ ? "::" : "", (int)l, p);
		p += l;
	}
	if (!n || *p != (nested ? 'E' : '\0') || (nested && p[1]))
		snprintf(out, len, "%s", name);
}

static int live_name(void *arg, uint64_t word, char *sym, size_t len, const char **module)
{
	struct live_namer *n = arg;
	const struct inj_map *m = NULL;
	const char *name;
	uint64_t start;

	/* The words of a group point into one mapping: the last one first. */
	if (n->hit && word >= n->hit->start && word < n->hit->end)
		m = n->hit;
	for (size_t i = 0; i < n->maps.n && !m; i++)
		if (word >= n->maps.v[i].start && word < n->maps.v[i].end)
			m = n->hit = &n->maps.v[i];
	if (!m || m->path[0] != '/')
		return 0;
	if (!n->last || strcmp(n->last->path, m->path)) {
		n->bias = load_bias(n, m);
		n->last = m;
	}
	*module = m->path;
	if (n->con->syms && inj_symcache_lookup(n->con->syms, m->path, word - n->bias, &name, &start) == 1) {
		char readable[256];

		vtable_name(name, readable, sizeof(readable));
		snprintf(sym, len, word - n->bias == start ? "%s" : "%s+0x%" PRIx64, readable, word - n->bias - start);
	}
	return 1;
}

/* Context 0's groups, named in the process as it is now (a lost block has no owner to change it). */
static void live_groups(struct inj_console *con, cJSON *doc, const struct inj_leaks *l)
{
	struct live_namer n = { .con = con };

	if (!l->nfirsts || inj_maps_read(con->pid, &n.maps) < 0)
		return;
	leaks_doc_groups(doc, l, live_name, &n);
	inj_maps_free(&n.maps);
}

int inj_console_leaks(struct inj_console *con, int argc, char **argv)
{
	struct inj_report_opts o = INJ_REPORT_OPTS;
	const char *v;
	int kind = -1, ret, core = 0, flags = 0;
	struct inj_leaks l;
	cJSON *rep, *doc;

	for (int i = 1; i < argc; i++) {
		int r = inj_console_report_opt("leaks", argc, argv, &i, &o);

		if (!r && !strcmp(argv[i], "--core")) {
			core = 1;
			continue;
		}
		if (!r && !strcmp(argv[i], "--no-fork")) {
			flags |= INJ_LEAKS_NO_FORK;
			continue;
		}

		if (r < 0)
			return -1;
		if (r)
			continue;
		if (!strcmp(argv[i], "--kind")) {
			if (!(v = inj_console_optval("leaks", argc, argv, &i)))
				return -1;
			if ((kind = leaks_kind_parse(v)) == -2)
				return log_err("leaks: --kind is definite, indirect, possible, reachable or all, "
					       "not '%s'", v);
		} else {
			return inj_console_bad_option("leaks", argv[i]);
		}
	}
	if (core)
		return leaks_of_core(con, &o, kind);
	if (inj_console_need_session(con, "leaks") < 0)
		return -1;
	if (inj_leaks_scan(con->pid, NULL, flags, &l) < 0)
		return -1;
	/* The callstacks: every context's, as the agent has them now (contexts are never
	 * forgotten while attached, so every one the scan saw is there). */
	rep = inj_console_fetch_report(con, "leaks", 0, o.raw);
	if (!rep) {
		inj_leaks_free(&l);
		return -1;
	}
	doc = leaks_doc_new(&l, rep, o.count, kind);
	live_groups(con, doc, &l);
	inj_leaks_free(&l);
	cJSON_Delete(rep);
	ret = inj_console_output(con, "leaks", o.file, o.json, doc, leaks_doc_print);
	cJSON_Delete(doc);
	return ret;
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
	if (inj_leaks_scan(con->pid, &who, 0, &l) < 0)
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

int inj_console_dump_kind(struct inj_console *con, long id, int kind, long n, long bytes)
{
	unsigned char *buf = xmalloc((size_t)bytes);
	struct inj_leaks l;
	long shown = 0, found = 0;

	if (inj_console_need_session(con, "dump") < 0 || inj_leaks_scan(con->pid, NULL, 0, &l) < 0) {
		free(buf);
		return -1;
	}
	for (size_t i = 0; i < l.n; i++)
		found += l.blocks[i].ctx == (uint32_t)id && !l.blocks[i].internal && leaks_kind_wanted(&l.blocks[i], kind);
	fprintf(con->out, "context %ld: %ld %s blocks\n", id, found,
		leaks_kind_text(kind));
	/* Read now that the process runs again: a lost block has no owner to free it. */
	for (size_t i = 0; i < l.n && shown < n; i++) {
		const struct leak_block *b = &l.blocks[i];
		size_t len = b->size < (uint64_t)bytes ? (size_t)b->size : (size_t)bytes;
		struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)b->addr, len };

		if (b->ctx != (uint32_t)id || b->internal || !leaks_kind_wanted(b, kind))
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
