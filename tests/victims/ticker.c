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
	long seconds = 10, interval = 5, end;
	const char *stopfile = NULL;
	unsigned long ticks = 0;
	int opt, fd;

	while ((opt = getopt(argc, argv, "s:f:i:")) != -1) {
		switch (opt) {
		case 's':
			seconds = atol(optarg);
			break;
		case 'f':
			stopfile = optarg;
			break;
		case 'i':
			interval = atol(optarg);
			break;
		default:
			vt_dprintf(2, "usage: ticker [-s SECONDS] [-f STOPFILE] [-i MS]\n");
			return 2;
		}
	}
	keep_big = leak_big();
	keep_pattern = leak_dump_pattern();
	vt_printf("ticker: started\n");
	fd = open("ticker.started", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		vt_dprintf(fd, "%d\n", (int)getpid());
		close(fd);
	}

	end = vt_now_ms() + seconds * 1000;
	while (vt_now_ms() < end && !(stopfile && access(stopfile, F_OK) == 0)) {
		keep_tick = tick_leak();
		vt_touch(keep_tick);
		ticks++;
		vt_sleep_ms(interval);
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
