/*
 * The call stack of a stopped thread of another process, unwound with
 * libunwind's ptrace support from the target's own unwind tables
 * (.eh_frame, .ARM.exidx): no debug symbols needed. Used before a remote
 * call to prove the calling thread is not inside the allocator or the
 * loader (safepoint.c).
 */
#ifndef INJ_STACKWALK_H
#define INJ_STACKWALK_H

#include <stddef.h>
#include <stdint.h>

struct inj_stackwalk;

/* One frame, innermost first. */
struct inj_frame {
	uint64_t pc;     /* frame 0: where the thread is; others: the return address */
	uint64_t sp;     /* the frame's stack pointer (its canonical frame address above) */
	uint64_t fp;     /* MIPS: its $fp ($s8), for a walk that starts again here; else 0 */
	int signal;      /* a signal frame: the frame above it was interrupted at PC */
	int helper;      /* frame 0 only: a kernel helper the frame above called as a leaf
			  * (32-bit ARM's kuser helpers), judged as part of that call */
};

/*
 * An unwinder for the threads of process PID, caching what it learns of
 * the modules' unwind tables across walks. The threads must be traced by
 * the calling process and stopped when walked. NULL with errno (ENOMEM).
 * Free with inj_stackwalk_free (NULL is a no-op).
 */
struct inj_stackwalk *inj_stackwalk_new(int pid);
void inj_stackwalk_free(struct inj_stackwalk *w);

/*
 * Forget what was learnt of the modules: call when the target mapped or
 * unmapped code since the last walk.
 */
void inj_stackwalk_flush(struct inj_stackwalk *w);

/*
 * Unwind stopped thread TID into F (at most MAX frames, MAX >= 1). Returns
 * the number of frames, at least 1 (the thread's pc and sp), or -1 with
 * errno when its registers cannot be read (ESRCH: not stopped or gone).
 * *END is 1 when the walk reached a frame the tables mark as the outermost
 * (no return address), 0 when it stopped before: a frame without unwind
 * information, an unreadable stack, or MAX frames. On 32-bit ARM a table
 * entry that says "cannot unwind" also ends a walk with *END 1, whether it
 * is the true end or not: callers must not take *END as proof there.
 */
int inj_stackwalk_thread(struct inj_stackwalk *w, int tid, struct inj_frame *f, int max,
			 int *end);

/*
 * The same walk from another frame of TID: PC, SP and FP (MIPS's $fp; 0:
 * the thread's) stand for the thread's, its other registers as they are.
 * For a caller found another way than by tables (safepoint.c: a MIPS frame
 * without unwind tables, by its prologue). Same returns; F[0] is PC.
 */
int inj_stackwalk_thread_from(struct inj_stackwalk *w, int tid, uint64_t pc, uint64_t sp,
			      uint64_t fp, struct inj_frame *f, int max, int *end);

#endif
