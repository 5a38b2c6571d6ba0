/*
 * GOT patching, for a process the agent was loaded into after it started
 * (attach). The GOT slots through which modules call the malloc family (and
 * dlopen/dlclose, to catch modules loaded later) are pointed at the agent's
 * hooks, and put back on detach. In start mode the dynamic linker binds
 * calls to the agent's exported functions and nothing here is used.
 */
#ifndef AGENT_GOT_H
#define AGENT_GOT_H

#include <stddef.h>
#include "loaderlock.h"

/*
 * Patch every loaded module but the agent, the dynamic loader and the vDSO:
 * every JUMP_SLOT and GLOB_DAT relocation of a hooked name, RELRO pages made
 * writable for the write and read-only again. Modules already patched are
 * skipped. Returns the number of slots patched now, or -1 (out of memory;
 * what was patched stays patched and is restored by agent_got_restore).
 */
int agent_got_patch(void);

/* Put back every slot the agent changed that still holds the agent's hook. */
void agent_got_restore(void);

/* Hooks for dlopen and dlclose (patched into GOTs, never exported). */
void *agent_dlopen(const char *file, int mode);
int agent_dlclose(void *handle);

/*
 * Hook for dl_iterate_phdr (patched into GOTs, and exported: in start mode
 * every module calls it). It keeps agent_in_phdr (unwinder.h).
 */
struct dl_phdr_info;
int agent_dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data);

/*
 * Wait until no thread is inside a dl_iterate_phdr it entered before the
 * slots were hooked (when agent_in_phdr could not be set for it). Not from
 * inside a dl_iterate_phdr callback.
 */
void agent_loader_barrier(void);

/* The real dl_iterate_phdr, once the GOTs were patched (else NULL). */
agent_iterate_fn agent_got_real_iterate(void);

#endif
