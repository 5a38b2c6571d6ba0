/*
 * Symbol lookup in loaded modules from their PT_DYNAMIC: DT_GNU_HASH when
 * present, DT_HASH otherwise. The link map comes from DT_DEBUG of the main
 * program (found through the auxiliary vector), which glibc, musl and
 * uClibc all fill in (on MIPS, from the slot DT_MIPS_RLD_MAP_REL or
 * DT_MIPS_RLD_MAP names, or musl's _dl_debug_addr). Some loaders relocate the d_ptr values of .dynamic
 * in place and some do not; a value below the load bias is taken as
 * unrelocated.
 */
#include <elf.h>
#include <string.h>
#include <sys/auxv.h>

#include "dynelf.h"

extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));
extern ElfW(Dyn) _DYNAMIC[] __attribute__((visibility("hidden")));

uintptr_t agent_self_base(void)
{
	const ElfW(Ehdr) *eh = &__ehdr_start;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)((const char *)eh + eh->e_phoff);

	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD)
			return (uintptr_t)eh - (ph[i].p_vaddr - ph[i].p_offset);
	return (uintptr_t)eh;
}

#if defined(__mips__) && !defined(__GLIBC__)
extern struct r_debug *_dl_debug_addr __attribute__((weak));
#endif
#ifndef DT_MIPS_RLD_MAP_REL
#define DT_MIPS_RLD_MAP_REL 0x70000035
#endif

int agent_is_main(const void *phdr)
{
	return phdr && phdr == (const void *)getauxval(AT_PHDR);
}

struct link_map *agent_link_map(void)
{
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
	unsigned long phnum = getauxval(AT_PHNUM);
	uintptr_t bias = 0;
	const ElfW(Dyn) *dyn = NULL;

	if (!ph)
		return NULL;
	for (unsigned long i = 0; i < phnum; i++)
		if (ph[i].p_type == PT_PHDR)
			bias = (uintptr_t)ph - ph[i].p_vaddr;
	for (unsigned long i = 0; i < phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(bias + ph[i].p_vaddr);
	for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_DEBUG && dyn->d_un.d_ptr)
			return ((struct r_debug *)dyn->d_un.d_ptr)->r_map;
#ifdef __mips__
		/*
		 * MIPS's .dynamic is read-only, so DT_DEBUG stays 0: the loader
		 * writes &r_debug into the slot DT_MIPS_RLD_MAP_REL names (relative
		 * to that entry: PIE) or DT_MIPS_RLD_MAP (absolute).
		 */
		if (dyn->d_tag == DT_MIPS_RLD_MAP_REL || dyn->d_tag == DT_MIPS_RLD_MAP) {
			struct r_debug *const *slot =
				(struct r_debug *const *)(dyn->d_tag == DT_MIPS_RLD_MAP
								  ? agent_dyn_ptr(bias, dyn->d_un.d_ptr)
								  : (uintptr_t)dyn + dyn->d_un.d_val);

			if (*slot)
				return (*slot)->r_map;
		}
#endif
	}
#if defined(__mips__) && !defined(__GLIBC__)
	/* musl 1.2.3 fills neither slot for a PIE program; it exports its r_debug. */
	if (&_dl_debug_addr && _dl_debug_addr)
		return _dl_debug_addr->r_map;
#endif
	return NULL;
}

struct dyninfo {
	uintptr_t base;
	const ElfW(Sym) *symtab;
	const char *strtab;
	const uint32_t *gnu_hash;
	const uint32_t *sysv_hash;
	const ElfW(Half) *versym;
};

uintptr_t agent_dyn_ptr(uintptr_t base, uintptr_t v)
{
	return v < base ? v + base : v;
}

static int dyninfo_get(const struct link_map *lm, struct dyninfo *di)
{
	memset(di, 0, sizeof(*di));
	di->base = lm->l_addr;
	if (!lm->l_ld)
		return -1;
	for (const ElfW(Dyn) *d = lm->l_ld; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB:
			di->symtab = (const ElfW(Sym) *)agent_dyn_ptr(di->base, d->d_un.d_ptr);
			break;
		case DT_STRTAB:
			di->strtab = (const char *)agent_dyn_ptr(di->base, d->d_un.d_ptr);
			break;
		case DT_GNU_HASH:
			di->gnu_hash = (const uint32_t *)agent_dyn_ptr(di->base, d->d_un.d_ptr);
			break;
		case DT_HASH:
			di->sysv_hash = (const uint32_t *)agent_dyn_ptr(di->base, d->d_un.d_ptr);
			break;
		case DT_VERSYM:
			di->versym = (const ElfW(Half) *)agent_dyn_ptr(di->base, d->d_un.d_ptr);
			break;
		default:
			break;
		}
	}
	return di->symtab && di->strtab && (di->gnu_hash || di->sysv_hash) ? 0 : -1;
}

static uint32_t gnu_hash(const char *s)
{
	uint32_t h = 5381;

	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

static uint32_t sysv_hash(const char *s)
{
	uint32_t h = 0;

	for (; *s; s++) {
		uint32_t g;

		h = (h << 4) + (unsigned char)*s;
		g = h & 0xf0000000u;
		if (g)
			h ^= g >> 24;
		h &= ~g;
	}
	return h;
}

/* Defined, of a usable type, default version, named NAME. */
static int sym_matches(const struct dyninfo *di, uint32_t idx, const char *name)
{
	const ElfW(Sym) *s = &di->symtab[idx];
	unsigned type = (s->st_info & 0xf);

	if (s->st_shndx == SHN_UNDEF || !s->st_value)
		return 0;
	if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_OBJECT && type != STT_NOTYPE)
		return 0;
	if (di->versym && (di->versym[idx] & 0x8000))
		return 0;
	return strcmp(di->strtab + s->st_name, name) == 0;
}

static long lookup_gnu(const struct dyninfo *di, const char *name)
{
	const uint32_t *ht = di->gnu_hash;
	uint32_t nbuckets = ht[0], symoffset = ht[1], bloom_size = ht[2], bloom_shift = ht[3];
	const ElfW(Addr) *bloom = (const ElfW(Addr) *)&ht[4];
	const uint32_t *buckets = (const uint32_t *)&bloom[bloom_size];
	const uint32_t *chain = &buckets[nbuckets];
	const unsigned bits = sizeof(ElfW(Addr)) * 8;
	uint32_t h = gnu_hash(name);
	ElfW(Addr) word;
	uint32_t i;

	if (!nbuckets || !bloom_size)
		return -1;
	word = bloom[(h / bits) % bloom_size];
	if (!((word >> (h % bits)) & (word >> ((h >> bloom_shift) % bits)) & 1))
		return -1;
	i = buckets[h % nbuckets];
	if (i < symoffset)
		return -1;
	for (;; i++) {
		uint32_t h2 = chain[i - symoffset];

		if ((h | 1) == (h2 | 1) && sym_matches(di, i, name))
			return i;
		if (h2 & 1)
			return -1;
	}
}

static long lookup_sysv(const struct dyninfo *di, const char *name)
{
	const uint32_t *ht = di->sysv_hash;
	uint32_t nbucket = ht[0];
	const uint32_t *bucket = &ht[2];
	const uint32_t *chain = &bucket[nbucket];

	if (!nbucket)
		return -1;
	for (uint32_t i = bucket[sysv_hash(name) % nbucket]; i; i = chain[i])
		if (sym_matches(di, i, name))
			return i;
	return -1;
}

/* NAME's symbol in LM's dynamic symbol table, and LM's load bias in *BASE. */
static const ElfW(Sym) *dynsym_find(const struct link_map *lm, const char *name, uintptr_t *base)
{
	struct dyninfo di;
	long idx;

	if (dyninfo_get(lm, &di) < 0)
		return NULL;
	idx = di.gnu_hash ? lookup_gnu(&di, name) : lookup_sysv(&di, name);
	if (idx < 0)
		return NULL;
	*base = di.base;
	return &di.symtab[idx];
}

void *agent_dynobj(const struct link_map *lm, const char *name, size_t *size)
{
	uintptr_t base;
	const ElfW(Sym) *s = dynsym_find(lm, name, &base);

	if (!s || (s->st_info & 0xf) != STT_OBJECT)
		return NULL;
	*size = s->st_size;
	return (void *)(base + s->st_value);
}

void *agent_dynsym(const struct link_map *lm, const char *name)
{
	uintptr_t base, addr;
	const ElfW(Sym) *s = dynsym_find(lm, name, &base);

	if (!s)
		return NULL;
	addr = base + s->st_value;
	if ((s->st_info & 0xf) == STT_GNU_IFUNC) {
		typedef void *(*resolver_fn)(unsigned long);

		return ((resolver_fn)addr)(getauxval(AT_HWCAP));
	}
	return (void *)addr;
}
