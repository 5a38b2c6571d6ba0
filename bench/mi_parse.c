/*
 * mi_parse: throughput of libgdbmi's parser (mi/parse.c) on the two kinds
 * of big answers memtrace-server gets from gdb.
 *
 *     build/bench/mi_parse [-m MIB] [-f FRAMES] [-r RUNS] [FILE...]
 *
 * memory  a -data-read-memory-bytes answer for MIB MiB (default 8): one
 *         line of 2 x MIB MiB of hex in a c-string;
 * stack   a -stack-list-frames answer with FRAMES frames (default 10000),
 *         each frame a tuple of seven results as gdb 13 writes them
 *         (tests/mi-fixtures/stack-list-frames-deep.mi);
 * FILE    any file of MI output (a fixture's header lines are skipped).
 *
 * Each input is pushed in 64 KiB pieces, as reads from gdb's pipe come, into
 * one parser kept for the whole run (a session keeps one per gdb), and
 * every record is freed in the callback; for the stack the answer is also
 * decoded into frames (gdbmi_decode_frames), a second figure. A run
 * repeats the input for at least 0.3 s; the best of RUNS (5) runs is
 * printed in MB/s (10^6 bytes of input per second). The goal (issue 5) is
 * 200 MB/s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gdbmi.h"

#define PIECE (64 * 1024)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t records, frames_seen;
static int decode;

static void on_record(void *ctx, struct gdbmi_record *rec)
{
	struct gdbmi_frames *f;

	(void)ctx;
	records++;
	if (decode && gdbmi_decode_frames(rec, &f) == GDBMI_OK) {
		frames_seen += f->n;
		gdbmi_frames_free(f);
		return;
	}
	gdbmi_record_free(rec);
}

static struct gdbmi_parser *parser;

/* One parser for the whole run, as a session keeps one for its gdb. */
static void push_all(const char *text, size_t len)
{
	if (!parser && !(parser = gdbmi_parser_new(on_record, NULL))) {
		perror("gdbmi_parser_new");
		exit(1);
	}
	for (size_t at = 0; at < len; at += PIECE)
		if (gdbmi_parser_push(parser, text + at, len - at < PIECE ? len - at : PIECE) != GDBMI_OK) {
			fprintf(stderr, "mi_parse: out of memory\n");
			exit(1);
		}
	gdbmi_parser_finish(parser);
}

/* Best MB/s over RUNS runs of at least 0.3 s each. */
static double measure(const char *text, size_t len, int runs)
{
	double best = 0;

	for (int r = 0; r < runs; r++) {
		double t0 = now(), t;
		size_t bytes = 0;

		do {
			push_all(text, len);
			bytes += len;
			t = now() - t0;
		} while (t < 0.3);
		if (bytes / t / 1e6 > best)
			best = bytes / t / 1e6;
	}
	return best;
}

/* Parse TEXT, one answer line of LEN bytes, RUNS times and end the line the
 * caller began with its speed, beside the goal of 200 MB/s. */
static void measure_answer(const char *text, size_t len, int runs)
{
	double mbs = measure(text, len, runs);

	printf(", one line of %9zu bytes: %7.0f MB/s  (goal 200: %s)\n", len, mbs, mbs >= 200 ? "met" : "NOT met");
}

static char *memory_answer(size_t mib, size_t *len)
{
	size_t n = mib << 20, cap = 2 * n + 512, o;
	char *s = malloc(cap);
	static const char hex[] = "0123456789abcdef";
	unsigned x = 1;

	if (!s)
		return NULL;
	o = (size_t)snprintf(s, cap, "5^done,memory=[{begin=\"0x00007f6b59038010\",offset=\"0x0000000000000000\","
				    "end=\"0x%016llx\",contents=\"", 0x00007f6b59038010ull + n);
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		s[o++] = hex[(x >> 16) & 15];
		s[o++] = hex[(x >> 20) & 15];
	}
	o += (size_t)snprintf(s + o, cap - o, "\"}]\n(gdb) \n");
	*len = o;
	return s;
}

static char *stack_answer(size_t frames, size_t *len)
{
	size_t cap = frames * 256 + 256, o;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	o = (size_t)snprintf(s, cap, "6^done,stack=[");
	for (size_t i = 0; i < frames; i++)
		o += (size_t)snprintf(s + o, cap - o,
				      "%sframe={level=\"%zu\",addr=\"0x%016llx\",func=\"mi_descend\","
				      "file=\"tests/victims/mi_victim.c\",fullname=\"/work/main/tests/"
				      "victims/mi_victim.c\",line=\"%zu\",arch=\"i386:x86-64\"}",
				      i ? "," : "", i, 0x000055df898da36full + (i % 3) * 0x2b, 70 + i % 7);
	o += (size_t)snprintf(s + o, cap - o, "]\n(gdb) \n");
	*len = o;
	return s;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *s, *body;
	long n;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0 ||
	    !(s = malloc((size_t)n + 1)) || fread(s, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(1);
	}
	fclose(f);
	s[n] = '\0';
	/* A fixture's header: '#' lines up to an empty one. */
	body = s;
	while (*body == '#' && strchr(body, '\n'))
		body = strchr(body, '\n') + 1;
	if (body != s && *body == '\n')
		body++;
	*len = (size_t)n - (size_t)(body - s);
	memmove(s, body, *len);
	return s;
}

int main(int argc, char **argv)
{
	size_t mib = 8, frames = 10000, len;
	int runs = 5, opt;
	char *text;
	double mbs;

	while ((opt = getopt(argc, argv, "m:f:r:")) != -1) {
		switch (opt) {
		case 'm':
			mib = (size_t)atol(optarg);
			break;
		case 'f':
			frames = (size_t)atol(optarg);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: mi_parse [-m MIB] [-f FRAMES] [-r RUNS] [FILE...]\n");
			return 2;
		}
	}
	if (optind < argc) {
		for (int i = optind; i < argc; i++) {
			size_t n;

			text = read_file(argv[i], &len);
			records = 0;
			push_all(text, len);
			n = records;
			mbs = measure(text, len, runs);
			printf("%-40s %9zu bytes %6zu records %8.0f MB/s\n", argv[i], len, n, mbs);
			free(text);
		}
		return 0;
	}

	text = memory_answer(mib, &len);
	if (!text)
		return 1;
	printf("memory answer  %4zu MiB read", mib);
	measure_answer(text, len, runs);
	free(text);

	text = stack_answer(frames, &len);
	if (!text)
		return 1;
	printf("stack answer %6zu frames", frames);
	measure_answer(text, len, runs);
	decode = 1;
	frames_seen = 0;
	push_all(text, len);
	if (frames_seen != frames) {
		fprintf(stderr, "mi_parse: decoded %zu frames, want %zu\n", frames_seen, frames);
		return 1;
	}
	mbs = measure(text, len, runs);
	printf("stack answer, parsed and decoded into frames:          %7.0f MB/s  (%.0f ns per frame)\n",
	       mbs, len / mbs / 1e6 / (double)frames * 1e9);
	free(text);
	return 0;
}
