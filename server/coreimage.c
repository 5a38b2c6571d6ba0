/*
 * A core file as the image of a stopped process (coreimage.h).
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coreimage.h"
#include "log.h"
#include "util.h"

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif
#define MAX_SEGMENTS (1u << 20)
#define MAX_THREADS 65536
#define MAX_REGS 64
#define BUILD_ID_MAX 64		/* bytes of build-id shown */

/* A program header, of either class. */
struct phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, filesz, memsz;
};

struct seg {
	uint64_t lo, hi, filesz, offset;	/* [lo, lo + filesz) is in the file at offset */
	uint32_t flags;				/* PF_R, PF_W, PF_X */
	uint64_t file_ofs;			/* the mapping's offset in the file NT_FILE names, or 0 */
};

/* A module's placement, worked out on the first address asked about. */
struct module {
	const char *path;
	uint64_t bias;
	char build_id[2 * BUILD_ID_MAX + 1];
	int done;
};

struct srv_coreimage {
	const unsigned char *data;
	size_t len;
	void *mapped;			/* srv_coreimage_open's mmap, or NULL */
	int is64;
	unsigned ws;			/* word size: 4 or 8 */
	int machine;
	struct seg *segs;
	struct leak_map *maps;		/* one per PT_LOAD, in address order */
	size_t nsegs;
	struct module *mods;
	size_t nmods;
	struct leak_thread *threads;
	uint64_t *words;
	size_t nthreads, cap;
	int pid;
	struct memsrc mem;
	struct leak_image img;
	char name[];			/* for messages */
};

/* The SIZE-byte little-endian field at P: the host is little-endian, as every core read here (checked). */
static uint64_t get(const unsigned char *p, unsigned size)
{
	uint64_t v = 0;

	memcpy(&v, p, size);
	return v;
}

/* The program header at P of the class (64-bit or not). */
static void phdr_at(int is64, const unsigned char *p, struct phdr *h)
{
	if (is64) {
		h->type = (uint32_t)get(p, 4);
		h->flags = (uint32_t)get(p + 4, 4);
		h->offset = get(p + 8, 8);
		h->vaddr = get(p + 16, 8);
		h->filesz = get(p + 32, 8);
		h->memsz = get(p + 40, 8);
	} else {
		h->type = (uint32_t)get(p, 4);
		h->offset = get(p + 4, 4);
		h->vaddr = get(p + 8, 4);
		h->filesz = get(p + 16, 4);
		h->memsz = get(p + 20, 4);
		h->flags = (uint32_t)get(p + 24, 4);
	}
}

/* e_phoff, e_phentsize, e_phnum of the ELF header at P (EI_NIDENT and the class checked by the caller). */
static void ehdr_phdrs(int is64, const unsigned char *p, uint64_t *off, unsigned *entsize, unsigned *num)
{
	*off = is64 ? get(p + 32, 8) : get(p + 28, 4);
	*entsize = (unsigned)get(p + (is64 ? 54 : 42), 2);
	*num = (unsigned)get(p + (is64 ? 56 : 44), 2);
}

/* ---------------------------------------------------------------- memory */

/* The segment holding ADDR: the maps are the segments', in the same order. */
static const struct seg *seg_of(const struct srv_coreimage *ci, uint64_t addr)
{
	const struct leak_map *m = leak_map_of(ci->maps, ci->nsegs, addr);

	return m ? &ci->segs[m - ci->maps] : NULL;
}

/* memsrc.read: what the core holds, whole, or EFAULT (a segment without contents too). */
static int core_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	const struct srv_coreimage *ci = arg;
	unsigned char *to = buf;

	while (len) {
		const struct seg *s = seg_of(ci, addr);
		uint64_t n;

		if (!s || addr - s->lo >= s->filesz) {
			errno = EFAULT;
			return -1;
		}
		n = s->filesz - (addr - s->lo);
		if (n > len)
			n = len;
		memcpy(to, ci->data + s->offset + (addr - s->lo), (size_t)n);
		to += n;
		addr += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---------------------------------------------------------------- notes */

static int bad(struct srv_coreimage *ci, const char *what)
{
	return log_err("%s: not a core memtrace can read: %s", ci->name, what);
}

/* NT_FILE: each entry's path to the map that starts there. */
static int note_file(struct srv_coreimage *ci, const unsigned char *d, uint64_t size)
{
	unsigned ws = ci->ws;
	uint64_t count, names;
	const char *name, *end = (const char *)d + size;

	if (size < 2 * ws)
		return bad(ci, "NT_FILE is too short");
	count = get(d, ws);
	if (count > (size - 2 * ws) / (3 * ws))
		return bad(ci, "NT_FILE counts more files than it holds");
	names = 2 * ws + count * 3 * ws;
	name = (const char *)d + names;
	for (uint64_t i = 0; i < count; i++) {
		const unsigned char *e = d + 2 * ws + i * 3 * ws;
		const char *nul = memchr(name, '\0', (size_t)(end - name));
		uint64_t start = get(e, ws), page = get(d + ws, ws);

		if (!nul)
			return bad(ci, "NT_FILE's names are cut short");
		for (size_t k = 0; k < ci->nsegs; k++)
			if (ci->maps[k].lo == start) {
				ci->maps[k].path = name;
				ci->segs[k].file_ofs = get(e + 2 * ws, ws) * page;
			}
		name = nul + 1;
	}
	return 0;
}

/* General registers in NT_PRSTATUS: their count and the stack pointer's index, by machine. */
static int regs_of(int machine, int is64, unsigned *n, unsigned *sp)
{
	switch (machine) {
	/* 45 words: r0-r31 (after 6 words of padding on o32), lo, hi, epc, badvaddr, status, cause */
	case EM_MIPS: *n = 45; *sp = is64 ? 29 : 6 + 29; return 0;
	case EM_X86_64: *n = 27; *sp = 19; return 0;	/* user_regs_struct: rsp */
	case EM_386: *n = 17; *sp = 15; return 0;	/* user_regs_struct: esp */
	case EM_AARCH64: *n = 34; *sp = 31; return 0;	/* x0-x30, sp, pc, pstate */
	case EM_ARM: *n = 18; *sp = 13; return 0;	/* r0-r15, cpsr, orig_r0 */
	default: return -1;
	}
}

static int note_prstatus(struct srv_coreimage *ci, const unsigned char *d, uint64_t size)
{
	unsigned n, sp;
	uint64_t reg_off = ci->is64 ? 112 : 72, pid_off = ci->is64 ? 32 : 24;
	struct leak_thread *t;
	uint64_t *w;

	if (regs_of(ci->machine, ci->is64, &n, &sp) < 0)
		return log_err("%s: cores of machine %d are not judged yet (x86_64, i386, aarch64, arm)", ci->name,
			       ci->machine);
	if (size < reg_off + (uint64_t)n * ci->ws)
		return bad(ci, "NT_PRSTATUS is too short for its machine's registers");
	if (ci->nthreads == ci->cap)
		return bad(ci, "the threads' notes changed between two reads");
	w = &ci->words[ci->nthreads * MAX_REGS];
	for (unsigned i = 0; i < n; i++)
		w[i] = get(d + reg_off + (uint64_t)i * ci->ws, ci->ws);
	t = &ci->threads[ci->nthreads++];
	*t = (struct leak_thread){ .tid = (int)get(d + pid_off, 4), .regs = w, .nregs = n, .sp = w[sp] };
	if (!ci->pid)
		ci->pid = t->tid;
	return 0;
}

/* Every note of the PT_NOTE segment at [OFF, OFF + SIZE) of the file; with COUNT, only the threads counted. */
static int notes(struct srv_coreimage *ci, uint64_t off, uint64_t size, int count)
{
	const unsigned char *p = ci->data + off, *end = p + size;

	while (end - p >= 12) {
		uint64_t namesz = get(p, 4), descsz = get(p + 4, 4), type = get(p + 8, 4);
		uint64_t name_pad = (namesz + 3) & ~3ull, desc_pad = (descsz + 3) & ~3ull;
		const unsigned char *desc = p + 12 + name_pad;
		int r = 0;

		if (name_pad > (uint64_t)(end - p - 12) || desc_pad > (uint64_t)(end - desc))
			return bad(ci, "a note runs past its segment");
		if (type == NT_PRSTATUS && namesz == 5 && !memcmp(p + 12, "CORE", 5) && count)
			r = ci->cap++ == MAX_THREADS ? bad(ci, "too many threads") : 0;
		else if (type == NT_PRSTATUS && namesz == 5 && !memcmp(p + 12, "CORE", 5))
			r = note_prstatus(ci, desc, descsz);
		else if (type == NT_FILE && namesz == 5 && !memcmp(p + 12, "CORE", 5) && !count)
			r = note_file(ci, desc, descsz);
		if (r < 0)
			return -1;
		p = desc + desc_pad;
	}
	return 0;
}

/* ---------------------------------------------------------------- the image */

static int seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The PT_LOAD segments as the memory and the maps, in address order; then the notes. */
static int load_segments(struct srv_coreimage *ci, uint64_t phoff, unsigned entsize, unsigned num)
{
	uint64_t note_off = 0, note_size = 0;

	if (entsize != (ci->is64 ? 56u : 32u) || phoff > ci->len || (uint64_t)num * entsize > ci->len - phoff)
		return bad(ci, "its program headers are not inside the file");
	ci->segs = xcalloc(num + 1u, sizeof(*ci->segs));
	for (unsigned i = 0; i < num; i++) {
		struct phdr h;

		phdr_at(ci->is64, ci->data + phoff + (uint64_t)i * entsize, &h);
		if (h.type == PT_NOTE && !note_size) {
			if (h.offset > ci->len || h.filesz > ci->len - h.offset)
				return bad(ci, "its notes are not inside the file");
			note_off = h.offset;
			note_size = h.filesz;
		}
		if (h.type != PT_LOAD || !h.memsz)
			continue;
		if (h.filesz > h.memsz || h.offset > ci->len || h.filesz > ci->len - h.offset ||
		    h.vaddr + h.memsz < h.vaddr || (!ci->is64 && h.vaddr + h.memsz > (1ull << 32)))
			return bad(ci, "a segment is not inside the file or wraps the address space");
		ci->segs[ci->nsegs++] = (struct seg){ h.vaddr, h.vaddr + h.memsz, h.filesz, h.offset, h.flags, 0 };
	}
	qsort(ci->segs, ci->nsegs, sizeof(*ci->segs), seg_cmp);
	ci->maps = xcalloc(ci->nsegs + 1, sizeof(*ci->maps));
	for (size_t i = 0; i < ci->nsegs; i++) {
		const struct seg *g = &ci->segs[i];

		if (i && g->lo < ci->segs[i - 1].hi)
			return bad(ci, "two segments overlap");
		ci->maps[i] = (struct leak_map){ .lo = g->lo, .hi = g->hi, .path = "" };
		snprintf(ci->maps[i].perms, sizeof(ci->maps[i].perms), "%c%c%cp", g->flags & PF_R ? 'r' : '-',
			 g->flags & PF_W ? 'w' : '-', g->flags & PF_X ? 'x' : '-');
	}
	/* The threads counted first: their registers' words in one allocation after them. */
	if (notes(ci, note_off, note_size, 1) < 0)
		return -1;
	ci->threads = xcalloc(1, ci->cap * (sizeof(*ci->threads) + MAX_REGS * sizeof(*ci->words)) + 1);
	ci->words = (uint64_t *)(ci->threads + ci->cap);
	return notes(ci, note_off, note_size, 0);
}

struct srv_coreimage *srv_coreimage_from(const void *data, size_t len, const char *name)
{
	struct srv_coreimage *ci = xcalloc(1, sizeof(*ci) + strlen(name) + 1);
	const unsigned char *e = data;
	uint64_t phoff;
	unsigned entsize, num;

	ci->data = data;
	ci->len = len;
	strcpy(ci->name, name);
	if (len < 64 || memcmp(e, ELFMAG, SELFMAG) || (e[EI_CLASS] != ELFCLASS32 && e[EI_CLASS] != ELFCLASS64)) {
		bad(ci, "no ELF header");
		goto fail;
	}
	if (e[EI_DATA] != ELFDATA2LSB || get(e + 16, 2) != ET_CORE) {
		bad(ci, e[EI_DATA] != ELFDATA2LSB ? "big-endian" : "an ELF file, but not a core");
		goto fail;
	}
	ci->is64 = e[EI_CLASS] == ELFCLASS64;
	ci->ws = ci->is64 ? 8 : 4;
	ci->machine = (int)get(e + 18, 2);
	ehdr_phdrs(ci->is64, e, &phoff, &entsize, &num);
	if (load_segments(ci, phoff, entsize, num) < 0)
		goto fail;
	ci->mem = (struct memsrc){ .read = core_read, .arg = ci, .ptr_size = ci->ws };
	ci->img = (struct leak_image){ .mem = &ci->mem, .where = ci->name, .maps = ci->maps, .nmaps = ci->nsegs,
				       .red_zone = ci->machine == EM_X86_64 ? 128 : 0, .cheap_reads = 1 };
	return ci;
fail:
	srv_coreimage_close(ci);
	return NULL;
}

struct srv_coreimage *srv_coreimage_open(int fd, const char *name)
{
	struct srv_coreimage *ci;
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 64 || (uint64_t)st.st_size > SIZE_MAX) {
		log_err("%s: not a core: %s", name, S_ISREG(st.st_mode) ? "too short" : "not a regular file");
		return NULL;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		log_err("%s: cannot map it: %s", name, strerror(errno));
		return NULL;
	}
	ci = srv_coreimage_from(p, (size_t)st.st_size, name);
	if (!ci) {
		munmap(p, (size_t)st.st_size);
		return NULL;
	}
	ci->mapped = p;
	return ci;
}

struct leak_image *srv_coreimage_image(struct srv_coreimage *ci)
{
	return &ci->img;
}

const struct leak_thread *srv_coreimage_threads(const struct srv_coreimage *ci, size_t *n)
{
	*n = ci->nthreads;
	return ci->threads;
}

int srv_coreimage_pid(const struct srv_coreimage *ci)
{
	return ci->pid;
}

/* ---------------------------------------------------------------- modules */

/* The build-id in the notes at [ADDR, ADDR + SIZE) of the memory, into HEX. */
static void build_id_at(struct srv_coreimage *ci, uint64_t addr, uint64_t size, char *hex)
{
	unsigned char buf[1024];
	const unsigned char *p = buf, *end;

	if (size > sizeof(buf))
		size = sizeof(buf);
	if (core_read(ci, addr, buf, (size_t)size) < 0)
		return;
	end = buf + size;
	while (end - p >= 12) {
		uint64_t namesz = get(p, 4), descsz = get(p + 4, 4), type = get(p + 8, 4);
		const unsigned char *desc = p + 12 + ((namesz + 3) & ~3ull);

		if (namesz > (uint64_t)(end - p) || desc > end || descsz > (uint64_t)(end - desc))
			return;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && !memcmp(p + 12, "GNU", 4) && descsz <= BUILD_ID_MAX) {
			for (uint64_t i = 0; i < descsz; i++)
				sprintf(hex + 2 * i, "%02x", desc[i]);
			return;
		}
		p = desc + ((descsz + 3) & ~3ull);
	}
}

/*
 * Where module PATH is loaded: its ELF header is at the start of its
 * mapping of file offset 0 (read from the core), the bias is that address
 * less its first PT_LOAD's page; its build-id from its PT_NOTE. Without a
 * readable header, the map's own start less its file offset.
 */
static void place(struct srv_coreimage *ci, struct module *m, const struct leak_map *any, uint64_t any_ofs)
{
	unsigned char e[64], ph[56];
	uint64_t lo = 0, phoff;
	unsigned entsize, num;
	int found = 0;

	m->bias = any->lo - any_ofs;
	for (size_t i = 0; i < ci->nsegs; i++)
		if (ci->segs[i].file_ofs == 0 && !strcmp(ci->maps[i].path, m->path)) {
			lo = ci->maps[i].lo;
			found = 1;
			break;
		}
	if (!found || core_read(ci, lo, e, sizeof(e)) < 0 || memcmp(e, ELFMAG, SELFMAG) ||
	    e[EI_CLASS] != (ci->is64 ? ELFCLASS64 : ELFCLASS32))
		return;
	ehdr_phdrs(ci->is64, e, &phoff, &entsize, &num);
	if (entsize != (ci->is64 ? 56u : 32u))
		return;
	for (unsigned i = 0, loads = 0; i < num && i < 256; i++) {
		struct phdr h;

		if (core_read(ci, lo + phoff + (uint64_t)i * entsize, ph, entsize) < 0)
			return;
		phdr_at(ci->is64, ph, &h);
		if (h.type == PT_LOAD && !loads++)
			m->bias = lo - (h.vaddr & ~(uint64_t)0xfff);
		if (h.type == PT_NOTE && !m->build_id[0] && loads)
			build_id_at(ci, m->bias + h.vaddr, h.filesz, m->build_id);
	}
}

void srv_coreimage_where(struct srv_coreimage *ci, uint64_t addr, struct srv_coreimage_where *w)
{
	const struct seg *g = seg_of(ci, addr);
	const struct leak_map *map = g ? &ci->maps[g - ci->segs] : NULL;
	struct module *m = NULL;

	memset(w, 0, sizeof(*w));
	if (!map || !map->path[0] || map->path[0] != '/')
		return;
	for (size_t i = 0; i < ci->nmods && !m; i++)
		if (!strcmp(ci->mods[i].path, map->path))
			m = &ci->mods[i];
	if (!m) {
		ci->mods = realloc(ci->mods, (ci->nmods + 1) * sizeof(*ci->mods));
		if (!ci->mods)
			log_oom();
		m = &ci->mods[ci->nmods++];
		*m = (struct module){ .path = map->path };
		place(ci, m, map, g->file_ofs);
	}
	w->module = m->path;
	w->offset = addr - m->bias;
	w->build_id = m->build_id[0] ? m->build_id : NULL;
}
void srv_coreimage_close(struct srv_coreimage *ci)
{
	if (!ci)
		return;
	if (ci->mapped)
		munmap(ci->mapped, ci->len);
	free(ci->segs);
	free(ci->maps);
	free(ci->mods);
	free(ci->threads);
	free(ci);
}
