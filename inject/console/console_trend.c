/*
 * Growth over hours and days (docs/user-guide.md, "What keeps growing:
 * trend"): every --sample seconds memtrace asks the agent for a sample
 * (every context's live bytes and blocks, no frames: one pass over the
 * agent's counters) and the process's RSS, keeps the series in bounded
 * memory (common/trend.h) and, with --record FILE, appends each sample to
 * FILE as a line of JSON, flushed, with the callstack of every context the
 * first time it shows (docs/protocol.md, "Records").
 *
 *     trend [-c N] [--json] [-o FILE] [--raw]
 *
 * ranks the contexts by how steadily they grow. The record's context ids
 * are the record's own: a later session on the same process (the agent's
 * ids start again after a detach) appends to the file, after a "session"
 * line, and a context whose stack the file holds keeps its id there. The
 * trend of a session is its own samples': what the agent tracks starts
 * again at each attach (blocks from before are not seen), so the series
 * of two sessions do not join.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "console/console.h"
#include "link/srvlink.h"
#include "log.h"
#include "proto.h"
#include "report.h"
#include "session.h"
#include "trend.h"
#include "util.h"

struct idmap {
	uint32_t agent, rec;
};

struct inj_sampler {
	long ms;
	int64_t next;
	struct trend trend;
	int64_t last_t;			/* the last sample's time (wall ms) */
	int64_t first_t;
	/* The agent's context ids to the record's, sorted by agent id. */
	struct idmap *map;
	size_t nmap, capmap;
	uint32_t next_rec;
	/* The frames of every record id, as the record holds them; "module+offset ..." keys. */
	cJSON *frames;			/* object: rec id (text) -> frames array */
	cJSON *keys;			/* object: key -> rec id */
	const char *path;
	FILE *rec;
	int failed;			/* sampling stopped: the agent is gone or out of memory */
	int rec_failed;			/* the record could not be written: said once */
	long recorded;			/* samples of earlier sessions in the record */
	int no_server_samples;		/* the linked server does not take samples: said once */
	char program[256];		/* the process's, for the server's samples ("": not asked yet) */
};

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The process's resident memory in bytes (VmRSS), 0 when unknown. */
static int64_t rss_bytes(int pid)
{
	char path[64], val[64];

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (proc_status_value(path, "VmRSS:", val, sizeof(val)) < 0)
		return 0;
	return strtoll(val, NULL, 10) * 1024;
}

/* ---------------------------------------------------------------- ids and stacks */

static struct idmap *map_find(struct inj_sampler *s, uint32_t agent)
{
	size_t lo = 0, hi = s->nmap;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->map[mid].agent < agent)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nmap && s->map[lo].agent == agent ? &s->map[lo] : NULL;
}

static void map_add(struct inj_sampler *s, uint32_t agent, uint32_t rec)
{
	size_t i = s->nmap;

	if (s->nmap == s->capmap) {
		size_t cap = s->capmap ? 2 * s->capmap : 64;
		struct idmap *m = xcalloc(cap, sizeof(*m));

		if (s->nmap)
			memcpy(m, s->map, s->nmap * sizeof(*m));
		free(s->map);
		s->map = m;
		s->capmap = cap;
	}
	while (i > 0 && s->map[i - 1].agent > agent) {
		s->map[i] = s->map[i - 1];
		i--;
	}
	s->map[i] = (struct idmap){ agent, rec };
	s->nmap++;
}

/* A stack's key: its frames' "module+offset", space-separated (the same code in the same files). */
static char *stack_key(const cJSON *frames)
{
	size_t len = 1, at = 0;
	const cJSON *f;
	char *k;

	cJSON_ArrayForEach(f, frames)
		len += strlen(inj_json_str(f, "module", "?")) + strlen(inj_json_str(f, "offset", "?")) + 2;
	k = xmalloc(len);
	cJSON_ArrayForEach(f, frames)
		at += (size_t)snprintf(k + at, len - at, "%s+%s ", inj_json_str(f, "module", "?"),
				       inj_json_str(f, "offset", "?"));
	k[at] = '\0';
	return k;
}

/* Record id REC has FRAMES (copied): known by its key from now on. */
static void stack_add(struct inj_sampler *s, uint32_t rec, const cJSON *frames)
{
	char name[16], *key = stack_key(frames);

	snprintf(name, sizeof(name), "%u", rec);
	cJSON_DeleteItemFromObjectCaseSensitive(s->frames, name);
	cJSON_AddItemToObject(s->frames, name, cJSON_Duplicate(frames, 1));
	if (!cJSON_GetObjectItemCaseSensitive(s->keys, key))
		cJSON_AddNumberToObject(s->keys, key, rec);
	free(key);
	if (rec >= s->next_rec)
		s->next_rec = rec + 1;
}

/* ---------------------------------------------------------------- the record */

static void rec_line(struct inj_sampler *s, cJSON *line)
{
	char *text = cJSON_PrintUnformatted(line);

	cJSON_Delete(line);
	if (!s->rec || s->rec_failed)
		goto out;
	if (fprintf(s->rec, "%s\n", text) < 0 || fflush(s->rec) != 0) {
		s->rec_failed = 1;
		log_err("record %s: cannot write (%s); sampling goes on, the record stops at its last whole "
			"sample: free some space and start a new record", s->path, strerror(errno));
	}
out:
	free(text);
}

/*
 * An existing record of process PID (PROGRAM) taken up: its stacks (ids
 * kept) and how many samples it holds. 0; 1 when there is no such file, or
 * it has no header (empty); -1 after saying why it cannot be continued.
 */
static int rec_resume(struct inj_sampler *s, int pid, const char *program)
{
	FILE *f = fopen(s->path, "re");
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	int ret = 0, header = 0;

	if (!f)
		return errno == ENOENT ? 1 : log_err("record %s: %s", s->path, strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		cJSON *j = cJSON_Parse(line);
		const char *type = inj_json_str(j, "type", "");

		lineno++;
		if (!j) {
			/* A line cut by a crash or a full disk: what follows it is taken up still. */
			log_warn("record %s: line %ld is not JSON (cut short?): skipped", s->path, lineno);
			continue;
		}
		header |= !strcmp(type, "record");
		if (!strcmp(type, "record") && (inj_json_i64(j, "pid", 0) != pid ||
						strcmp(inj_json_str(j, "program", ""), program))) {
			ret = log_err("record %s is of process %ld (%s), not %d (%s): give another file", s->path,
				      (long)inj_json_i64(j, "pid", 0), inj_json_str(j, "program", "?"), pid, program);
			cJSON_Delete(j);
			break;
		}
		if (!strcmp(type, "context")) {
			uint32_t id;

			if (inj_json_id(cJSON_GetObjectItemCaseSensitive(j, "id"), &id) && id)
				stack_add(s, id, cJSON_GetObjectItemCaseSensitive(j, "frames"));
		} else if (!strcmp(type, "sample")) {
			s->recorded++;
		}
		cJSON_Delete(j);
	}
	free(line);
	fclose(f);
	if (ret == 0 && !header)
		return 1;	/* empty, or not a record's start: begun anew after what is there */
	if (ret == 0)
		log_info("record %s taken up: %ld samples, %u stacks", s->path, s->recorded, s->next_rec - 1);
	return ret;
}

/* The record opened at the first sample: taken up if it exists, else begun with its header. */
static int rec_open(struct inj_sampler *s, struct inj_console *con)
{
	cJSON *st = inj_session_request(con->session, "status", NULL, con->timeout_ms), *h;
	const char *program = inj_json_str(st, "program", "?");
	int r;

	if (!st)
		return -1;
	r = rec_resume(s, con->pid, program);
	if (r >= 0)
		s->rec = fopen(s->path, "a+e");
	if (r >= 0 && !s->rec)
		r = log_err("record %s: %s", s->path, strerror(errno));
	/* A line cut short at the end (memtrace killed in a write) stays a line of its own. */
	if (s->rec && fseek(s->rec, -1, SEEK_END) == 0 && fgetc(s->rec) != '\n' && fseek(s->rec, 0, SEEK_END) == 0)
		fputc('\n', s->rec);
	if (s->rec)
		fseek(s->rec, 0, SEEK_END);	/* from reading to writing */
	/* A new record's header; a record taken up, where this session begins
	 * (what the agent tracks starts again: blocks from before are not seen). */
	h = cJSON_CreateObject();
	cJSON_AddStringToObject(h, "type", r == 1 ? "record" : "session");
	if (r == 1) {
		cJSON_AddNumberToObject(h, "version", 1);
		cJSON_AddNumberToObject(h, "pid", con->pid);
		cJSON_AddStringToObject(h, "program", program);
	}
	cJSON_AddNumberToObject(h, "sample_ms", (double)s->ms);
	cJSON_AddNumberToObject(h, "start_wall_ms", (double)wall_ms());
	if (r >= 0)
		rec_line(s, h);
	else
		cJSON_Delete(h);
	cJSON_Delete(st);
	return r < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- sampling */

struct inj_sampler *inj_sampler_new(long ms, const char *record)
{
	struct inj_sampler *s = xcalloc(1, sizeof(*s));

	s->ms = ms;
	s->path = record;
	s->next_rec = 1;
	s->frames = cJSON_CreateObject();
	s->keys = cJSON_CreateObject();
	trend_init(&s->trend);
	return s;
}

void inj_sampler_free(struct inj_sampler *s)
{
	if (!s)
		return;
	if (s->rec)
		fclose(s->rec);
	trend_free(&s->trend);
	cJSON_Delete(s->frames);
	cJSON_Delete(s->keys);
	free(s->map);
	free(s);
}

long inj_sampler_due(const struct inj_console *con, int64_t now_ms)
{
	const struct inj_sampler *s = con->sampler;

	if (!s || s->failed || !con->session || inj_session_lost(con->session))
		return -1;
	return now_ms < s->next ? (long)(s->next - now_ms) : 0;
}

/* The record ids of the agent's contexts in SAMPLE (agent ids) that have none yet, from a report's frames. */
static void learn(struct inj_sampler *s, struct inj_console *con, const cJSON *sample)
{
	const cJSON *c, *rc, *contexts;
	cJSON *rep = NULL;
	int missing = 0;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(sample, "contexts"))
		missing |= !map_find(s, (uint32_t)inj_json_item_i64(cJSON_GetArrayItem(c, 0), 0));
	if (!missing)
		return;
	rep = inj_console_fetch_report(con, "sample", 0, 1);
	contexts = cJSON_GetObjectItemCaseSensitive(rep, "contexts");
	cJSON_ArrayForEach(rc, contexts) {
		uint32_t agent = (uint32_t)inj_json_i64(rc, "id", 0), rec;
		const cJSON *frames = cJSON_GetObjectItemCaseSensitive(rc, "frames");
		char *key;
		const cJSON *known;

		if (map_find(s, agent))
			continue;
		key = stack_key(frames);
		known = cJSON_GetObjectItemCaseSensitive(s->keys, key);
		free(key);
		rec = known ? (uint32_t)inj_json_item_i64(known, 0) : s->next_rec;
		map_add(s, agent, rec);
		if (!known) {
			cJSON *line = cJSON_CreateObject();

			stack_add(s, rec, frames);
			cJSON_AddStringToObject(line, "type", "context");
			cJSON_AddNumberToObject(line, "id", rec);
			cJSON_AddItemToObject(line, "frames", cJSON_Duplicate(frames, 1));
			rec_line(s, line);
		}
	}
	cJSON_Delete(rep);
}

static cJSON *trend_doc(struct inj_console *con, long count, int raw, int live);
static void to_server(struct inj_console *con);

void inj_sampler_tick(struct inj_console *con, int64_t now_ms)
{
	struct inj_sampler *s = con->sampler;
	cJSON *r, *line, *arr;
	const cJSON *sample, *c;
	size_t n, k = 0;
	uint32_t *ids;
	int64_t *bytes, *blocks, t = wall_ms(), heap, rss;
	enum log_level lvl;

	s->next = now_ms + s->ms;
	if (s->path && !s->rec && !s->rec_failed && rec_open(s, con) < 0) {
		s->rec_failed = 1;
		log_err("record %s: not recording; sampling goes on", s->path);
	}
	/* Quiet: the process may end at any moment, and that is no error of sampling's. */
	lvl = log_get_level();
	log_set_level(LOG_QUIET);
	r = inj_session_request(con->session, "sample", NULL, con->timeout_ms);
	if (cJSON_GetObjectItemCaseSensitive(r, "sample"))
		learn(s, con, cJSON_GetObjectItemCaseSensitive(r, "sample"));
	log_set_level(lvl);
	sample = cJSON_GetObjectItemCaseSensitive(r, "sample");
	if (!sample) {
		if (!inj_session_lost(con->session)) {
			s->failed = 1;
			log_err("sampling stopped: the agent does not answer samples (an agent of an older memtrace? "
				"detach, and attach with this one)");
		}
		cJSON_Delete(r);
		return;
	}
	n = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(sample, "contexts"));
	ids = xcalloc(n + 1, sizeof(*ids));
	bytes = xcalloc(n + 1, sizeof(*bytes));
	blocks = xcalloc(n + 1, sizeof(*blocks));
	arr = cJSON_CreateArray();
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(sample, "contexts")) {
		const struct idmap *m = map_find(s, (uint32_t)inj_json_item_i64(cJSON_GetArrayItem(c, 0), 0));
		cJSON *e;

		if (!m)
			continue;	/* allocated between the sample and the report: next time */
		ids[k] = m->rec;
		bytes[k] = inj_json_item_i64(cJSON_GetArrayItem(c, 1), 0);
		blocks[k] = inj_json_item_i64(cJSON_GetArrayItem(c, 2), 0);
		e = cJSON_CreateArray();
		cJSON_AddItemToArray(e, cJSON_CreateNumber(ids[k]));
		cJSON_AddItemToArray(e, cJSON_CreateNumber((double)bytes[k]));
		cJSON_AddItemToArray(e, cJSON_CreateNumber((double)blocks[k]));
		cJSON_AddItemToArray(arr, e);
		k++;
	}
	heap = inj_json_i64(sample, "in_use_bytes", 0);
	rss = rss_bytes(con->pid);
	/* The wall clock may step back: the series' time never does. */
	if (t <= s->last_t)
		t = s->last_t + 1;
	if (trend_add(&s->trend, t, ids, bytes, blocks, k, heap, rss) < 0) {
		s->failed = 1;
		log_err("sampling stopped: memtrace is out of memory");
	}
	if (!s->first_t)
		s->first_t = t;
	s->last_t = t;
	line = cJSON_CreateObject();
	cJSON_AddStringToObject(line, "type", "sample");
	cJSON_AddNumberToObject(line, "t_ms", (double)t);
	cJSON_AddNumberToObject(line, "uptime_ms", inj_json_num(sample, "uptime_ms", 0));
	cJSON_AddNumberToObject(line, "heap_bytes", (double)heap);
	cJSON_AddNumberToObject(line, "heap_blocks", inj_json_num(sample, "in_use_blocks", 0));
	cJSON_AddNumberToObject(line, "rss_bytes", (double)rss);
	cJSON_AddItemToObject(line, "contexts", arr);
	rec_line(s, line);
	free(ids);
	free(bytes);
	free(blocks);
	cJSON_Delete(r);
	if (con->link && !s->no_server_samples && inj_link_linked(con->link))
		to_server(con);
}

/* Drop the member "samples" of O (the series: the server keeps only the latest values). */
static void drop_series(cJSON *o)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, "samples");
}

/*
 * The sample to the linked server, for its /metrics (memtrace-server
 * --metrics; docs/protocol.md, "Server link"): the trend document of the
 * SERVER_TOP fastest growers without the series, their frames raw (from
 * the stacks learnt, no report fetched), with the device's host name and
 * the sample's time.
 */
#define SERVER_TOP 20
#define SERVER_SAMPLE_TIMEOUT_MS 30000 /* the server decodes the frames: reading a module's symbols the first time */
static void to_server(struct inj_console *con)
{
	struct inj_sampler *s = con->sampler;
	cJSON *doc = trend_doc(con, SERVER_TOP, 1, 0), *args = cJSON_CreateObject(), *reply, *c;
	char host[256] = "";
	long id;

	drop_series(cJSON_GetObjectItemCaseSensitive(doc, "heap"));
	drop_series(cJSON_GetObjectItemCaseSensitive(doc, "rss"));
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "contexts"))
		drop_series(c);
	if (!s->program[0]) {
		enum log_level lvl = log_get_level();
		cJSON *st;

		/* Quiet, as the sample's own requests: the process may have ended meanwhile. */
		log_set_level(LOG_QUIET);
		st = inj_session_request(con->session, "status", NULL, con->timeout_ms);
		log_set_level(lvl);
		snprintf(s->program, sizeof(s->program), "%s", inj_json_str(st, "program", "?"));
		cJSON_Delete(st);
	}
	cJSON_ReplaceItemInObjectCaseSensitive(doc, "program", cJSON_CreateString(s->program));
	gethostname(host, sizeof(host) - 1);
	cJSON_AddStringToObject(doc, "host", host);
	cJSON_AddNumberToObject(doc, "t_ms", (double)s->last_t);
	cJSON_AddItemToObject(args, "sample", doc);
	id = inj_link_send(con->link, "sample", args);
	if (id < 0)
		return;
	reply = inj_link_wait(con->link, id, SERVER_SAMPLE_TIMEOUT_MS);
	if (reply && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"))) {
		const char *err = inj_json_str(reply, "error", "?");

		if (strstr(err, "unknown command")) {
			s->no_server_samples = 1;
			log_info("memtrace-server does not take samples (one before 0.4): not sent to it");
		} else {
			log_warn("memtrace-server refused a sample: %s", err);
		}
	}
	cJSON_Delete(reply);
}

/* ---------------------------------------------------------------- trend */

struct ranked {
	const struct trend_series *s;
	struct trend_growth g;
};

static int by_growth(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->g.bytes_per_s != y->g.bytes_per_s)
		return x->g.bytes_per_s > y->g.bytes_per_s ? -1 : 1;
	return x->s->now > y->s->now ? -1 : x->s->now < y->s->now;
}

/* A series as [[time_ms, low-water bytes], ...], slot by slot. */
static cJSON *series_json(const struct trend *t, const struct trend_series *s)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t k = 0; k < t->nslots; k++) {
		cJSON *p = cJSON_CreateArray();

		cJSON_AddItemToArray(p, cJSON_CreateNumber((double)t->t[k]));
		cJSON_AddItemToArray(p, cJSON_CreateNumber((double)s->slot[k].lo));
		cJSON_AddItemToArray(a, p);
	}
	return a;
}

static cJSON *growth_json(const struct trend *t, const struct trend_series *s, const struct trend_growth *g)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "growth_bytes_per_s", g->bytes_per_s);
	cJSON_AddNumberToObject(o, "growing_ms", (double)g->growing_ms);
	cJSON_AddNumberToObject(o, "live_bytes", (double)s->now);
	cJSON_AddItemToObject(o, "samples", series_json(t, s));
	return o;
}

/*
 * The document of trend (docs/protocol.md, "Trend"): the COUNT (0: all)
 * fastest growers. LIVE: their frames from a report of the agent (decoded
 * when linked, unless RAW) where the context is live; else the record's.
 */
static cJSON *trend_doc(struct inj_console *con, long count, int raw, int live)
{
	struct inj_sampler *s = con->sampler;
	const struct trend *t = &s->trend;
	struct ranked *r = xcalloc(t->n + 1, sizeof(*r));
	cJSON *doc = cJSON_CreateObject(), *ctxs, *rep = NULL;
	struct trend_growth g;
	const cJSON *rc;
	size_t shown;

	for (size_t i = 0; i < t->n; i++) {
		r[i].s = &t->s[i];
		trend_growth(t, &t->s[i], &r[i].g);
	}
	qsort(r, t->n, sizeof(*r), by_growth);
	shown = count > 0 && (size_t)count < t->n ? (size_t)count : t->n;
	/* The callstacks: decoded from the agent's report where the context is live, else the record's. */
	if (live && con->session && !inj_session_lost(con->session))
		rep = inj_console_fetch_report(con, "trend", 0, raw);
	cJSON_AddNumberToObject(doc, "version", 1);
	cJSON_AddNumberToObject(doc, "pid", con->pid);
	cJSON_AddStringToObject(doc, "program", inj_json_str(rep, "program", "?"));
	cJSON_AddNumberToObject(doc, "samples", (double)t->samples);
	cJSON_AddNumberToObject(doc, "recorded_samples", (double)(t->samples + (uint64_t)s->recorded));
	cJSON_AddNumberToObject(doc, "sample_ms", (double)s->ms);
	cJSON_AddNumberToObject(doc, "span_ms", (double)(s->last_t - s->first_t));
	trend_growth(t, &t->heap, &g);
	cJSON_AddItemToObject(doc, "heap", growth_json(t, &t->heap, &g));
	trend_growth(t, &t->rss, &g);
	cJSON_AddItemToObject(doc, "rss", growth_json(t, &t->rss, &g));
	ctxs = cJSON_AddArrayToObject(doc, "contexts");
	for (size_t i = 0; i < shown; i++) {
		cJSON *c = growth_json(t, r[i].s, &r[i].g);
		const cJSON *frames = NULL;
		char name[16];

		cJSON_AddNumberToObject(c, "id", r[i].s->id);
		cJSON_AddNumberToObject(c, "live_blocks", (double)r[i].s->blocks_now);
		for (size_t k = 0; k < s->nmap && !frames; k++)
			if (s->map[k].rec == r[i].s->id)
				cJSON_ArrayForEach(rc, cJSON_GetObjectItemCaseSensitive(rep, "contexts"))
					if ((uint32_t)inj_json_i64(rc, "id", 0) == s->map[k].agent)
						frames = cJSON_GetObjectItemCaseSensitive(rc, "frames");
		snprintf(name, sizeof(name), "%u", r[i].s->id);
		if (!frames)
			frames = cJSON_GetObjectItemCaseSensitive(s->frames, name);
		cJSON_AddItemToObject(c, "frames", frames ? cJSON_Duplicate(frames, 1) : cJSON_CreateArray());
		cJSON_AddItemToArray(ctxs, c);
	}
	cJSON_Delete(rep);
	free(r);
	return doc;
}

/* "+1.2 MiB/h" */
static const char *rate_text(char *buf, size_t len, double bytes_per_s)
{
	char h[32];

	snprintf(buf, len, "%s%s/h", bytes_per_s < 0 ? "-" : "+",
		 human_size(h, sizeof(h), trend_per_hour(bytes_per_s)));
	return buf;
}

static void trend_print(FILE *out, const cJSON *doc)
{
	const cJSON *c, *heap = cJSON_GetObjectItemCaseSensitive(doc, "heap"),
		       *rss = cJSON_GetObjectItemCaseSensitive(doc, "rss");
	char a[48], b[32], d[32];

	fprintf(out, "== memtrace trend: pid %.0f, %s: %.0f samples over %.1f s (every %.1f s)\n",
		inj_json_num(doc, "pid", 0), inj_json_str(doc, "program", "?"), inj_json_num(doc, "samples", 0),
		inj_json_num(doc, "span_ms", 0) / 1000, inj_json_num(doc, "sample_ms", 0) / 1000);
	fprintf(out, "   heap %s now, %s; RSS %s now, %s\n",
		human_size(b, sizeof(b), (uint64_t)inj_json_num(heap, "live_bytes", 0)),
		rate_text(a, sizeof(a), inj_json_num(heap, "growth_bytes_per_s", 0)),
		human_size(d, sizeof(d), (uint64_t)inj_json_num(rss, "live_bytes", 0)),
		rate_text(a + 24, sizeof(a) - 24, inj_json_num(rss, "growth_bytes_per_s", 0)));
	if (inj_json_num(doc, "samples", 0) < 4)
		fputs("   (fewer than 4 samples: no growth is told yet)\n", out);
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "contexts")) {
		fprintf(out, "\ncontext %.0f: %s, %s live now in %.0f blocks", inj_json_num(c, "id", 0),
			rate_text(a, sizeof(a), inj_json_num(c, "growth_bytes_per_s", 0)),
			human_size(b, sizeof(b), (uint64_t)inj_json_num(c, "live_bytes", 0)),
			inj_json_num(c, "live_blocks", 0));
		if (inj_json_num(c, "growing_ms", 0) > 0)
			fprintf(out, ", growing for %.1f s", inj_json_num(c, "growing_ms", 0) / 1000);
		fputc('\n', out);
		inj_report_print_frames(out, c);
	}
	fflush(out);
}

int inj_console_trend(struct inj_console *con, int argc, char **argv)
{
	struct inj_report_opts o = INJ_REPORT_OPTS;
	cJSON *doc;
	int ret;

	for (int i = 1; i < argc; i++) {
		int r = inj_console_report_opt("trend", argc, argv, &i, &o);

		if (r < 0)
			return -1;
		if (!r)
			return inj_console_bad_option("trend", argv[i]);
	}
	if (!con->sampler)
		return log_err("trend: no samples are taken (memtrace --sample SEC)");
	doc = trend_doc(con, o.count, o.raw, 1);
	ret = inj_console_output(con, "trend", o.file, o.json, doc, trend_print);
	cJSON_Delete(doc);
	return ret;
}
