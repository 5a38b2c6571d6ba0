/*
 * The latest sample of every linked device as Prometheus' text exposition
 * format (metrics.h). One family at a time, every device's lines together
 * under its HELP and TYPE, as the format wants; gauges only (a sample is a
 * state, and the growth a rate already computed on the device).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define LABEL_MAX 200 /* bytes of a label value kept from what a device sent */

struct entry {
	char *link;
	char *peer;
	cJSON *sample;
};

struct srv_metrics {
	int top;
	struct entry *v;
	size_t n, cap;
};

struct srv_metrics *srv_metrics_new(int top)
{
	struct srv_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->top = top < 1 ? 1 : top > SRV_METRICS_TOP_MAX ? SRV_METRICS_TOP_MAX : top;
	return m;
}

static void entry_free(struct entry *e)
{
	free(e->link);
	free(e->peer);
	cJSON_Delete(e->sample);
}

void srv_metrics_free(struct srv_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		entry_free(&m->v[i]);
	free(m->v);
	free(m);
}

static struct entry *find(const struct srv_metrics *m, const char *link)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].link, link))
			return &m->v[i];
	return NULL;
}

void srv_metrics_forget(struct srv_metrics *m, const char *link)
{
	struct entry *e = m && link ? find(m, link) : NULL;

	if (!e)
		return;
	entry_free(e);
	*e = m->v[--m->n];
}

int srv_metrics_put(struct srv_metrics *m, const char *link, const char *peer, cJSON *sample)
{
	struct entry *e;
	char *p;

	if (!cJSON_IsObject(sample)) {
		cJSON_Delete(sample);
		return 0;
	}
	e = find(m, link);
	if (!e) {
		if (m->n == m->cap) {
			size_t cap = m->cap ? 2 * m->cap : 8;
			struct entry *v = realloc(m->v, cap * sizeof(*v));

			if (!v)
				goto oom;
			m->v = v;
			m->cap = cap;
		}
		e = &m->v[m->n];
		*e = (struct entry){ .link = strdup(link) };
		if (!e->link)
			goto oom;
		m->n++;
	}
	p = strdup(peer ? peer : "");
	if (!p) {
		srv_metrics_forget(m, link);
		goto oom;
	}
	free(e->peer);
	e->peer = p;
	cJSON_Delete(e->sample);
	e->sample = sample;
	return 0;
oom:
	cJSON_Delete(sample);
	return -1;
}

size_t srv_metrics_devices(const struct srv_metrics *m)
{
	return m ? m->n : 0;
}

/* ---------------------------------------------------------------- writing */

/* The length of the UTF-8 sequence at S (N bytes left), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, k;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1fu;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0fu;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (len > n)
		return 0;
	for (k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3fu);
	}
	/* Overlong forms, surrogates and what lies past U+10FFFF are not UTF-8. */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* NAME="VALUE" with VALUE escaped and cut (a device's text: data, never syntax). */
static void label(FILE *out, const char *name, const char *value, int *first)
{
	const unsigned char *s = (const unsigned char *)(value ? value : "");
	size_t left = strlen((const char *)s), kept = 0;

	fprintf(out, "%s%s=\"", *first ? "" : ",", name);
	*first = 0;
	while (left && kept < LABEL_MAX) {
		size_t k = utf8_len(s, left);

		if (k == 0 || (k == 1 && (*s < 0x20 || *s == 0x7f))) {
			/* A newline says so; other control bytes and broken UTF-8 become '?'. */
			fputs(*s == '\n' ? "\\n" : "?", out);
			k = 1;
		} else if (*s == '\\' || *s == '"') {
			fputc('\\', out);
			fputc(*s, out);
		} else {
			fwrite(s, 1, k, out);
		}
		s += k;
		left -= k;
		kept += k;
	}
	fputc('"', out);
}

static double num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void value(FILE *out, double v)
{
	if (v == floor(v) && fabs(v) < 1e15)
		fprintf(out, " %.0f\n", v);
	else
		fprintf(out, " %.15g\n", v);
}

static void device_labels(FILE *out, const struct entry *e, int *first)
{
	char pid[32];
	double p = num(e->sample, "pid");

	snprintf(pid, sizeof(pid), "%.0f", isfinite(p) && p >= 0 && p < 1e12 ? p : 0);
	label(out, "device", str(e->sample, "host"), first);
	label(out, "program", str(e->sample, "program"), first);
	label(out, "pid", pid, first);
	label(out, "peer", e->peer, first);
}

/* The frame that names a context: the first decoded to a source file, else the first. */
static void frame_labels(FILE *out, const cJSON *ctx, int *first)
{
	const cJSON *frames = cJSON_GetObjectItemCaseSensitive(ctx, "frames"), *f, *pick = NULL;
	char loc[LABEL_MAX + 64];
	const char *fn;

	cJSON_ArrayForEach(f, frames)
		if (cJSON_IsObject(f) && str(f, "function") && str(f, "file")) {
			pick = f;
			break;
		}
	if (!pick)
		pick = cJSON_GetArrayItem(frames, 0);
	fn = str(pick, "function");
	if (!fn)
		fn = str(pick, "symbol");
	if (str(pick, "file") && isfinite(num(pick, "line")))
		snprintf(loc, sizeof(loc), "%.*s:%.0f", LABEL_MAX, str(pick, "file"), num(pick, "line"));
	else if (str(pick, "module"))
		snprintf(loc, sizeof(loc), "%.*s+%.40s", LABEL_MAX, str(pick, "module"),
			 str(pick, "offset") ? str(pick, "offset") : "?");
	else
		snprintf(loc, sizeof(loc), "%s", "?");
	label(out, "function", fn ? fn : "?", first);
	label(out, "location", loc, first);
}

struct family {
	const char *name, *help;
	const char *part;   /* the sample's member that holds it (NULL: the sample) */
	const char *member; /* the number */
};

static const struct family device_families[] = {
	{ "memtrace_heap_bytes", "Bytes in the process's live heap blocks at its latest sample.",
	  "heap", "live_bytes" },
	{ "memtrace_heap_growth_bytes_per_second",
	  "Steady growth of the heap's low-water mark (Theil-Sen slope; 0 while it is not steady).",
	  "heap", "growth_bytes_per_s" },
	{ "memtrace_rss_bytes", "The process's resident set size at its latest sample.", "rss", "live_bytes" },
	{ "memtrace_rss_growth_bytes_per_second", "Steady growth of the resident set size.", "rss",
	  "growth_bytes_per_s" },
	{ "memtrace_samples", "Samples memtrace has taken of the process this session.", NULL, "samples" },
	{ "memtrace_sample_timestamp_seconds", "The device's clock at the latest sample (Unix time).", NULL,
	  "t_s" },
};

static const struct family context_families[] = {
	{ "memtrace_context_live_bytes", "Live bytes of an allocation context (a callstack).", NULL, "live_bytes" },
	{ "memtrace_context_live_blocks", "Live blocks of an allocation context.", NULL, "live_blocks" },
	{ "memtrace_context_growth_bytes_per_second",
	  "Steady growth of a context's live bytes: the fastest growers first, --metrics-top of them.",
	  NULL, "growth_bytes_per_s" },
};

static void family_head(FILE *out, const struct family *f)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", f->name, f->help, f->name);
}

char *srv_metrics_text(const struct srv_metrics *m, size_t *len)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	if (!out)
		return NULL;
	fputs("# HELP memtrace_devices Linked memtraces whose latest sample the server holds.\n"
	      "# TYPE memtrace_devices gauge\n", out);
	fprintf(out, "memtrace_devices %zu\n", m->n);
	for (size_t k = 0; k < sizeof(device_families) / sizeof(device_families[0]); k++) {
		const struct family *f = &device_families[k];

		family_head(out, f);
		for (size_t i = 0; i < m->n; i++) {
			const cJSON *part = f->part ? cJSON_GetObjectItemCaseSensitive(m->v[i].sample, f->part)
						    : m->v[i].sample;
			double v = num(part, f->member);
			int first = 1;

			if (!f->part && !strcmp(f->member, "t_s"))
				v = num(part, "t_ms") / 1000;
			if (!isfinite(v))
				continue;
			fprintf(out, "%s{", f->name);
			device_labels(out, &m->v[i], &first);
			fputc('}', out);
			value(out, v);
		}
	}
	for (size_t k = 0; k < sizeof(context_families) / sizeof(context_families[0]); k++) {
		const struct family *f = &context_families[k];

		family_head(out, f);
		for (size_t i = 0; i < m->n; i++) {
			const cJSON *c;
			int shown = 0;

			cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(m->v[i].sample, "contexts")) {
				double v = num(c, f->member), id = num(c, "id");
				char ids[32];
				int first = 1;

				if (shown == m->top)
					break;
				shown++;
				if (!isfinite(v) || !isfinite(id) || id < 0 || id > 4294967295.0)
					continue;
				snprintf(ids, sizeof(ids), "%.0f", id);
				fprintf(out, "%s{", f->name);
				device_labels(out, &m->v[i], &first);
				label(out, "context", ids, &first);
				frame_labels(out, c, &first);
				fputc('}', out);
				value(out, v);
			}
		}
	}
	if (fclose(out) != 0) {
		free(text);
		return NULL;
	}
	*len = size;
	return text;
}

/* ---------------------------------------------------------------- HTTP */

int srv_http_parse(const char *buf, size_t len, int *head)
{
	const char *end = NULL, *sp1, *sp2, *eol;
	size_t mlen, plen;

	*head = 0;
	for (size_t i = 0; i + 3 < len && !end; i++)
		if (!memcmp(buf + i, "\r\n\r\n", 4))
			end = buf + i;
	for (size_t i = 0; i + 1 < len && !end; i++)
		if (!memcmp(buf + i, "\n\n", 2))
			end = buf + i;
	if (!end)
		return len > SRV_HTTP_MAX_HEAD ? 431 : 0;
	eol = memchr(buf, '\n', (size_t)(end - buf) + 1);
	if (!eol)
		return 400;
	if (eol > buf && eol[-1] == '\r')
		eol--;
	sp1 = memchr(buf, ' ', (size_t)(eol - buf));
	if (!sp1)
		return 400;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp2 || (size_t)(eol - sp2 - 1) < 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return 400;
	mlen = (size_t)(sp1 - buf);
	plen = (size_t)(sp2 - sp1 - 1);
	for (const char *p = buf; p < eol; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 400;
	if (mlen == 4 && !memcmp(buf, "HEAD", 4))
		*head = 1;
	else if (!(mlen == 3 && !memcmp(buf, "GET", 3)))
		return 405;
	if (plen >= 8 && !memcmp(sp1 + 1, "/metrics", 8) && (plen == 8 || sp1[9] == '?'))
		return 200;
	return 404;
}
