/*
 * Decoding with libdw. Each host file gets a Dwfl of its own with the file
 * reported at bias 0, so module addresses are the ELF file's own addresses
 * (the raw report's offsets) and files never overlap. libdwfl is given
 * callbacks that find nothing: it reads only the file handed to it, never a
 * debug file of its own choosing on the host or from debuginfod (modmap.c
 * has already picked the file with the DWARF).
 *
 * An address is decoded as addr2line -f -i -C does: the function scopes
 * holding it (funcindex.c), innermost first, up to the real function; each
 * one's name (scope_name has the rules), and its place: from the line table
 * for the innermost, from the DW_AT_call_file and DW_AT_call_line of the
 * scope inside it for the others. Without a DWARF function, the ELF symbol
 * table's name. Results are kept per address, in an arena freed with the
 * module.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "funcindex.h"
#include "log.h"
#include "strmap.h"
#include "symcache.h"
#include "util.h"

/* libstdc++'s demangler (C linkage); the server links -lstdc++ for it. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

/* Inlined calls deeper than this are cut (the outer ones are kept). */
#define MAX_SCOPES 64

/* ---------------------------------------------------------------- arena */

struct chunk {
	struct chunk *next;
	size_t used, size;
	alignas(max_align_t) char data[];
};

static void *arena_alloc(struct chunk **head, size_t n)
{
	struct chunk *c = *head;

	n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
	if (!c || c->size - c->used < n) {
		size_t size = n > 16384 ? n : 16384;

		c = xmalloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		c->next = *head;
		*head = c;
	}
	c->used += n;
	return c->data + c->used - n;
}

static const char *arena_strdup(struct chunk **head, const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(arena_alloc(head, n), s, n);
}

/* ---------------------------------------------------------------- modules */

struct addr_slot {
	uint64_t addr;
	const struct srv_frame_info *info; /* NULL: free slot */
};

struct srv_dwmod {
	Dwfl *dwfl;
	Dwfl_Module *mod;
	char *path;
	struct addr_slot *slots; /* open addressing, a power of two, at most half full */
	size_t cap, n;
	struct chunk *arena; /* results, demangled names, joined paths */
	struct srv_strmap *paths; /* joined paths, each kept once */
	struct srv_funcindex *index;
	size_t *entries; /* the cache's count, to bound it (srv_symcache_entries) */
};

struct srv_symcache {
	struct srv_strmap *mods; /* "path\0build-id" -> struct srv_dwmod */
	struct srv_strmap *failed; /* same key -> the reason (char *) */
	size_t entries; /* modules tried and addresses kept, in all */
};

static int find_nothing_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			    char **file_name, Elf **elfp)
{
	return -1;
}

static int find_nothing_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
				  Dwarf_Addr base, const char *file_name, const char *debuglink_file,
				  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	return -1;
}

static const Dwfl_Callbacks callbacks = {
	.find_elf = find_nothing_elf,
	.find_debuginfo = find_nothing_debuginfo,
	.section_address = dwfl_offline_section_address,
};

struct srv_symcache *srv_symcache_new(void)
{
	struct srv_symcache *c = xcalloc(1, sizeof(*c));

	c->mods = srv_strmap_new();
	c->failed = srv_strmap_new();
	return c;
}

static void dwmod_free(void *p)
{
	struct srv_dwmod *m = p;

	dwfl_end(m->dwfl);
	while (m->arena) {
		struct chunk *c = m->arena;

		m->arena = c->next;
		free(c);
	}
	srv_strmap_free(m->paths, NULL);
	srv_funcindex_free(m->index);
	free(m->slots);
	free(m->path);
	free(m);
}

void srv_symcache_free(struct srv_symcache *c)
{
	if (!c)
		return;
	srv_strmap_free(c->mods, dwmod_free);
	srv_strmap_free(c->failed, free);
	free(c);
}

struct srv_dwmod *srv_symcache_open(struct srv_symcache *c, const char *path, const char *build_id,
				    int fd, const char **why)
{
	size_t pl = strlen(path), bl = strlen(build_id);
	char *key = xmalloc(pl + bl + 2);
	struct srv_dwmod *m;
	char *err;

	memcpy(key, path, pl + 1);
	memcpy(key + pl + 1, build_id, bl + 1);
	m = srv_strmap_get(c->mods, key, pl + bl + 2);
	err = m ? NULL : srv_strmap_get(c->failed, key, pl + bl + 2);
	if (m || err) {
		close(fd);
		*why = err;
		free(key);
		return m;
	}
	c->entries++;
	m = xcalloc(1, sizeof(*m));
	m->entries = &c->entries;
	m->path = xstrdup(path);
	m->dwfl = dwfl_begin(&callbacks);
	if (m->dwfl) {
		dwfl_report_begin(m->dwfl);
		/* ET_DYN at bias 0 (base relative to p_vaddr); ET_EXEC stays where it is. */
		m->mod = dwfl_report_elf(m->dwfl, path, path, fd, 0, true);
		dwfl_report_end(m->dwfl, NULL, NULL);
	}
	if (!m->mod) {
		if (asprintf(&err, "%s: libdwfl cannot read it: %s", path, dwfl_errmsg(-1)) < 0)
			err = xstrdup("libdwfl cannot read the host file");
		log_warn("%s", err);
		if (m->dwfl)
			dwfl_end(m->dwfl);
		close(fd); /* dwfl_report_elf takes FD only when it succeeds */
		free(m->path);
		free(m);
		srv_strmap_put(c->failed, key, pl + bl + 2, err);
		*why = err;
		free(key);
		return NULL;
	}
	m->cap = 256;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	m->paths = srv_strmap_new();
	m->index = srv_funcindex_new();
	srv_strmap_put(c->mods, key, pl + bl + 2, m);
	free(key);
	*why = NULL;
	return m;
}

/* ---------------------------------------------------------------- decoding */

static const char *demangled(struct srv_dwmod *m, const char *name)
{
	char *d;
	int st;

	/* Only mangled names: given "f" the demangler would answer "float". */
	if (!name || strncmp(name, "_Z", 2))
		return name;
	d = __cxa_demangle(name, NULL, NULL, &st);
	if (!d)
		return name;
	name = arena_strdup(&m->arena, d);
	free(d);
	return name;
}

/*
 * The ELF symbol whose extent holds ADDR, demangled, or NULL. A label the
 * linker defines there (MIPS's _ftext, at the start of .text, where
 * __start is) gives way to a function at the same address.
 */
static const char *elf_name(struct srv_dwmod *m, uint64_t addr)
{
	GElf_Off off;
	GElf_Sym sym;
	const char *name = dwfl_module_addrinfo(m->mod, addr, &off, &sym, NULL, NULL, NULL);

	if (name && GELF_ST_TYPE(sym.st_info) == STT_NOTYPE) {
		int n = dwfl_module_getsymtab(m->mod);

		for (int i = 1; i < n; i++) {
			GElf_Sym s;
			GElf_Addr a;
			const char *f = dwfl_module_getsym_info(m->mod, i, &s, &a, NULL, NULL, NULL);

			if (f && a == addr - off && GELF_ST_TYPE(s.st_info) == STT_FUNC) {
				name = f;
				break;
			}
		}
	}
	return demangled(m, name);
}

/* Languages whose compilers mangle names: there DW_AT_name is not the linkage name. */
static int mangles(Dwarf_Die *die)
{
	Dwarf_Die cu;

	if (!dwarf_diecu(die, &cu, NULL, NULL))
		return 0;
	switch (dwarf_srclang(&cu)) {
	case DW_LANG_C_plus_plus:
	case DW_LANG_C_plus_plus_03:
	case DW_LANG_C_plus_plus_11:
	case DW_LANG_C_plus_plus_14:
	case DW_LANG_ObjC_plus_plus:
	case DW_LANG_D:
	case DW_LANG_Rust:
		return 1;
	default:
		return 0;
	}
}

/*
 * The name addr2line gives a function scope: its linkage name (through
 * abstract origins), demangled; in C (no mangling) DW_AT_name is that. A
 * real function (not an inlined one) of a mangling language without a
 * linkage name, a C++ function with internal linkage, takes the name of the
 * ELF symbol at ADDR, which has its parameters; else DW_AT_name.
 */
static const char *scope_name(struct srv_dwmod *m, Dwarf_Die *die, uint64_t addr)
{
	Dwarf_Attribute a;
	const char *name = NULL;

	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &a) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a))
		name = dwarf_formstring(&a);
	if (name)
		return demangled(m, name);
	if (dwarf_tag(die) != DW_TAG_inlined_subroutine && mangles(die) && (name = elf_name(m, addr)))
		return name;
	return dwarf_attr_integrate(die, DW_AT_name, &a) ? dwarf_formstring(&a) : NULL;
}

/*
 * FILE as addr2line shows it: a relative name (libdw leaves a DWARF 5 file
 * in a relative directory relative) is put after the compilation unit's
 * DW_AT_comp_dir, with no other change. Kept once per module.
 */
static const char *full_path(struct srv_dwmod *m, Dwarf_Die *cu, const char *file)
{
	Dwarf_Attribute a;
	const char *dir, *kept;
	char buf[8192];

	if (!file || file[0] == '/' || !cu || !(dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &a))) ||
	    !*dir || (size_t)snprintf(buf, sizeof(buf), "%s/%s", dir, file) >= sizeof(buf))
		return file;
	kept = srv_strmap_get(m->paths, buf, strlen(buf));
	if (!kept) {
		kept = arena_strdup(&m->arena, buf);
		srv_strmap_put(m->paths, buf, strlen(buf), (void *)kept);
	}
	return kept;
}

/* Where inlined subroutine INL was called from: its DW_AT_call_file and DW_AT_call_line. */
static void call_site(struct srv_dwmod *m, Dwarf_Die *inl, struct srv_loc *loc)
{
	Dwarf_Attribute a;
	Dwarf_Word file = 0, line = 0;
	Dwarf_Files *files;
	Dwarf_Die cu;
	size_t n;

	loc->file = NULL;
	loc->line = 0;
	if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &a), &line) == 0)
		loc->line = (unsigned)line;
	if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &a), &file) == 0 &&
	    dwarf_diecu(inl, &cu, NULL, NULL) && dwarf_getsrcfiles(&cu, &files, &n) == 0 && file < n)
		loc->file = full_path(m, &cu, dwarf_filesrc(files, file, NULL, NULL));
}

/*
 * The slow way to the function scopes at ADDR in CU, innermost first, for
 * what the index does not hold. dwarf_getscopes goes on from an inlined
 * subroutine to the scopes of its abstract definition; the functions it was
 * inlined into are the DIEs that hold it, which dwarf_getscopes_die lists.
 */
static int unit_scopes(Dwarf_Die *cu, Dwarf_Addr addr, Dwarf_Die *out, int max)
{
	Dwarf_Die *scopes = NULL, inner;
	int n = dwarf_getscopes(cu, addr, &scopes), k = 0;

	if (n > 0) {
		inner = scopes[0];
		free(scopes);
		scopes = NULL;
		n = dwarf_getscopes_die(&inner, &scopes);
	}
	for (int i = 0; i < n && k < max; i++) {
		int tag = dwarf_tag(&scopes[i]);

		if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine && tag != DW_TAG_entry_point)
			continue;
		out[k++] = scopes[i];
		if (tag != DW_TAG_inlined_subroutine)
			break;
	}
	free(scopes);
	return k;
}

static void decode(struct srv_dwmod *m, uint64_t addr, struct srv_loc *locs, size_t *n_locs)
{
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = dwfl_module_addrdie(m->mod, addr, &bias);
	Dwfl_Line *line = dwfl_module_getsrc(m->mod, addr);
	Dwarf_Die scopes[MAX_SCOPES];
	int n = 0;
	size_t k = 0;

	if (cu) {
		n = srv_funcindex_scopes(m->index, cu, addr - bias, scopes, MAX_SCOPES);
		if (!n)
			n = unit_scopes(cu, addr - bias, scopes, MAX_SCOPES);
	}
	for (int i = 0; i < n; i++, k++) {
		locs[k].function = scope_name(m, &scopes[i], addr);
		locs[k].file = NULL;
		locs[k].line = 0;
		if (i)
			call_site(m, &scopes[i - 1], &locs[k]);
	}
	if (!k) {
		/* No DWARF function: the ELF symbol table's. */
		locs[0].function = elf_name(m, addr);
		locs[0].file = NULL;
		locs[0].line = 0;
		k = 1;
	}
	if (line) {
		int lineno = 0;
		const char *file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);

		locs[0].file = full_path(m, cu, file);
		locs[0].line = file && lineno > 0 ? (unsigned)lineno : 0;
	} else if (cu && dwarf_haspc(cu, addr - bias) > 0) {
		/*
		 * A unit without line rows here (crtstuff.c): its own name, as
		 * addr2line gives it. (libdwfl hands out the unit before an
		 * address in no unit, hence the check.)
		 */
		locs[0].file = dwarf_diename(cu);
	}
	*n_locs = k;
}

static void remember(struct srv_dwmod *m, uint64_t addr, const struct srv_frame_info *info)
{
	size_t mask, i;

	if (2 * (m->n + 1) > m->cap) {
		struct addr_slot *old = m->slots;
		size_t old_cap = m->cap;

		m->cap *= 2;
		m->slots = xcalloc(m->cap, sizeof(*m->slots));
		m->n = 0;
		for (size_t j = 0; j < old_cap; j++)
			if (old[j].info)
				remember(m, old[j].addr, old[j].info);
		free(old);
	}
	mask = m->cap - 1;
	for (i = (addr * 0x9e3779b97f4a7c15u >> 20) & mask; m->slots[i].info; i = (i + 1) & mask)
		;
	m->slots[i].addr = addr;
	m->slots[i].info = info;
	m->n++;
}

size_t srv_symcache_entries(const struct srv_symcache *c)
{
	return c->entries;
}

const struct srv_frame_info *srv_dwmod_lookup(struct srv_dwmod *m, uint64_t addr)
{
	size_t mask = m->cap - 1, i;
	struct srv_loc locs[MAX_SCOPES];
	struct srv_frame_info *info;
	struct srv_loc *inl;
	size_t n = 0;

	for (i = (addr * 0x9e3779b97f4a7c15u >> 20) & mask; m->slots[i].info; i = (i + 1) & mask)
		if (m->slots[i].addr == addr)
			return m->slots[i].info;
	decode(m, addr, locs, &n);
	info = arena_alloc(&m->arena, sizeof(*info) + (n - 1) * sizeof(*inl));
	inl = (struct srv_loc *)(info + 1);
	memset(info, 0, sizeof(*info));
	info->status = SRV_OK;
	info->host_file = m->path;
	info->loc = locs[n - 1];
	for (size_t j = 0; j + 1 < n; j++)
		inl[j] = locs[j];
	info->inlined = n > 1 ? inl : NULL;
	info->n_inlined = n - 1;
	remember(m, addr, info);
	(*m->entries)++;
	return info;
}
