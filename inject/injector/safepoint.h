/*
 * Choosing the thread for remote calls: one whose whole stack is proved to
 * be outside the allocator, the loader and the C library's other internal
 * state, found by unwinding every stopped thread (stackwalk.c) and judging
 * each frame against a map of the target's code built from its modules'
 * exported symbols (docs/architecture.md, "A safe point").
 *
 * A dlopen run in a thread stopped inside malloc corrupts a single-threaded
 * heap (glibc takes no lock then) and deadlocks a threaded one (the arena
 * lock is already held); inside the loader it re-enters dlopen; inside
 * pthread_create it waits on a lock it holds itself.
 */
#ifndef INJ_SAFEPOINT_H
#define INJ_SAFEPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "injector/loader.h"
#include "injector/ptrace.h"
#include "injector/stackwalk.h"

struct inj_codemap;

/*
 * The code map of process PID from its mappings M: the C library's
 * exported functions (those that take the allocator's, the loader's or
 * thread creation's locks, and those a thread blocks in safely), the
 * loader's code (INTERP, PT_INTERP of the executable; may be NULL), and
 * any other module that exports malloc (an allocator preloaded or linked:
 * its whole code). NULL with errno (ENOMEM); a module that cannot be read
 * is left out (logged at debug level).
 */
struct inj_codemap *inj_codemap_new(int pid, const struct inj_maps *m, const char *interp);
void inj_codemap_free(struct inj_codemap *cm);

enum inj_safety {
	INJ_SAFE,         /* proved: no frame in the allocator, loader or C library internals */
	INJ_IN_LOADER,    /* a frame in the dynamic loader: it may hold the loader's lock */
	INJ_IN_ALLOCATOR, /* a frame in the allocator, thread creation, fork...: it may hold
			   * their locks, or be in the middle of changing their state */
	INJ_NOT_PROVEN,   /* nothing critical seen, but not proved either: inside a C library
			   * call not known to be safe to run code beside, or only in the C
			   * library (starting, ending, a library's own thread) */
};

/*
 * Judge the stack of stopped thread TID: its frames F[0..N) as
 * inj_stackwalk_thread gave them and, above the last one, the words of its
 * stack (read with process_vm_readv up to the end of the mapping in NOW
 * that holds the last frame's stack pointer), any of which that points
 * into critical code counts as a frame there: whether the walk reached the
 * stack's end or stopped early (where 32-bit ARM cannot tell the two
 * apart), the rest of the stack is read. WHY (LEN bytes) gets one sentence
 * for a verdict other than INJ_SAFE.
 */
enum inj_safety inj_codemap_judge(const struct inj_codemap *cm, int tid, const struct inj_frame *f,
				  int n, const struct inj_maps *now, char *why, size_t len);

/* What the search for a safe point did (bench/, -v). */
struct inj_safepoint_stats {
	int rounds;        /* times every thread was judged */
	int walks;         /* stack walks */
	int64_t search_us; /* from the first walk to the choice */
	int others_critical; /* at the choice, other threads seen in the allocator or the
			      * loader (let run by the call if it waits for one of their locks;
			      * the threads after the chosen one are not walked) */
};

/*
 * Pick the thread of T to run the remote calls in: a thread at a safe
 * point (INJ_SAFE), preferring one blocked in a system call, then the main
 * thread. Until one is found the process is let run for a few milliseconds
 * at a time (inj_task_run_a_moment: no system call of it is cut short) and
 * judged again, for BUDGET_MS and at least 8 looks (a slow machine gets
 * the chances a fast one gets). Other threads in the allocator or
 * the loader do not delay the choice: the call lets them run if it waits
 * for a lock of theirs (remote.c). But a thread in the loader that cannot
 * be let run (the process is stopped by a signal) refuses the call, which
 * would wait for the loader's lock for ever. Returns the TID, or -1 with
 * WHY (LEN bytes) saying what the threads were doing. *ST (may be NULL)
 * gets the figures.
 */
int inj_safepoint_pick(struct inj_task *t, const struct inj_codemap *cm, int budget_ms,
		       char *why, size_t len, struct inj_safepoint_stats *st);

#endif
