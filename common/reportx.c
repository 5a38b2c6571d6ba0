/*
 * Reports turned into other forms (reportx.h).
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "reportx.h"
#include "util.h"

/* A context's callstack as a key: "module+offset" of every frame. */
static char *stack_key(const cJSON *ctx)
{
	const cJSON *f, *frames = cJSON_GetObjectItemCaseSensitive(ctx, "frames");
	size_t len = 1, at = 0;
	char *k;

	cJSON_ArrayForEach(f, frames)
		len += strlen(inj_json_str(f, "module", "?")) + strlen(inj_json_str(f, "offset", "?")) + 2;
	k = xmalloc(len);
	k[0] = '\0';
	cJSON_ArrayForEach(f, frames)
		at += (size_t)snprintf(k + at, len - at, "%s+%s ", inj_json_str(f, "module", "?"),
				       inj_json_str(f, "offset", "?"));
	return k;
}

static int by_delta(const void *a, const void *b)
{
	double x = inj_json_num(*(const cJSON *const *)a, "live_bytes_delta", 0);
	double y = inj_json_num(*(const cJSON *const *)b, "live_bytes_delta", 0);

	return x > y ? -1 : x < y;
}

/* An entry of the document: CTX's frames and id (NOW's, else BEFORE's), its counts and their change. */
static cJSON *entry(const cJSON *now, const cJSON *before)
{
	const cJSON *c = now ? now : before;
	cJSON *e = cJSON_CreateObject();
	double b = inj_json_num(now, "live_bytes", 0), k = inj_json_num(now, "live_blocks", 0);

	cJSON_AddNumberToObject(e, "id", inj_json_num(c, "id", 0));
	cJSON_AddNumberToObject(e, "live_bytes", b);
	cJSON_AddNumberToObject(e, "live_blocks", k);
	cJSON_AddNumberToObject(e, "live_bytes_delta", b - inj_json_num(before, "live_bytes", 0));
	cJSON_AddNumberToObject(e, "live_blocks_delta", k - inj_json_num(before, "live_blocks", 0));
	cJSON_AddBoolToObject(e, "new", before == NULL);
	cJSON_AddItemToObject(e, "frames", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(c, "frames"), 1));
	return e;
}

cJSON *report_since(const cJSON *now, const cJSON *before, long count)
{
	const cJSON *bc = cJSON_GetObjectItemCaseSensitive(before, "contexts");
	const cJSON *nc = cJSON_GetObjectItemCaseSensitive(now, "contexts");
	size_t nb = (size_t)cJSON_GetArraySize(bc), nn = (size_t)cJSON_GetArraySize(nc), n = 0, i = 0;
	char **bkeys = xcalloc(nb + 1, sizeof(*bkeys));
	unsigned char *matched = xcalloc(nb + 1, 1);
	cJSON **v = xcalloc(nn + nb + 1, sizeof(*v));
	cJSON *doc = cJSON_CreateObject(), *arr, *s;
	const cJSON *c;

	cJSON_ArrayForEach(c, bc)
		bkeys[i++] = stack_key(c);
	cJSON_ArrayForEach(c, nc) {
		char *k = stack_key(c);
		const cJSON *was = NULL;

		i = 0;
		cJSON_ArrayForEach(was, bc) {
			if (!matched[i] && !strcmp(bkeys[i], k)) {
				matched[i] = 1;
				break;
			}
			i++;
		}
		v[n++] = entry(c, was);
		free(k);
	}
	i = 0;
	cJSON_ArrayForEach(c, bc) {
		if (!matched[i])
			v[n++] = entry(NULL, c);
		i++;
	}
	qsort(v, n, sizeof(*v), by_delta);
	cJSON_AddNumberToObject(doc, "version", 1);
	cJSON_AddNumberToObject(doc, "pid", inj_json_num(now, "pid", 0));
	cJSON_AddStringToObject(doc, "program", inj_json_str(now, "program", "?"));
	cJSON_AddNumberToObject(doc, "uptime_ms", inj_json_num(now, "uptime_ms", 0));
	cJSON_AddNumberToObject(doc, "since_uptime_ms", inj_json_num(before, "uptime_ms", 0));
	s = cJSON_AddObjectToObject(doc, "summary");
	cJSON_AddNumberToObject(s, "in_use_bytes",
				inj_json_num(cJSON_GetObjectItemCaseSensitive(now, "summary"), "in_use_bytes", 0));
	cJSON_AddNumberToObject(s, "in_use_bytes_delta",
				inj_json_num(cJSON_GetObjectItemCaseSensitive(now, "summary"), "in_use_bytes", 0) -
					inj_json_num(cJSON_GetObjectItemCaseSensitive(before, "summary"), "in_use_bytes", 0));
	arr = cJSON_AddArrayToObject(doc, "contexts");
	for (i = 0; i < n; i++) {
		if (count <= 0 || (long)i < count)
			cJSON_AddItemToArray(arr, v[i]);
		else
			cJSON_Delete(v[i]);
	}
	for (i = 0; i < nb; i++)
		free(bkeys[i]);
	free(bkeys);
	free(matched);
	free(v);
	return doc;
}

void report_since_print(FILE *out, const cJSON *doc)
{
	const cJSON *c, *s = cJSON_GetObjectItemCaseSensitive(doc, "summary");

	fprintf(out, "== memtrace report since: pid %.0f, %s: %.1f s to %.1f s of the session\n",
		inj_json_num(doc, "pid", 0), inj_json_str(doc, "program", "?"),
		inj_json_num(doc, "since_uptime_ms", 0) / 1000, inj_json_num(doc, "uptime_ms", 0) / 1000);
	fprintf(out, "   in use %.0f bytes (%+.0f)\n", inj_json_num(s, "in_use_bytes", 0),
		inj_json_num(s, "in_use_bytes_delta", 0));
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "contexts")) {
		fprintf(out, "\ncontext %.0f: %+.0f bytes (%+.0f blocks)%s, %.0f bytes in %.0f blocks now\n",
			inj_json_num(c, "id", 0), inj_json_num(c, "live_bytes_delta", 0),
			inj_json_num(c, "live_blocks_delta", 0),
			cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "new")) ? ", new" : "",
			inj_json_num(c, "live_bytes", 0), inj_json_num(c, "live_blocks", 0));
		inj_report_print_frames(out, c);
	}
	fflush(out);
}

/* A name fit for a folded line: no ';' (the separator), no newline. */
static void folded_name(FILE *out, const char *name)
{
	for (const char *p = name; *p; p++)
		fputc(*p == ';' || *p == '\n' ? '_' : *p, out);
}

/* Frame F's places, outermost first: the frame's function, then its inlined calls inwards. */
static void folded_frame(FILE *out, const cJSON *f, int *first)
{
	const char *fn = inj_json_str(f, "function", NULL), *sym = inj_json_str(f, "symbol", NULL);
	const cJSON *inl = cJSON_GetObjectItemCaseSensitive(f, "inlined");
	int n = cJSON_GetArraySize(inl);

	if (!*first)
		fputc(';', out);
	*first = 0;
	if (fn) {
		folded_name(out, fn);
	} else if (sym) {
		size_t len = strcspn(sym, "+");
		char *s = xmalloc(len + 1);

		memcpy(s, sym, len);
		s[len] = '\0';
		folded_name(out, s);
		free(s);
	} else {
		const char *mod = inj_json_str(f, "module", "?"), *base = strrchr(mod, '/');

		folded_name(out, base ? base + 1 : mod);
		fputc('+', out);
		folded_name(out, inj_json_str(f, "offset", "?"));
	}
	/* inlined[0] is the innermost: outwards-in after the frame's own function. */
	for (int i = n - 1; i >= 0; i--) {
		fputc(';', out);
		folded_name(out, inj_json_str(cJSON_GetArrayItem(inl, i), "function", "??"));
	}
}

void report_folded_print(FILE *out, const cJSON *rep)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(rep, "contexts")) {
		const cJSON *frames = cJSON_GetObjectItemCaseSensitive(c, "frames");
		int n = cJSON_GetArraySize(frames), first = 1;

		if (inj_json_num(c, "live_bytes", 0) <= 0)
			continue;
		for (int i = n - 1; i >= 0; i--)
			folded_frame(out, cJSON_GetArrayItem(frames, i), &first);
		if (first)
			fputs("[no frames]", out);
		fprintf(out, " %.0f\n", inj_json_num(c, "live_bytes", 0));
	}
	fflush(out);
}
