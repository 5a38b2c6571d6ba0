/*
 * Nearest ELF symbols for addresses in modules, read with libelf: .symtab
 * when the module has one, else .dynsym; and each module's build-id, which
 * the host needs to find the matching debug symbols. Modules are opened
 * once and kept.
 */
#ifndef INJ_ELFSYM_H
#define INJ_ELFSYM_H

#include <stdint.h>

struct inj_symcache;

/*
 * ROOT is prefixed to every module path (e.g. "/proc/PID/root"), or NULL.
 * NULL on allocation failure.
 */
struct inj_symcache *inj_symcache_new(const char *root);
/* NULL is a no-op. */
void inj_symcache_free(struct inj_symcache *c);

/*
 * The function (or data object: a vtable, an ops table) of module PATH whose extent holds ADDR (an ELF virtual
 * address: the address minus the module's load bias). Returns 1 and sets
 * *NAME (owned by the cache) and *START; 0 when the module cannot be read,
 * has no symbols, or no symbol covers ADDR.
 */
int inj_symcache_lookup(struct inj_symcache *c, const char *path, uint64_t addr,
			const char **name, uint64_t *start);

/*
 * The GNU build-id of module PATH: lowercase hex of its NT_GNU_BUILD_ID
 * note, read once with its symbols. NULL when the module has none or cannot
 * be read. Owned by the cache.
 */
const char *inj_symcache_build_id(struct inj_symcache *c, const char *path);

#endif
