/*
 * Finding the real allocator by walking the link map ourselves: dlsym()
 * would allocate (its error state) and recurse into the hooks before they
 * have anything to call.
 */
#include "dynelf.h"
#include "real.h"

struct agent_real agent_real;

void *agent_real_lookup(const char *name)
{
	uintptr_t self = agent_self_base();
	const struct link_map *lm;
	int after_self = 0;
	void *p;

	/* Modules after the agent in search order, like RTLD_NEXT... */
	for (lm = agent_link_map(); lm; lm = lm->l_next) {
		if (lm->l_addr == self) {
			after_self = 1;
			continue;
		}
		if (after_self && (p = agent_dynsym(lm, name)))
			return p;
	}
	/* ...else the first other module defining it (dlopen'ed agent). */
	for (lm = agent_link_map(); lm; lm = lm->l_next)
		if (lm->l_addr != self && (p = agent_dynsym(lm, name)))
			return p;
	return NULL;
}

int agent_real_resolve(void)
{
	struct agent_real r;

	/* Once is enough, and later the list may be changing under a walk
	 * that holds no loader lock (another thread in dlopen or dlclose). */
	if (__atomic_load_n(&agent_real.malloc, __ATOMIC_ACQUIRE))
		return 0;
	r.malloc = (void *(*)(size_t))agent_real_lookup("malloc");
	r.free = (void (*)(void *))agent_real_lookup("free");
	r.calloc = (void *(*)(size_t, size_t))agent_real_lookup("calloc");
	r.realloc = (void *(*)(void *, size_t))agent_real_lookup("realloc");
	r.posix_memalign = (int (*)(void **, size_t, size_t))agent_real_lookup("posix_memalign");
	r.aligned_alloc = (void *(*)(size_t, size_t))agent_real_lookup("aligned_alloc");
	r.memalign = (void *(*)(size_t, size_t))agent_real_lookup("memalign");
	r.valloc = (void *(*)(size_t))agent_real_lookup("valloc");
	r.pvalloc = (void *(*)(size_t))agent_real_lookup("pvalloc");
	r.on_exit = (int (*)(void (*)(int, void *), void *))agent_real_lookup("on_exit");
	r.dl_find_object = (int (*)(void *, void *))agent_real_lookup("_dl_find_object");
	if (!r.malloc || !r.free || !r.calloc || !r.realloc || !r.memalign)
		return -1;
	/* The C++ operators now too, while the link map is the one the
	 * program started with (attach: before a later module could define
	 * them after the agent); those not there yet are looked up lazily. */
	for (int op = 0; op < AGENT_CXX_NOPS; op++)
		if (!__atomic_load_n(&agent_real.cxx[op], __ATOMIC_RELAXED))
			agent_real_cxx((enum agent_cxx_op)op);
	/* Publish malloc last: hooks test it to know the table is complete. */
	agent_real.free = r.free;
	agent_real.calloc = r.calloc;
	agent_real.realloc = r.realloc;
	agent_real.posix_memalign = r.posix_memalign;
	agent_real.aligned_alloc = r.aligned_alloc;
	agent_real.memalign = r.memalign;
	agent_real.valloc = r.valloc;
	agent_real.pvalloc = r.pvalloc;
	agent_real.on_exit = r.on_exit;
	agent_real.dl_find_object = r.dl_find_object;
	__atomic_store_n(&agent_real.malloc, r.malloc, __ATOMIC_RELEASE);
	return 0;
}

/* The operators' mangled names on this architecture, by enum agent_cxx_op. */
#define NAME(op, hook, sym) [AGENT_CXX_##op] = sym,
static const char *const cxx_names[AGENT_CXX_NOPS] = { AGENT_CXX_OPS(NAME) };

void *agent_real_cxx(enum agent_cxx_op op)
{
	void *f = agent_real_lookup(cxx_names[op]);

	if (f)
		__atomic_store_n(&agent_real.cxx[op], f, __ATOMIC_RELEASE);
	return f;
}
