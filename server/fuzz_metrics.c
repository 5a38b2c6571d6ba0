/*
 * fuzz_metrics.c: the libFuzzer harness for what reaches /metrics
 * (server/metrics.h; `make fuzz-server`, `make check-server-fuzz`,
 * server/server.mk). Not part of the server.
 *
 * The first byte picks the gate. Even: the rest is a scraper's request,
 * given to srv_http_parse whole and cut at every length; the status must
 * be one it documents, and 200 only for GET or HEAD of /metrics. Odd: the
 * rest is a device's sample (JSON, as it arrives decoded), stored under
 * one of three links (the byte's bits 1-2) beside two fixed samples, and
 * the whole exposition text is read back by a reader of its own: every
 * line a HELP or TYPE comment, or NAME{LABEL="VALUE",...} NUMBER with the
 * names of the format's alphabet, values escaped only as \\ \" \n, valid
 * UTF-8 with no control byte, and a finite number. Anything else is a
 * crash: a device's text would have become syntax for Prometheus.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

static int name_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static int name_char(int c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

/* A metric or label name at P; returns past it (P itself when there is none). */
static const char *name(const char *p, int colon)
{
	if (!name_start((unsigned char)*p) || (!colon && *p == ':'))
		return p;
	p++;
	while (name_char((unsigned char)*p) && (colon || *p != ':'))
		p++;
	return p;
}

/* One UTF-8 character at P (not a control byte); returns past it, or NULL. */
static const char *utf8_char(const char *p)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t n;
	unsigned cp;

	if (s[0] < 0x20 || s[0] == 0x7f)
		return NULL;
	if (s[0] < 0x80)
		return p + 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07u;
	else
		return NULL;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return NULL;
		cp = cp << 6 | (s[k] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return NULL;
	return p + n;
}

/* One line of the text, without its newline. */
static void check_line(const char *p)
{
	const char *q;
	char *end;
	double v;

	if (*p == '#') {
		check(!strncmp(p, "# HELP ", 7) || !strncmp(p, "# TYPE ", 7));
		q = name(p + 7, 1);
		check(q != p + 7 && *q == ' ');
		for (q++; *q; q = utf8_char(q))
			check(utf8_char(q) != NULL);
		return;
	}
	q = name(p, 1);
	check(q != p);
	p = q;
	if (*p == '{') {
		p++;
		for (;;) {
			q = name(p, 0);
			check(q != p && q[0] == '=' && q[1] == '"');
			p = q + 2;
			while (*p != '"') {
				if (*p == '\\') {
					check(p[1] == '\\' || p[1] == '"' || p[1] == 'n');
					p += 2;
					continue;
				}
				check(*p != '\0');
				p = utf8_char(p);
				check(p != NULL);
			}
			p++;
			if (*p == '}')
				break;
			check(*p == ',');
			p++;
		}
		p++;
	}
	check(*p == ' ');
	v = strtod(p + 1, &end);
	check(end != p + 1 && *end == '\0' && isfinite(v));
}

static void check_text(const struct srv_metrics *m)
{
	size_t len = 0;
	char *text = srv_metrics_text(m, &len), *line, *nl;

	if (!text)
		return; /* out of memory: allowed */
	check(strlen(text) == len && len > 0 && text[len - 1] == '\n');
	for (line = text; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		check(nl != NULL);
		*nl = '\0';
		check_line(line);
	}
	free(text);
}

static const char fixed_a[] =
	"{\"version\":1,\"pid\":7,\"program\":\"/usr/sbin/d\",\"host\":\"box\",\"samples\":3,\"t_ms\":1796000000123,"
	"\"heap\":{\"live_bytes\":100,\"growth_bytes_per_s\":1.5},\"rss\":{\"live_bytes\":4096},"
	"\"contexts\":[{\"id\":1,\"live_bytes\":64,\"live_blocks\":1,\"growth_bytes_per_s\":0.25,"
	"\"frames\":[{\"symbol\":\"strdup+0x1a\"},{\"function\":\"keep\",\"file\":\"k.c\",\"line\":9}]}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const links[] = { "a", "b", "c" };
	struct srv_metrics *m;
	cJSON *sample;
	char *text;
	int head;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (!(data[0] & 1)) {
		for (size_t n = 0; n < size; n++) {
			int st = srv_http_parse(text, n, &head);

			check(st == 0 || st == 200 || st == 400 || st == 404 || st == 405 || st == 431);
			check(st != 431 || n > SRV_HTTP_MAX_HEAD);
			if (st == 200)
				check(!strncmp(text, head ? "HEAD /metrics" : "GET /metrics", head ? 13 : 12));
		}
		free(text);
		return 0;
	}
	m = srv_metrics_new(1 + data[0] % 7);
	if (!m) {
		free(text);
		return 0;
	}
	srv_metrics_put(m, "a", "10.0.0.1", cJSON_Parse(fixed_a));
	srv_metrics_put(m, "b", "[::1]", cJSON_Parse(fixed_a));
	sample = cJSON_ParseWithLength(text, size - 1);
	if (sample)
		srv_metrics_put(m, links[(data[0] >> 1) % 3], text, sample);
	check_text(m);
	srv_metrics_forget(m, "a");
	check_text(m);
	srv_metrics_free(m);
	free(text);
	return 0;
}
