/*
 * "Hold at the next allocation of context ID": memtrace arms a hold, the
 * next thread that records a block in that context stops inside the hook
 * (after the block is recorded and with no agent lock held), the control
 * thread tells memtrace, and the thread waits until memtrace says release
 * (docs/architecture.md, "The hold").
 *
 * The hooks' side is one relaxed load when no hold is armed: ids start at 1
 * and agent_hold_ctx is 0 then. Everything else runs in the control thread,
 * which alone changes the state (agent_hold_forget excepted).
 */
#ifndef AGENT_HOLD_H
#define AGENT_HOLD_H

#include <stddef.h>
#include <stdint.h>

/* Longest a thread stays held when memtrace never says release (10 min). */
#define AGENT_HOLD_MAX_MS (10 * 60 * 1000)

/* The armed context, 0 when none. */
extern uint32_t agent_hold_ctx;

/* Slow path of agent_hold_check: take the hold (one thread wins) and wait. */
void agent_hold_take(uint32_t ctx, uintptr_t addr, uint64_t size);

/*
 * In a hook, after block ADDR of SIZE bytes was recorded in context CTX and
 * every agent lock released. Returns once the thread is let go (at once when
 * no hold is armed for CTX).
 */
static inline void agent_hold_check(uint32_t ctx, void *addr, size_t size)
{
	if (__builtin_expect(__atomic_load_n(&agent_hold_ctx, __ATOMIC_RELAXED) == ctx, 0))
		agent_hold_take(ctx, (uintptr_t)addr, size);
}

enum agent_hold_state {
	AGENT_HOLD_NONE,
	AGENT_HOLD_ARMED,	/* waiting for an allocation in ctx */
	AGENT_HOLD_HELD,	/* thread tid waits for release */
	AGENT_HOLD_DRAIN,	/* cancelled while a thread was taking it: its notice is due */
};

struct agent_hold_info {
	enum agent_hold_state state;
	uint32_t ctx;
	int tid;
	uint64_t addr, size;
};

/* ---- control thread only ---- */

/* Create the two eventfds. 0, or -1 with errno. */
int agent_hold_init(void);

/* Readable when a thread took the hold: then call agent_hold_collect(). -1 before init. */
int agent_hold_notify_fd(void);

/*
 * Arm a hold on context CTX (nonzero, existing: the caller checks). 0, or -1
 * when a hold is armed, held or finishing (INFO then says which).
 */
int agent_hold_arm(uint32_t ctx, struct agent_hold_info *info);

/*
 * The notify fd was readable. Returns 1 when a thread is now held (INFO
 * filled in: send the event), 0 when there is nothing to tell.
 */
int agent_hold_collect(struct agent_hold_info *info);

/*
 * Cancel an armed hold and let a held thread go, whatever the state; the
 * previous state goes to INFO (may be NULL). Never blocks.
 */
void agent_hold_cancel(struct agent_hold_info *info);

/* The current state. */
void agent_hold_get(struct agent_hold_info *info);

/* ---- any thread ---- */

/*
 * The agent stops serving (internal failure, fork child): disarm and let a
 * held thread go. Async-signal-safe, takes no lock.
 */
void agent_hold_forget(void);

#endif
