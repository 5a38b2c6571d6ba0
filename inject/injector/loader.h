/*
 * Finding things in a target before and while loading the agent: its
 * mappings (/proc/PID/maps), the ELF facts of its executable and of the
 * agent file, the functions to call (dlopen, dlerror, dlclose in the
 * target's libc or musl loader, memtrace_agent_start in the agent), the
 * address ranges a remote call should not start from, and the checks on the
 * agent file (present, right architecture, not on a noexec mount).
 *
 * Files are read with libelf through /proc/PID/root, so paths are resolved in
 * the target's mount namespace; a file replaced on disk since it was mapped
 * is read through /proc/PID/map_files instead. Addresses are the load bias
 * (the start of the mapping at file offset 0, minus the first PT_LOAD's page)
 * plus the symbol's value.
 */
#ifndef INJ_LOADER_H
#define INJ_LOADER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "injector/inject.h"
#include "injector/ptrace.h"

struct inj_map {
	uint64_t start, end, offset, inode;
	unsigned major, minor;
	char perms[5];
	const char *path; /* "" when anonymous; points into the maps text */
};

struct inj_maps {
	struct inj_map *v;
	size_t n;
	char *text;
};

/* Read /proc/PID/maps. 0, or -1 with errno (ESRCH, EACCES...). Free with inj_maps_free. */
int inj_maps_read(int pid, struct inj_maps *m);
void inj_maps_free(struct inj_maps *m);

struct inj_elf_info {
	int elf_class; /* ELFCLASS32 or ELFCLASS64 */
	int machine;   /* EM_* */
	int type;      /* ET_EXEC, ET_DYN... */
	int has_interp;
	char interp[256]; /* PT_INTERP */
	char libc[32];    /* the DT_NEEDED C library (libc.so.6, musl's libc.so), or "" */
};

/* ELF header, PT_INTERP and needed C library of PATH. 0, or -1 with errno (ENOEXEC: not ELF). */
int inj_elf_info(const char *path, struct inj_elf_info *info);

/*
 * Whether the agent AGENT, whose inj_elf_info is AI, was built against
 * another C library than the one WHO ("process N", "PROG"), whose loader is
 * INTERP (PT_INTERP), runs on: glibc's loaders against musl's
 * (/lib/ld-musl-ARCH.so.1). 1 with MSG (MSGLEN bytes) saying so and what to
 * use instead, or 0 (the same, or an agent that names no C library).
 */
int inj_agent_libc_differs(const struct inj_elf_info *ai, const char *agent, const char *interp,
			   const char *who, char *msg, size_t msglen);

/* "x86_64", "aarch64", "arm"...; "machine N" kept in a static buffer otherwise. */
const char *inj_machine_name(int machine);

/* A file mapped in the target. */
struct inj_module {
	char path[PATH_MAX];
	uint64_t inode;
	unsigned major, minor;
	uint64_t base;              /* start of the mapping at file offset 0 */
	uint64_t base_end;          /* its end (for /proc/PID/map_files) */
	uint64_t lowest, highest;   /* everything mapped from the file */
};

/*
 * The module of the file that mapping ANY comes from. 0, or -1 if the file
 * has no mapping at offset 0.
 */
int inj_module_of(const struct inj_maps *m, const struct inj_map *any, struct inj_module *mod);

/*
 * Address in the target of function or data object NAME of module MOD, from its .dynsym
 * (section headers, else PT_DYNAMIC for stripped-to-the-bone files),
 * preferring the default symbol version. 1 found (*ADDR, *SIZE may be NULL),
 * 0 not found, -1 when the file cannot be read (errno).
 */
int inj_module_sym(int pid, const struct inj_module *mod, const char *name, uint64_t *addr,
		   uint64_t *size);

/*
 * Every function MOD defines in its .dynsym (STT_FUNC and STT_GNU_IFUNC;
 * every name of an address, each version), with its address in the target
 * and its size (0 when the symbol has none): CB is called once a symbol and
 * its nonzero return ends the walk. Returns CB's last return (0), or -1
 * when the file cannot be read (errno).
 */
int inj_module_funcs(int pid, const struct inj_module *mod,
		     int (*cb)(const char *name, uint64_t addr, uint64_t size, void *arg), void *arg);

/*
 * PATH is a file of the C library: libc, and on older glibc and uClibc
 * libdl, libpthread and librt (musl's libc is also its loader).
 */
int inj_is_system_lib(const char *path);

/* The functions that load a library in the target. */
struct inj_libc {
	struct inj_module mod; /* where dlopen comes from */
	uint64_t dlopen, dlerror, dlclose; /* 0 when absent */
	uint64_t munmap;                   /* libc's, to clear what a failed dlopen left */
	uint64_t dlopen_flags;             /* RTLD_NOW, with __RTLD_DLOPEN for the private one */
	const char *dlopen_name;
};

/*
 * Find dlopen in the target: glibc >= 2.34 and musl export it from libc (or
 * ld-musl), older glibc from libdl if mapped, else its private
 * __libc_dlopen_mode. Returns INJ_OK, or INJ_NO_DLOPEN / INJ_INTERNAL with
 * MSG set.
 */
enum inj_kind inj_find_dlopen(int pid, const struct inj_maps *m, struct inj_libc *lc, char *msg,
			      size_t msglen);

/* The agent file as the target will see it. */
struct inj_agent {
	char path[PATH_MAX]; /* absolute: what dlopen gets */
	uint64_t inode;
	unsigned major, minor;
};

/*
 * Check AGENT for process PID whose executable is TARGET: present in the
 * target's mount namespace, an ELF shared library of the same class and
 * machine, not on a noexec mount. Returns INJ_OK with *A filled in, or
 * INJ_AGENT_MISSING, INJ_AGENT_WRONG_ARCH, INJ_NOEXEC with MSG set.
 */
enum inj_kind inj_check_agent(int pid, const char *agent, const struct inj_elf_info *target,
			      struct inj_agent *a, char *msg, size_t msglen);

/*
 * The mapping of the agent in M (same file, same path, or a file named
 * libmemtrace-agent.so), or NULL.
 */
const struct inj_map *inj_agent_mapping(const struct inj_maps *m, const struct inj_agent *a);
/* The same, searching from entry FROM of M on (to find every mapping). */
const struct inj_map *inj_agent_mapping_from(const struct inj_maps *m, const struct inj_agent *a,
					     size_t from);

#endif
