/*
 * Chained hash map with FNV-1a hashes; the bucket array doubles when there
 * are more entries than buckets. Entries are never removed: the caches live
 * as long as the decoder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "util.h"

struct node {
	struct node *next;
	uint64_t hash;
	void *value;
	size_t len;
	char key[];
};

struct srv_strmap {
	struct node **buckets;
	size_t n_buckets; /* a power of two */
	size_t n;
};

static uint64_t fnv1a(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3u;
	return h;
}

struct srv_strmap *srv_strmap_new(void)
{
	struct srv_strmap *m = xcalloc(1, sizeof(*m));

	m->n_buckets = 64;
	m->buckets = xcalloc(m->n_buckets, sizeof(*m->buckets));
	return m;
}

void srv_strmap_free(struct srv_strmap *m, void (*free_value)(void *))
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_buckets; i++)
		while (m->buckets[i]) {
			struct node *x = m->buckets[i];

			m->buckets[i] = x->next;
			if (free_value)
				free_value(x->value);
			free(x);
		}
	free(m->buckets);
	free(m);
}

void *srv_strmap_get(const struct srv_strmap *m, const void *key, size_t len)
{
	uint64_t h = fnv1a(key, len);

	for (struct node *x = m->buckets[h & (m->n_buckets - 1)]; x; x = x->next)
		if (x->hash == h && x->len == len && !memcmp(x->key, key, len))
			return x->value;
	return NULL;
}

static void grow(struct srv_strmap *m)
{
	size_t n = m->n_buckets * 2;
	struct node **b = xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < m->n_buckets; i++)
		while (m->buckets[i]) {
			struct node *x = m->buckets[i];

			m->buckets[i] = x->next;
			x->next = b[x->hash & (n - 1)];
			b[x->hash & (n - 1)] = x;
		}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = n;
}

void srv_strmap_put(struct srv_strmap *m, const void *key, size_t len, void *value)
{
	struct node *x = xmalloc(sizeof(*x) + len);
	size_t i;

	x->hash = fnv1a(key, len);
	x->value = value;
	x->len = len;
	memcpy(x->key, key, len);
	if (++m->n > m->n_buckets)
		grow(m);
	i = x->hash & (m->n_buckets - 1);
	x->next = m->buckets[i];
	m->buckets[i] = x;
}
