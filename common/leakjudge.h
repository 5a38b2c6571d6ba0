/*
 * The leak judge over the image of a stopped process (docs/architecture.md,
 * "Leak verdicts"): its mappings, its threads' registers and stack
 * pointers, its memory through a struct memsrc and the agent's anchor.
 * memtrace fills the image from a live process it holds stopped
 * (inject/leaks/scan.c), memtrace-server from a core (server/coreimage.c);
 * from there on both are judged by the same code: the agent's tables and
 * glibc's heap give the blocks, the roots are chosen as valgrind chooses
 * them, and common/leaks.c gives the verdicts.
 *
 * What is a root (../shared/notes/leak-verdicts.md, 1.1): every stopped
 * thread's general registers, and every readable and writable mapping,
 * less what is not the program's:
 *   - the blocks themselves (a block is reached through other blocks, never
 *     a root) and, where the heap was walked, everything glibc's allocator
 *     owns (its heaps with their free chunks and the main arena's struct,
 *     whose bin pointers point into blocks);
 *   - each thread's stack below its stack pointer (less the ABI's red
 *     zone): dead frames hold stale pointers;
 *   - the agent's own memory (its tables point at every block), its module
 *     and its control thread, as the agent lists them (agent/arena.c);
 *   - device mappings other than /dev/zero (reading them may hang or act)
 *     and the kernel's [vvar] and [vsyscall].
 */
#ifndef MEMTRACE_LEAKJUDGE_H
#define MEMTRACE_LEAKJUDGE_H

#include <stddef.h>
#include <stdint.h>

#include "leaks.h"
#include "memsrc.h"

/* A holder of a pointer into the block asked about (a who-points question). */
struct inj_leaks_holder {
	uint64_t where;		/* the word's address; for a register, its index in the thread's regset */
	uint64_t value;		/* what it holds */
	int tid;		/* a register: the thread's; else 0 */
	long block;		/* the holding block's index in blocks, or -1 for root memory or a register */
};

/* The first word of a lost block from before the attach (its signature: a C++ vtable names its class). */
struct inj_leaks_first {
	size_t block;		/* its index in blocks */
	uint64_t word;
};

/* The verdicts, and how they were reached. */
struct inj_leaks {
	struct leak_block *blocks;	/* sorted by address, each with its verdict */
	size_t n;
	/* Blocks from before the attach: 1 judged too (ctx 0), 0 not (heap_note says why). */
	int before_attach;
	char heap_note[256];
	size_t threads;			/* threads whose registers and stacks were roots */
	size_t threads_running;		/* of which left running (epoll_wait): stack only */
	struct leak_scan_stats st;
	uint64_t root_ranges;		/* memory ranges scanned as roots */
	int64_t stopped_ns;		/* how long the process was stopped (0 for a core) */
	/* Judged on a copy of the process (a fork, inject/leaks/scan.c) made while
	 * stopped, the process let go meanwhile; else snapshot_note says why not. */
	int snapshot;
	char snapshot_note[160];
	int own_overflow;		/* the agent could not list all its memory: verdicts may be kind */
	/* The allocator, when the caller found it is one whose own memory keeps
	 * pointers to the blocks it handed out ("jemalloc"), or NULL. */
	const char *kind_allocator;
	/* With a who-points question: every word of the roots and blocks pointing into it. */
	struct inj_leaks_holder *holders;
	size_t nholders;
	/* The first words of context 0's lost blocks (definitely, indirectly, possibly), read while stopped. */
	struct inj_leaks_first *firsts;
	size_t nfirsts;
};

/* A who-points question: pointers into [addr, addr + len) (len 1: to addr
 * only; 0: from addr to the end of the block holding it, else to addr only). */
struct inj_leaks_who {
	uint64_t addr, len;
};

void inj_leaks_free(struct inj_leaks *l);

/* A mapping of the image. */
struct leak_map {
	uint64_t lo, hi;
	char perms[5];		/* as /proc/PID/maps: "rw-p"; a core's are always private */
	const char *path;	/* "" when anonymous (a core's [heap] and [stack] too) */
};

/* A thread of the image. */
struct leak_thread {
	int tid;
	const uint64_t *regs;	/* its general registers as words; NULL: not stopped (stack only) */
	size_t nregs;
	uint64_t sp;		/* its stack pointer; 0 unknown */
};

/* The map of the N at MAPS (sorted, not overlapping) holding ADDR, or NULL. */
const struct leak_map *leak_map_of(const struct leak_map *maps, size_t n, uint64_t addr);

struct leak_image {
	const struct memsrc *mem;
	const char *where;		/* "process 1234", "the core": for messages */
	const struct leak_map *maps;	/* sorted by address, not overlapping */
	size_t nmaps;
	uint64_t anchor;		/* &memtrace_gdb */
	uint64_t red_zone;		/* bytes below the stack pointer the ABI lets a function use */
	int cheap_reads;		/* reading costs nothing (a core mapped): the heap walk keeps no copy */
};

struct leak_judge;

/*
 * A judge of IMG (kept by the caller, which may change its maps before
 * leak_judge_blocks), its verdicts to go into OUT (zeroed here): the
 * agent's tables and its list of its own memory are read. NULL after
 * logging why (not memtrace's agent, an older agent, a damaged image).
 */
struct leak_judge *leak_judge_new(const struct leak_image *img, struct inj_leaks *out);

/*
 * The blocks: the agent's table, then glibc's heap walked for the blocks
 * from before the attach. 1 both, 0 the table only (OUT's heap_note says
 * why: not glibc), -1 the table could not be read, -2 the heap could not be
 * walked (heap_note says how: a thread inside the allocator). QUIET: the
 * table's failures are logged at debug level only (the caller will retry).
 * After -2 the table's blocks are kept: the caller may retry (a live
 * process let run a moment), or judge them alone.
 */
int leak_judge_blocks(struct leak_judge *j, int quiet);

/*
 * Judge, with the N threads at T as roots (the agent's control thread
 * among them is left out), and answer WHO (may be NULL) into OUT's holders.
 * OUT then owns the blocks. 0, or -1 after logging (memory unreadable for a
 * reason other than EFAULT: the process is gone).
 */
int leak_judge_run(struct leak_judge *j, const struct leak_thread *t, size_t n, const struct inj_leaks_who *who);

void leak_judge_free(struct leak_judge *j);

/* The agent's control thread, as its memory list names it (-1 unknown). */
int leak_judge_control_tid(const struct leak_judge *j);

/* The control thread numbered as the image's threads are (a live process in
 * another PID namespace is seen by memtrace with other numbers). */
void leak_judge_set_control_tid(struct leak_judge *j, int tid);

#endif
