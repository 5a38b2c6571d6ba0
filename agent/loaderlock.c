/*
 * Who holds the loader's list lock (loaderlock.h says why it matters).
 *
 * glibc's dl_load_write_lock is a recursive pthread mutex inside the
 * loader's _rtld_global (exported by ld.so for libc, private ABI), and a
 * held pthread mutex keeps its owner's kernel TID in its third int, after
 * the lock word and the recursion count, on every architecture glibc has.
 * Where the lock sits inside _rtld_global changes from release to release,
 * so it is not assumed: while dl_iterate_phdr runs our callback, the words
 * of _rtld_global that read (lock != 0, count 1, owner == our TID) are the
 * candidates; those that still read our TID once the call has returned are
 * something else. Exactly one must remain, else nothing is used.
 */
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dynelf.h"
#include "loaderlock.h"

#define MAX_CANDIDATES 4

static int *owner;		/* the owner field, or NULL: not found (yet) */
static __thread int my_tid;	/* this thread's TID, 0 until first asked */

static int tid(void)
{
	if (__builtin_expect(!my_tid, 0))
		my_tid = (int)syscall(SYS_gettid);
	return my_tid;
}

struct probe {
	int *lo;
	size_t n;			/* ints in _rtld_global */
	int *found[MAX_CANDIDATES];
	int nfound;
	int overflow;
};

static int probe_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct probe *p = arg;
	int me = tid();

	(void)info;
	(void)size;
	/* The link map is walked here, with the list lock held, and only the
	 * loader's own entry (its load bias is AT_BASE) is read further: a
	 * module another thread is loading or unloading may be half there. */
	for (struct link_map *lm = agent_link_map(); lm && !p->lo; lm = lm->l_next) {
		size_t bytes = 0;

		if (lm->l_addr != getauxval(AT_BASE))
			continue;
		p->lo = agent_dynobj(lm, "_rtld_global", &bytes);
		p->n = bytes / sizeof(int);
	}
	if (!p->lo)
		return 1;
	for (size_t i = 2; i < p->n; i++) {
		int *w = &p->lo[i];

		if (__atomic_load_n(w, __ATOMIC_RELAXED) != me || w[-1] != 1 || w[-2] == 0)
			continue;
		if (p->nfound == MAX_CANDIDATES) {
			p->overflow = 1;
			break;
		}
		p->found[p->nfound++] = w;
	}
	return 1;	/* the first module is enough: the lock is held now */
}

void agent_loader_lock_find(agent_iterate_fn real)
{
	struct probe p = { 0 };
	int *keep = NULL;

	if (__atomic_load_n(&owner, __ATOMIC_ACQUIRE) || !real)
		return;
	real(probe_cb, &p);
	if (!p.lo || p.overflow)
		return;
	for (int i = 0; i < p.nfound; i++) {
		if (__atomic_load_n(p.found[i], __ATOMIC_RELAXED) == tid())
			continue;	/* not released with the lock: not its owner */
		if (keep)
			return;		/* two words behave alike: neither is trusted */
		keep = p.found[i];
	}
	__atomic_store_n(&owner, keep, __ATOMIC_RELEASE);
}

int agent_loader_lock_mine(void)
{
	int *o = __atomic_load_n(&owner, __ATOMIC_ACQUIRE);

	return o && __atomic_load_n(o, __ATOMIC_RELAXED) == tid();
}

void agent_loader_lock_forked(void)
{
	my_tid = 0;
}
