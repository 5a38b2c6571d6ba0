/*
 * Build-id, DWARF presence and debuglink of a host file, with libelf and
 * libdwelf (which looks for the build-id note in the sections, then in the
 * program headers of a file without sections).
 */
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfinfo.h"
#include "util.h"

int srv_build_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 4 || n > SRV_BUILD_ID_MAX || n % 2)
		return 0;
	return strspn(s, "0123456789abcdef") == n;
}

static int has_debug_info(Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || !sh.sh_size)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && (!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info")))
			return 1;
	}
	return 0;
}

int srv_elfinfo_read(int fd, struct srv_elfinfo *info)
{
	const unsigned char *id;
	const char *link;
	GElf_Word crc;
	ssize_t n;
	Elf *elf;

	memset(info, 0, sizeof(*info));
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -1;
	if (elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		return -1;
	}
	n = dwelf_elf_gnu_build_id(elf, (const void **)&id);
	if (n > 0 && (size_t)n * 2 <= SRV_BUILD_ID_MAX)
		for (ssize_t i = 0; i < n; i++)
			snprintf(info->build_id + 2 * i, 3, "%02x", id[i]);
	info->has_dwarf = has_debug_info(elf);
	link = dwelf_elf_gnu_debuglink(elf, &crc);
	if (link && *link) {
		info->debuglink = xstrdup(link);
		info->debuglink_crc = crc;
	}
	elf_end(elf);
	return 0;
}

void srv_elfinfo_clear(struct srv_elfinfo *info)
{
	free(info->debuglink);
	info->debuglink = NULL;
}

/* The reflected CRC-32 (polynomial 0xedb88320) that GNU tools use for debuglinks. */
int srv_file_crc32(int fd, uint32_t *crc)
{
	static uint32_t table[256];
	unsigned char buf[65536];
	uint32_t c = 0xffffffffu;
	off_t off = 0;
	ssize_t n;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t v = i;

			for (int k = 0; k < 8; k++)
				v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
			table[i] = v;
		}
	while ((n = pread(fd, buf, sizeof(buf), off)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (ssize_t i = 0; i < n; i++)
			c = table[(c ^ buf[i]) & 0xff] ^ (c >> 8);
		off += n;
	}
	*crc = c ^ 0xffffffffu;
	return 0;
}
