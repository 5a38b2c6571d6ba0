/*
 * Reading the dynamic sections of modules already loaded in this process,
 * through the loader's link map, without calling the loader: no lock, no
 * allocation, usable from inside the malloc hooks before anything else is
 * set up. Used to find the real allocator and (with attach) the GOT slots.
 */
#ifndef AGENT_DYNELF_H
#define AGENT_DYNELF_H

#include <link.h>
#include <stdint.h>

/* First entry of the loader's link map (the main program), or NULL. */
struct link_map *agent_link_map(void);

/*
 * Address of the defined function or object NAME exported by module LM (the
 * default version when versioned), IFUNCs resolved. NULL if not there.
 */
void *agent_dynsym(const struct link_map *lm, const char *name);

/* Address and size (*SIZE) of the data object NAME exported by LM, or NULL. */
void *agent_dynobj(const struct link_map *lm, const char *name, size_t *size);

/*
 * A d_ptr value of a module with load bias BASE as an address: loaders
 * differ on relocating .dynamic in place, and a value below the bias is
 * taken as not relocated.
 */
uintptr_t agent_dyn_ptr(uintptr_t base, uintptr_t v);

/*
 * Whether PHDR (dl_iterate_phdr's dlpi_phdr) is the main program's. glibc
 * names the main program "", musl by its argv[0] (maybe relative): a
 * module is told to be the program by its headers, not by its name.
 */
int agent_is_main(const void *phdr);

/* Load bias of this shared object (the agent). */
uintptr_t agent_self_base(void);

#endif
