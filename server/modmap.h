/*
 * Device module to host file: the sysroot search rules, the build-id check,
 * and a cache of the answers per (device path, build-id).
 */
#ifndef SRV_MODMAP_H
#define SRV_MODMAP_H

#include "decode.h"
#include "elfinfo.h"
#include "rootfs.h"

struct srv_modmap;

/* Where a module's symbols are on the host, or why they are not. */
struct srv_modfile {
	enum srv_status status; /* SRV_OK or why not (never SRV_NO_MODULE, SRV_UNREADABLE) */
	char *message;		/* status other than SRV_OK: the text for the user */
	char *host_file;	/* SRV_OK: the file to decode with, links resolved */
	char build_id[SRV_BUILD_ID_MAX + 1]; /* SRV_OK: host_file's own build-id, "" if none */
	int has_dwarf;		/* SRV_OK: 0 when only its ELF symbols can be had */
	int fd;			/* SRV_OK: host_file, open until taken (then -1) */
	void *user;		/* for the caller: NULL at first */
};

/* Over the N sysroots ROOTS, searched in order; ROOTS must outlive the map. */
struct srv_modmap *srv_modmap_new(struct srv_root *const *roots, size_t n);
/* NULL is a no-op. */
void srv_modmap_free(struct srv_modmap *m);

/*
 * The host file for MODULE (absolute device path) with BUILD_ID (lowercase
 * hex, or NULL). The answer is worked out on the first call and kept: the
 * same pointer comes back for the same arguments until srv_modmap_free.
 */
struct srv_modfile *srv_modmap_get(struct srv_modmap *m, const char *module, const char *build_id);

#endif
