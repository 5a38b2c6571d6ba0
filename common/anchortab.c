/*
 * Reading memtrace's tables through the anchor (anchortab.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "anchortab.h"
#include "log.h"
#include "util.h"

/* Limits on what a damaged core (or process) may claim, far above what the agent makes. */
#define MAX_SHARDS 65536u
#define MAX_STRIDE 65536u
#define MAX_CAP (1u << 28)

/* A walk's failure: an error, or only a debug line when the caller retries (T->quiet). */
#define walk_fail(c, ...) ((c)->quiet ? (log_debug(__VA_ARGS__), -1) : log_err(__VA_ARGS__))

/* Read exactly LEN bytes at ADDR, or -1 (logged at INFO: callers say what failed). */
static int rd(const struct anchortab *c, uint64_t addr, void *buf, size_t len)
{
	if (c->m->read(c->m->arg, addr, buf, len) < 0) {
		log_info("reading %zu bytes at 0x%" PRIx64 " from %s: %s", len, addr, c->where,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* A target word of SIZE bytes in BUF (the target is assumed to share the host's byte order). */
static uint64_t word(const unsigned char *buf, uint64_t size)
{
	uint64_t v64 = 0;
	uint32_t v32 = 0;
	uint16_t v16 = 0;

	switch (size) {
	case 8:
		memcpy(&v64, buf, 8);
		return v64;
	case 4:
		memcpy(&v32, buf, 4);
		return v32;
	case 2:
		memcpy(&v16, buf, 2);
		return v16;
	default:
		return buf[0];
	}
}

static int rd_word(const struct anchortab *c, uint64_t addr, uint64_t size, uint64_t *v)
{
	unsigned char buf[8];

	if (rd(c, addr, buf, (size_t)size) < 0)
		return -1;
	*v = word(buf, size);
	return 0;
}

int anchortab_read(struct anchortab *c)
{
	uint64_t a[ANCHOR_CONTEXTS + 1]; /* the words used here (anchor.h) */

	if (rd(c, c->anchor, a, sizeof(a)) < 0)
		return log_err("memtrace's anchor (memtrace_gdb at 0x%" PRIx64 ") is not in %s's memory",
			       c->anchor, c->where);
	if (a[ANCHOR_MAGIC_W] != ANCHOR_MAGIC)
		return log_err("memtrace_gdb at 0x%" PRIx64 " is not memtrace's anchor (magic 0x%" PRIx64 ")",
			       c->anchor, a[ANCHOR_MAGIC_W]);
	if (a[ANCHOR_VERSION_W] != ANCHOR_VERSION)
		return log_err("the agent in %s has anchor version %" PRIu64 ", this program reads %d",
			       c->where, a[ANCHOR_VERSION_W], ANCHOR_VERSION);
	c->ps = a[ANCHOR_PTR_SIZE];
	if (c->ps != 4 && c->ps != 8)
		return log_err("memtrace's anchor says pointers are %" PRIu64 " bytes", c->ps);
	if (rd(c, a[ANCHOR_BLOCKS], c->b, sizeof(c->b)) < 0 || rd(c, a[ANCHOR_CONTEXTS], c->c, sizeof(c->c)) < 0)
		return log_err("memtrace's tables are not in %s's memory", c->where);
	if (c->b[ANCHOR_B_NSHARDS] > MAX_SHARDS || c->b[ANCHOR_B_SHARD_STRIDE] > MAX_STRIDE ||
	    c->b[ANCHOR_B_ENTRY_STRIDE] > MAX_STRIDE || c->b[ANCHOR_B_SIZE_BITS] == 0 ||
	    c->b[ANCHOR_B_SIZE_BITS] >= 64 || c->c[ANCHOR_C_CHUNK_BITS] >= 32 ||
	    c->b[ANCHOR_B_ENTRY_PTR_OFF] + 8 > c->b[ANCHOR_B_ENTRY_STRIDE] ||
	    c->b[ANCHOR_B_ENTRY_SEQ_OFF] + 8 > c->b[ANCHOR_B_ENTRY_STRIDE] ||
	    c->b[ANCHOR_B_ENTRY_CTX_SIZE_OFF] + 8 > c->b[ANCHOR_B_ENTRY_STRIDE])
		return log_err("memtrace's table descriptors in %s make no sense: damaged?", c->where);
	/* Words past those an agent of this version always had: only when its
	 * nfields counts them, and never fatal (the tables read without). */
	memset(c->h, 0, sizeof(c->h));
	if (a[ANCHOR_NFIELDS] > ANCHOR_HEAP) {
		uint64_t heap;

		if (rd(c, c->anchor + 8 * ANCHOR_HEAP, &heap, sizeof(heap)) < 0 || !heap ||
		    rd(c, heap, c->h, sizeof(c->h)) < 0) {
			memset(c->h, 0, sizeof(c->h));
			log_info("memtrace's heap descriptor is not in %s's memory", c->where);
		}
	}
	return 0;
}

int anchortab_ctx_addr(const struct anchortab *c, unsigned long id, uint64_t *addr)
{
	uint64_t count, chunk;

	*addr = 0;
	if (rd_word(c, c->c[ANCHOR_C_COUNT], 4, &count) < 0)
		return log_err("memtrace's context count is not in %s's memory", c->where);
	if (id < 1 || id > count)
		return 0;
	if (rd_word(c, c->c[ANCHOR_C_BY_ID] + (id >> c->c[ANCHOR_C_CHUNK_BITS]) * c->ps, c->ps, &chunk) < 0)
		return log_err("context %lu: its table is not in %s's memory", id, c->where);
	if (!chunk)
		return 0;
	if (rd_word(c, chunk + (id & ((1ull << c->c[ANCHOR_C_CHUNK_BITS]) - 1)) * c->ps, c->ps, addr) < 0)
		return log_err("context %lu: its table is not in %s's memory", id, c->where);
	return 0;
}

int anchortab_ctx_pcs(const struct anchortab *c, unsigned long id, uint64_t *pcs, unsigned *depth)
{
	unsigned char buf[ANCHORTAB_MAX_DEPTH * 8];
	uint64_t at, d;

	if (anchortab_ctx_addr(c, id, &at) < 0)
		return -1;
	if (!at)
		return log_err("context %lu: no such context in %s (the IDs are those of memtrace's report)",
			       id, c->where);
	if (rd_word(c, at + c->c[ANCHOR_C_DEPTH_OFF], 2, &d) < 0)
		return log_err("context %lu: not in %s's memory", id, c->where);
	if (d == 0 || d > ANCHORTAB_MAX_DEPTH)
		return log_err("context %lu: %s callstack", id, d ? "a damaged" : "an empty");
	if (rd(c, at + c->c[ANCHOR_C_PCS_OFF], buf, (size_t)(d * c->ps)) < 0)
		return log_err("context %lu: its callstack is not in %s's memory", id, c->where);
	for (uint64_t i = 0; i < d; i++)
		pcs[i] = word(buf + i * c->ps, c->ps);
	*depth = (unsigned)d;
	return 0;
}

int anchortab_walk(const struct anchortab *c, int (*fn)(void *arg, const struct anchortab_blk *b),
		     void *arg)
{
	uint64_t ns = c->b[ANCHOR_B_NSHARDS], st = c->b[ANCHOR_B_SHARD_STRIDE], es = c->b[ANCHOR_B_ENTRY_STRIDE];
	uint64_t smask = (1ull << c->b[ANCHOR_B_SIZE_BITS]) - 1;
	unsigned char *sh, *tab = NULL;
	uint64_t tab_size = 0;
	int rc = 0;

	if (!ns)
		return 0;
	sh = xmalloc((size_t)(ns * st));
	if (rd(c, c->b[ANCHOR_B_SHARDS], sh, (size_t)(ns * st)) < 0) {
		rc = walk_fail(c, "memtrace's block table is not in %s's memory", c->where);
		goto out;
	}
	for (uint64_t k = 0; k < ns && !rc; k++) {
		const unsigned char *h = sh + k * st;
		uint64_t cap = word(h + c->b[ANCHOR_B_SHARD_CAP_OFF], 4);
		uint64_t count = word(h + c->b[ANCHOR_B_SHARD_COUNT_OFF], 4);
		uint64_t slots = word(h + c->b[ANCHOR_B_SHARD_SLOTS_OFF], c->ps);

		if (!cap || !count || !slots)
			continue;
		if (cap > MAX_CAP) {
			rc = walk_fail(c, "memtrace's block table in %s: shard %" PRIu64 " claims %" PRIu64 " slots: damaged?",
				     c->where, k, cap);
			break;
		}
		/* Shards are of a size: one buffer, grown, not one allocation (and fresh pages) each. */
		if (cap * es > tab_size) {
			free(tab);
			tab_size = cap * es;
			tab = xmalloc((size_t)tab_size);
		}
		if (rd(c, slots, tab, (size_t)(cap * es)) < 0) {
			rc = walk_fail(c, "memtrace's block table (shard %" PRIu64 ") is not in %s's memory", k, c->where);
			break;
		}
		for (uint64_t i = 0; i < cap && !rc; i++) {
			const unsigned char *e = tab + i * es;
			struct anchortab_blk b = { .ptr = word(e + c->b[ANCHOR_B_ENTRY_PTR_OFF], 8) };
			uint64_t cs = word(e + c->b[ANCHOR_B_ENTRY_CTX_SIZE_OFF], 8);

			if (!b.ptr)
				continue;
			b.size = cs & smask;
			b.ctx = cs >> c->b[ANCHOR_B_SIZE_BITS];
			b.seq = word(e + c->b[ANCHOR_B_ENTRY_SEQ_OFF], 8);
			rc = fn(arg, &b);
		}
	}
	free(tab);
out:
	free(sh);
	return rc;
}

