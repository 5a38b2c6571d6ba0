/*
 * The decoder: addresses in device modules to function, file:line and
 * inlined calls, read from the build tree's debug symbols on the host.
 *
 * A module is looked for in the sysroots (docs/server.md has the rules):
 * its path under each sysroot, its name anywhere in them, the build-id debug
 * file under SYSROOT/usr/lib/debug/.build-id, and the separate debug file
 * its .gnu_debuglink names. When the device gave the module's build-id, only
 * a file with the same build-id is used; a module found only with another
 * build-id is reported as a mismatch, never decoded. No file outside the
 * sysroots is ever opened, whatever the module path says.
 *
 * Host files are opened once with libdwfl and kept, and every address is
 * decoded once and kept: results stay valid until srv_decoder_free.
 * Not thread-safe: one decoder per thread.
 */
#ifndef SRV_DECODE_H
#define SRV_DECODE_H

#include <stddef.h>
#include <stdint.h>

struct srv_decoder;

enum srv_status {
	SRV_OK,		       /* decoded with host_file (fields may still be unknown) */
	SRV_NO_MODULE,	       /* the frame is in no module */
	SRV_NOT_FOUND,	       /* no host file for the module in the sysroots */
	SRV_BUILD_ID_MISMATCH, /* host files found, none with the device's build-id */
	SRV_REFUSED,	       /* the module path or build-id is not acceptable ("..", not absolute) */
	SRV_UNREADABLE,	       /* the host file was found but libdwfl cannot read it */
};

/* One function's place: the innermost one is where the instruction is. */
struct srv_loc {
	const char *function; /* demangled; NULL when no symbol covers the address */
	const char *file;     /* source file as DWARF names it; NULL when unknown */
	unsigned line;	      /* 0 when unknown */
};

/* What is known of one address. Every field but status is NULL or 0 unless status is SRV_OK. */
struct srv_frame_info {
	enum srv_status status;
	const char *message;   /* why, for a status other than SRV_OK; NULL for SRV_OK */
	const char *host_file; /* the file decoded with (its links resolved) */
	/*
	 * The function whose code holds the address (not an inlined one: the
	 * one the raw report's "symbol" names), at the address, or when the
	 * address is in code inlined into it, at the outermost inlined call.
	 */
	struct srv_loc loc;
	/* The inlined calls the address is in, innermost first: inlined[0] is at the address. */
	const struct srv_loc *inlined;
	size_t n_inlined;
};

/*
 * A decoder over the N sysroots SYSROOTS (directories, searched in order).
 * NULL, with the cause logged, when one is not a directory that can be
 * opened. N may be 0 (then nothing is found).
 */
struct srv_decoder *srv_decoder_new(const char *const *sysroots, size_t n);
/* NULL is a no-op. Every srv_frame_info handed out becomes invalid. */
void srv_decoder_free(struct srv_decoder *d);

/*
 * Decode ADDR, an address of module MODULE as its ELF file has it (the raw
 * report's "offset": the run-time address minus the load bias). The caller
 * chooses the address: for a return address, the call is at offset - 1.
 * MODULE is the absolute path on the device, or NULL; BUILD_ID its build-id
 * in lowercase hex, or NULL when the device had none (then the file at the
 * module's path is taken unchecked, and no search by name or build-id is
 * made). Returns the result, owned by the decoder, never NULL.
 */
const struct srv_frame_info *srv_decode(struct srv_decoder *d, const char *module,
					const char *build_id, uint64_t addr);

/*
 * What D keeps (modules looked up, host files opened, addresses decoded),
 * for a long-running server to bound it: past SRV_DECODER_MAX_ENTRIES it
 * calls srv_decoder_reset, which forgets them all (the next reports open
 * their files again). Every srv_frame_info handed out becomes invalid.
 */
#define SRV_DECODER_MAX_ENTRIES (1u << 20)
size_t srv_decoder_entries(const struct srv_decoder *d);
void srv_decoder_reset(struct srv_decoder *d);

/*
 * The host file of MODULE with BUILD_ID as srv_decode looks it up (the same
 * rules and the same cache, modmap.h), for a request that reads the file
 * itself (unwind rows: request.c). Never NULL; owned by D and valid until
 * srv_decoder_reset or srv_decoder_free. Its fd is the decoder's: a caller
 * dup()s it (when not -1) or opens host_file.
 */
struct srv_modfile;
struct srv_modfile *srv_decoder_modfile(struct srv_decoder *d, const char *module, const char *build_id);

/* D's cache of unwind rows compiled on the host (cfi_host.h), emptied by srv_decoder_reset. */
struct srv_cfi_cache;
struct srv_cfi_cache *srv_decoder_cfi_cache(struct srv_decoder *d);

/* "ok", "no_module", "not_found", "build_id_mismatch", "refused", "unreadable". */
const char *srv_status_name(enum srv_status s);

#endif
