/*
 * ticker: a long-running victim for the console tests.
 *     ticker [-s SECONDS] [-f STOPFILE] [-i MS]
 * At start it leaks one big block (leak_big, 100000 bytes: the largest
 * context) and one 64-byte block filled with "MEMTRACE-DUMP-TEST" repeated
 * (leak_dump_pattern, for dump), and writes its pid to "ticker.started" in
 * the current directory; then every MS milliseconds (5) it leaks 32 bytes from tick_leak,
 * until STOPFILE exists or SECONDS (10) have passed.  The number of ticks
 * depends on timing, so its EXPECT lines come at the end, from the count.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "victim.h"

#define PATTERN "MEMTRACE-DUMP-TEST"

static void *keep_big, *keep_pattern, *keep_tick;

NOINLINE static void *leak_big(void)
{
	void *p = malloc(100000);

	memset(p, 'B', 100000);
	return p;
}

NOINLINE static void *leak_dump_pattern(void)
{
	char *p = malloc(64);
	size_t n = strlen(PATTERN);

	for (size_t i = 0; i < 64; i++)
		p[i] = PATTERN[i % n];
	return p;
}

NOINLINE static void *tick_leak(void)
{
	void *p = malloc(32);

	memset(p, 'T', 32);
	return p;
}

int main(int argc, char **argv)
{
	struct vt_run run = { .seconds = 10, .interval_ms = 5 };
	unsigned long ticks = 0;
	int opt;

	while ((opt = getopt(argc, argv, "s:f:i:")) != -1) {
		if (!vt_run_option(&run, opt, optarg)) {
			vt_dprintf(2, "usage: ticker [-s SECONDS] [-f STOPFILE] [-i MS]\n");
			return 2;
		}
	}
	keep_big = leak_big();
	keep_pattern = leak_dump_pattern();
	vt_printf("ticker: started\n");
	vt_started("ticker.started");

	vt_run_start(&run);
	while (vt_run_on(&run)) {
		keep_tick = tick_leak();
		vt_touch(keep_tick);
		ticks++;
		vt_sleep_ms(run.interval_ms);
	}
	vt_touch(keep_big);
	vt_touch(keep_pattern);
	vt_printf("ticker: stopped after %lu ticks\n", ticks);
	vt_expect("leak_big", 1, 100000);
	vt_expect("leak_dump_pattern", 1, 64);
	if (ticks)
		vt_expect("tick_leak", ticks, 32 * ticks);
	return 0;
}
