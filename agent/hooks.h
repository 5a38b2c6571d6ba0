/*
 * The hook functions of the malloc family, by name: what GOT patching
 * points slots at. In start mode the same functions are reached through
 * their exported names (malloc, free, ...), which are aliases of these.
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

#endif
