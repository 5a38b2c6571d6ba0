/*
 * demo_leaky: the sample program of `make demo`.
 *
 * A tiny key-value "daemon" serves 400 requests (or argv[1]), 2 ms apart:
 *     PUT key value    store value under key
 *     GET key          look key up
 *     STATS            format a status line
 * It has two bugs of the everyday kind:
 *   - handle_put() creates the cache entry before it checks the value, and
 *     the error path for an empty value returns without freeing the entry;
 *   - handle_stats() gets a line from format_stats() and never frees it.
 * Everything else, the cache included, is freed at shutdown, so the exit
 * report shows exactly these two leaks, from entry_new and format_stats.
 */
#include <stdlib.h>
#include <string.h>

#include "victim.h"

#define NREQUESTS 400
#define NBUCKETS 64

struct entry {
	char key[32];
	char *value;
	struct entry *next;
};

static struct entry *cache[NBUCKETS];
static unsigned long served, rejected, hits, misses;
static unsigned long cached;

static unsigned hash(const char *key)
{
	unsigned h = 5381;

	while (*key)
		h = h * 33 + (unsigned char)*key++;
	return h % NBUCKETS;
}

NOINLINE static struct entry *entry_new(const char *key)
{
	struct entry *e = malloc(sizeof(*e));

	memset(e, 0, sizeof(*e));
	strncpy(e->key, key, sizeof(e->key) - 1);
	return e;
}

NOINLINE static void entry_free(struct entry *e)
{
	free(e->value);
	free(e);
}

NOINLINE static struct entry *cache_find(const char *key)
{
	for (struct entry *e = cache[hash(key)]; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

NOINLINE static void cache_insert(struct entry *e)
{
	unsigned h = hash(e->key);

	e->next = cache[h];
	cache[h] = e;
	cached++;
}

NOINLINE static char *format_stats(void)
{
	char *line = malloc(128);

	vt_format(line, 128, "served=%lu rejected=%lu hits=%lu misses=%lu cached=%lu",
		  served, rejected, hits, misses, cached);
	return line;
}

static int handle_put(const char *key, const char *value)
{
	struct entry *old = cache_find(key);
	struct entry *e;

	if (old) {
		free(old->value);
		old->value = strdup(value);
		return 0;
	}
	e = entry_new(key);
	if (value[0] == '\0')
		return -1;	/* BUG: e is never freed on this path */
	e->value = strdup(value);
	cache_insert(e);
	return 0;
}

static int handle_get(const char *key)
{
	if (cache_find(key)) {
		hits++;
		return 0;
	}
	misses++;
	return 0;
}

static int handle_stats(void)
{
	char *line = format_stats();

	/* BUG: line is never freed */
	return line[0] ? 0 : -1;
}

/* One request: "PUT k v", "GET k" or "STATS"; 0 when it was served. */
static int handle_request(const char *req)
{
	char verb[8], key[32], value[32];
	const char *p = req, *sp;
	size_t n;

	sp = strchr(p, ' ');
	n = sp ? (size_t)(sp - p) : strlen(p);
	if (n >= sizeof(verb))
		return -1;
	memcpy(verb, p, n);
	verb[n] = '\0';
	if (strcmp(verb, "STATS") == 0)
		return handle_stats();
	if (!sp)
		return -1;
	p = sp + 1;
	sp = strchr(p, ' ');
	n = sp ? (size_t)(sp - p) : strlen(p);
	if (n == 0 || n >= sizeof(key))
		return -1;
	memcpy(key, p, n);
	key[n] = '\0';
	if (strcmp(verb, "GET") == 0)
		return handle_get(key);
	if (strcmp(verb, "PUT") != 0)
		return -1;
	p = sp ? sp + 1 : "";
	n = strlen(p) < sizeof(value) - 1 ? strlen(p) : sizeof(value) - 1;
	memcpy(value, p, n);
	value[n] = '\0';
	return handle_put(key, value);
}

/* Request i of the run: the same sequence every time. */
static void make_request(int i, char *buf, size_t size)
{
	int key = (i * 37) % 90;

	if (i % 100 == 99)
		vt_format(buf, size, "STATS");
	else if (i % 10 == 3)
		vt_format(buf, size, "PUT user%d ", key + 1000);	/* empty value: rejected */
	else if (i % 3 == 0)
		vt_format(buf, size, "PUT user%d v%d", key, i);
	else
		vt_format(buf, size, "GET user%d", (i * 7) % 121);
}

static void shutdown_cache(void)
{
	for (int h = 0; h < NBUCKETS; h++) {
		struct entry *e = cache[h];

		while (e) {
			struct entry *next = e->next;

			entry_free(e);
			e = next;
		}
		cache[h] = NULL;
	}
}

int main(int argc, char **argv)
{
	int nrequests = argc > 1 ? atoi(argv[1]) : NREQUESTS;
	char req[64];

	if (nrequests < 1)
		nrequests = NREQUESTS;
	vt_printf("demo_leaky: serving %d requests\n", nrequests);
	for (int i = 0; i < nrequests; i++) {
		make_request(i, req, sizeof(req));
		if (handle_request(req) == 0)
			served++;
		else
			rejected++;
		vt_sleep_ms(2);	/* a daemon waits for its clients */
	}
	vt_printf("demo_leaky: served %lu, rejected %lu, %lu hits, %lu misses, %lu cached\n",
		  served, rejected, hits, misses, cached);
	shutdown_cache();
	vt_printf("demo_leaky: cache freed, shutting down\n");

	/* What the two bugs leaked, for the test suite to compare with the report */
	vt_expect("entry_new", rejected, rejected * sizeof(struct entry));
	vt_expect("format_stats", (unsigned long)nrequests / 100, (unsigned long)nrequests / 100 * 128);
	return 0;
}
