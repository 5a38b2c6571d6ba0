/*
 * leaks_heap: the victim of bench/leaks.sh, a heap of a given shape for
 * `leaks` (memtrace) and `leak_check` (valgrind through vgdb) to scan.
 *
 *   build/bench/leaks_heap DIR BLOCKS SIZE
 *
 * Makes BLOCKS blocks of SIZE bytes on average (SIZE * 3/4 to SIZE * 5/4,
 * so glibc's bins are mixed as in a real program), half of them before it
 * writes DIR/ready (its pid) and the other half once DIR/go exists, so a
 * scan judges both blocks from before the attach (found by walking glibc's
 * heap) and blocks the agent recorded. Then it writes DIR/leaked ("blocks
 * N bytes B definite N indirect N possible N reachable N", what it made of
 * each kind) and waits for DIR/stop, and exits 0 without freeing: the heap
 * is all there is to measure, and freeing a million blocks under valgrind
 * would take a minute for nothing.
 *
 * Block i is one of five kinds, by i % 20, the shapes a program has:
 *   0-11  still reachable: a node of one of 64 linked lists whose heads are
 *         in a global array; its second word points at the node 32 places
 *         back in the same list (a cross link, as a cache or an index has);
 *   12-15 still reachable: a node of a binary search tree on a random key,
 *         its root in a global;
 *   16-17 lost: a node of a list whose head is dropped every 64 nodes (the
 *         head definitely lost, the 63 others indirectly);
 *   18    definitely lost: made and dropped;
 *   19    possibly lost: a chain held only through pointers 16 bytes into
 *         each block (the global holds one such pointer too).
 * The rest of every block is data that is no pointer (small integers and
 * text), written in full so its pages are there to be read.
 *
 * Polling for DIR/go and DIR/stop (10 ms sleeps) rather than blocking keeps
 * the program answering vgdb under valgrind without ptrace's help.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))
#define NLISTS 64
#define LOST_RUN 64
#define CROSS 32
#define INTERIOR 16

struct node {
	struct node *next;	/* list: next node; tree: left child */
	struct node *other;	/* list: a node CROSS back; tree: right child */
	uint64_t key;
};

/* The roots: globals, as a program keeps its containers. */
struct node *list_head[NLISTS];
static struct node *list_back[NLISTS][CROSS];
struct node *tree_root;
char *interior_tail;

static struct node *lost_head;
static unsigned lost_len;
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t made_blocks, made_bytes, n_definite, n_indirect, n_possible, n_reachable;

static uint64_t next_rand(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A block of about SIZE bytes, every byte after the header written with
 * values no scan takes for a pointer. */
NOIPA static struct node *make(size_t avg)
{
	size_t size = avg - avg / 4 + (size_t)(next_rand() % (avg / 2 + 1));
	struct node *n;
	unsigned char *p;

	if (size < sizeof(*n) + INTERIOR)
		size = sizeof(*n) + INTERIOR;
	n = malloc(size);
	if (!n) {
		fprintf(stderr, "leaks_heap: malloc(%zu): out of memory\n", size);
		exit(1);
	}
	n->next = n->other = NULL;
	n->key = next_rand();
	p = (unsigned char *)(n + 1);
	for (size_t i = 0; i < size - sizeof(*n); i++)
		p[i] = (unsigned char)('a' + (i + made_blocks) % 26);
	made_blocks++;
	made_bytes += size;
	return n;
}

NOIPA static void add_list(struct node *n, uint64_t i)
{
	unsigned k = (unsigned)(i % NLISTS);
	struct node **back = &list_back[k][(i / NLISTS) % CROSS];

	n->next = list_head[k];
	n->other = *back;
	*back = n;
	list_head[k] = n;
	n_reachable++;
}

NOIPA static void add_tree(struct node *n)
{
	struct node **at = &tree_root;

	while (*at)
		at = n->key < (*at)->key ? &(*at)->next : &(*at)->other;
	*at = n;
	n_reachable++;
}

NOIPA static void add_lost_list(struct node *n)
{
	n->next = lost_head;
	lost_head = n;
	if (++lost_len == LOST_RUN) {
		lost_head = NULL;
		lost_len = 0;
		n_definite++;
		n_indirect += LOST_RUN - 1;
	}
}

NOIPA static void add_interior(struct node *n)
{
	n->next = (struct node *)interior_tail;
	interior_tail = (char *)n + INTERIOR;
	n_possible++;
}

static void make_blocks(uint64_t from, uint64_t to, size_t avg)
{
	for (uint64_t i = from; i < to; i++) {
		struct node *n = make(avg);
		unsigned kind = (unsigned)(i % 20);

		if (kind < 12) {
			add_list(n, i);
		} else if (kind < 16) {
			add_tree(n);
		} else if (kind < 18) {
			add_lost_list(n);
		} else if (kind == 18) {
			n_definite++;
			n = NULL;
		} else {
			add_interior(n);
		}
	}
}

static void wait_file(const char *dir, const char *name)
{
	char path[4096];
	struct timespec ts = {0, 10 * 1000 * 1000};

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	while (access(path, F_OK) != 0)
		nanosleep(&ts, NULL);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4096], tmp[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "leaks_heap: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	char text[256];
	uint64_t blocks;
	size_t avg;

	if (argc != 4 || (blocks = strtoull(argv[2], NULL, 0)) == 0 ||
	    (avg = strtoul(argv[3], NULL, 0)) < 16) {
		fprintf(stderr, "usage: leaks_heap DIR BLOCKS SIZE (SIZE >= 16)\n");
		return 2;
	}
	make_blocks(0, blocks / 2, avg);
	snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	write_file(argv[1], "ready", text);
	wait_file(argv[1], "go");
	make_blocks(blocks / 2, blocks, avg);
	/* A lost run cut short is still held by lost_head: reachable. */
	n_reachable += lost_len;
	snprintf(text, sizeof(text),
		 "blocks %" PRIu64 " bytes %" PRIu64 " definite %" PRIu64 " indirect %" PRIu64
		 " possible %" PRIu64 " reachable %" PRIu64 "\n",
		 made_blocks, made_bytes, n_definite, n_indirect, n_possible, n_reachable);
	write_file(argv[1], "leaked", text);
	wait_file(argv[1], "stop");
	return 0;
}
