/*
 * Module snapshot through dl_iterate_phdr. Paths are copied, since a module
 * may be unloaded while a report is being written. The main program has an
 * empty name in the loader's list; /proc/self/exe names it.
 */
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "dynelf.h"
#include "modules.h"

#define MAX_MODULES 4096
#define PATHS_SIZE (MAX_MODULES * 128)

struct collect {
	struct agent_modules *m;
	char *paths;
	size_t used;
};

static int collect_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct collect *c = arg;
	struct agent_module *mod;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	char exe[4096];
	const char *name = info->dlpi_name;
	size_t len;

	(void)size;
	if (c->m->n >= MAX_MODULES)
		return 1;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < lo)
			lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
			hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if (hi <= lo)
		return 0;
	if (!name || !*name || agent_is_main(info->dlpi_phdr)) {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		exe[n > 0 ? n : 0] = '\0';
		name = exe;
	}
	len = strlen(name) + 1;
	if (c->used + len > PATHS_SIZE)
		return 1;
	memcpy(c->paths + c->used, name, len);
	mod = &c->m->mods[c->m->n++];
	mod->bias = info->dlpi_addr;
	mod->lo = lo;
	mod->hi = hi;
	mod->path = c->paths + c->used;
	c->used += len;
	return 0;
}

int agent_modules_snapshot(struct agent_modules *m)
{
	struct collect c;
	char *mem;

	m->n = 0;
	m->map_size = MAX_MODULES * sizeof(struct agent_module) + PATHS_SIZE;
	mem = agent_map(m->map_size, AGENT_MEM_OTHER);
	if (!mem)
		return -1;
	m->mods = (struct agent_module *)mem;
	c.m = m;
	c.paths = mem + MAX_MODULES * sizeof(struct agent_module);
	c.used = 0;
	dl_iterate_phdr(collect_one, &c);
	/* Insertion sort: a few hundred modules at most, and no qsort (it may malloc). */
	for (int i = 1; i < m->n; i++) {
		struct agent_module t = m->mods[i];
		int j = i;

		for (; j > 0 && m->mods[j - 1].lo > t.lo; j--)
			m->mods[j] = m->mods[j - 1];
		m->mods[j] = t;
	}
	return 0;
}

void agent_modules_release(struct agent_modules *m)
{
	agent_unmap(m->mods, m->map_size, AGENT_MEM_OTHER);
	m->mods = NULL;
	m->n = 0;
}

int agent_modules_find(const struct agent_modules *m, uintptr_t pc)
{
	int lo = 0, hi = m->n - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;

		if (pc < m->mods[mid].lo)
			hi = mid - 1;
		else if (pc >= m->mods[mid].hi)
			lo = mid + 1;
		else
			return mid;
	}
	return -1;
}
