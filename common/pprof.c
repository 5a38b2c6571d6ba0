/*
 * A report as a pprof profile (pprof.h). The protocol buffer is written by
 * hand: varints, and each nested message built in a buffer of its own and
 * then appended with its length (Protocol Buffers' encoding guide: wire
 * types 0 and 2; repeated numbers packed). Strings and functions are
 * interned: a table of every string (index 0 is ""), a function a distinct
 * (name, file).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pprof.h"
#include "report.h"
#include "util.h"

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		unsigned char *q;

		while (cap < b->len + n)
			cap *= 2;
		q = xmalloc(cap);
		if (b->len)
			memcpy(q, b->p, b->len);
		free(b->p);
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void varint(struct buf *b, uint64_t v)
{
	unsigned char c[10];
	size_t n = 0;

	do {
		c[n++] = (unsigned char)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		v >>= 7;
	} while (v);
	put(b, c, n);
}

/* Field F as a number (wire type 0). */
static void num(struct buf *b, unsigned f, uint64_t v)
{
	varint(b, (uint64_t)f << 3);
	varint(b, v);
}

/* Field F as bytes (wire type 2): a string, a nested message, a packed array. */
static void bytes(struct buf *b, unsigned f, const void *p, size_t n)
{
	varint(b, (uint64_t)f << 3 | 2);
	varint(b, n);
	put(b, p, n);
}

static void nested(struct buf *b, unsigned f, struct buf *m)
{
	bytes(b, f, m->p, m->len);
	free(m->p);
	*m = (struct buf){ 0 };
}

/* A map from strings to numbers: open addressing, FNV-1a, twice the room it holds. */
struct map {
	char **key;
	uint64_t *val;
	size_t n, cap;
};

static uint64_t fnv(const char *k)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ULL;
	return h;
}

/* K's slot in M (empty when K is not there). */
static size_t slot(const struct map *m, const char *k)
{
	size_t i = (size_t)fnv(k) & (m->cap - 1);

	while (m->key[i] && strcmp(m->key[i], k))
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int map_get(const struct map *m, const char *k, uint64_t *v)
{
	size_t i;

	if (!m->cap)
		return 0;
	i = slot(m, k);
	if (!m->key[i])
		return 0;
	*v = m->val[i];
	return 1;
}

static void map_put(struct map *m, const char *k, uint64_t v)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap) {
		struct map g = { xcalloc(m->cap ? 2 * m->cap : 64, sizeof(char *)), NULL, 0,
				 m->cap ? 2 * m->cap : 64 };

		g.val = xcalloc(g.cap, sizeof(*g.val));
		for (size_t j = 0; j < m->cap; j++)
			if (m->key[j]) {
				i = slot(&g, m->key[j]);
				g.key[i] = m->key[j];
				g.val[i] = m->val[j];
				g.n++;
			}
		free(m->key);
		free(m->val);
		*m = g;
	}
	i = slot(m, k);
	m->key[i] = xstrdup(k);
	m->val[i] = v;
	m->n++;
}

static void map_free(struct map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->key[i]);
	free(m->key);
	free(m->val);
}

/* The string table: an index a distinct string. */
struct strings {
	struct map ix;		/* string -> index */
	struct buf out;		/* the table's fields (6), in order */
	uint64_t n;
};

static uint64_t str(struct strings *s, const char *v)
{
	uint64_t i;

	if (map_get(&s->ix, v, &i))
		return i;
	map_put(&s->ix, v, s->n);
	bytes(&s->out, 6, v, strlen(v));
	return s->n++;
}

struct funcs {
	struct map ix;		/* "name\1file" -> id */
	struct buf out;		/* the functions (5) */
	uint64_t n;
};

static uint64_t func(struct funcs *fs, struct strings *s, const char *name, const char *file)
{
	size_t len = strlen(name) + strlen(file) + 2;
	char *key = xmalloc(len);
	struct buf m = { 0 };
	uint64_t id;

	snprintf(key, len, "%s\1%s", name, file);
	if (map_get(&fs->ix, key, &id)) {
		free(key);
		return id;
	}
	id = ++fs->n;
	map_put(&fs->ix, key, id);
	free(key);
	num(&m, 1, id);
	num(&m, 2, str(s, name));
	num(&m, 3, str(s, name));
	if (*file)
		num(&m, 4, str(s, file));
	nested(&fs->out, 5, &m);
	return id;
}

/* A line (4) of a location: FUNCTION at LINE. */
static void line(struct buf *loc, struct funcs *fs, struct strings *s, const char *fn, const char *file, int ln)
{
	struct buf m = { 0 };

	num(&m, 1, func(fs, s, fn, file ? file : ""));
	if (ln > 0)
		num(&m, 2, (uint64_t)ln);
	nested(loc, 4, &m);
}

/* Frame F as location ID (4 of the profile). */
static void location(struct buf *prof, struct funcs *fs, struct strings *s, uint64_t id, const cJSON *f)
{
	const cJSON *inl = cJSON_GetObjectItemCaseSensitive(f, "inlined"), *l;
	const char *fn = inj_json_str(f, "function", NULL), *sym = inj_json_str(f, "symbol", NULL);
	struct buf m = { 0 };
	uint64_t addr = strtoull(inj_json_str(f, "addr", "0"), NULL, 16);
	char name[512];

	num(&m, 1, id);
	num(&m, 3, addr);
	/* The calls inlined here first, innermost first; the frame's own function last. */
	cJSON_ArrayForEach(l, inl)
		line(&m, fs, s, inj_json_str(l, "function", "??"), inj_json_str(l, "file", NULL),
		     (int)inj_json_num(l, "line", 0));
	if (fn) {
		line(&m, fs, s, fn, inj_json_str(f, "file", NULL), (int)inj_json_num(f, "line", 0));
	} else {
		if (sym)
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(sym, "+"), sym);
		else
			snprintf(name, sizeof(name), "%s+%s", inj_json_str(f, "module", "?"), inj_json_str(f, "offset", "?"));
		line(&m, fs, s, name, inj_json_str(f, "module", NULL), 0);
	}
	nested(prof, 4, &m);
}

static void value_type(struct buf *prof, unsigned field, struct strings *s, const char *type, const char *unit)
{
	struct buf m = { 0 };

	num(&m, 1, str(s, type));
	num(&m, 2, str(s, unit));
	nested(prof, field, &m);
}

/* P (LEN bytes) gzip'ed to OUT. 0 or -1. */
static int gzip_to(FILE *out, const unsigned char *p, size_t len)
{
	z_stream z = { 0 };
	unsigned char chunk[65536];
	int r;

	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	z.next_in = (unsigned char *)p;
	z.avail_in = (uInt)len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		r = deflate(&z, Z_FINISH);
		if (r == Z_STREAM_ERROR || fwrite(chunk, 1, sizeof(chunk) - z.avail_out, out) != sizeof(chunk) - z.avail_out) {
			deflateEnd(&z);
			return -1;
		}
	} while (r != Z_STREAM_END);
	deflateEnd(&z);
	return 0;
}

int report_pprof_write(FILE *out, const cJSON *rep)
{
	struct strings s = { 0 };
	struct funcs fs = { 0 };
	struct buf prof = { 0 }, locs = { 0 };
	const cJSON *c, *f;
	uint64_t next_loc = 0;
	int ret;

	str(&s, "");
	value_type(&prof, 1, &s, "inuse_space", "bytes");
	value_type(&prof, 1, &s, "inuse_objects", "count");
	value_type(&prof, 1, &s, "alloc_space", "bytes");
	value_type(&prof, 1, &s, "alloc_objects", "count");
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(rep, "contexts")) {
		struct buf sample = { 0 }, ids = { 0 }, vals = { 0 };

		/* A location a frame of each context: the same address in two contexts is two locations, which pprof merges by address. */
		cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(c, "frames")) {
			location(&locs, &fs, &s, ++next_loc, f);
			varint(&ids, next_loc);
		}
		varint(&vals, (uint64_t)inj_json_i64(c, "live_bytes", 0));
		varint(&vals, (uint64_t)inj_json_i64(c, "live_blocks", 0));
		varint(&vals, (uint64_t)inj_json_i64(c, "total_bytes", 0));
		varint(&vals, (uint64_t)inj_json_i64(c, "total_allocs", 0));
		if (ids.len)
			bytes(&sample, 1, ids.p, ids.len);
		bytes(&sample, 2, vals.p, vals.len);
		free(ids.p);
		free(vals.p);
		nested(&prof, 2, &sample);
	}
	value_type(&prof, 11, &s, "space", "bytes");
	num(&prof, 12, 1);
	num(&prof, 14, str(&s, "inuse_space"));
	/* Every string is interned by now: the tables last (fields may come in any order). */
	put(&prof, locs.p, locs.len);
	put(&prof, fs.out.p, fs.out.len);
	put(&prof, s.out.p, s.out.len);
	ret = gzip_to(out, prof.p, prof.len);
	free(prof.p);
	free(locs.p);
	free(fs.out.p);
	free(s.out.p);
	map_free(&s.ix);
	map_free(&fs.ix);
	return ret;
}
