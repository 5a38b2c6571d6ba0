/*
 * Turning the agent's compact report into the public one, and printing it.
 * The wire form keeps frames small ([addr, module, offset] with a module
 * table); the public form repeats the module path in every frame, which is
 * what scripts and later tools want to read.
 */
#include <math.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "util.h"

double inj_json_num(const cJSON *obj, const char *name, double def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

int64_t inj_json_item_i64(const cJSON *item, int64_t def)
{
	double v;

	if (!cJSON_IsNumber(item) || isnan(item->valuedouble))
		return def;
	v = item->valuedouble;
	if (v > 4611686018427387904.0)
		return INT64_C(4611686018427387904);
	if (v < -4611686018427387904.0)
		return -INT64_C(4611686018427387904);
	return (int64_t)v;
}

int64_t inj_json_i64(const cJSON *obj, const char *name, int64_t def)
{
	return inj_json_item_i64(cJSON_GetObjectItemCaseSensitive(obj, name), def);
}

int inj_json_id(const cJSON *item, uint32_t *out)
{
	int64_t v = inj_json_item_i64(item, -1);

	if (v < 0 || v > (int64_t)UINT32_MAX)
		return 0;
	*out = (uint32_t)v;
	return 1;
}

const char *inj_json_str(const cJSON *obj, const char *name, const char *def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(v) ? v->valuestring : def;
}

static void copy_member(cJSON *dst, const cJSON *src, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, name);

	if (v)
		cJSON_AddItemToObject(dst, name, cJSON_Duplicate(v, 1));
}

static cJSON *frame_object(const cJSON *wf, const cJSON *modules, struct inj_symcache *syms)
{
	const cJSON *addr = cJSON_GetArrayItem(wf, 0);
	const cJSON *mod = cJSON_GetArrayItem(wf, 1);
	const cJSON *off = cJSON_GetArrayItem(wf, 2);
	const char *path = NULL;
	cJSON *f = cJSON_CreateObject();
	uint64_t offset = 0;

	cJSON_AddStringToObject(f, "addr", cJSON_IsString(addr) ? addr->valuestring : "0x0");
	if (cJSON_IsNumber(mod) && mod->valueint >= 0) {
		const cJSON *m = cJSON_GetArrayItem(modules, mod->valueint);

		path = inj_json_str(m, "path", NULL);
	}
	if (path)
		cJSON_AddStringToObject(f, "module", path);
	else
		cJSON_AddNullToObject(f, "module");
	cJSON_AddStringToObject(f, "offset", cJSON_IsString(off) ? off->valuestring : "0x0");
	if (path && syms) {
		const char *id = inj_symcache_build_id(syms, path);

		if (id)
			cJSON_AddStringToObject(f, "build_id", id);
	}
	if (cJSON_IsString(off))
		parse_u64(off->valuestring, &offset);
	if (path && syms && offset) {
		const char *name;
		uint64_t start;
		char buf[1024];

		/* A return address: the call is the byte before it. */
		if (inj_symcache_lookup(syms, path, offset - 1, &name, &start)) {
			snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, name, offset - start);
			cJSON_AddStringToObject(f, "symbol", buf);
			return f;
		}
	}
	cJSON_AddNullToObject(f, "symbol");
	return f;
}

cJSON *inj_report_from_wire(const cJSON *wire, struct inj_symcache *syms)
{
	static const char *const top[] = { "pid", "program", "since", "unwinder", "depth",
					    "start_wall_ms", "uptime_ms", "summary", "agent", "tables" };
	static const char *const ctx_fields[] = { "id", "live_blocks", "live_bytes", "total_allocs",
						   "total_bytes", "peak_live_bytes", "first_ms",
						   "last_ms", "truncated", "no_unwind_info" };
	const cJSON *modules = cJSON_GetObjectItemCaseSensitive(wire, "modules");
	const cJSON *contexts = cJSON_GetObjectItemCaseSensitive(wire, "contexts");
	const cJSON *wc;
	cJSON *out, *outctx;

	if (!cJSON_IsObject(wire) || !cJSON_IsArray(contexts))
		return NULL;
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "version", 1);
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		copy_member(out, wire, top[i]);
	outctx = cJSON_AddArrayToObject(out, "contexts");
	cJSON_ArrayForEach(wc, contexts) {
		cJSON *c = cJSON_CreateObject();
		cJSON *frames = NULL;
		const cJSON *wf;

		for (size_t i = 0; i < sizeof(ctx_fields) / sizeof(ctx_fields[0]); i++)
			copy_member(c, wc, ctx_fields[i]);
		frames = cJSON_AddArrayToObject(c, "frames");
		cJSON_ArrayForEach(wf, cJSON_GetObjectItemCaseSensitive(wc, "frames"))
			cJSON_AddItemToArray(frames, frame_object(wf, modules, syms));
		cJSON_AddItemToArray(outctx, c);
	}
	return out;
}

void inj_report_host_pid(cJSON *report, int pid)
{
	double own = inj_json_num(report, "pid", 0);

	if (!cJSON_IsObject(report) || own == pid || own <= 0)
		return;
	cJSON_ReplaceItemInObjectCaseSensitive(report, "pid", cJSON_CreateNumber(pid));
	cJSON_AddNumberToObject(report, "ns_pid", own);
}

int inj_report_print_json(FILE *out, const cJSON *report)
{
	char *text = cJSON_Print(report);

	if (!text)
		return -1;
	fputs(text, out);
	fputc('\n', out);
	free(text);
	return ferror(out) ? -1 : 0;
}

void inj_status_print_text(FILE *out, const cJSON *status)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(status, "summary");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(status, "agent");
	const cJSON *tb = cJSON_GetObjectItemCaseSensitive(status, "tables");
	char h1[32], h2[32];

	fprintf(out, "in use: %.0f bytes in %.0f blocks\n", inj_json_num(s, "in_use_bytes", 0),
		inj_json_num(s, "in_use_blocks", 0));
	fprintf(out, "total: %.0f allocations, %.0f frees, %.0f bytes allocated\n",
		inj_json_num(s, "total_allocs", 0), inj_json_num(s, "total_frees", 0),
		inj_json_num(s, "total_bytes", 0));
	fprintf(out, "contexts: %.0f with live blocks, %.0f in all\n", inj_json_num(s, "contexts", 0),
		inj_json_num(s, "contexts_total", 0));
	if (a) {
		const char *failure = inj_json_str(a, "failure", NULL);

		fprintf(out, "agent memory: %.0f bytes (%s; block table %s)\n",
			inj_json_num(a, "memory_bytes", 0),
			human_size(h1, sizeof(h1), (uint64_t)inj_json_num(a, "memory_bytes", 0)),
			human_size(h2, sizeof(h2), (uint64_t)inj_json_num(a, "blocks_bytes", 0)));
		fprintf(out, "recording: %s%s%s\n",
			cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "recording")) ? "yes" : "no",
			failure ? ", stopped: " : "", failure ? failure : "");
	}
	if (tb)
		fprintf(out, "unwind tables: %s for %.0f modules (%.0f without), %.0f functions (%.0f partly "
			"libunwind's); stacks handed to libunwind: %.0f, addresses in no module: %.0f\n",
			human_size(h1, sizeof(h1), (uint64_t)inj_json_num(tb, "bytes", 0)),
			inj_json_num(tb, "modules", 0), inj_json_num(tb, "modules_without", 0),
			inj_json_num(tb, "functions", 0), inj_json_num(tb, "functions_fallback", 0),
			inj_json_num(tb, "fallback_stacks", 0), inj_json_num(tb, "unknown_pcs", 0));
	if (tb && inj_json_num(tb, "host_modules", 0) > 0)
		fprintf(out, "unwind rows from memtrace-server: %.0f modules, %.0f rows\n",
			inj_json_num(tb, "host_modules", 0), inj_json_num(tb, "host_rows", 0));
}

/* "function at file:line" of a decoded place (a frame or one of its inlined calls). */
static void print_place(FILE *out, const cJSON *place, const char *sym)
{
	const char *file = inj_json_str(place, "file", NULL);
	const cJSON *line = cJSON_GetObjectItemCaseSensitive(place, "line");

	fputs(inj_json_str(place, "function", sym ? sym : "??"), out);
	if (file && cJSON_IsNumber(line))
		fprintf(out, " at %s:%d", file, line->valueint);
	else if (file)
		fprintf(out, " at %s", file);
}

/*
 * One frame. A frame memtrace-server decoded (docs/server.md) shows its
 * inlined calls first, innermost first, as a debugger would, then its
 * function; a frame it could not decode shows why.
 */
static void print_frame(FILE *out, int i, const cJSON *f)
{
	const char *sym = inj_json_str(f, "symbol", NULL);
	const char *mod = inj_json_str(f, "module", NULL);
	const char *addr = inj_json_str(f, "addr", "?");
	const char *off = inj_json_str(f, "offset", "?");
	const char *how = inj_json_str(f, "decode", NULL);
	const char *why = inj_json_str(f, "decode_error", NULL);
	const cJSON *inl;

	fprintf(out, "    #%-2d %-18s ", i, addr);
	if (how && !strcmp(how, "ok")) {
		cJSON_ArrayForEach(inl, cJSON_GetObjectItemCaseSensitive(f, "inlined")) {
			print_place(out, inl, NULL);
			fprintf(out, " (inlined)\n    %-3s %-18s ", "", "");
		}
		print_place(out, f, sym);
	} else {
		fprintf(out, "%-32s", sym ? sym : "??");
	}
	if (mod)
		fprintf(out, " (%s+%s)", mod, off);
	else
		fputs(" (no module)", out);
	if (how && strcmp(how, "ok") && strcmp(how, "no_module"))
		fprintf(out, " [%s]", !strcmp(how, "not_found") ? "not in the sysroots" : why ? why : how);
	fputc('\n', out);
}

void inj_report_print_frames(FILE *out, const cJSON *ctx)
{
	const cJSON *f, *last = NULL;
	int i = 0;

	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(ctx, "frames")) {
		print_frame(out, i++, f);
		last = f;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ctx, "truncated")))
		fprintf(out, "    ... deeper frames cut at the depth limit (%d)\n", i);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ctx, "no_unwind_info"))) {
		const char *mod = inj_json_str(last, "module", "?"), *base = strrchr(mod, '/');

		fprintf(out, "    ... truncated: no unwind info in %s (memtrace-server, linked, sends the host's)\n",
			base ? base + 1 : mod);
	}
}

void inj_report_print_text(FILE *out, const cJSON *report, const char *title)
{
	const cJSON *contexts = cJSON_GetObjectItemCaseSensitive(report, "contexts");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(report, "summary");
	const cJSON *c;
	int shown = 0;

	fprintf(out, "== %s: pid %.0f", title, inj_json_num(report, "pid", 0));
	if (inj_json_num(report, "ns_pid", 0) > 0)
		fprintf(out, " (%.0f in its PID namespace)", inj_json_num(report, "ns_pid", 0));
	fprintf(out, ", %s\n", inj_json_str(report, "program", "?"));
	fprintf(out, "   recorded since %s, unwinder %s, depth %.0f\n",
		inj_json_str(report, "since", "start"), inj_json_str(report, "unwinder", "?"),
		inj_json_num(report, "depth", 0));
	inj_status_print_text(out, report);
	cJSON_ArrayForEach(c, contexts) {
		fprintf(out, "\ncontext %.0f: %.0f bytes in %.0f blocks still allocated "
			"(%.0f allocations, %.0f bytes in total, peak %.0f bytes)\n",
			inj_json_num(c, "id", 0), inj_json_num(c, "live_bytes", 0),
			inj_json_num(c, "live_blocks", 0), inj_json_num(c, "total_allocs", 0),
			inj_json_num(c, "total_bytes", 0), inj_json_num(c, "peak_live_bytes", 0));
		inj_report_print_frames(out, c);
		shown++;
	}
	if (!shown)
		fputs("\nno live blocks: nothing leaked\n", out);
	else if (inj_json_num(s, "contexts", 0) > shown)
		fprintf(out, "\n(%d of %.0f contexts with live blocks shown)\n", shown,
			inj_json_num(s, "contexts", 0));
	fflush(out);
}
