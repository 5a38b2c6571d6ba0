/*
 * Whether this thread holds the loader's list lock: glibc's
 * dl_load_write_lock, which dl_iterate_phdr holds around its callbacks.
 *
 * libunwind takes its cache lock and then, on a miss, dl_iterate_phdr's;
 * a callback that allocates takes them the other way round. Two threads
 * doing one each deadlock, so a walk made while this thread holds the list
 * lock must not enter libunwind (table_walk_libunwind.h). The hooked
 * dl_iterate_phdr marks its callers (agent_in_phdr), but a thread can be
 * inside the real one without passing the hook: stopped by the attach
 * between the jump through its GOT slot and the lock, or calling through
 * an address it kept from before. The lock's own owner field says it for
 * every way in.
 */
#ifndef AGENT_LOADERLOCK_H
#define AGENT_LOADERLOCK_H

#include <link.h>

typedef int (*agent_iterate_fn)(int (*)(struct dl_phdr_info *, size_t, void *), void *);

/*
 * Find the lock's owner field, once: through REAL (the real
 * dl_iterate_phdr), look for this thread's TID in the loader's
 * _rtld_global where a held recursive mutex keeps it, and keep the one
 * word that says it inside the call and not after. Takes the list lock and
 * reads the loader's link map under it: never from a hook or a callback. Does
 * nothing where the field is not found (another C library, another
 * layout): the hook's mark is then all there is.
 */
void agent_loader_lock_find(agent_iterate_fn real);

/* 1 if this thread holds the list lock (as far as can be known): a few loads. */
int agent_loader_lock_mine(void);

/* In a forked child: the calling thread's TID changed. */
void agent_loader_lock_forked(void);

#endif
