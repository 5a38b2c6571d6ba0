/*
 * Symbol tables with libelf. Per module: function symbols sorted by address,
 * one per address (a global name beats a weak one beats a local one, so
 * "malloc" wins over "__libc_malloc"). A symbol with a size covers only its
 * extent: outside every extent an address gets no name rather than a wrong
 * one (stripped modules keep only exported names in .dynsym). The module's
 * build-id is read at the same time: the host matches debug files with it.
 */
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfsym.h"
#include "log.h"
#include "util.h"

struct sym {
	uint64_t start;
	uint64_t size;
	int bind_rank;
	char *name;
};

struct symtab {
	char *path;
	char *build_id; /* hex, or NULL */
	struct sym *syms;
	size_t n;
	struct symtab *next;
};

struct inj_symcache {
	char *root;
	struct symtab *tabs;
};

struct inj_symcache *inj_symcache_new(const char *root)
{
	struct inj_symcache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		free(c);
		return NULL;
	}
	c->root = xstrdup(root ? root : "");
	return c;
}

void inj_symcache_free(struct inj_symcache *c)
{
	if (!c)
		return;
	while (c->tabs) {
		struct symtab *t = c->tabs;

		c->tabs = t->next;
		for (size_t i = 0; i < t->n; i++)
			free(t->syms[i].name);
		free(t->syms);
		free(t->build_id);
		free(t->path);
		free(t);
	}
	free(c->root);
	free(c);
}

static int bind_rank(unsigned bind)
{
	return bind == STB_GLOBAL ? 2 : bind == STB_WEAK ? 1 : 0;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->bind_rank != y->bind_rank)
		return y->bind_rank - x->bind_rank;
	return strcmp(x->name, y->name);
}

/* Read the function and data object symbols of section SCN into T (objects: what a block's first word points to). */
static void read_syms(Elf *elf, Elf_Scn *scn, GElf_Shdr *sh, struct symtab *t)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t count = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
	size_t cap = 0;
	GElf_Ehdr eh;
	/* A Thumb function's value has bit 0 set; its code starts one lower. */
	uint64_t code_mask = gelf_getehdr(elf, &eh) && eh.e_machine == EM_ARM ? ~(uint64_t)1 : ~(uint64_t)0;

	if (!data)
		return;
	for (size_t i = 0; i < count; i++) {
		GElf_Sym s;
		const char *name;
		unsigned type;

		if (!gelf_getsym(data, (int)i, &s))
			break;
		type = GELF_ST_TYPE(s.st_info);
		/* Objects only with a size: one without would cover what follows it (code, for a pc). */
		if ((type != STT_FUNC && type != STT_GNU_IFUNC && (type != STT_OBJECT || !s.st_size)) ||
		    s.st_shndx == SHN_UNDEF || !s.st_value)
			continue;
		name = elf_strptr(elf, sh->sh_link, s.st_name);
		if (!name || !*name)
			continue;
		if (t->n == cap) {
			cap = cap ? cap * 2 : 256;
			t->syms = realloc(t->syms, cap * sizeof(*t->syms));
			if (!t->syms)
				log_oom();
		}
		t->syms[t->n].start = type == STT_OBJECT ? s.st_value : s.st_value & code_mask;
		t->syms[t->n].size = s.st_size;
		t->syms[t->n].bind_rank = bind_rank(GELF_ST_BIND(s.st_info));
		t->syms[t->n].name = xstrdup(name);
		t->n++;
	}
}

/* The build-id in the notes of DATA, as hex, or NULL. */
static char *note_build_id(Elf_Data *data)
{
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;

	while (data && off < data->d_size &&
	       (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const unsigned char *desc = (const unsigned char *)data->d_buf + desc_off;
		char *hex;

		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
		    memcmp((const char *)data->d_buf + name_off, "GNU", 4) || !nh.n_descsz || nh.n_descsz > 64)
			continue;
		hex = xmalloc(2 * nh.n_descsz + 1);
		for (size_t i = 0; i < nh.n_descsz; i++)
			snprintf(hex + 2 * i, 3, "%02x", desc[i]);
		return hex;
	}
	return NULL;
}

/* From the note sections, else (no section headers) from the PT_NOTE segments. */
static char *read_build_id(Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t n = 0;
	char *id = NULL;
	GElf_Shdr sh;
	GElf_Phdr ph;

	while (!id && (scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_NOTE)
			id = note_build_id(elf_getdata(scn, NULL));
	if (id || elf_getshdrnum(elf, &n) < 0 || n || elf_getphdrnum(elf, &n) < 0)
		return id;
	for (size_t i = 0; !id && i < n; i++)
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_NOTE)
			id = note_build_id(elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
								ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR));
	return id;
}

static void load(struct inj_symcache *c, struct symtab *t)
{
	char *full = xmalloc(strlen(c->root) + strlen(t->path) + 1);
	Elf_Scn *scn = NULL, *symtab = NULL, *dynsym = NULL;
	GElf_Shdr sh;
	size_t out = 0;
	Elf *elf;
	int fd;

	strcpy(full, c->root);
	strcat(full, t->path);
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_debug("symbols: cannot open %s: %m", full);
		free(full);
		return;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		log_debug("symbols: %s is not an ELF file", full);
		goto out;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			symtab = scn;
		else if (sh.sh_type == SHT_DYNSYM)
			dynsym = scn;
	}
	t->build_id = read_build_id(elf);
	scn = symtab ? symtab : dynsym;
	if (scn && gelf_getshdr(scn, &sh))
		read_syms(elf, scn, &sh, t);
	if (t->n)
		qsort(t->syms, t->n, sizeof(*t->syms), sym_cmp);
	/* One symbol per address: the best-ranked sorts first. */
	for (size_t i = 0; i < t->n; i++) {
		if (out && t->syms[out - 1].start == t->syms[i].start) {
			if (!t->syms[out - 1].size)
				t->syms[out - 1].size = t->syms[i].size;
			free(t->syms[i].name);
			continue;
		}
		t->syms[out++] = t->syms[i];
	}
	t->n = out;
out:
	if (elf)
		elf_end(elf);
	close(fd);
	free(full);
}

static struct symtab *get(struct inj_symcache *c, const char *path)
{
	struct symtab *t;

	for (t = c->tabs; t; t = t->next)
		if (!strcmp(t->path, path))
			return t;
	t = xcalloc(1, sizeof(*t));
	t->path = xstrdup(path);
	load(c, t);
	t->next = c->tabs;
	c->tabs = t;
	return t;
}

int inj_symcache_lookup(struct inj_symcache *c, const char *path, uint64_t addr,
			const char **name, uint64_t *start)
{
	struct symtab *t = get(c, path);
	size_t lo = 0, hi = t->n;
	const struct sym *s;

	/* Last symbol starting at or below ADDR. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return 0;
	s = &t->syms[lo - 1];
	if (s->size && addr >= s->start + s->size)
		return 0;
	*name = s->name;
	*start = s->start;
	return 1;
}

const char *inj_symcache_build_id(struct inj_symcache *c, const char *path)
{
	return get(c, path)->build_id;
}
