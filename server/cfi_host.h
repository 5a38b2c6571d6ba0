/*
 * Unwind rows compiled on the host: a host file's DWARF call frame
 * information (.debug_frame, and .eh_frame) into the agent's compact rows
 * (agent/cfi.h), for a device module that has no usable unwind tables of
 * its own (docs/protocol.md, "Unwind rows from the host"). Each row's rule
 * is the one agent/cfi_compile.c gives for the same CFI state, so the
 * agent's walk reads them as it reads its own; rows are keyed by link-time
 * address (the file's vaddr), not by offset from the module's start, since
 * only the device knows where the module is mapped.
 *
 * The CFI is interpreted by libdw (dwarf_cfi_addrframe), FDE by FDE.
 * Every size is bounded: a hostile or huge file gets an error, never an
 * allocation without limit.
 */
#ifndef SRV_CFI_HOST_H
#define SRV_CFI_HOST_H

#include <libelf.h>
#include <stddef.h>
#include <stdint.h>

/* The highest DWARF register number a target may name (aarch64's and ARM's go up to 287). */
#define SRV_CFI_MAX_REG 287
/* The most rows a module may compile to (then an error, E2BIG): 32 MiB of rows, a 43 MiB reply. */
#define SRV_CFI_MAX_ROWS 4000000u
/* The most FDEs a module may have (E2BIG): far more than any real program's. */
#define SRV_CFI_MAX_FDES 4000000u

/* What the device's walk follows: the registers of its rules, by DWARF number. */
struct srv_cfi_target {
	unsigned word;	/* 4 or 8: the device's word, the unit of offsets and slots (the ELF class must agree) */
	unsigned sp;	/* the stack pointer */
	unsigned fp;	/* the frame pointer */
	unsigned ra;	/* the return-address column (a CIE naming another makes its FDEs FALLBACK) */
	/*
	 * 1: a return address the CFI leaves "same value" is in the link
	 * register (ARM, aarch64: slot 0 of the rule); 0: such a row is
	 * FALLBACK (x86_64, where a call always pushes it).
	 */
	int ra_in_reg;
};

/* One row: RULE (agent/cfi.h) from link-time address VADDR up to the next row's. */
struct srv_cfi_row {
	uint32_t vaddr;
	uint32_t rule;
};

/* A module's rows, sorted by vaddr, merged as agent/cfi_compile.c merges its own. */
struct srv_cfi_rows {
	struct srv_cfi_row *rows;	/* malloc'ed; NULL when N is 0 */
	uint32_t n;
	uint32_t fdes;			/* FDEs compiled */
	uint32_t fallback_fdes;		/* FDEs with at least one FALLBACK row */
	/* The sections read (static text): ".debug_frame", ".eh_frame" or ".debug_frame and .eh_frame". */
	const char *sections;
};

/*
 * Compile the call frame information of ELF (an ELF file opened with
 * libelf, ELF_C_READ or ELF_C_READ_MMAP, or elf_memory; not changed but
 * for the decompression of a compressed .debug_frame, not freed) for
 * target T into *OUT.
 *
 * The FDEs of .debug_frame and of .eh_frame are both taken, sorted by
 * address: code built without unwind tables has its functions' CFI in
 * .debug_frame only (-g), while its start files and assembly keep theirs
 * in .eh_frame (_start's undefined return address, the walk's clean end).
 * A .debug_frame FDE wins over an .eh_frame one at the same address. Only
 * FDEs whose code lies inside an executable section are taken:
 * .debug_frame keeps the FDEs of functions the linker discarded, at
 * address 0. The sections are found by their headers (a file without any
 * has no CFI here). Each FDE gives a row at
 * each address where its rule changes and a FALLBACK row at its end (code
 * between functions); a later row at the same address wins and equal
 * consecutive rules collapse. An FDE whose program libdw cannot run is
 * FALLBACK as a whole, as the agent makes one it cannot parse.
 *
 * Returns 0, with *OUT filled (OUT->n >= 1; release with
 * srv_cfi_rows_clear), or -1 with *OUT empty, errno set and the reason in
 * ERR (ERRLEN bytes, always NUL-terminated when ERRLEN > 0; ERR may be NULL
 * when ERRLEN is 0):
 *   EINVAL     T is not a valid target (word not 4 or 8, a register over
 *              SRV_CFI_MAX_REG), ELF is not an ELF file, or its class is
 *              not T's word (a 64-bit file for a 32-bit device)
 *   ENOENT     no .debug_frame or .eh_frame with contents (or none libdw
 *              can read), no executable section, or no FDE covers the
 *              file's code
 *   EOVERFLOW  the file's code lies above 4 GiB (rows hold 32-bit addresses)
 *   E2BIG      more than SRV_CFI_MAX_FDES FDEs or SRV_CFI_MAX_ROWS rows, or
 *              programs so long and so many that compiling them would take
 *              minutes (a bound on the CFA instructions libdw runs)
 *   ENOTSUP    libdw cannot run this machine's CFI at all (elfutils before
 *              0.190 has no ABI defaults for MIPS: every FDE fails)
 *   ENOMEM     out of memory
 * Not thread-safe for one ELF; distinct ELF handles may be compiled in
 * parallel.
 */
int srv_cfi_compile(Elf *elf, const struct srv_cfi_target *t, struct srv_cfi_rows *out, char *err,
		    size_t errlen);

/* Free R's rows and empty it. NULL is a no-op. */
void srv_cfi_rows_clear(struct srv_cfi_rows *r);

/*
 * A small cache of compiled rows, keyed by host file, its build-id and the
 * target: memtrace asks for the same module again (another process, a new
 * attach) and a C library takes milliseconds, not nothing. It keeps at
 * most SRV_CFI_CACHE_ENTRIES modules and SRV_CFI_CACHE_BYTES of rows,
 * forgetting the oldest first. Not thread-safe: one per decoder (decoders
 * are one per thread).
 */
#define SRV_CFI_CACHE_ENTRIES 16
#define SRV_CFI_CACHE_BYTES (64u << 20)

struct srv_cfi_cache;

/* An empty cache. Exits when memory runs out, as the server's other caches. */
struct srv_cfi_cache *srv_cfi_cache_new(void);
/* Free C and every row it keeps. NULL is a no-op. */
void srv_cfi_cache_free(struct srv_cfi_cache *c);

/*
 * The rows kept for host file PATH with build-id BUILD_ID ("" when it has
 * none) and target T, and in *SOURCE the file they were compiled from
 * (PATH or its debug file); NULL when none are kept. Both stay valid until
 * the next srv_cfi_cache_put or srv_cfi_cache_free.
 */
const struct srv_cfi_rows *srv_cfi_cache_get(struct srv_cfi_cache *c, const char *path, const char *build_id,
					     const struct srv_cfi_target *t, const char **source);

/*
 * Keep ROWS (taken: *ROWS is left empty) for PATH, BUILD_ID and T, compiled
 * from host file SOURCE (copied). Rows larger than the whole cache are not
 * kept (freed). Exits when memory runs out.
 */
void srv_cfi_cache_put(struct srv_cfi_cache *c, const char *path, const char *build_id,
		       const struct srv_cfi_target *t, const char *source, struct srv_cfi_rows *rows);

#endif
