/*
 * The malloc family, as the process sees it. Each function calls the real
 * allocator and then records or forgets the block; only the bookkeeping is
 * added, every result, errno and edge case is the real allocator's. Nothing
 * here allocates through malloc, takes the loader lock or uses stdio.
 *
 * Order matters against other threads: a new block is recorded after the
 * real call returns it, and a block is forgotten before the real free, so
 * an address recycled by the allocator is never confused with the old one.
 *
 * The tables are only touched between agent_enter() and agent_leave()
 * (quiesce.h), so that detach can wait for every thread to be out of them
 * before it unmaps them; neither the real allocator nor the stack walk is
 * inside.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "agent.h"
#include "fp_frame.h"
#include "blocks.h"
#include "gdb.h"
#include "hold.h"
#include "hooks.h"
#include "hooks_cxx.h"
#include "startmode.h"
#include "contexts.h"
#include "quiesce.h"
#include "real.h"
#include "state.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define NOINLINE __attribute__((noinline))

static inline int ready(void)
{
	return likely(__atomic_load_n(&agent_real.malloc, __ATOMIC_ACQUIRE) != NULL) ||
	       agent_real_resolve() == 0;
}

static inline int should_record(void)
{
	if (likely(__atomic_load_n(&agent_state.recording, __ATOMIC_RELAXED)))
		return !agent_guard;
	/* Start mode begins recording at the first call (lifecycle.c). */
	return unlikely(__atomic_load_n(&agent_state.start_pending, __ATOMIC_RELAXED)) && !agent_guard &&
	       agent_start_pending();
}

/*
 * Sequence numbers are taken in batches per thread, so threads do not fight
 * over one counter: numbers rise within a thread, and across threads they
 * order allocations to within a batch.
 */
#define SEQ_BATCH 64
static __thread uint64_t seq_next, seq_end;

static inline uint64_t next_seq(void)
{
	if (unlikely(seq_next == seq_end)) {
		seq_next = __atomic_fetch_add(&agent_state.seq, SEQ_BATCH, __ATOMIC_RELAXED);
		seq_end = seq_next + SEQ_BATCH;
	}
	return seq_next++;
}

/* Where a hook was called from: its frame, for the frame-pointer walk, and
 * its return address, the one frame known when a walk finds none (a caller
 * without unwind tables, e.g. a C library built without them on ARM). */
#define HERE __builtin_frame_address(0), __builtin_return_address(0)

/* Record block P of SIZE bytes allocated by the caller of the hook whose
 * frame is FRAME and return address RET. */
static NOINLINE void record(void *p, size_t size, void *frame, void *ret)
{
	uintptr_t pcs[AGENT_MAX_DEPTH + 1];
	/* Acquire: the depth and unwinder are those of this generation. */
	uint32_t gen = __atomic_load_n(&agent_state.generation, __ATOMIC_ACQUIRE);
	int depth = agent_state.depth;
	int saved = errno;
	struct agent_inside *in;
	struct agent_ctx *c;
	int n, truncated, blind;
	uint32_t id;
	uint64_t seq;

	/* The walk stays outside the tables (quiesce.h): detach need not wait
	 * for it, and it may take the loader's lock. */
	n = agent_state.unwinder->capture(pcs, depth + 1, frame);
	/* Read, and cleared only when the capture set it: no store a call. */
	blind = agent_unwind_blind;
	if (unlikely(blind))
		agent_unwind_blind = 0;
	if (n == 0 && ret) {
		pcs[0] = AGENT_LU_RETURN_ADDRESS((uintptr_t)ret);
		n = 1;
	}
	truncated = n > depth;
	if (truncated)
		n = depth;
	in = agent_enter(&agent_state.recording);
	if (unlikely(!in))
		goto out;
	/* Detached and attached again since the walk: another session's depth. */
	if (unlikely(__atomic_load_n(&agent_state.generation, __ATOMIC_RELAXED) != gen))
		goto out_leave;
	c = agent_ctx_get(pcs, n, agent_stack_hash(pcs, n));
	if (unlikely(!c)) {
		agent_fail("context table full or out of memory");
		goto out_leave;
	}
	if (unlikely(truncated && !c->truncated))
		c->truncated = 1;
	else if (unlikely(blind && !truncated && !c->truncated))
		c->truncated = AGENT_CTX_NO_UNWIND_INFO;
	seq = next_seq();
	if (unlikely(agent_blocks_insert((uintptr_t)p, size, c->id, seq) < 0)) {
		agent_fail("block table out of memory");
		goto out_leave;
	}
	agent_ctx_alloc(c, size, agent_now_ns(), agent_ctx_slot_of_thread());
	id = c->id;
	agent_leave(in);
	/* Last, outside the tables: the block is recorded and no agent lock is
	 * held; a held thread must not keep detach waiting. */
	agent_hold_check(id, p, size);
	agent_gdb_break_check(id, p, size);
	errno = saved;
	return;
out_leave:
	agent_leave(in);
out:
	errno = saved;
}

/* Forget P if it is known. */
static inline void forget(void *p)
{
	struct agent_inside *in = agent_enter(&agent_state.recording);
	struct agent_block b;

	if (!in)
		return;
	if (agent_blocks_remove((uintptr_t)p, &b)) {
		struct agent_ctx *c = agent_ctx_by_id(agent_block_ctx(&b));

		if (c)
			agent_ctx_free(c, agent_block_size(&b), agent_ctx_slot_of_thread());
	}
	agent_leave(in);
}

void *agent_malloc(size_t size)
{
	void *p;

	if (unlikely(!ready())) {
		errno = ENOMEM;
		return NULL;
	}
	if (!should_record())
		return agent_real.malloc(size);
	agent_guard = 1;
	p = agent_real.malloc(size);
	if (p)
		record(p, size, HERE);
	agent_guard = 0;
	return p;
}

/* A free inside a real C++ operator new: its new_handler giving memory back. */
static NOINLINE void free_in_operator(void *p)
{
	agent_guard = 1;
	if (__atomic_load_n(&agent_state.recording, __ATOMIC_RELAXED))
		forget(p);
	agent_real.free(p);
	agent_guard = AGENT_GUARD_OPERATOR;
}

void agent_free(void *p)
{
	if (!p)
		return;
	if (unlikely(!ready()))
		return;
	if (!should_record()) {
		if (unlikely(agent_guard == AGENT_GUARD_OPERATOR))
			free_in_operator(p);
		else
			agent_real.free(p);
		return;
	}
	agent_guard = 1;
	forget(p);
	agent_real.free(p);
	agent_guard = 0;
}

void *agent_calloc(size_t n, size_t size)
{
	void *p;

	if (unlikely(!ready())) {
		errno = ENOMEM;
		return NULL;
	}
	if (!should_record())
		return agent_real.calloc(n, size);
	agent_guard = 1;
	p = agent_real.calloc(n, size);
	if (p)
		record(p, n * size, HERE);
	agent_guard = 0;
	return p;
}

/* realloc without the hook frame: shared by realloc and reallocarray. */
static inline void *realloc_common(void *old, size_t size, void *frame, void *ret)
{
	struct agent_inside *in;
	uint32_t gen = 0;
	struct agent_block b;
	int known = 0;
	void *p;

	if (!old) {
		p = agent_real.realloc(NULL, size);
		if (p)
			record(p, size, frame, ret);
		return p;
	}
	/* Forget first: once realloc returns, OLD may belong to another thread. */
	in = agent_enter(&agent_state.recording);
	if (in) {
		gen = __atomic_load_n(&agent_state.generation, __ATOMIC_RELAXED);
		known = agent_blocks_remove((uintptr_t)old, &b);
		agent_leave(in);
	}
	p = agent_real.realloc(old, size);
	/* The tables again, unless they were given back (or given back and
	 * made anew by another attach) during the call: then B is stale. */
	in = known ? agent_enter(&agent_state.recording) : NULL;
	if (in && __atomic_load_n(&agent_state.generation, __ATOMIC_RELAXED) != gen) {
		agent_leave(in);
		in = NULL;
	}
	if (!p && size != 0) {
		/* Failed: OLD is still allocated, put it back as it was. */
		if (in && agent_blocks_insert((uintptr_t)old, agent_block_size(&b),
					      agent_block_ctx(&b), b.seq) < 0)
			agent_fail("block table out of memory");
		if (in)
			agent_leave(in);
		return NULL;
	}
	if (in) {
		struct agent_ctx *c = agent_ctx_by_id(agent_block_ctx(&b));

		if (c)
			agent_ctx_free(c, agent_block_size(&b), agent_ctx_slot_of_thread());
		agent_leave(in);
	}
	if (p)
		record(p, size, frame, ret);
	return p;
}

void *agent_realloc(void *old, size_t size)
{
	void *p;

	if (unlikely(!ready())) {
		errno = ENOMEM;
		return NULL;
	}
	if (!should_record())
		return agent_real.realloc(old, size);
	agent_guard = 1;
	p = realloc_common(old, size, HERE);
	agent_guard = 0;
	return p;
}

void *agent_reallocarray(void *old, size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	if (unlikely(!ready())) {
		errno = ENOMEM;
		return NULL;
	}
	if (!should_record())
		return agent_real.realloc(old, n * size);
	agent_guard = 1;
	p = realloc_common(old, n * size, HERE);
	agent_guard = 0;
	return p;
}

int agent_posix_memalign(void **out, size_t align, size_t size)
{
	int err;

	if (unlikely(!ready()))
		return ENOMEM;
	if (!agent_real.posix_memalign) {
		/* A libc without it: same checks, then memalign. */
		void *p;

		if (align < sizeof(void *) || (align & (align - 1)))
			return EINVAL;
		p = agent_memalign(align, size);
		if (!p)
			return ENOMEM;
		*out = p;
		return 0;
	}
	if (!should_record())
		return agent_real.posix_memalign(out, align, size);
	agent_guard = 1;
	err = agent_real.posix_memalign(out, align, size);
	if (!err)
		record(*out, size, HERE);
	agent_guard = 0;
	return err;
}

/* One body for the functions that take (alignment, size) or (size). */
#define ALIGNED_HOOK(name, params, args, size_expr)                                   \
	void *agent_##name params                                                     \
	{                                                                             \
		void *p;                                                              \
                                                                                      \
		if (unlikely(!ready() || !agent_real.name)) {                         \
			errno = ENOMEM;                                               \
			return NULL;                                                  \
		}                                                                     \
		if (!should_record())                                                 \
			return agent_real.name args;                                  \
		agent_guard = 1;                                                      \
		p = agent_real.name args;                                             \
		if (p)                                                                \
			record(p, size_expr, HERE);                                   \
		agent_guard = 0;                                                      \
		return p;                                                             \
	}

ALIGNED_HOOK(aligned_alloc, (size_t align, size_t size), (align, size), size)
ALIGNED_HOOK(memalign, (size_t align, size_t size), (align, size), size)
ALIGNED_HOOK(valloc, (size_t size), (size), size)
ALIGNED_HOOK(pvalloc, (size_t size), (size), size)

/*
 * The names the program calls: aliases of the hooks, exported. They matter
 * in start mode, where the dynamic linker binds every module to them.
 */
#define EXPORT_ALIAS(name, ret, params) \
	AGENT_EXPORT ret name params __attribute__((alias("agent_" #name)))

EXPORT_ALIAS(malloc, void *, (size_t));
EXPORT_ALIAS(free, void, (void *));
EXPORT_ALIAS(calloc, void *, (size_t, size_t));
EXPORT_ALIAS(realloc, void *, (void *, size_t));
EXPORT_ALIAS(reallocarray, void *, (void *, size_t, size_t));
EXPORT_ALIAS(posix_memalign, int, (void **, size_t, size_t));
EXPORT_ALIAS(aligned_alloc, void *, (size_t, size_t));
EXPORT_ALIAS(memalign, void *, (size_t, size_t));
EXPORT_ALIAS(valloc, void *, (size_t));
EXPORT_ALIAS(pvalloc, void *, (size_t));

const struct agent_hook agent_hooks[] = {
	{ "malloc", (void *)agent_malloc },
	{ "free", (void *)agent_free },
	{ "calloc", (void *)agent_calloc },
	{ "realloc", (void *)agent_realloc },
	{ "reallocarray", (void *)agent_reallocarray },
	{ "posix_memalign", (void *)agent_posix_memalign },
	{ "aligned_alloc", (void *)agent_aligned_alloc },
	{ "memalign", (void *)agent_memalign },
	{ "valloc", (void *)agent_valloc },
	{ "pvalloc", (void *)agent_pvalloc },
	{ NULL, NULL },
};

/*
 * The bookkeeping above, for the C++ operators (hooks_cxx.c), which call
 * the real operator themselves.
 */
int agent_hook_recording(void)
{
	return ready() && should_record();
}

int agent_hook_forgetting(void)
{
	return ready() && __atomic_load_n(&agent_state.recording, __ATOMIC_RELAXED) &&
	       (!agent_guard || agent_guard == AGENT_GUARD_OPERATOR);
}

void agent_hook_record(void *p, size_t size, void *frame, void *ret)
{
	record(p, size, frame, ret);
}

void agent_hook_forget(void *p)
{
	forget(p);
}
