/*
 * A record as an HTML page of charts (plot.h).
 *
 * The record's samples go through the same bounded series as memtrace's
 * trend (common/trend.h: 64 slots, each its lowest and highest value), so
 * a record of a week plots as quickly as one of a minute, and the growers
 * are ranked as `trend` ranks them. A chart is an inline SVG: a polyline a
 * series through each slot's low-water mark, the slot's range as a faint
 * band, a circle a slot whose <title> gives its time and bytes (a browser
 * shows it on hover); the table under the charts gives the numbers.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "annotate.h"
#include "log.h"
#include "plot.h"
#include "report.h"
#include "trend.h"
#include "util.h"

#define TOP_MAX 12
#define W 960
#define H 340
#define ML 80		/* margins: left (the bytes), right, top, bottom (the time) */
#define MR 20
#define MT 30
#define MB 40

static const char *const colour[TOP_MAX] = {
	"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
	"#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
};

struct record {
	char *program;
	long pid;
	long samples, sessions;
	int64_t first_t, last_t;
	struct trend trend;
	cJSON *frames;		/* id (text) -> frames */
};

/* ---------------------------------------------------------------- reading */

static void add_sample(struct record *r, const cJSON *j)
{
	const cJSON *c, *cs = cJSON_GetObjectItemCaseSensitive(j, "contexts");
	size_t n = (size_t)cJSON_GetArraySize(cs), k = 0;
	uint32_t *ids = xcalloc(n + 1, sizeof(*ids));
	int64_t *bytes = xcalloc(n + 1, sizeof(*bytes)), *blocks = xcalloc(n + 1, sizeof(*blocks));
	int64_t t = inj_json_i64(j, "t_ms", 0);

	cJSON_ArrayForEach(c, cs) {
		if (!cJSON_IsArray(c) || cJSON_GetArraySize(c) < 3 || !inj_json_id(cJSON_GetArrayItem(c, 0), &ids[k]))
			continue;
		bytes[k] = inj_json_item_i64(cJSON_GetArrayItem(c, 1), 0);
		blocks[k++] = inj_json_item_i64(cJSON_GetArrayItem(c, 2), 0);
	}
	/* Time only goes on (a line out of order, a clock stepped back: its sample is left out). */
	if (t > r->last_t &&
	    trend_add(&r->trend, t, ids, bytes, blocks, k, inj_json_i64(j, "heap_bytes", 0),
		      inj_json_i64(j, "rss_bytes", 0)) == 0) {
		if (!r->first_t)
			r->first_t = t;
		r->last_t = t;
		r->samples++;
	}
	free(ids);
	free(bytes);
	free(blocks);
}

/* A line longer than this is not memtrace's (a sample of 100,000 contexts is about 3 MiB). */
#define LINE_MAX_BYTES (64 << 20)

/* RECORD's lines into R, for OPT (--plot, --report: its messages' prefix); at least MIN samples. 0 or -1 (said). */
static int read_record(FILE *f, const char *opt, const char *path, struct record *r, long min)
{
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0, bad = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, f)) > 0) {
		if (len > LINE_MAX_BYTES) {
			free(line);
			return log_err("%s %s: line %ld is %zd bytes long: not a record of memtrace --record", opt, path,
				       lineno + 1, len);
		}
		cJSON *j = cJSON_Parse(line);
		const char *type = inj_json_str(j, "type", "");

		lineno++;
		if (!j || !cJSON_IsObject(j)) {
			bad++;
		} else if (!strcmp(type, "record")) {
			free(r->program);
			r->program = xstrdup(inj_json_str(j, "program", "?"));
			r->pid = (long)inj_json_i64(j, "pid", 0);
			r->sessions++;
		} else if (!strcmp(type, "session")) {
			r->sessions++;
		} else if (!strcmp(type, "context")) {
			const cJSON *frames = cJSON_GetObjectItemCaseSensitive(j, "frames");
			char name[16];
			uint32_t id;

			if (!inj_json_id(cJSON_GetObjectItemCaseSensitive(j, "id"), &id))
				id = 0;
			snprintf(name, sizeof(name), "%u", id);
			if (id && cJSON_IsArray(frames) && !cJSON_GetObjectItemCaseSensitive(r->frames, name))
				cJSON_AddItemToObject(r->frames, name, cJSON_Duplicate(frames, 1));
		} else if (!strcmp(type, "sample")) {
			add_sample(r, j);
		}
		cJSON_Delete(j);
	}
	free(line);
	if (bad)
		log_warn("%s %s: %ld of %ld lines are not JSON (cut short?): left out", opt, path, bad, lineno);
	if (!r->program)
		return log_err("%s %s: not a record of memtrace --record (no header line)", opt, path);
	if (r->samples < min)
		return log_err("%s %s: %ld sample%s: nothing to %s yet", opt, path, r->samples, r->samples == 1 ? "" : "s",
			       min > 1 ? "plot" : "report");
	return 0;
}

/* ---------------------------------------------------------------- labels */

struct grower {
	const struct trend_series *s;
	struct trend_growth g;
	char *label;		/* function (file:line), or what is known */
};

static int by_growth(const void *a, const void *b)
{
	const struct grower *x = a, *y = b;

	if (x->g.bytes_per_s != y->g.bytes_per_s)
		return x->g.bytes_per_s > y->g.bytes_per_s ? -1 : 1;
	return x->s->now > y->s->now ? -1 : x->s->now < y->s->now;
}

/* A frame's name: its decoded function and place, else its ELF symbol, else module+offset. */
static char *frame_label(const cJSON *f)
{
	const char *fn = inj_json_str(f, "function", NULL), *file = inj_json_str(f, "file", NULL);
	const cJSON *line = cJSON_GetObjectItemCaseSensitive(f, "line");
	char buf[1024];

	if (fn && file && cJSON_IsNumber(line))
		snprintf(buf, sizeof(buf), "%s (%s:%d)", fn, file, line->valueint);
	else if (fn)
		snprintf(buf, sizeof(buf), "%s", fn);
	else if (inj_json_str(f, "symbol", NULL))
		snprintf(buf, sizeof(buf), "%s", inj_json_str(f, "symbol", ""));
	else
		snprintf(buf, sizeof(buf), "%s+%s", inj_json_str(f, "module", "?"), inj_json_str(f, "offset", "?"));
	return xstrdup(buf);
}

/* The growers' callstacks decoded with D, each labelled by its first frame. */
static void label(struct record *r, struct grower *g, size_t n, struct srv_decoder *d)
{
	cJSON *rep = cJSON_CreateObject(), *ctxs;
	char err[256];

	/* A report of those contexts alone, as the decoder takes reports. */
	cJSON_AddNumberToObject(rep, "version", 1);
	cJSON_AddNumberToObject(rep, "pid", (double)r->pid);
	cJSON_AddStringToObject(rep, "program", r->program);
	ctxs = cJSON_AddArrayToObject(rep, "contexts");

	for (size_t i = 0; i < n; i++) {
		cJSON *c = cJSON_CreateObject();
		const cJSON *frames;
		char name[16];

		snprintf(name, sizeof(name), "%u", g[i].s->id);
		frames = cJSON_GetObjectItemCaseSensitive(r->frames, name);
		cJSON_AddNumberToObject(c, "id", g[i].s->id);
		cJSON_AddItemToObject(c, "frames", frames ? cJSON_Duplicate(frames, 1) : cJSON_CreateArray());
		cJSON_AddItemToArray(ctxs, c);
	}
	if (srv_report_decode(d, rep, err, sizeof(err)) != SRV_REPORT_OK)
		log_warn("--plot: the record's callstacks could not all be decoded: %s", err);
	for (size_t i = 0; i < n; i++) {
		const cJSON *frames = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ctxs, (int)i), "frames");
		char buf[64];

		if (cJSON_GetArraySize(frames) > 0) {
			g[i].label = frame_label(cJSON_GetArrayItem(frames, 0));
		} else {
			snprintf(buf, sizeof(buf), "context %u (no callstack in the record)", g[i].s->id);
			g[i].label = xstrdup(buf);
		}
	}
	cJSON_Delete(rep);
}

/* ---------------------------------------------------------------- HTML */

static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f); break;
		}
	}
}

/* An elapsed time "1h02m", "3m05s" or "12.5s". */
static const char *elapsed(char *buf, size_t len, int64_t ms)
{
	if (ms >= 3600000)
		snprintf(buf, len, "%lldh%02lldm", (long long)(ms / 3600000), (long long)(ms / 60000 % 60));
	else if (ms >= 60000)
		snprintf(buf, len, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
	else
		snprintf(buf, len, "%.1fs", (double)ms / 1000);
	return buf;
}

struct axes {
	int64_t t0, t1;
	int64_t ymax;
};

static double px(const struct axes *a, int64_t t)
{
	return ML + (double)(t - a->t0) / (double)(a->t1 - a->t0) * (W - ML - MR);
}

static double py(const struct axes *a, int64_t v)
{
	return H - MB - (double)v / (double)a->ymax * (H - MT - MB);
}

static void axes_draw(FILE *f, const struct axes *a, const char *title)
{
	char b[32];

	fprintf(f, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "viewBox=\"0 0 %d %d\">\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n",
		W, H, W, H, W, H);
	fprintf(f, "<text x=\"%d\" y=\"18\" class=\"title\">", ML);
	esc(f, title);
	fputs("</text>\n", f);
	for (int i = 0; i <= 4; i++) {
		int64_t v = a->ymax / 4 * i;

		fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
			   "<text x=\"%d\" y=\"%.1f\" class=\"ylab\">%s</text>\n",
			ML, W - MR, py(a, v), py(a, v), ML - 6, py(a, v) + 4, human_size(b, sizeof(b), (uint64_t)v));
	}
	for (int i = 0; i <= 4; i++) {
		int64_t t = a->t0 + (a->t1 - a->t0) / 4 * i;

		fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"xlab\">%s</text>\n", px(a, t), H - MB + 18,
			elapsed(b, sizeof(b), t - a->t0));
	}
	fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" class=\"axis\"/>\n", ML, W - MR, H - MB, H - MB);
}

/* Series S (its low-water marks, its range faint) in colour COL, labelled LABEL. */
static void series_draw(FILE *f, const struct trend *t, const struct axes *a, const struct trend_series *s,
			const char *col, const char *label)
{
	char b[32], e[32];

	fprintf(f, "<polygon fill=\"%s\" fill-opacity=\"0.12\" stroke=\"none\" points=\"", col);
	for (size_t k = 0; k < t->nslots; k++)
		fprintf(f, "%.1f,%.1f ", px(a, t->t[k]), py(a, s->slot[k].hi));
	for (size_t k = t->nslots; k-- > 0;)
		fprintf(f, "%.1f,%.1f ", px(a, t->t[k]), py(a, s->slot[k].lo));
	fprintf(f, "\"/>\n<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
	for (size_t k = 0; k < t->nslots; k++)
		fprintf(f, "%.1f,%.1f ", px(a, t->t[k]), py(a, s->slot[k].lo));
	fputs("\"/>\n", f);
	for (size_t k = 0; k < t->nslots; k++) {
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>", px(a, t->t[k]),
			py(a, s->slot[k].lo), col);
		esc(f, label);
		fprintf(f, " at %s: %s", elapsed(e, sizeof(e), t->t[k] - a->t0),
			human_size(b, sizeof(b), (uint64_t)s->slot[k].lo));
		fprintf(f, " (up to %s)</title></circle>\n", human_size(b, sizeof(b), (uint64_t)s->slot[k].hi));
	}
}

static int64_t max_of(const struct trend *t, const struct trend_series *s, int64_t m)
{
	for (size_t k = 0; k < t->nslots; k++)
		if (s->slot[k].hi > m)
			m = s->slot[k].hi;
	return m;
}

static void legend(FILE *f, size_t i, const char *col, const char *label)
{
	fprintf(f, "<rect x=\"%d\" y=\"%zu\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"%zu\" "
		   "class=\"legend\">", ML + 10, MT + 4 + 16 * i, col, ML + 28, MT + 14 + 16 * i);
	esc(f, label);
	fputs("</text>\n", f);
}

static void page(FILE *f, const struct record *r, const struct grower *g, size_t n, const char *record)
{
	const struct trend *t = &r->trend;
	struct axes a = { t->t[0], t->t[t->nslots - 1] > t->t[0] ? t->t[t->nslots - 1] : t->t[0] + 1, 1 };
	struct trend_growth hg;
	char b1[32], b2[32], b3[48];

	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>memtrace: ", f);
	esc(f, r->program);
	fputs("</title>\n<style>\nbody{font-family:sans-serif;margin:20px;color:#222}\n"
	      "svg{display:block;margin:12px 0;border:1px solid #ddd}\n"
	      ".grid{stroke:#eee}.axis{stroke:#999}.title{font-size:15px;font-weight:bold}\n"
	      ".ylab{font-size:11px;text-anchor:end;fill:#555}.xlab{font-size:11px;text-anchor:middle;fill:#555}\n"
	      ".legend{font-size:12px}table{border-collapse:collapse;font-size:13px}\n"
	      "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td.l{text-align:left}\n"
	      "</style></head><body>\n<h1>memtrace: ", f);
	esc(f, r->program);
	fprintf(f, " (pid %ld)</h1>\n<p>", r->pid);
	esc(f, record);
	fprintf(f, ": %ld samples over %s in %ld session%s</p>\n", r->samples,
		elapsed(b1, sizeof(b1), r->last_t - r->first_t), r->sessions, r->sessions == 1 ? "" : "s");

	/* The heap and the RSS. */
	a.ymax = max_of(t, &t->rss, max_of(t, &t->heap, 1));
	a.ymax += a.ymax / 20 + 1;
	axes_draw(f, &a, "Heap in use and RSS");
	series_draw(f, t, &a, &t->rss, "#1f77b4", "RSS");
	series_draw(f, t, &a, &t->heap, "#d62728", "heap in use");
	trend_growth(t, &t->heap, &hg);
	snprintf(b3, sizeof(b3), "heap in use (%s now)", human_size(b2, sizeof(b2), (uint64_t)t->heap.now));
	legend(f, 0, "#d62728", b3);
	snprintf(b3, sizeof(b3), "RSS (%s now)", human_size(b2, sizeof(b2), (uint64_t)t->rss.now));
	legend(f, 1, "#1f77b4", b3);
	fputs("</svg>\n", f);

	/* The growers. */
	a.ymax = 1;
	for (size_t i = 0; i < n; i++)
		a.ymax = max_of(t, g[i].s, a.ymax);
	a.ymax += a.ymax / 20 + 1;
	axes_draw(f, &a, n ? "The contexts that grow the most steadily (low-water mark; band: the range)"
			   : "No context grows");
	for (size_t i = 0; i < n; i++)
		series_draw(f, t, &a, g[i].s, colour[i], g[i].label);
	for (size_t i = 0; i < n; i++)
		legend(f, i, colour[i], g[i].label);
	fputs("</svg>\n<table>\n<tr><th>#</th><th>context</th><th>growth per hour</th><th>live now</th>"
	      "<th>blocks now</th><th>growing for</th><th class=\"l\">allocated in</th></tr>\n", f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "<tr><td style=\"color:%s\">&#9632; %zu</td><td>%u</td><td>%s%s</td><td>%s</td><td>%lld</td>"
			   "<td>%s</td><td class=\"l\">", colour[i], i + 1, g[i].s->id,
			g[i].g.bytes_per_s < 0 ? "-" : "+",
			human_size(b1, sizeof(b1), trend_per_hour(g[i].g.bytes_per_s)),
			human_size(b2, sizeof(b2), (uint64_t)g[i].s->now), (long long)g[i].s->blocks_now,
			g[i].g.growing_ms ? elapsed(b3, sizeof(b3), g[i].g.growing_ms) : "-");
		esc(f, g[i].label);
		fputs("</td></tr>\n", f);
	}
	fprintf(f, "</table>\n<p>Heap growth: %s%s per hour. Made by memtrace-server --plot; growth as "
		   "memtrace's trend measures it (docs/user-guide.md).</p>\n</body></html>\n",
		hg.bytes_per_s < 0 ? "-" : "+", human_size(b1, sizeof(b1), trend_per_hour(hg.bytes_per_s)));
}

int srv_plot_stream(FILE *in, const char *record, struct srv_decoder *d, FILE *page_out, int top)
{
	struct record r = { 0 };
	struct grower *g = NULL;
	size_t n = 0, want = top > 0 && top <= TOP_MAX ? (size_t)top : 8;
	int ret = -1;

	trend_init(&r.trend);
	r.frames = cJSON_CreateObject();
	if (read_record(in, "--plot", record, &r, 2) < 0)
		goto out;
	g = xcalloc(r.trend.n + 1, sizeof(*g));
	for (size_t i = 0; i < r.trend.n; i++) {
		g[i].s = &r.trend.s[i];
		trend_growth(&r.trend, g[i].s, &g[i].g);
	}
	qsort(g, r.trend.n, sizeof(*g), by_growth);
	/* The growers; none growing: the biggest, so that the page still shows the heap's parts. */
	while (n < r.trend.n && n < want && (g[n].g.bytes_per_s > 0 || g[0].g.bytes_per_s <= 0))
		n++;
	label(&r, g, n, d);
	page(page_out, &r, g, n, record);
	ret = 0;
out:
	for (size_t i = 0; g && i < n; i++)
		free(g[i].label);
	free(g);
	free(r.program);
	trend_free(&r.trend);
	cJSON_Delete(r.frames);
	return ret;
}

int srv_plot(const char *record, struct srv_decoder *d, const char *out, int top)
{
	char tmp[4096];
	FILE *in, *f;
	int ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp%d", out, (int)getpid()) >= (int)sizeof(tmp))
		return log_err("--plot: -o %s: the name is too long", out);
	in = fopen(record, "re");
	if (!in)
		return log_err("--plot %s: %s", record, strerror(errno));
	f = fopen(tmp, "we");
	if (!f) {
		fclose(in);
		return log_err("--plot: cannot write %s: %s", out, strerror(errno));
	}
	ret = srv_plot_stream(in, record, d, f, top);
	fclose(in);
	if (ferror(f) | (fclose(f) != 0) || (ret == 0 && rename(tmp, out) != 0)) {
		log_err("--plot: writing %s failed: %s (nothing was written there)", out, strerror(errno));
		ret = -1;
	}
	if (ret < 0)
		unlink(tmp);
	return ret;
}

static int by_live(const void *a, const void *b)
{
	const struct trend_series *x = *(const struct trend_series *const *)a, *y = *(const struct trend_series *const *)b;

	return x->now > y->now ? -1 : x->now < y->now;
}

cJSON *srv_record_report(FILE *in, const char *record)
{
	struct record r = { 0 };
	const struct trend_series **v = NULL;
	cJSON *rep = NULL, *ctxs, *sum;

	trend_init(&r.trend);
	r.frames = cJSON_CreateObject();
	if (read_record(in, "--report", record, &r, 1) < 0)
		goto out;
	v = xcalloc(r.trend.n + 1, sizeof(*v));
	for (size_t i = 0; i < r.trend.n; i++)
		v[i] = &r.trend.s[i];
	qsort(v, r.trend.n, sizeof(*v), by_live);
	rep = cJSON_CreateObject();
	cJSON_AddNumberToObject(rep, "version", 1);
	cJSON_AddNumberToObject(rep, "pid", (double)r.pid);
	cJSON_AddStringToObject(rep, "program", r.program);
	cJSON_AddStringToObject(rep, "since", "record");
	cJSON_AddNumberToObject(rep, "wall_ms", (double)r.last_t);
	sum = cJSON_AddObjectToObject(rep, "summary");
	cJSON_AddNumberToObject(sum, "in_use_bytes", (double)r.trend.heap.now);
	ctxs = cJSON_AddArrayToObject(rep, "contexts");
	for (size_t i = 0; i < r.trend.n; i++) {
		const cJSON *frames;
		cJSON *c;
		char name[16];

		if (v[i]->now <= 0)
			continue; /* nothing live at the last sample */
		snprintf(name, sizeof(name), "%u", v[i]->id);
		frames = cJSON_GetObjectItemCaseSensitive(r.frames, name);
		c = cJSON_CreateObject();
		cJSON_AddNumberToObject(c, "id", v[i]->id);
		cJSON_AddNumberToObject(c, "live_bytes", (double)v[i]->now);
		cJSON_AddNumberToObject(c, "live_blocks", (double)v[i]->blocks_now);
		cJSON_AddItemToObject(c, "frames", frames ? cJSON_Duplicate(frames, 1) : cJSON_CreateArray());
		cJSON_AddItemToArray(ctxs, c);
	}
out:
	free(v);
	free(r.program);
	trend_free(&r.trend);
	cJSON_Delete(r.frames);
	return rep;
}
