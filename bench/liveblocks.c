/*
 * liveblocks: measures what the agent costs per live block.
 *
 * Allocates N small blocks (default 1,000,000, sizes 16-64) from four call
 * sites and keeps every one of them live until exit, so the exit report
 * holds N live blocks and the agent's own memory divided by N is its
 * bookkeeping cost per block.
 *
 * The program makes no other heap allocation: the blocks are chained through
 * their first word instead of an array, and the one output line goes out
 * with write(2), not stdio, whose buffer would be one more block.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))

#define MIN_SIZE 16
#define MAX_SIZE 64

struct node {
	struct node *next;
};

/* N (SIZE bytes, or NULL) with every byte BYTE: the sites touch what they get. */
static struct node *filled(struct node *n, int byte, size_t size)
{
	if (n)
		memset(n, byte, size);
	return n;
}

/* Four sites so the report has a few contexts, as a real program would. */
NOIPA struct node *site_a(size_t size)
{
	return filled(malloc(size), 0xa1, size);
}

NOIPA struct node *site_b(size_t size)
{
	return filled(malloc(size), 0xb2, size);
}

NOIPA struct node *site_c(size_t size)
{
	struct node *n = calloc(1, size);

	if (n)
		n->next = NULL;
	return n;
}

NOIPA struct node *site_d(size_t size)
{
	return filled(malloc(size), 0xd4, size);
}

static struct node *(*const sites[4])(size_t) = { site_a, site_b, site_c, site_d };

static void die(const char *msg)
{
	if (write(2, msg, strlen(msg)) < 0)
		_exit(1);
	_exit(1);
}

int main(int argc, char **argv)
{
	long count = 1000000, i;
	uint64_t rng = 0x6c697665626c6b73ULL, bytes = 0;
	struct node *head = NULL;
	char line[96];
	int opt, len;

	while ((opt = getopt(argc, argv, "n:h")) != -1) {
		char *end;

		switch (opt) {
		case 'n':
			errno = 0;
			count = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || count < 0 || count > LONG_MAX / 2)
				die("liveblocks: -n: expected a non-negative number\n");
			break;
		default:
			die("usage: liveblocks [-n BLOCKS]\n");
		}
	}
	if (optind != argc)
		die("usage: liveblocks [-n BLOCKS]\n");

	for (i = 0; i < count; i++) {
		size_t size;
		struct node *n;

		/* xorshift64: deterministic sizes without touching libc's rand state. */
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		size = MIN_SIZE + (size_t)(rng % (MAX_SIZE - MIN_SIZE + 1));
		n = sites[i & 3](size);
		if (!n)
			die("liveblocks: out of memory\n");
		n->next = head;
		head = n;
		bytes += size;
	}
	/* Walk the chain so every block is provably still reachable at exit. */
	for (i = 0; head; head = head->next)
		i++;
	len = snprintf(line, sizeof(line), "live %ld blocks %" PRIu64 " bytes\n", i, bytes);
	if (write(1, line, (size_t)len) != len)
		return 1;
	return 0;
}
