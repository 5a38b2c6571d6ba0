/*
 * Leak verdicts, valgrind memcheck's (docs/user-guide.md, "leaks"): every
 * live block of a stopped process is still reachable, possibly lost,
 * indirectly lost or definitely lost, judged by a conservative scan for
 * pointers from the roots (registers, stacks, writable module data, TLS,
 * memory that is not heap) through the blocks. No sockets, no ptrace, no
 * clock: the caller stops the world, gives the blocks and the roots and
 * reads memory through a struct memsrc, so memtrace (a live process) and
 * memtrace-server (a core) share it.
 *
 * The rules, as memcheck has them with heuristics off (vgdb's leak_check
 * default, ../shared/notes/leak-verdicts.md 1.3, 1.5):
 *   - a word is a pointer candidate when it is aligned to the pointer size
 *     and falls inside a block [addr, addr + size) (a zero-size block is 1
 *     byte); at addr it is a start pointer, inside an interior pointer;
 *   - a start pointer from a root, or from a block reached by start
 *     pointers only, makes the block still reachable; an interior pointer,
 *     or any pointer found inside a possibly lost block, makes an
 *     unreached block possibly lost; a block is (re)scanned when its state
 *     rises;
 *   - then, in address order, each block still unreached leads a clique:
 *     it is definitely lost, and every unreached block reachable from it
 *     (start or interior pointers alike) is indirectly lost, counted in
 *     the leader's indirect bytes; a leader absorbed by a later clique
 *     gives its indirect bytes to the new leader. A lost cycle thus has
 *     its lowest-address block definitely lost, the rest indirect.
 *   - A block's contents are scanned for its size as given (the requested
 *     size for blocks the agent recorded, the usable size for blocks found
 *     by walking the heap).
 */
#ifndef MEMTRACE_LEAKS_H
#define MEMTRACE_LEAKS_H

#include <stddef.h>
#include <stdint.h>

#include "memsrc.h"

enum leak_verdict {
	LEAK_REACHABLE,		/* still reachable */
	LEAK_POSSIBLE,		/* possibly lost */
	LEAK_INDIRECT,		/* indirectly lost */
	LEAK_DEFINITE,		/* definitely lost */
	LEAK_NVERDICTS
};

/* The JSON and text names, by enum leak_verdict: "still_reachable", ... */
extern const char *const leak_verdict_key[LEAK_NVERDICTS];
/* As a user reads them: "still reachable", "possibly lost", ... */
extern const char *const leak_verdict_text[LEAK_NVERDICTS];

struct leak_block {
	uint64_t addr;		/* the block's first byte */
	uint64_t size;		/* bytes scanned and counted (0: counts as 1 for pointers) */
	uint32_t ctx;		/* the caller's grouping: memtrace's context id, 0 before the attach */
	uint8_t verdict;	/* enum leak_verdict: the result of leak_scan_finish */
	uint8_t internal;	/* the allocator's own (a tcache struct): judged, never reported */
	uint64_t indirect;	/* for a definitely lost block: bytes of its indirectly lost ones */
};

struct leak_scan;

/*
 * Sort the N blocks at B by address for leak_scan_new and drop overlaps:
 * of two blocks that overlap (a block the heap walk and the agent's table
 * both give), the one with a context stays, else the lower (at one
 * address: the one with a context, then the lower context, size,
 * internal). Returns how many are left, in place. Fast where most blocks
 * come in ascending runs (a heap walk's chunks): the rest is sorted in
 * place and the runs merged, with at most as many blocks of scratch as the
 * smaller side of a merge (in place and slower without that memory).
 * Never fails.
 */
size_t leak_blocks_sort(struct leak_block *b, size_t n);

/*
 * A scan over the N blocks at BLOCKS (owned by the caller, kept until
 * leak_scan_free; the scan writes verdict and indirect). They must be
 * sorted by addr and must not overlap: NULL with errno EINVAL otherwise
 * (also for a PTR_SIZE other than 4 or 8, N of 2^32 - 1 or more, a block
 * that wraps past the top of the address space).
 * NULL with errno ENOMEM. The scan's own memory is about 5 bytes a block
 * (up to 9 while a mostly lost heap's cliques are scanned) plus an index (4-byte entries per slot of 64 bytes to 4 KiB of the span
 * the blocks cover, less the gaps of 1 MiB or more between them: at most
 * 2 bytes a block or 1 KiB per 4 MiB of span; when that would pass 64 MiB,
 * a binary search instead) plus 128 KiB of buffers (docs/architecture.md,
 * "Leak verdicts: the engine").
 */
struct leak_scan *leak_scan_new(struct leak_block *blocks, size_t n, unsigned ptr_size);

/* Words the roots hold outside memory: a stopped thread's registers. */
void leak_scan_root_words(struct leak_scan *s, const uint64_t *words, size_t n);

/*
 * Memory [LO, HI) is a root: every aligned word in it is a candidate.
 * Read through M in pieces (a bounded buffer, never the whole range); a
 * piece that cannot be read (EFAULT) is skipped a page at a time. 0, or -1
 * with errno when reading failed otherwise (the process is gone: ESRCH).
 */
int leak_scan_root_range(struct leak_scan *s, const struct memsrc *m, uint64_t lo, uint64_t hi);

/*
 * Scan what the roots reached, then the cliques: every block gets its
 * verdict. Block contents are read through M. 0, or -1 with errno as
 * leak_scan_root_range (an unreadable block is judged as if it held no
 * pointer).
 */
int leak_scan_finish(struct leak_scan *s, const struct memsrc *m);

/* Figures for the user and the benchmark. */
struct leak_scan_stats {
	uint64_t root_bytes;	/* root memory read */
	uint64_t block_bytes;	/* block contents read */
	uint64_t unreadable;	/* bytes skipped as unreadable */
	size_t memory;		/* the scan's own memory at its largest, bytes */
	uint64_t reads;		/* calls to the memsrc's read and readv (system calls, live, but
				   those leak_words serves) */
};
void leak_scan_stats(const struct leak_scan *s, struct leak_scan_stats *st);

void leak_scan_free(struct leak_scan *s);

/*
 * Who holds a pointer to ADDR (valgrind's who_points_at): after
 * leak_scan_finish, every root word and every block word whose value is
 * ADDR, or inside [ADDR, ADDR + LEN) when LEN > 1, calls FN(ARG, where,
 * value, block): BLOCK is the index of the holding block (WHERE the word's
 * address), LEAK_WHO_ROOT for root memory (WHERE the word's address) or
 * LEAK_WHO_REGISTER (WHERE the word's index among those given to
 * leak_scan_root_words, in order over all calls). The root ranges and words
 * are kept by the scan for this and reread through M. 0, or -1 as
 * leak_scan_root_range (EINVAL before leak_scan_finish).
 */
#define LEAK_WHO_ROOT (-1L)
#define LEAK_WHO_REGISTER (-2L)
int leak_scan_who_points(struct leak_scan *s, const struct memsrc *m, uint64_t addr, uint64_t len,
			 void (*fn)(void *arg, uint64_t where, uint64_t value, long block), void *arg);

/*
 * Words read ahead: while glibc's heap is walked (glibcheap.h's read
 * callback) every aligned word of what the walk read whose value is in
 * [LO, HI) is kept, up to BUDGET bytes (12 a word), and the memsrc
 * leak_words_memsrc gives then serves reads inside what was kept without
 * reading again: the kept words in place, zeros elsewhere, which is the
 * same to the scan when [LO, HI) holds every block (no other word can be a
 * pointer candidate: the caller checks its blocks are inside before it
 * gives the memsrc to leak_scan_finish); reads elsewhere go to UNDER (not
 * owned, kept while W is). Not for who_points, whose range may be
 * anywhere. Reads it serves count in the scan's stats.reads but are no
 * system call. NULL with errno ENOMEM; leak_words_free(NULL) does nothing.
 */
struct leak_words;
struct leak_words *leak_words_new(const struct memsrc *under, uint64_t lo, uint64_t hi, size_t budget);
/* A range read at ADDR: LEN bytes at BUF (glibcheap_walk.read's shape). */
void leak_words_add(void *w, uint64_t addr, const void *buf, size_t len);
/* The memsrc serving reads (valid while W is). */
struct memsrc leak_words_memsrc(struct leak_words *w);
/* Bytes held, and bytes of memory kept (read once, served since). */
void leak_words_stats(const struct leak_words *w, size_t *memory, uint64_t *covered);
void leak_words_free(struct leak_words *w);

#endif
