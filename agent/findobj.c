/*
 * The module holding an address, without a lock (findobj.h): glibc's
 * _dl_find_object, or under musl a list of modules that only grows.
 */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include "dynelf.h"
#include "findobj.h"
#include "real.h"

#ifdef __GLIBC__

/* Looked up in the link map by real.c (no symbol version required of the
 * agent: it still loads into an older glibc, where this answers nothing). */
static int (*find_object)(void *pc, struct dl_find_object *d);

int agent_findobj_init(void)
{
	if (__atomic_load_n(&find_object, __ATOMIC_ACQUIRE))
		return 0;
	/* Resolved with the real allocator, under the loader's lock (real.c):
	 * walking the link map here, another thread's dlopen could change it
	 * under the walk (the attach of t-attach-safepoint-loader crashed so). */
	if (agent_real.dl_find_object)
		__atomic_store_n(&find_object, (int (*)(void *, struct dl_find_object *))agent_real.dl_find_object,
				 __ATOMIC_RELEASE);
	/* Not in an agent (a unit test links this file): nothing resolved it, look now. */
	else if (!__atomic_load_n(&agent_real.malloc, __ATOMIC_ACQUIRE))
		__atomic_store_n(&find_object, (int (*)(void *, struct dl_find_object *))
				 agent_real_lookup("_dl_find_object"), __ATOMIC_RELEASE);
	return find_object ? 0 : -1;
}

int agent_findobj_ready(void)
{
	return __atomic_load_n(&find_object, __ATOMIC_ACQUIRE) != NULL;
}

int agent_findobj(uintptr_t pc, struct agent_fobj *o)
{
	int (*f)(void *, struct dl_find_object *) = __atomic_load_n(&find_object, __ATOMIC_ACQUIRE);
	struct dl_find_object d;

	if (!f || f((void *)pc, &d) != 0)
		return -1;
	*o = (struct agent_fobj){
		.lo = (uintptr_t)d.dlfo_map_start,
		.hi = (uintptr_t)d.dlfo_map_end,
		.eh_frame = d.dlfo_eh_frame,
		.lm = d.dlfo_link_map,
	};
	return 0;
}

void agent_findobj_loaded(void)
{
}

const char *agent_findobj_why_not(void)
{
	if (!find_object && !agent_real.dl_find_object && agent_real.malloc)
		return "it needs glibc 2.35's _dl_find_object";
	return NULL;
}

#else /* musl */

/*
 * Slots are filled in order and published by the count (release); a slot
 * once published never changes, which is what lets a hook read the list
 * while another thread extends it. Extending is serialised by a try-lock:
 * a dlopen that finds it taken leaves its modules to the next one (their
 * stacks go to libunwind meanwhile), so no thread ever waits here.
 */
#define MAX_OBJS 1024
static struct agent_fobj objs[MAX_OBJS];
static int nobjs;
static int listed;			/* the first list was taken */
static int extending;

static const struct link_map *entry_of(uintptr_t bias)
{
	for (const struct link_map *lm = agent_link_map(); lm; lm = lm->l_next)
		if (lm->l_addr == bias)
			return lm;
	return NULL;
}

static int add_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct agent_fobj o = { .lo = UINTPTR_MAX };
	int n = __atomic_load_n(&nobjs, __ATOMIC_RELAXED);

	(void)size;
	(void)arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + p->p_vaddr;

		if (p->p_type == PT_LOAD) {
			/* The loader maps whole pages: from the first one's start. */
			if ((a & ~(uintptr_t)(p->p_align - 1)) < o.lo)
				o.lo = a & ~(uintptr_t)(p->p_align - 1);
			if (a + p->p_memsz > o.hi)
				o.hi = a + p->p_memsz;
		} else if (p->p_type == PT_GNU_EH_FRAME) {
			o.eh_frame = (const void *)a;
		}
	}
	if (o.lo >= o.hi)
		return 0;
	for (int i = 0; i < n; i++)
		if (objs[i].lo == o.lo && objs[i].hi == o.hi)
			return 0;	/* known: musl never maps another at its place */
	if (n == MAX_OBJS)
		return 1;
	o.lm = entry_of(info->dlpi_addr);
	objs[n] = o;
	__atomic_store_n(&nobjs, n + 1, __ATOMIC_RELEASE);
	return 0;
}

static void extend(void)
{
	if (__atomic_exchange_n(&extending, 1, __ATOMIC_ACQUIRE))
		return;
	dl_iterate_phdr(add_one, NULL);
	__atomic_store_n(&extending, 0, __ATOMIC_RELEASE);
}

int agent_findobj_init(void)
{
	if (!__atomic_load_n(&listed, __ATOMIC_ACQUIRE)) {
		extend();
		__atomic_store_n(&listed, 1, __ATOMIC_RELEASE);
	}
	return 0;
}

int agent_findobj_ready(void)
{
	return __atomic_load_n(&listed, __ATOMIC_ACQUIRE);
}

int agent_findobj(uintptr_t pc, struct agent_fobj *o)
{
	int n = __atomic_load_n(&nobjs, __ATOMIC_ACQUIRE);

	for (int i = 0; i < n; i++)
		if (pc >= objs[i].lo && pc < objs[i].hi) {
			*o = objs[i];
			return 0;
		}
	return -1;
}

void agent_findobj_loaded(void)
{
	if (__atomic_load_n(&listed, __ATOMIC_ACQUIRE))
		extend();
}

const char *agent_findobj_why_not(void)
{
	return NULL;
}

/*
 * libgcc's unwinder, which musl-gcc links into the agent (libgcc_eh.a of
 * Debian's gcc, built against glibc 2.36), finds a frame's FDE with glibc's
 * _dl_find_object; musl has none, and the agent would not load. The agent
 * answers for its own copy of that unwinder (hidden: the program's is not
 * affected) from the same list, in glibc's layout. It runs when an
 * exception leaves a C++ operator's hook (hooks_cxx.c: _Unwind_Resume), in
 * the program's thread, never inside an allocation hook: the list may be
 * taken then.
 */
#if defined(__arm__) || defined(__i386__) || defined(__nios2__)
#error "glibc's struct dl_find_object has more fields here (eh_count or eh_dbase): add them"
#endif
struct glibc_dl_find_object {
	unsigned long long flags;
	void *map_start, *map_end;
	const struct link_map *link_map;
	const void *eh_frame;
	unsigned long long reserved[7];
};

int _dl_find_object(void *pc, struct glibc_dl_find_object *r) __attribute__((visibility("hidden")));
int _dl_find_object(void *pc, struct glibc_dl_find_object *r)
{
	struct agent_fobj o;

	agent_findobj_init();
	if (agent_findobj((uintptr_t)pc, &o) != 0 || !o.eh_frame)
		return -1;
	*r = (struct glibc_dl_find_object){
		.map_start = (void *)o.lo,
		.map_end = (void *)o.hi,
		.link_map = o.lm,
		.eh_frame = o.eh_frame,
	};
	return 0;
}

#endif
