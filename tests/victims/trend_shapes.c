/*
 * trend_shapes: memory that changes over time in the shapes `trend` must
 * tell apart (t-trend), each from its own function:
 *   fill_cache   a cache of 32 entries of 64 KiB made at the start, then
 *                one entry replaced (freed, made again) every 50 ms: 2 MiB
 *                that never grows;
 *   queue_push   a queue of 1 KiB items that fills to 512 items and drains,
 *                again and again (about 1.3 s a period): swings of 512 KiB;
 *   churn_once   small blocks made and freed at once;
 *   leak_slowly  64 bytes every 20 ms, never freed: the one steady leak
 *                (3,200 bytes a second).
 * A 10 ms tick drives them all until DIR/stop appears (at most 10 min);
 * DIR/ready is written after the cache is full. At the end it checks the
 * queue's and the cache's bytes kept their pattern, prints "intact" (or
 * "DAMAGED", exit 1) and frees everything but the leak.
 *
 *     trend_shapes DIR
 */
#include "attach.h"

#define CACHE_ENTRIES 32
#define CACHE_SIZE (64 * 1024)
#define QUEUE_MAX 512
#define ITEM 1024

static char *cache[CACHE_ENTRIES];
static char *queue[QUEUE_MAX];
static int qlen, growing = 1;
static void *leaked;

NOINLINE static char *fill_cache(int i)
{
	char *p = malloc(CACHE_SIZE);

	if (!p)
		vt_die("malloc");
	memset(p, 'c' + i % 4, CACHE_SIZE);
	return p;
}

NOINLINE static char *queue_push(int i)
{
	char *p = malloc(ITEM);

	if (!p)
		vt_die("malloc");
	memset(p, 'q', ITEM);
	p[0] = (char)i;
	return p;
}

NOINLINE static void churn_once(void)
{
	char *p = malloc(100 + (size_t)(qlen % 7) * 16);

	if (!p)
		vt_die("malloc");
	p[0] = 1;
	free(p);
}

NOINLINE static void leak_slowly(void)
{
	void **p = malloc(64);

	if (!p)
		vt_die("malloc");
	memset(p, 'l', 64);
	/* A chain the program keeps: reachable, but never freed (a leak that grows). */
	p[0] = leaked;
	leaked = p;
}

int main(int argc, char **argv)
{
	long ticks = 0;
	int ok = 1;

	at_init(argc, argv);
	for (int i = 0; i < CACHE_ENTRIES; i++)
		cache[i] = fill_cache(i);
	at_ready();
	for (; ticks < 60000; ticks++) {
		char name[256];

		if (ticks % 10 == 0 && access(at_path(name, sizeof(name), "stop"), F_OK) == 0)
			break;
		churn_once();
		/* Four items a tick up to 512, then four out a tick down to 0. */
		for (int k = 0; k < 4; k++) {
			if (growing && qlen < QUEUE_MAX)
				queue[qlen] = queue_push(qlen), qlen++;
			else if (!growing && qlen > 0)
				free(queue[--qlen]);
		}
		if (qlen == QUEUE_MAX)
			growing = 0;
		else if (qlen == 0)
			growing = 1;
		if (ticks % 2 == 0)
			leak_slowly();
		if (ticks % 5 == 0) {
			int i = (int)(ticks / 5 % CACHE_ENTRIES);

			ok &= cache[i][CACHE_SIZE - 1] == 'c' + i % 4;
			free(cache[i]);
			cache[i] = fill_cache(i);
		}
		usleep(10000);
	}
	for (int i = 0; i < qlen; i++)
		ok &= queue[i][1] == 'q';
	while (qlen > 0)
		free(queue[--qlen]);
	for (int i = 0; i < CACHE_ENTRIES; i++)
		free(cache[i]);
	vt_printf("trend_shapes: %s\n", ok ? "intact" : "DAMAGED");
	return ok ? 0 : 1;
}
