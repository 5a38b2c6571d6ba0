/*
 * A core file as the image of a stopped process (common/leakjudge.h), so
 * memtrace-server judges leaks in a core as memtrace does in a live
 * process: its PT_LOAD segments are the memory (a struct memsrc over the
 * file, mapped read-only), NT_FILE names the mappings, NT_PRSTATUS gives
 * each thread's registers and stack pointer (the layout of the core's own
 * class and machine: x86_64, i386, aarch64, 32-bit ARM). And, for the
 * callstacks: which module holds an address, at which offset of its ELF
 * file, with which build-id, read from the module's headers in the core.
 *
 * The core comes from a device, which the host does not trust: every
 * offset, size and count is checked against the file before it is used;
 * a core that does not hold together is refused with what is wrong.
 */
#ifndef SRV_COREIMAGE_H
#define SRV_COREIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "leakjudge.h"

struct srv_coreimage;

/* The uncompressed ELF core open at FD (kept by the caller), NAME for messages. NULL after logging why. */
struct srv_coreimage *srv_coreimage_open(int fd, const char *name);
/* The same over LEN bytes at DATA (kept by the caller while the image lives). */
struct srv_coreimage *srv_coreimage_from(const void *data, size_t len, const char *name);
/* NULL is a no-op. */
void srv_coreimage_close(struct srv_coreimage *ci);

/* The image (its mem, maps, where, red_zone; the anchor is the caller's to set). */
struct leak_image *srv_coreimage_image(struct srv_coreimage *ci);
/* The threads, in the core's order; their count in *N. */
const struct leak_thread *srv_coreimage_threads(const struct srv_coreimage *ci, size_t *n);
/* The first thread's pid as the core gives it (0: none). */
int srv_coreimage_pid(const struct srv_coreimage *ci);

/* Where an address is, for decoding: the module's device path, the address as its ELF file has it. */
struct srv_coreimage_where {
	const char *module;		/* NULL: in no file mapping */
	uint64_t offset;		/* the address less the module's load bias */
	const char *build_id;		/* lowercase hex, or NULL when the core does not show one */
};
void srv_coreimage_where(struct srv_coreimage *ci, uint64_t addr, struct srv_coreimage_where *w);

#endif
