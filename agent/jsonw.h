/*
 * A JSON writer for the agent: appends to a buffer of its own mmap'ed
 * memory, allocates nothing else, and is async-signal-safe, so the exit
 * report can be written from a fatal-signal handler. Commas are placed by
 * the writer; callers just open, add and close.
 */
#ifndef AGENT_JSONW_H
#define AGENT_JSONW_H

#include <stddef.h>
#include <stdint.h>

#define JSONW_MAX_NEST 16

struct jsonw {
	char *buf;
	size_t len;
	size_t cap;
	int failed;			/* out of memory: the text is incomplete */
	int nest;
	unsigned char first[JSONW_MAX_NEST];
};

/* Start an empty buffer; reserve room for a PROTO header in front. 0/-1. */
int jsonw_init(struct jsonw *w, size_t reserve);
void jsonw_release(struct jsonw *w);

void jsonw_obj(struct jsonw *w);		/* { */
void jsonw_obj_end(struct jsonw *w);		/* } */
void jsonw_arr(struct jsonw *w);		/* [ */
void jsonw_arr_end(struct jsonw *w);		/* ] */
void jsonw_key(struct jsonw *w, const char *key);
void jsonw_str(struct jsonw *w, const char *s);
void jsonw_strn(struct jsonw *w, const char *s, size_t n);
void jsonw_u64(struct jsonw *w, uint64_t v);
void jsonw_i64(struct jsonw *w, int64_t v);
void jsonw_bool(struct jsonw *w, int v);

/* A member: the key, then its value (one call where an object has many). */
static inline void jsonw_kv_str(struct jsonw *w, const char *key, const char *s)
{
	jsonw_key(w, key);
	jsonw_str(w, s);
}

static inline void jsonw_kv_u64(struct jsonw *w, const char *key, uint64_t v)
{
	jsonw_key(w, key);
	jsonw_u64(w, v);
}

static inline void jsonw_kv_i64(struct jsonw *w, const char *key, int64_t v)
{
	jsonw_key(w, key);
	jsonw_i64(w, v);
}

static inline void jsonw_kv_bool(struct jsonw *w, const char *key, int v)
{
	jsonw_key(w, key);
	jsonw_bool(w, v);
}
void jsonw_null(struct jsonw *w);
void jsonw_hex(struct jsonw *w, uint64_t v);	/* "0x1a2b" */

#endif
