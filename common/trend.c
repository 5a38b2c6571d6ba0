/*
 * Growth series and their ranking (trend.h).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trend.h"

void trend_init(struct trend *t)
{
	memset(t, 0, sizeof(*t));
	t->per_slot = 1;
}

void trend_free(struct trend *t)
{
	free(t->s);
	trend_init(t);
}

static void slot_set(struct trend_series *s, size_t k, int first, int64_t v)
{
	if (first || v < s->slot[k].lo)
		s->slot[k].lo = v;
	if (first || v > s->slot[k].hi)
		s->slot[k].hi = v;
}

/* Every series' slots two by two: 2k and 2k+1 become k. */
static void halve(struct trend *t)
{
	size_t half = t->nslots / 2;

	for (size_t i = 0; i < t->n + 2; i++) {
		struct trend_series *s = i < t->n ? &t->s[i] : i == t->n ? &t->heap : &t->rss;

		for (size_t k = 0; k < half; k++) {
			struct trend_slot a = s->slot[2 * k], b = s->slot[2 * k + 1];

			s->slot[k] = (struct trend_slot){ a.lo < b.lo ? a.lo : b.lo, a.hi > b.hi ? a.hi : b.hi };
		}
	}
	for (size_t k = 0; k < half; k++)
		t->t[k] = t->t[2 * k];
	t->nslots = half;
	t->per_slot *= 2;
}

struct named {
	uint32_t id;
	int64_t bytes, blocks;
};

static int by_id(const void *a, const void *b)
{
	const struct named *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

const struct trend_series *trend_find(const struct trend *t, uint32_t id)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->s[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && t->s[lo].id == id ? &t->s[lo] : NULL;
}

/* Series for the ids of V (N, sorted) that T has none for, zero before the current slot. */
static int add_new(struct trend *t, const struct named *v, size_t n)
{
	uint32_t *fresh = n ? malloc(n * sizeof(*fresh)) : NULL;
	size_t nf = 0, i, j, k;
	struct trend_series *s;

	if (n && !fresh)
		return -1;
	for (i = 0; i < n; i++)
		if ((i == 0 || v[i].id != v[i - 1].id) && !trend_find(t, v[i].id))
			fresh[nf++] = v[i].id;
	if (t->n + nf > t->cap) {
		size_t cap = t->cap ? t->cap : 16;

		while (cap < t->n + nf)
			cap *= 2;
		s = realloc(t->s, cap * sizeof(*s));
		if (!s) {
			free(fresh);
			return -1;
		}
		t->s = s;
		t->cap = cap;
	}
	/* Merge from the back: the old series and the new ids, both sorted. */
	i = t->n;
	k = t->n + nf;
	for (j = nf; j > 0; j--) {
		while (i > 0 && t->s[i - 1].id > fresh[j - 1])
			t->s[--k] = t->s[--i];
		s = &t->s[--k];
		memset(s, 0, sizeof(*s));
		s->id = fresh[j - 1];
	}
	t->n += nf;
	free(fresh);
	return 0;
}

int trend_add(struct trend *t, int64_t t_ms, const uint32_t *ids, const int64_t *bytes, const int64_t *blocks,
	      size_t n, int64_t heap, int64_t rss)
{
	struct named *v = n ? malloc(n * sizeof(*v)) : NULL;
	size_t j = 0;
	int first;

	if (n && !v)
		return -1;
	for (size_t i = 0; i < n; i++)
		v[i] = (struct named){ ids[i], bytes[i], blocks ? blocks[i] : 0 };
	if (n)
		qsort(v, n, sizeof(*v), by_id);
	if (add_new(t, v, n) < 0) {
		free(v);
		errno = ENOMEM;
		return -1;
	}
	/* A new slot when the last is full; the slots halved when all are. */
	if (t->nslots == 0 || t->in_slot == t->per_slot) {
		if (t->nslots == TREND_SLOTS)
			halve(t);
		if (t->nslots == 0 || t->in_slot == t->per_slot) {
			t->t[t->nslots++] = t_ms;
			t->in_slot = 0;
		}
	}
	first = t->in_slot == 0;
	for (size_t i = 0; i < t->n; i++) {
		struct trend_series *s = &t->s[i];
		int64_t b = 0, k = 0;

		while (j < n && v[j].id < s->id)
			j++;
		if (j < n && v[j].id == s->id) {
			b = v[j].bytes;
			k = v[j].blocks;
		}
		slot_set(s, t->nslots - 1, first, b);
		s->now = b;
		s->blocks_now = k;
	}
	slot_set(&t->heap, t->nslots - 1, first, heap);
	t->heap.now = heap;
	slot_set(&t->rss, t->nslots - 1, first, rss);
	t->rss.now = rss;
	t->in_slot++;
	t->samples++;
	free(v);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void trend_growth(const struct trend *t, const struct trend_series *s, struct trend_growth *g)
{
	int64_t lo[TREND_WINDOWS], at[TREND_WINDOWS];
	double swing[TREND_WINDOWS];
	double slopes[TREND_WINDOWS * (TREND_WINDOWS - 1) / 2];
	size_t k = t->nslots, w, nw = 0, np = 0, j0;

	memset(g, 0, sizeof(*g));
	if (k < 4)
		return;
	/* Windows of W slots (the last may be short), at most TREND_WINDOWS. */
	w = (k + TREND_WINDOWS - 1) / TREND_WINDOWS;
	if (w < 2 && t->per_slot == 1)
		w = 2;	/* single samples: a window's low-water mark needs two */
	for (size_t a = 0; a < k && nw < TREND_WINDOWS; a += w, nw++) {
		size_t b = a + w < k ? a + w : k;

		int64_t hi = s->slot[a].hi;

		lo[nw] = s->slot[a].lo;
		for (size_t i = a + 1; i < b; i++) {
			if (s->slot[i].lo < lo[nw])
				lo[nw] = s->slot[i].lo;
			if (s->slot[i].hi > hi)
				hi = s->slot[i].hi;
		}
		/* In double: the values are a peer's, however large (the record's reader clamps them to 2^62). */
		swing[nw] = (double)hi - (double)lo[nw];
		/* The window's middle: between its first slot's start and its last's. */
		at[nw] = t->t[a] + (t->t[b - 1] - t->t[a]) / 2;
	}
	if (nw < 2)
		return;
	/* The low-water mark from each window on: what a window's memory
	 * never went under again. A queue that drains now and then stays at
	 * its floor until its last swing; a leak's rises with it. */
	for (size_t j = nw - 1; j > 0; j--)
		if (lo[j] < lo[j - 1])
			lo[j - 1] = lo[j];
	for (size_t a = 0; a < nw; a++)
		for (size_t b = a + 1; b < nw; b++)
			if (at[b] > at[a])
				slopes[np++] = ((double)lo[b] - (double)lo[a]) / (double)(at[b] - at[a]);
	if (!np)
		return;
	qsort(slopes, np, sizeof(slopes[0]), cmp_double);
	g->bytes_per_s = 1000.0 * (np % 2 ? slopes[np / 2] : (slopes[np / 2 - 1] + slopes[np / 2]) / 2);
	g->lo_first = lo[0];
	g->lo_last = lo[nw - 1];
	/*
	 * Steady, or a swing seen at other points of its cycle? A context
	 * whose mark rose less than TREND_STEADY times what it swings within a
	 * window (the median window) has not shown growth yet: samples that
	 * catch a queue's floor a little higher each time make a slope of
	 * their own, never more than the swing.
	 */
	qsort(swing, nw, sizeof(swing[0]), cmp_double);
	if ((double)lo[nw - 1] - (double)lo[0] < TREND_STEADY * swing[nw / 2])
		g->bytes_per_s = 0;
	/* Growing since the last window at the lowest mark (a leak that began late). */
	j0 = 0;
	while (j0 + 1 < nw && lo[j0 + 1] == lo[0])
		j0++;
	g->growing_ms = g->bytes_per_s > 0 && lo[nw - 1] > lo[j0] ? t->t[k - 1] - t->t[j0 * w] : 0;
}

size_t trend_memory(const struct trend *t)
{
	return t->cap * sizeof(*t->s) + sizeof(*t);
}

uint64_t trend_per_hour(double bytes_per_s)
{
	double h = fabs(bytes_per_s) * 3600;

	return isnan(h) || h > 4611686018427387904.0 ? UINT64_C(4611686018427387904) : (uint64_t)h;
}
