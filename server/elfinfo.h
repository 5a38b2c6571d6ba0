/*
 * What the module resolver needs to know of a candidate host file before it
 * decodes with it: its GNU build-id, whether it holds DWARF, and where its
 * separate debug file is said to be (.gnu_debuglink).
 */
#ifndef SRV_ELFINFO_H
#define SRV_ELFINFO_H

#include <stdint.h>

/* Hex digits of the longest build-id taken (a SHA-1 one has 40). */
#define SRV_BUILD_ID_MAX 128

struct srv_elfinfo {
	char build_id[SRV_BUILD_ID_MAX + 1]; /* lowercase hex; "" when the file has none */
	int has_dwarf;			     /* a .debug_info section with contents */
	char *debuglink;		     /* .gnu_debuglink file name (malloc'ed), or NULL */
	uint32_t debuglink_crc;
};

/*
 * Read FD (an open ELF file; not closed, its offset not used) into *INFO.
 * 0, or -1 when it is not an ELF file libelf can read. Release with
 * srv_elfinfo_clear.
 */
int srv_elfinfo_read(int fd, struct srv_elfinfo *info);
void srv_elfinfo_clear(struct srv_elfinfo *info);

/* The CRC-32 .gnu_debuglink records, of the whole file FD. 0 or -1 (errno). */
int srv_file_crc32(int fd, uint32_t *crc);

/* 1 when S is a build-id as the raw report carries it: 4 to 128 lowercase hex digits, an even count. */
int srv_build_id_valid(const char *s);

#endif
