/*
 * test_trend: common/trend.c's series and ranking on series made here.
 *
 * Contexts of known shape, sampled every 500 ms for a minute: a cache that
 * fills in its first seconds and then only replaces its entries, a queue
 * that swings between 0 and 512 KiB (period 3.7 s, not a multiple of the
 * sampling), churn (a few blocks, up and down at random), a leak of 64
 * bytes every 20 ms (3,200 B/s), and a leak that starts halfway. The leak
 * must be ranked first at its rate (within 10 %), the late leak second,
 * the cache, the queue and the churn at no growth (under 1 % of the
 * leak's). Then a week at 60 s (10,080 samples) and 2,000 contexts: the
 * memory stays what it was after the first samples, the slots stay at
 * most TREND_SLOTS, and the leak's rate is still right.
 */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "trend.h"

enum { CACHE = 1, QUEUE, CHURN, LEAK, LATE, NCTX = 5 };

static unsigned g_seed;

static double rate(const struct trend *t, uint32_t id)
{
	struct trend_growth g = { 0 };
	const struct trend_series *s = trend_find(t, id);

	if (s)
		trend_growth(t, s, &g);
	return g.bytes_per_s;
}

static void shapes(void)
{
	struct trend t;
	uint32_t ids[NCTX];
	int64_t bytes[NCTX], blocks[NCTX];
	unsigned seed = g_seed;

	trend_init(&t);
	for (int64_t ms = 0; ms <= 60000; ms += 500) {
		size_t n = 0;
		double s = ms / 1000.0;

		ids[n] = CACHE;
		bytes[n++] = ms < 3000 ? ms * 700 : 2100000;
		ids[n] = QUEUE;
		bytes[n++] = (int64_t)(262144 * (1 + sin(2 * M_PI * s / 3.7)));
		ids[n] = CHURN;
		bytes[n++] = 4096 + (int64_t)(rand_r(&seed) % 8192);
		ids[n] = LEAK;
		bytes[n++] = 1000 + (int64_t)(3200 * s);
		if (ms >= 30000) {
			ids[n] = LATE;
			bytes[n++] = (int64_t)(1600 * (s - 30));
		}
		for (size_t i = 0; i < n; i++)
			blocks[i] = bytes[i] / 64;
		CHECK(trend_add(&t, ms, ids, bytes, blocks, n, 1 << 20, 4 << 20) == 0, "trend_add at %lld ms",
		      (long long)ms);
	}
	printf("  a minute at 0.5 s: %zu slots of %u samples; B/s: cache %.1f, queue %.1f, churn %.1f, leak %.1f, late %.1f\n",
	       t.nslots, t.per_slot, rate(&t, CACHE), rate(&t, QUEUE), rate(&t, CHURN), rate(&t, LEAK), rate(&t, LATE));
	CHECK(fabs(rate(&t, LEAK) - 3200) < 320, "the leak grows %.1f B/s, not 3,200", rate(&t, LEAK));
	CHECK(rate(&t, LATE) > 100 && rate(&t, LATE) < rate(&t, LEAK), "the late leak: %.1f B/s", rate(&t, LATE));
	CHECK(fabs(rate(&t, CACHE)) < 32, "the cache, full since 3 s, grows %.1f B/s", rate(&t, CACHE));
	CHECK(fabs(rate(&t, QUEUE)) < 32, "the swinging queue grows %.1f B/s", rate(&t, QUEUE));
	CHECK(fabs(rate(&t, CHURN)) < 32, "churn grows %.1f B/s", rate(&t, CHURN));
	{
		struct trend_growth g;

		trend_growth(&t, trend_find(&t, LEAK), &g);
		CHECK(g.growing_ms >= 50000, "the leak has grown for %lld ms only", (long long)g.growing_ms);
		trend_growth(&t, trend_find(&t, LATE), &g);
		CHECK(g.growing_ms >= 20000 && g.growing_ms <= 40000, "the late leak has grown for %lld ms",
		      (long long)g.growing_ms);
		CHECK(trend_find(&t, LATE)->slot[0].hi == 0, "the late leak's first slot is not zero");
	}
	CHECK(trend_find(&t, LEAK)->now == 1000 + 3200 * 60, "the leak's value now: %lld",
	      (long long)trend_find(&t, LEAK)->now);
	CHECK(t.heap.now == 1 << 20 && t.rss.now == 4 << 20, "the totals' series");
	/* Too few samples: no growth yet. */
	{
		struct trend u;
		uint32_t id = LEAK;
		int64_t b = 5;

		trend_init(&u);
		for (int i = 0; i < 3; i++, b += 1000)
			trend_add(&u, i * 500, &id, &b, NULL, 1, 0, 0);
		CHECK(rate(&u, LEAK) == 0, "3 samples gave a growth of %.1f", rate(&u, LEAK));
		trend_free(&u);
	}
	trend_free(&t);
}

/* 20 s at 0.5 s (t-trend's wait): the leak first already, the queue far behind. */
static void few_seconds(void)
{
	struct trend t;
	uint32_t ids[3] = { QUEUE, LEAK, CACHE };
	int64_t bytes[3];

	trend_init(&t);
	for (int64_t ms = 0; ms <= 20000; ms += 500) {
		double s = ms / 1000.0, phase = fmod(s, 2.6) / 1.3;

		/* A triangle: 512 KiB up in 1.3 s, down in 1.3 s. */
		bytes[0] = (int64_t)(524288 * (phase < 1 ? phase : 2 - phase));
		bytes[1] = 1000 + (int64_t)(3200 * s);
		bytes[2] = 2100000;
		trend_add(&t, ms, ids, bytes, NULL, 3, 0, 0);
	}
	printf("  20 s at 0.5 s: B/s: queue %.1f, leak %.1f, cache %.1f\n", rate(&t, QUEUE), rate(&t, LEAK),
	       rate(&t, CACHE));
	CHECK(rate(&t, LEAK) > 4 * rate(&t, QUEUE), "after 20 s the queue (%.1f B/s) is near the leak (%.1f)",
	      rate(&t, QUEUE), rate(&t, LEAK));
	CHECK(fabs(rate(&t, LEAK) - 3200) < 640, "after 20 s the leak grows %.1f B/s", rate(&t, LEAK));
	trend_free(&t);
}

/* A week at 60 s with 2,000 contexts: memory bounded, the rate still right. */
static void week(void)
{
	enum { N = 2000 };
	static uint32_t ids[N];
	static int64_t bytes[N];
	struct trend t;
	size_t mem = 0;
	uint64_t samples = 7 * 24 * 60;
	unsigned seed = g_seed;

	trend_init(&t);
	for (uint64_t k = 0; k < samples; k++) {
		for (uint32_t i = 0; i < N; i++) {
			ids[i] = i + 1;
			bytes[i] = 100000 + (int64_t)(rand_r(&seed) % 50000);
		}
		bytes[41] = 5000 + (int64_t)k * 60 * 10;	/* context 42 leaks 10 B/s */
		if (trend_add(&t, (int64_t)k * 60000, ids, bytes, NULL, N, 0, 0) < 0) {
			CHECK(0, "trend_add failed at sample %llu", (unsigned long long)k);
			break;
		}
		if (k == 100)
			mem = trend_memory(&t);
		if (k > 100 && trend_memory(&t) != mem) {
			CHECK(0, "memory grew from %zu to %zu at sample %llu", mem, trend_memory(&t),
			      (unsigned long long)k);
			break;
		}
	}
	printf("  a week at 60 s, %d contexts: %llu samples in %zu slots of %u, %zu KiB; context 42: %.2f B/s\n", N,
	       (unsigned long long)t.samples, t.nslots, t.per_slot, trend_memory(&t) / 1024, rate(&t, 42));
	CHECK(t.nslots <= TREND_SLOTS, "%zu slots", t.nslots);
	CHECK(fabs(rate(&t, 42) - 10) < 1, "context 42 grows %.2f B/s, not 10", rate(&t, 42));
	CHECK(fabs(rate(&t, 7)) < 1, "context 7 (random) grows %.2f B/s", rate(&t, 7));
	trend_free(&t);
}

int main(void)
{
	g_seed = (unsigned)check_seed(0);
	shapes();
	few_seconds();
	week();
	return check_done();
}
