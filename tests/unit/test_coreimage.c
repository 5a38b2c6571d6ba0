/*
 * Unit test for the core reader of memtrace-server's leaks (server/
 * coreimage.c): cores made here, byte by byte, of the three layouts it reads
 * (x86_64, aarch64: 64-bit; 32-bit ARM), each with one thread
 * (NT_PRSTATUS: its stack pointer at the machine's index), NT_FILE naming a
 * module whose first page holds an ELF header with a build-id note, a
 * writable segment, a stack segment and a segment written without
 * contents. Checked: the threads, maps, permissions and paths; memory reads
 * inside, across and outside segments; where an address is (module, ELF
 * offset, build-id); then damaged cores (every truncation, a wrong type or
 * byte order, overlapping segments, notes and NT_FILE counts that run past
 * their end) are refused, never read past the buffer (the test runs under
 * AddressSanitizer).
 *
 * Exit status: 0 pass, 1 fail (one "FAIL file:line" line per failed check).
 */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "coreimage.h"
#include "log.h"

#define BASE 0x400000u
#define DATA 0x601000u
#define STACK 0x7ff000u
#define EMPTY 0x900000u
#define PAGE 0x1000u

struct buf {
	unsigned char p[65536];
	size_t n;
};

static size_t put(struct buf *b, const void *p, size_t n)
{
	size_t at = b->n;

	memcpy(b->p + b->n, p, n);
	b->n += n;
	return at;
}

static void put_word(unsigned char *at, uint64_t v, unsigned size)
{
	memcpy(at, &v, size);	/* little-endian host, as the cores */
}

static void note(struct buf *b, const char *name, uint32_t type, const void *desc, uint32_t size)
{
	uint32_t h[3] = { (uint32_t)strlen(name) + 1, size, type };
	static const unsigned char zero[4];

	put(b, h, sizeof(h));
	put(b, name, h[0]);
	put(b, zero, (4 - h[0] % 4) % 4);
	put(b, desc, size);
	put(b, zero, (4 - size % 4) % 4);
}

/* The ELF and program headers of the class, for the core and for the module's page. */
static void ehdr(unsigned char *e, int is64, uint16_t type, uint16_t machine, uint16_t phnum)
{
	memcpy(e, ELFMAG, SELFMAG);
	e[EI_CLASS] = is64 ? ELFCLASS64 : ELFCLASS32;
	e[EI_DATA] = ELFDATA2LSB;
	e[EI_VERSION] = EV_CURRENT;
	put_word(e + 16, type, 2);
	put_word(e + 18, machine, 2);
	if (is64) {
		put_word(e + 32, 64, 8);	/* e_phoff */
		put_word(e + 52, 64, 2);
		put_word(e + 54, 56, 2);
		put_word(e + 56, phnum, 2);
	} else {
		put_word(e + 28, 52, 4);
		put_word(e + 40, 52, 2);
		put_word(e + 42, 32, 2);
		put_word(e + 44, phnum, 2);
	}
}

static void phdr(unsigned char *p, int is64, uint32_t type, uint32_t flags, uint64_t off, uint64_t vaddr,
		 uint64_t filesz, uint64_t memsz)
{
	/* p_type, p_flags, p_offset, p_vaddr, p_filesz, p_memsz: where each is in the class's Phdr */
	static const unsigned at64[] = { 0, 4, 8, 16, 32, 40 }, at32[] = { 0, 24, 4, 8, 16, 20 };
	const uint64_t v[] = { type, flags, off, vaddr, filesz, memsz };

	for (unsigned i = 0; i < 6; i++)
		put_word(p + (is64 ? at64 : at32)[i], v[i], is64 && i >= 2 ? 8 : 4);
}

struct layout {
	const char *name;
	int is64;
	uint16_t machine;
	unsigned nregs, sp;
};

/* The core of L into B; the build-id's 20 bytes are 0, 1, ... 19. */
static void make_core(struct buf *b, const struct layout *l)
{
	unsigned ws = l->is64 ? 8 : 4, ehsz = l->is64 ? 64 : 52, phsz = l->is64 ? 56 : 32, nph = 5;
	unsigned char mod[PAGE], pr[512], nf[256], bid[20];
	struct buf notes = { .n = 0 };
	size_t regoff = l->is64 ? 112 : 72, prsz = regoff + (l->nregs + 1) * ws, nfsz, off;
	const char *path = "/usr/bin/prog";
	struct buf idn = { .n = 0 };

	/* The module's first page: its ELF header, PT_LOAD at 0, PT_NOTE at 0x200 with the build-id. */
	memset(mod, 0, sizeof(mod));
	for (unsigned i = 0; i < sizeof(bid); i++)
		bid[i] = (unsigned char)i;
	note(&idn, "GNU", NT_GNU_BUILD_ID, bid, sizeof(bid));
	ehdr(mod, l->is64, ET_DYN, l->machine, 2);
	phdr(mod + ehsz, l->is64, PT_LOAD, PF_R | PF_X, 0, 0, PAGE, PAGE);
	phdr(mod + ehsz + phsz, l->is64, PT_NOTE, PF_R, 0x200, 0x200, idn.n, idn.n);
	memcpy(mod + 0x200, idn.p, idn.n);
	/* The notes: one thread, its stack pointer in the stack segment; NT_FILE naming the module. */
	memset(pr, 0, sizeof(pr));
	put_word(pr + (l->is64 ? 32 : 24), 42, 4);
	put_word(pr + regoff + l->sp * ws, STACK + 0x800, ws);
	put_word(pr + regoff, 0xdead, ws);	/* a register's value, read as a word */
	note(&notes, "CORE", NT_PRSTATUS, pr, (uint32_t)prsz);
	put_word(nf, 1, ws);
	put_word(nf + ws, PAGE, ws);
	put_word(nf + 2 * ws, BASE, ws);
	put_word(nf + 3 * ws, BASE + PAGE, ws);
	put_word(nf + 4 * ws, 0, ws);
	nfsz = 5 * ws + strlen(path) + 1;
	memcpy(nf + 5 * ws, path, strlen(path) + 1);
	note(&notes, "CORE", 0x46494c45 /* NT_FILE */, nf, (uint32_t)nfsz);
	/* The core: headers, notes, then the contents of the three segments that have some. */
	b->n = ehsz + nph * phsz;
	memset(b->p, 0, b->n);
	ehdr(b->p, l->is64, ET_CORE, l->machine, (uint16_t)nph);
	off = put(b, notes.p, notes.n);
	phdr(b->p + ehsz, l->is64, PT_NOTE, 0, off, 0, notes.n, 0);
	off = put(b, mod, PAGE);
	phdr(b->p + ehsz + phsz, l->is64, PT_LOAD, PF_R | PF_X, off, BASE, PAGE, PAGE);
	memset(b->p + b->n, 'd', PAGE);
	off = b->n;
	b->n += PAGE;
	phdr(b->p + ehsz + 2 * phsz, l->is64, PT_LOAD, PF_R | PF_W, off, DATA, PAGE, PAGE);
	memset(b->p + b->n, 's', PAGE);
	off = b->n;
	b->n += PAGE;
	phdr(b->p + ehsz + 3 * phsz, l->is64, PT_LOAD, PF_R | PF_W, off, STACK, PAGE, PAGE);
	/* Written without contents: the process could not read it. */
	phdr(b->p + ehsz + 4 * phsz, l->is64, PT_LOAD, 0, b->n, EMPTY, 0, PAGE);
}

static void check_layout(const struct layout *l)
{
	static struct buf b;
	struct srv_coreimage *ci;
	struct srv_coreimage_where w;
	const struct leak_thread *t;
	struct leak_image *img;
	unsigned char x[16];
	size_t nt;

	make_core(&b, l);
	ci = srv_coreimage_from(b.p, b.n, l->name);
	CHECK(ci != NULL, "%s: the core is refused", l->name);
	if (!ci)
		return;
	img = srv_coreimage_image(ci);
	t = srv_coreimage_threads(ci, &nt);
	CHECK(nt == 1 && t[0].tid == 42 && t[0].sp == STACK + 0x800 && t[0].nregs == l->nregs && t[0].regs[0] == 0xdead,
	      "%s: thread: %zu, tid %d, sp %#llx, %zu regs", l->name, nt, nt ? t[0].tid : 0,
	      nt ? (unsigned long long)t[0].sp : 0ull, nt ? t[0].nregs : 0);
	CHECK(srv_coreimage_pid(ci) == 42, "%s: pid %d", l->name, srv_coreimage_pid(ci));
	CHECK(img->nmaps == 4 && img->mem->ptr_size == (l->is64 ? 8u : 4u), "%s: %zu maps", l->name, img->nmaps);
	if (img->nmaps == 4) {
		CHECK(!strcmp(img->maps[0].perms, "r-xp") && !strcmp(img->maps[0].path, "/usr/bin/prog"),
		      "%s: the module's map: %s %s", l->name, img->maps[0].perms, img->maps[0].path);
		CHECK(!strcmp(img->maps[1].perms, "rw-p") && !img->maps[1].path[0], "%s: the data map", l->name);
		CHECK(!strcmp(img->maps[3].perms, "---p") && img->maps[3].hi == EMPTY + PAGE, "%s: the empty map", l->name);
	}
	CHECK(img->red_zone == (l->machine == EM_X86_64 ? 128u : 0u), "%s: red zone %llu", l->name,
	      (unsigned long long)img->red_zone);
	/* Reads: inside, across two segments that touch (none here), outside, in one without contents. */
	CHECK(img->mem->read(img->mem->arg, DATA + 10, x, sizeof(x)) == 0 && x[0] == 'd' && x[15] == 'd',
	      "%s: a read inside the data segment", l->name);
	CHECK(img->mem->read(img->mem->arg, DATA + PAGE - 8, x, 16) < 0 && errno == EFAULT,
	      "%s: a read running past a segment's end is EFAULT", l->name);
	CHECK(img->mem->read(img->mem->arg, 0x500000, x, 8) < 0 && errno == EFAULT, "%s: unmapped: EFAULT", l->name);
	CHECK(img->mem->read(img->mem->arg, EMPTY, x, 8) < 0 && errno == EFAULT, "%s: without contents: EFAULT",
	      l->name);
	/* Where a return address is. */
	srv_coreimage_where(ci, BASE + 0x123, &w);
	CHECK(w.module && !strcmp(w.module, "/usr/bin/prog") && w.offset == 0x123 && w.build_id &&
		      !strcmp(w.build_id, "000102030405060708090a0b0c0d0e0f10111213"),
	      "%s: where %#x: %s +%#llx build-id %s", l->name, BASE + 0x123, w.module ? w.module : "(none)",
	      (unsigned long long)w.offset, w.build_id ? w.build_id : "(none)");
	srv_coreimage_where(ci, DATA + 8, &w);
	CHECK(!w.module, "%s: an anonymous address is in no module", l->name);
	srv_coreimage_close(ci);
}

/* Damaged copies of the x86_64 core: each refused (or, cut after the notes, read as far as it holds). */
static void check_damage(const struct layout *l)
{
	static struct buf b, d;
	struct srv_coreimage *ci;
	unsigned phsz = 56;

	int err = dup(2), null = open("/dev/null", O_WRONLY);

	/* The refusals' messages (one per damaged core) are not this test's output. */
	if (err < 0 || null < 0 || dup2(null, 2) < 0)
		broken("stderr to /dev/null");
	close(null);
	make_core(&b, l);
	for (size_t n = 0; n < b.n; n += n < 1024 ? 1 : 97) {
		ci = srv_coreimage_from(b.p, n, "cut");
		CHECK(!ci || n >= 64 + 5 * 56, "a core cut to %zu bytes is read", n);
		srv_coreimage_close(ci);
	}
	d = b;
	put_word(d.p + 16, ET_EXEC, 2);
	CHECK(!srv_coreimage_from(d.p, d.n, "exec"), "an ELF executable is read as a core");
	d = b;
	d.p[EI_DATA] = ELFDATA2MSB;
	CHECK(!srv_coreimage_from(d.p, d.n, "msb"), "a big-endian core is read");
	d = b;
	put_word(d.p + 64 + 2 * phsz + 16, BASE + 0x800, 8);	/* the data segment over the module */
	CHECK(!srv_coreimage_from(d.p, d.n, "overlap"), "overlapping segments are read");
	d = b;
	put_word(d.p + 64 + 32, 1u << 20, 8);	/* PT_NOTE's p_filesz past the end */
	CHECK(!srv_coreimage_from(d.p, d.n, "notes"), "notes past the file's end are read");
	d = b;
	put_word(d.p + 64 + 2 * phsz + 8, d.n, 8);	/* a segment's contents past the end */
	CHECK(!srv_coreimage_from(d.p, d.n, "contents"), "a segment past the file's end is read");
	if (dup2(err, 2) < 0)
		broken("stderr back");
	close(err);
}

int main(void)
{
	static const struct layout layouts[] = {
		{ "x86_64", 1, EM_X86_64, 27, 19 },
		{ "aarch64", 1, EM_AARCH64, 34, 31 },
		{ "arm", 0, EM_ARM, 18, 13 },
	};

	log_set_level(LOG_ERR);
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		check_layout(&layouts[i]);
	check_damage(&layouts[0]);
	return check_done();
}
