/*
 * mi_victim: the program the mi/ live tests and fixture captures look at
 * through gdb (tests/unit/test_mi_live.c, tests/mi-fixtures/capture.sh).
 *
 *     mi_victim [-d DEPTH] [-b BIGMIB] [-s SECONDS]
 *
 * It fills known memory, recurses DEPTH (default 3) levels through
 * mi_descend, then calls mi_hold, which every 20 ms calls mi_target_fn(42,
 * "hello", &mi_pair_global) until SECONDS (default 60) have passed. Once it
 * is in that loop it writes "ready PID" on stdout, so a test knows when to
 * attach or dump a core. What the tests read back:
 *
 * - mi_bytes: 32 bytes with a NUL, a quote, a backslash, control and high
 *   bytes ("mi\0\"\\\n\t\x1b\x7f\xc3\xa9" then 0x20..0x34);
 * - mi_big: BIGMIB MiB (default 6) of the pattern (i * 7 + 3) & 0xff, for
 *   the 10 MB line;
 * - mi_hold's arguments (tag "holding", rounds 7) and locals (counter,
 *   label "local label");
 * - mi_target_fn's arguments: count 42, word "hello", pair {42, "pair"}.
 *
 * No allocation in the loop, no output after "ready": the process looks the
 * same whenever it is stopped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noipa))

struct mi_pair {
	int id;
	const char *name;
};

unsigned char mi_bytes[32] = { 'm', 'i', 0, '"', '\\', '\n', '\t', 0x1b, 0x7f, 0xc3, 0xa9 };
unsigned char *mi_big;
size_t mi_big_len;
struct mi_pair mi_pair_global = { 42, "pair" };
volatile long mi_sink;

NOINLINE int mi_target_fn(int count, const char *word, struct mi_pair *pair)
{
	volatile int sum = count + (int)strlen(word) + pair->id;

	mi_sink += sum;
	return sum;
}

NOINLINE static void mi_hold(const char *tag, int rounds, double seconds)
{
	volatile int counter = 0;
	const char *volatile label = "local label";
	struct timespec t0, now, tick = { 0, 20 * 1000 * 1000 };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (;;) {
		mi_target_fn(42, "hello", &mi_pair_global);
		counter = counter + rounds;
		nanosleep(&tick, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9 > seconds)
			break;
	}
	mi_sink += counter + (long)strlen(tag) + (long)strlen(label);
}

NOINLINE static void mi_descend(int depth, double seconds)
{
	if (depth > 0)
		mi_descend(depth - 1, seconds);
	else
		mi_hold("holding", 7, seconds);
	mi_sink += depth;
}

int main(int argc, char **argv)
{
	int depth = 3, opt;
	double seconds = 60;
	size_t mib = 6;

	while ((opt = getopt(argc, argv, "d:b:s:")) != -1) {
		switch (opt) {
		case 'd':
			depth = atoi(optarg);
			break;
		case 'b':
			mib = (size_t)atoi(optarg);
			break;
		case 's':
			seconds = atof(optarg);
			break;
		default:
			fprintf(stderr, "usage: mi_victim [-d DEPTH] [-b BIGMIB] [-s SECONDS]\n");
			return 2;
		}
	}
	for (int i = 11; i < 32; i++)
		mi_bytes[i] = (unsigned char)(0x20 + i - 11);
	mi_big_len = mib << 20;
	mi_big = malloc(mi_big_len ? mi_big_len : 1);
	if (!mi_big)
		return 1;
	for (size_t i = 0; i < mi_big_len; i++)
		mi_big[i] = (unsigned char)((i * 7 + 3) & 0xff);
	mi_descend(depth, seconds);
	free(mi_big);
	return 0;
}
