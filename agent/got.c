/*
 * GOT patching. Slots are found from each module's dynamic section
 * (DT_JMPREL, DT_RELA, DT_REL), the same way the dynamic linker resolves
 * them, so every slot of a name is patched (aarch64 can have two for one
 * function). Each change is remembered with the slot's original value and
 * whether it lies in the module's RELRO range, which must be made writable
 * with the real page size for the write and read-only again afterwards.
 *
 * The loader and the vDSO are left alone (ld.so's own malloc is a private
 * minimal allocator), and so is the agent: its own calls must reach libc.
 *
 * The mechanism only: when to patch and when to put back, and the recording
 * flag that goes on and off with it, are lifecycle.c's (its head comment
 * says why the two live together there). `hooked` below is this file's own
 * record of whether slots are patched, for the dlopen hook.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent.h"
#include "arena.h"
#include "dynelf.h"
#include "findobj.h"
#include "exit.h"
#include "got.h"
#include "hooks.h"
#include "hooks_cxx.h"
#include "loaderlock.h"
#include "quiesce.h"
#include "real.h"
#include "reloc.h"
#include "stackmap.h"
#include "state.h"
#include "unwinder.h"

struct slot {
	uintptr_t *addr;
	uintptr_t orig;
	uintptr_t hook;
	uintptr_t module;	/* load bias, with dyn: which module it belongs to */
	const void *dyn;
	uintptr_t relro_lo, relro_hi;	/* page-rounded RELRO range, or 0 */
};

struct module_id {
	uintptr_t bias;
	const void *dyn;
};

#define MAX_MODULES 4096

static pthread_mutex_t got_lock = PTHREAD_MUTEX_INITIALIZER;
/*
 * Held by dlclose through the hooks (once per thread: a destructor may
 * dlclose again) and by agent_got_restore: slots are never written in a
 * module that is being unmapped. Not the loader's own lock, which
 * dl_iterate_phdr takes: a thread calling that in a loop would starve a
 * detach of it.
 */
static pthread_mutex_t unload_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int unloading;
static struct slot *slots;
static size_t nslots, slots_cap;
static struct module_id patched[MAX_MODULES];
static int npatched;

static void *(*real_dlopen)(const char *, int);
static int (*real_dlclose)(void *);
static int (*real_dl_iterate_phdr)(int (*)(struct dl_phdr_info *, size_t, void *), void *);
static int hooked;	/* the slots are patched (agent_got_patch), not put back since */
static int barrier_pending;	/* agent_loader_barrier is taking the loader's list lock */


static uintptr_t page_size(void)
{
	return agent_page_size();
}

/* Write VALUE into ADDR, making a RELRO page writable around the write. */
static int slot_write(uintptr_t *addr, uintptr_t value, uintptr_t relro_lo, uintptr_t relro_hi)
{
	uintptr_t a = (uintptr_t)addr;
	uintptr_t page = a & ~(page_size() - 1);
	int ro = relro_hi && a >= relro_lo && a < relro_hi;

	if (ro && mprotect((void *)page, page_size(), PROT_READ | PROT_WRITE) < 0)
		return -1;
	__atomic_store_n(addr, value, __ATOMIC_RELEASE);
	if (ro)
		mprotect((void *)page, page_size(), PROT_READ);
	return 0;
}

static int remember(const struct slot *s)
{
	if (nslots == slots_cap) {
		size_t cap = slots_cap ? slots_cap * 2 : 256;
		struct slot *n = slots ? agent_remap(slots, slots_cap * sizeof(*slots), cap * sizeof(*slots),
						     AGENT_MEM_OTHER)
				       : agent_map(cap * sizeof(*slots), AGENT_MEM_OTHER);

		if (!n)
			return -1;
		slots = n;
		slots_cap = cap;
	}
	slots[nslots++] = *s;
	return 0;
}

static uintptr_t hook_for(const char *name)
{
	if (!strcmp(name, "dlopen"))
		return (uintptr_t)agent_dlopen;
	if (!strcmp(name, "dlclose"))
		return (uintptr_t)agent_dlclose;
	if (!strcmp(name, "dl_iterate_phdr"))
		return (uintptr_t)agent_dl_iterate_phdr;
	/* Not an allocator: a program leaving through _exit runs no
	 * destructor, this is where its exit report leaves. */
	if (!strcmp(name, "_exit") || !strcmp(name, "_Exit"))
		return (uintptr_t)agent__exit;
#ifndef __GLIBC__
	if (!strcmp(name, "exit"))
		return (uintptr_t)agent_exit;
#endif
	for (const struct agent_hook *h = agent_hooks; h->name; h++)
		if (!strcmp(name, h->name))
			return (uintptr_t)h->fn;
	/* _Zn, _Zd: operator new or delete (libstdc++ has thousands of other _Z slots) */
	if (name[0] == '_' && name[1] == 'Z' && (name[2] == 'n' || name[2] == 'd'))
		for (const struct agent_hook *h = agent_cxx_hooks; h->name; h++)
			if (!strcmp(name, h->name))
				return agent_cxx_replaced(name) ? 0 : (uintptr_t)h->fn;
	return 0;
}

/*
 * Slots are patched in three rounds over all modules: free and the C++
 * operators delete first, then realloc and reallocarray, then the
 * functions that only allocate (operator new among them). A block
 * from a hooked allocator may then always be freed through a hooked free
 * (slots change one at a time under running threads, and a block the agent
 * recorded but never saw freed would stay counted as a leak); a free of a
 * block made before its allocator was hooked is simply not known.
 */
enum { ROUND_FREE, ROUND_REALLOC, ROUND_ALLOC, ROUNDS };

static int round_of(const char *name)
{
	if (!strcmp(name, "free") || !strcmp(name, "dlclose") || agent_cxx_frees(name))
		return ROUND_FREE;
	if (!strcmp(name, "realloc") || !strcmp(name, "reallocarray"))
		return ROUND_REALLOC;
	return ROUND_ALLOC;
}

struct dyn_tables {
	const ElfW(Sym) *symtab;
	const char *strtab;
	uintptr_t jmprel, pltrelsz, rela, relasz, rel, relsz;
	long pltrel;
	/* MIPS's global GOT: dynsym [gotsym, symtabno) <-> got[local_gotno...] */
	uintptr_t pltgot, local_gotno, gotsym, symtabno;
};

static void read_dynamic(uintptr_t bias, const ElfW(Dyn) *d, struct dyn_tables *t)
{
	memset(t, 0, sizeof(*t));
	for (; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: t->symtab = (const ElfW(Sym) *)agent_dyn_ptr(bias, d->d_un.d_ptr); break;
		case DT_STRTAB: t->strtab = (const char *)agent_dyn_ptr(bias, d->d_un.d_ptr); break;
		case DT_JMPREL: t->jmprel = agent_dyn_ptr(bias, d->d_un.d_ptr); break;
		case DT_PLTRELSZ: t->pltrelsz = d->d_un.d_val; break;
		case DT_PLTREL: t->pltrel = (long)d->d_un.d_val; break;
		case DT_RELA: t->rela = agent_dyn_ptr(bias, d->d_un.d_ptr); break;
		case DT_RELASZ: t->relasz = d->d_un.d_val; break;
		case DT_REL: t->rel = agent_dyn_ptr(bias, d->d_un.d_ptr); break;
		case DT_RELSZ: t->relsz = d->d_un.d_val; break;
#ifdef __mips__
		case DT_PLTGOT: t->pltgot = agent_dyn_ptr(bias, d->d_un.d_ptr); break;
		case DT_MIPS_LOCAL_GOTNO: t->local_gotno = d->d_un.d_val; break;
		case DT_MIPS_GOTSYM: t->gotsym = d->d_un.d_val; break;
		case DT_MIPS_SYMTABNO: t->symtabno = d->d_un.d_val; break;
#endif
		default: break;
		}
	}
}

struct patch_ctx {
	uintptr_t bias;
	const void *dyn;
	const struct dyn_tables *t;
	uintptr_t relro_lo, relro_hi;
	int round;
	int count;
	int failed;
};

/* The slot at ADDR, which holds the address of SYM, to its hook if it has one in this round. */
static void patch_slot(struct patch_ctx *pc, const ElfW(Sym) *sym, uintptr_t *addr)
{
	struct slot s;
	uintptr_t hook;

	if (!sym->st_name || round_of(pc->t->strtab + sym->st_name) != pc->round)
		return;
	hook = hook_for(pc->t->strtab + sym->st_name);
	if (!hook)
		return;
	s.addr = addr;
	s.orig = __atomic_load_n(s.addr, __ATOMIC_ACQUIRE);
	if (s.orig == hook)
		return;
	s.hook = hook;
	s.module = pc->bias;
	s.dyn = pc->dyn;
	s.relro_lo = pc->relro_lo;
	s.relro_hi = pc->relro_hi;
	if (remember(&s) < 0 || slot_write(s.addr, hook, s.relro_lo, s.relro_hi) < 0) {
		if (nslots && slots[nslots - 1].addr == s.addr)
			nslots--;
		pc->failed = 1;
		return;
	}
	pc->count++;
}

static void patch_one(struct patch_ctx *pc, uintptr_t offset, uintptr_t info)
{
	unsigned long type = AGENT_R_TYPE(info);

	if (type != AGENT_R_JUMP_SLOT && type != AGENT_R_GLOB_DAT)
		return;
	patch_slot(pc, &pc->t->symtab[AGENT_R_SYM(info)], (uintptr_t *)(pc->bias + offset));
}

/*
 * MIPS's global GOT: no relocation names its entries (Debian's MIPS
 * binaries have no JUMP_SLOT outside non-PIC executables and no GLOB_DAT
 * at all); the loader fills entry local_gotno + i for dynamic symbol
 * gotsym + i, and every call in PIC code, within the module too, loads its
 * target from there. Lazy binding leaves a stub's address in an entry
 * until the first call: a hook written before then simply wins, and
 * putting the stub back resolves again. (Objects with several GOTs fill
 * the others with R_MIPS_REL32 against a symbol: none is patched here.)
 */
static void patch_global_got(struct patch_ctx *pc)
{
	const struct dyn_tables *t = pc->t;

	if (!t->pltgot || t->gotsym >= t->symtabno)
		return;
	for (uintptr_t i = t->gotsym; i < t->symtabno; i++)
		patch_slot(pc, &t->symtab[i], (uintptr_t *)t->pltgot + t->local_gotno + (i - t->gotsym));
}

static void patch_table(struct patch_ctx *pc, uintptr_t table, uintptr_t size, int rela)
{
	if (!table || !size)
		return;
	if (rela) {
		for (const ElfW(Rela) *r = (const ElfW(Rela) *)table; (uintptr_t)(r + 1) <= table + size; r++)
			patch_one(pc, r->r_offset, r->r_info);
	} else {
		for (const ElfW(Rel) *r = (const ElfW(Rel) *)table; (uintptr_t)(r + 1) <= table + size; r++)
			patch_one(pc, r->r_offset, r->r_info);
	}
}

static int is_patched(uintptr_t bias, const void *dyn)
{
	for (int i = 0; i < npatched; i++)
		if (patched[i].bias == bias && patched[i].dyn == dyn)
			return 1;
	return 0;
}

struct patch_run {
	int round;
	int total;	/* slots patched, or -1 when one could not be */
};

static int patch_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct patch_run *run = arg;
	struct patch_ctx pc = { .bias = info->dlpi_addr, .round = run->round };
	uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
	struct dyn_tables t;

	(void)size;
	if (info->dlpi_addr == agent_self_base())
		return 0;
#ifdef __GLIBC__
	/* glibc's loader allocates with its own minimal malloc until the
	 * program runs, and then through its slots under its lock. musl's
	 * loader is its C library, whose own calls of malloc (strdup,
	 * getline, fopen...) go through these slots and are the program's
	 * allocations; the loader's own call __libc_malloc directly. */
	if (info->dlpi_addr == getauxval(AT_BASE))
		return 0;
#endif
	/* The vDSO: its headers exactly (a module may be mapped right above it: musl's libc is). */
	if (vdso && (uintptr_t)info->dlpi_phdr == vdso + ((const ElfW(Ehdr) *)vdso)->e_phoff)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_DYNAMIC)
			pc.dyn = (const void *)(info->dlpi_addr + ph->p_vaddr);
		else if (ph->p_type == PT_GNU_RELRO) {
			pc.relro_lo = (info->dlpi_addr + ph->p_vaddr) & ~(page_size() - 1);
			pc.relro_hi = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + page_size() - 1) &
				      ~(page_size() - 1);
		}
	}
	if (!pc.dyn || is_patched(pc.bias, pc.dyn) || npatched == MAX_MODULES)
		return 0;
	read_dynamic(pc.bias, pc.dyn, &t);
	if (!t.symtab || !t.strtab)
		return 0;
	pc.t = &t;
	patch_table(&pc, t.jmprel, t.pltrelsz, t.pltrel != DT_REL);
	patch_table(&pc, t.rela, t.relasz, 1);
	patch_table(&pc, t.rel, t.relsz, 0);
	patch_global_got(&pc);
	/* Done with it after the last round. */
	if (run->round == ROUNDS - 1) {
		patched[npatched].bias = pc.bias;
		patched[npatched].dyn = pc.dyn;
		npatched++;
	}
	if (pc.failed)
		run->total = -1;
	else if (run->total >= 0)
		run->total += pc.count;
	return 0;
}

/* Every module's slots, in rounds. Under got_lock. */
static int patch_all(void)
{
	struct patch_run run = { 0, 0 };

	if (!real_dlopen) {
		real_dlopen = (void *(*)(const char *, int))agent_real_lookup("dlopen");
		real_dlclose = (int (*)(void *))agent_real_lookup("dlclose");
		real_dl_iterate_phdr = (int (*)(int (*)(struct dl_phdr_info *, size_t, void *),
						void *))agent_real_lookup("dl_iterate_phdr");
	}
	hooked = 1;
	for (run.round = 0; run.round < ROUNDS; run.round++)
		dl_iterate_phdr(patch_module, &run);
	return run.total;
}

int agent_got_patch(void)
{
	int ret;

	pthread_mutex_lock(&got_lock);
	ret = patch_all();
	pthread_mutex_unlock(&got_lock);
	return ret;
}

/*
 * After a dlopen through the hook: the new modules' slots, while the slots
 * are hooked at all. A detach that put them back meanwhile came first:
 * nothing then.
 */
static void patch_new(void)
{
	pthread_mutex_lock(&got_lock);
	if (hooked)
		patch_all();
	pthread_mutex_unlock(&got_lock);
}

/*
 * A page of ours still mapped? msync fails with ENOMEM on an unmapped
 * range, where a read would fault. Under a seccomp filter (FILTERED) msync
 * could be a call it kills the process for: /proc/self/maps says instead.
 */
static int page_mapped(const void *addr, int filtered)
{
	uintptr_t lo, hi;

	if (filtered)
		return agent_maps_find((uintptr_t)addr, &lo, &hi) == 0;
	return msync((void *)((uintptr_t)addr & ~(page_size() - 1)), page_size(), MS_ASYNC) == 0;
}

void agent_got_restore(void)
{
	int filtered = agent_seccomp_filtered();

	/* No dlclose through the hooks unmaps a module while its slots are put back. */
	pthread_mutex_lock(&unload_lock);
	pthread_mutex_lock(&got_lock);
	/* Backwards: the allocators go back first, free last. */
	for (size_t i = nslots; i-- > 0;) {
		const struct slot *s = &slots[i];

		/* Gone with a dlclose that did not pass through the hooks. */
		if (!page_mapped(s->addr, filtered))
			continue;
		if (__atomic_load_n(s->addr, __ATOMIC_ACQUIRE) == s->hook)
			slot_write(s->addr, s->orig, s->relro_lo, s->relro_hi);
	}
	/* The record of what was patched goes back to the system too. */
	agent_unmap(slots, slots_cap * sizeof(*slots), AGENT_MEM_OTHER);
	slots = NULL;
	slots_cap = 0;
	nslots = 0;
	npatched = 0;
	hooked = 0;
	pthread_mutex_unlock(&got_lock);
	pthread_mutex_unlock(&unload_lock);
}

static int collect_loaded(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct module_id *ids = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type != PT_DYNAMIC)
			continue;
		for (int k = 0; k < MAX_MODULES; k++) {
			if (!ids[k].dyn) {
				ids[k].bias = info->dlpi_addr;
				ids[k].dyn = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
				break;
			}
		}
	}
	return 0;
}

static int still_loaded(const struct module_id *ids, uintptr_t bias, const void *dyn)
{
	for (int k = 0; k < MAX_MODULES && ids[k].dyn; k++)
		if (ids[k].bias == bias && ids[k].dyn == dyn)
			return 1;
	return 0;
}

/* After a dlclose: forget the slots and modules that are gone (their memory is). */
static void forget_unloaded(void)
{
	size_t size = MAX_MODULES * sizeof(struct module_id);
	struct module_id *ids = agent_map(size, AGENT_MEM_OTHER);
	size_t k = 0;
	int m = 0;

	if (!ids)
		return;
	dl_iterate_phdr(collect_loaded, ids);
	pthread_mutex_lock(&got_lock);
	for (size_t i = 0; i < nslots; i++)
		if (still_loaded(ids, slots[i].module, slots[i].dyn))
			slots[k++] = slots[i];
	nslots = k;
	for (int i = 0; i < npatched; i++)
		if (still_loaded(ids, patched[i].bias, patched[i].dyn))
			patched[m++] = patched[i];
	npatched = m;
	pthread_mutex_unlock(&got_lock);
	agent_unmap(ids, size, AGENT_MEM_OTHER);
}

/*
 * dlopen resolves a bare name with the RUNPATH (or RPATH) of the module that
 * calls it, and $ORIGIN with that module's directory. Called from this hook,
 * the caller would be the agent; so the hook does that part itself, with the
 * module that called the hook.
 */
struct caller_paths {
	uintptr_t pc;
	char origin[PATH_MAX];
	const char *runpath;	/* DT_RUNPATH, else DT_RPATH, or NULL */
	int is_rpath;
	int found;
};

static int find_caller(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct caller_paths *cp = arg;
	const ElfW(Dyn) *dyn = NULL;
	const char *strtab = NULL;
	uintptr_t runpath = 0, rpath = 0;
	int inside = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && cp->pc >= info->dlpi_addr + ph->p_vaddr &&
		    cp->pc < info->dlpi_addr + ph->p_vaddr + ph->p_memsz)
			inside = 1;
		else if (ph->p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
	}
	if (!inside)
		return 0;
	cp->found = 1;
	if (info->dlpi_name && info->dlpi_name[0] && !agent_is_main(info->dlpi_phdr)) {
		snprintf(cp->origin, sizeof(cp->origin), "%s", info->dlpi_name);
	} else {
		ssize_t n = readlink("/proc/self/exe", cp->origin, sizeof(cp->origin) - 1);

		cp->origin[n > 0 ? n : 0] = '\0';
	}
	if (strrchr(cp->origin, '/'))
		*strrchr(cp->origin, '/') = '\0';
	for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_STRTAB)
			strtab = (const char *)agent_dyn_ptr(info->dlpi_addr, dyn->d_un.d_ptr);
		else if (dyn->d_tag == DT_RUNPATH)
			runpath = dyn->d_un.d_val;
		else if (dyn->d_tag == DT_RPATH)
			rpath = dyn->d_un.d_val;
	}
	if (strtab && (runpath || rpath)) {
		cp->runpath = strtab + (runpath ? runpath : rpath);
		cp->is_rpath = !runpath;
	}
	return 1;
}

/* Copy IN to OUT with $ORIGIN / ${ORIGIN} replaced. 0, or -1 if too long. */
static int expand_origin(const char *in, size_t len, const char *origin, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		size_t skip = !strncmp(in + i, "$ORIGIN", 7) ? 7 : !strncmp(in + i, "${ORIGIN}", 9) ? 9 : 0;
		const char *piece = skip ? origin : in + i;
		size_t plen = skip ? strlen(origin) : 1;

		if (o + plen + 1 > size)
			return -1;
		memcpy(out + o, piece, plen);
		o += plen;
		i += skip ? skip : 1;
	}
	out[o] = '\0';
	return 0;
}

/* First directory of the colon list LIST holding FILE, into OUT. 1 found, 0 not. */
static int search_dirs(const char *list, const char *file, const char *origin, char *out, size_t size)
{
	while (list && *list) {
		size_t len = strcspn(list, ":");
		char dir[PATH_MAX];

		if (len && expand_origin(list, len, origin, dir, sizeof(dir)) == 0 &&
		    (size_t)snprintf(out, size, "%s/%s", dir, file) < size && access(out, F_OK) == 0)
			return 1;
		list += len;
		if (*list == ':')
			list++;
	}
	return 0;
}

void *agent_dlopen(const char *file, int mode)
{
	struct caller_paths cp = { .pc = (uintptr_t)__builtin_return_address(0) };
	char path[PATH_MAX];
	const char *use = file;
	void *h;

	if (!real_dlopen)
		return NULL;
	if (file && (strstr(file, "$ORIGIN") || strstr(file, "${ORIGIN}") || !strchr(file, '/'))) {
		dl_iterate_phdr(find_caller, &cp);
		if (cp.found && strchr(file, '/')) {
			if (expand_origin(file, strlen(file), cp.origin, path, sizeof(path)) == 0)
				use = path;
		} else if (cp.found && cp.runpath) {
			char tmp[PATH_MAX];

			/* RPATH comes before LD_LIBRARY_PATH, RUNPATH after it. */
			if ((cp.is_rpath || !search_dirs(getenv("LD_LIBRARY_PATH"), file, cp.origin, tmp,
							 sizeof(tmp))) &&
			    search_dirs(cp.runpath, file, cp.origin, path, sizeof(path)))
				use = path;
		}
	}
	h = real_dlopen(use, mode);
	/* While the slots are hooked (recording, or armed before memtrace_agent_start). */
	if (h) {
		patch_new();
		agent_findobj_loaded();
	}
	return h;
}

int agent_dlclose(void *handle)
{
	int ret;

	if (!real_dlclose)
		return -1;
	if (!unloading++)
		pthread_mutex_lock(&unload_lock);
	ret = real_dlclose(handle);
	forget_unloaded();
	if (!--unloading)
		pthread_mutex_unlock(&unload_lock);
	return ret;
}

/*
 * dl_iterate_phdr runs its callback with the loader's list lock held, and
 * a callback may allocate. Then libunwind's walk, on a cache miss, would
 * take its own cache lock and ask dl_iterate_phdr for that list lock: the
 * opposite order to a thread already inside libunwind that waits for the
 * list lock (two such threads deadlocked: tests/victims/busy_alloc "mi").
 * The flag lets the unwinder walk differently there (unwind_libunwind.c).
 * Exported too in start mode, so every module's calls come here.
 */
int agent_dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data)
{
	int (*real)(int (*)(struct dl_phdr_info *, size_t, void *), void *) =
		__atomic_load_n(&real_dl_iterate_phdr, __ATOMIC_ACQUIRE);
	int ret;

	if (!real) {
		real = (int (*)(int (*)(struct dl_phdr_info *, size_t, void *), void *))
			agent_real_lookup("dl_iterate_phdr");
		if (!real)
			return 0;
		__atomic_store_n(&real_dl_iterate_phdr, real, __ATOMIC_RELEASE);
	}
	/* Wait while agent_loader_barrier takes the lock, unless this thread
	 * holds it already (a callback that iterates again). */
	if (!agent_in_phdr)
		while (__atomic_load_n(&barrier_pending, __ATOMIC_ACQUIRE))
			sched_yield();
	agent_in_phdr++;
	ret = real(cb, data);
	agent_in_phdr--;
	return ret;
}

static int barrier_stop(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)info;
	(void)size;
	(void)arg;
	return 1;
}

/*
 * Take the loader's list lock once and let it go: every dl_iterate_phdr in
 * progress has ended, so a thread that entered one before its slot was
 * hooked (without agent_in_phdr) has left it. Callers through the hook
 * wait meanwhile; without that, a thread calling dl_iterate_phdr in a loop
 * takes the lock again before a waiter wakes, for seconds on end.
 */
agent_iterate_fn agent_got_real_iterate(void)
{
	return __atomic_load_n(&real_dl_iterate_phdr, __ATOMIC_ACQUIRE);
}

void agent_loader_barrier(void)
{
	int (*real)(int (*)(struct dl_phdr_info *, size_t, void *), void *) =
		__atomic_load_n(&real_dl_iterate_phdr, __ATOMIC_ACQUIRE);

	if (!real)
		return;
	agent_loader_lock_find(real);
	__atomic_store_n(&barrier_pending, 1, __ATOMIC_SEQ_CST);
	real(barrier_stop, NULL);
	__atomic_store_n(&barrier_pending, 0, __ATOMIC_RELEASE);
}

AGENT_EXPORT int dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data)
	__attribute__((alias("agent_dl_iterate_phdr")));
