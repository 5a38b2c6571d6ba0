/*
 * Growth over time (docs/user-guide.md, "What keeps growing: trend"): the
 * live bytes of every context, sampled, kept in bounded memory however
 * long the session runs, and a ranking by how steadily each grows.
 *
 * Every series has one point per time slot, all series the same slots: a
 * context first seen later has zeros before. When the slots are full,
 * neighbouring slots are merged two by two (each then spans twice the
 * time), keeping each slot's lowest and highest value; so a week sampled
 * every minute takes the same memory as a minute sampled every second.
 *
 * The growth of a context is the Theil-Sen slope (the median of the slopes
 * between every pair) of its low-water marks over up to TREND_WINDOWS
 * windows of the series, each window's mark being the lowest value from
 * that window to the last (what the memory never went under again): a
 * queue that drains now and then stays at its floor but for its last
 * swing, a cache that filled once is flat (a step is outvoted by the pairs
 * on either side of it), a leak's mark rises in every window. A rise that
 * is not larger than TREND_STEADY times the context's swing within a
 * window is no growth yet: sparse samples of a queue catch its floor at
 * other points of its cycle, a rise bounded by the swing.
 */
#ifndef MEMTRACE_TREND_H
#define MEMTRACE_TREND_H

#include <stddef.h>
#include <stdint.h>

#define TREND_SLOTS 64
#define TREND_WINDOWS 16
/* A rise under this many times a window's swing is no growth (yet). */
#define TREND_STEADY 4

struct trend_slot {
	int64_t lo, hi;		/* the lowest and highest value sampled in the slot */
};

struct trend_series {
	uint32_t id;
	int64_t now;		/* the last sample's value */
	int64_t blocks_now;
	struct trend_slot slot[TREND_SLOTS];
};

struct trend {
	struct trend_series *s;	/* sorted by id */
	size_t n, cap;
	int64_t t[TREND_SLOTS];	/* each slot's start, ms */
	size_t nslots;		/* slots in use */
	unsigned per_slot;	/* samples a slot holds (a power of two) */
	unsigned in_slot;	/* samples in the last slot so far */
	uint64_t samples;	/* taken in all */
	struct trend_series heap, rss;	/* the totals, as series of their own (id 0) */
};

void trend_init(struct trend *t);
void trend_free(struct trend *t);

/*
 * A sample at T_MS (increasing): context IDS[i] holds BYTES[i] in BLOCKS[i]
 * (N of them, any order); every context not named holds nothing now. HEAP
 * and RSS are the process's totals. 0, or -1 (out of memory: the sample
 * is dropped whole).
 */
int trend_add(struct trend *t, int64_t t_ms, const uint32_t *ids, const int64_t *bytes, const int64_t *blocks,
	      size_t n, int64_t heap, int64_t rss);

/* What a series says. */
struct trend_growth {
	double bytes_per_s;	/* the low-water marks' Theil-Sen slope; 0 when not enough samples */
	int64_t growing_ms;	/* growing (slope > 0): since the last window at the lowest mark */
	int64_t lo_first, lo_last;	/* the first and last window's low-water marks */
};

/* The growth of series S of T (windows of its slots; fewer than 4 slots: none). */
void trend_growth(const struct trend *t, const struct trend_series *s, struct trend_growth *g);

/* |BYTES_PER_S| an hour, as bytes for a human size (clamped to 2^62: a record's numbers may be anything). */
uint64_t trend_per_hour(double bytes_per_s);

/* The series of context ID, or NULL. */
const struct trend_series *trend_find(const struct trend *t, uint32_t id);

/* The memory T holds (its series), for status and the bench. */
size_t trend_memory(const struct trend *t);

#endif
