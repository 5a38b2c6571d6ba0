/*
 * Host files opened with libdwfl, kept by (path, build-id), and the decoded
 * addresses of each, kept by address.
 */
#ifndef SRV_SYMCACHE_H
#define SRV_SYMCACHE_H

#include <stdint.h>

#include "decode.h"

struct srv_symcache;
struct srv_dwmod;

struct srv_symcache *srv_symcache_new(void);
/* Closes every module; results handed out become invalid. NULL is a no-op. */
void srv_symcache_free(struct srv_symcache *c);

/*
 * The module for host file PATH (links resolved) whose build-id is BUILD_ID
 * ("" when it has none), read from FD, which is always taken: kept by
 * libdwfl, or closed (when the file is already open, or on failure). NULL
 * when libdwfl cannot read it, with the reason in *WHY (owned by the cache).
 */
struct srv_dwmod *srv_symcache_open(struct srv_symcache *c, const char *path, const char *build_id,
				    int fd, const char **why);

/*
 * ADDR (an address as the ELF file has it) decoded: status SRV_OK, the
 * module's path as host_file. Owned by the cache.
 */
const struct srv_frame_info *srv_dwmod_lookup(struct srv_dwmod *m, uint64_t addr);

/* How much C keeps: host files tried plus addresses decoded. */
size_t srv_symcache_entries(const struct srv_symcache *c);

#endif
