/*
 * The hook functions of the malloc family, by name: what GOT patching
 * points slots at. In start mode the same functions are reached through
 * their exported names (malloc, free, ...), which are aliases of these.
 * Also the bookkeeping the C++ operators' hooks (hooks_cxx.c) call.
 */
#ifndef AGENT_HOOKS_H
#define AGENT_HOOKS_H

struct agent_hook {
	const char *name;
	void *fn;
};

#include <stddef.h>

void *agent_malloc(size_t size);
void agent_free(void *p);
void *agent_calloc(size_t n, size_t size);
void *agent_realloc(void *old, size_t size);
void *agent_reallocarray(void *old, size_t n, size_t size);
int agent_posix_memalign(void **out, size_t align, size_t size);
void *agent_aligned_alloc(size_t align, size_t size);
void *agent_memalign(size_t align, size_t size);
void *agent_valloc(size_t size);
void *agent_pvalloc(size_t size);

/* Terminated by a NULL name. */
extern const struct agent_hook agent_hooks[];

/*
 * The bookkeeping the C++ operators (hooks_cxx.c) share with the malloc hooks.
 * agent_hook_recording: this call is to be recorded (the agent records and
 * the thread is not inside the agent or a real operator).
 * agent_hook_forgetting: a block freed now is to be forgotten (as above,
 * but also inside a real operator new: its new_handler giving memory back).
 * agent_hook_record / agent_hook_forget: record block P of SIZE bytes for
 * the caller of the hook whose frame and return address are FRAME and RET,
 * or forget P if it is known. Both are called with agent_guard set.
 */
int agent_hook_recording(void);
int agent_hook_forgetting(void);
void agent_hook_record(void *p, size_t size, void *frame, void *ret);
void agent_hook_forget(void *p);

#endif
