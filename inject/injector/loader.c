/*
 * What the injector needs to know about a target's files: mappings, ELF
 * headers, dynamic symbols, the loading functions of its C library, and
 * whether the agent file can be loaded by it at all.
 *
 * Symbols come from .dynsym: the functions needed are exported, and that
 * table survives stripping. A file without section headers (sstrip, common
 * on small embedded systems) is read through PT_DYNAMIC instead, the way the
 * dynamic loader itself sees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "injector/loader.h"
#include "log.h"

/* glibc's private dlopen wants this flag, as its own callers pass it. */
#define RTLD_NOW_FLAG 0x2
#define RTLD_DLOPEN_PRIVATE 0x80000000u

/* ---------------------------------------------------------------- maps */

int inj_maps_read(int pid, struct inj_maps *m)
{
	char path[64];
	size_t len = 0, cap = 1 << 16, lines = 0;
	ssize_t r;
	char *p, *line;
	int fd;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	m->text = malloc(cap + 1);
	if (!m->text)
		goto fail;
	while ((r = read(fd, m->text + len, cap - len)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		len += (size_t)r;
		if (len == cap) {
			char *t = realloc(m->text, 2 * cap + 1);

			if (!t)
				goto fail;
			m->text = t;
			cap *= 2;
		}
	}
	close(fd);
	fd = -1;
	m->text[len] = 0;
	for (p = m->text; *p; p++)
		lines += *p == '\n';
	m->v = calloc(lines + 1, sizeof(*m->v));
	if (!m->v)
		goto fail;
	for (line = m->text; line && *line; line = p) {
		struct inj_map *e = &m->v[m->n];
		int off = 0;

		p = strchr(line, '\n');
		if (p)
			*p++ = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %n",
			   &e->start, &e->end, e->perms, &e->offset, &e->major, &e->minor,
			   &e->inode, &off) < 7)
			continue;
		e->path = line + off;
		m->n++;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	inj_maps_free(m);
	return -1;
}

void inj_maps_free(struct inj_maps *m)
{
	free(m->v);
	free(m->text);
	memset(m, 0, sizeof(*m));
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int same_file(const struct inj_map *e, const struct inj_map *f)
{
	return e->inode == f->inode && e->major == f->major && e->minor == f->minor &&
	       !strcmp(e->path, f->path);
}

int inj_module_of(const struct inj_maps *m, const struct inj_map *any, struct inj_module *mod)
{
	int have_base = 0;

	memset(mod, 0, sizeof(*mod));
	snprintf(mod->path, sizeof(mod->path), "%s", any->path);
	mod->inode = any->inode;
	mod->major = any->major;
	mod->minor = any->minor;
	mod->lowest = UINT64_MAX;
	for (size_t i = 0; i < m->n; i++) {
		const struct inj_map *e = &m->v[i];

		if (!same_file(e, any))
			continue;
		if (e->start < mod->lowest)
			mod->lowest = e->start;
		if (e->end > mod->highest)
			mod->highest = e->end;
		if (e->offset == 0 && (!have_base || e->start < mod->base)) {
			mod->base = e->start;
			mod->base_end = e->end;
			have_base = 1;
		}
	}
	return have_base ? 0 : -1;
}

/* ---------------------------------------------------------------- ELF */

const char *inj_machine_name(int machine)
{
	static char other[32];

	switch (machine) {
	case EM_X86_64: return "x86_64";
	case EM_386: return "i386";
	case EM_AARCH64: return "aarch64";
	case EM_ARM: return "arm";
	case EM_MIPS: return "mips";
	case EM_PPC: return "powerpc";
	case EM_PPC64: return "powerpc64";
	case EM_RISCV: return "riscv";
	case EM_S390: return "s390";
	default:
		snprintf(other, sizeof(other), "machine %d", machine);
		return other;
	}
}

/* The C library ELF names among its DT_NEEDED entries ("libc.so..."), into LIBC; "" when none. */
static void needed_libc(Elf *elf, char *libc, size_t len)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		GElf_Dyn dyn;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !(d = elf_getdata(scn, NULL)))
			continue;
		for (int i = 0; gelf_getdyn(d, i, &dyn) && dyn.d_tag != DT_NULL; i++) {
			const char *name = dyn.d_tag == DT_NEEDED ? elf_strptr(elf, sh.sh_link, dyn.d_un.d_val) : NULL;

			if (name && !strncmp(name, "libc.so", 7)) {
				snprintf(libc, len, "%s", name);
				return;
			}
		}
	}
}

int inj_elf_info(const char *path, struct inj_elf_info *info)
{
	GElf_Ehdr eh;
	size_t nph = 0;
	int fd, ret = -1, e = ENOEXEC;
	Elf *elf;

	memset(info, 0, sizeof(*info));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		goto out;
	info->elf_class = gelf_getclass(elf);
	info->machine = eh.e_machine;
	info->type = eh.e_type;
	if (elf_getphdrnum(elf, &nph) < 0)
		goto out;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		size_t n;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_INTERP)
			continue;
		n = ph.p_filesz < sizeof(info->interp) ? ph.p_filesz : sizeof(info->interp) - 1;
		if (pread(fd, info->interp, n, (off_t)ph.p_offset) != (ssize_t)n)
			goto out;
		info->interp[n] = 0;
		info->has_interp = 1;
	}
	needed_libc(elf, info->libc, sizeof(info->libc));
	ret = 0;
out:
	if (ret < 0 && elf && elf_kind(elf) == ELF_K_ELF)
		e = EIO;
	elf_end(elf);
	close(fd);
	if (ret < 0)
		errno = e;
	return ret;
}

/* An open module file and its dynamic symbol table. */
struct symfile {
	int fd;
	Elf *elf;
	Elf_Data *syms, *vers;
	const char *strs;
	size_t strsz, nsyms;
	uint64_t load_vaddr; /* page of the PT_LOAD at file offset 0 */
};

static void symfile_close(struct symfile *f)
{
	elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

/* File offset of the link-time address VADDR. */
static int vaddr_offset(Elf *elf, uint64_t vaddr, uint64_t *off)
{
	size_t nph = 0;

	elf_getphdrnum(elf, &nph);
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -1;
}

/* Symbols counted from DT_GNU_HASH: past the highest bucket's chain end. */
static size_t gnu_hash_count(Elf *elf, uint64_t off, int cls)
{
	size_t word = cls == ELFCLASS64 ? 8 : 4, nb, sym0, nbloom, top = 0;
	Elf_Data *hd = elf_getdata_rawchunk(elf, (int64_t)off, 16, ELF_T_WORD);
	Elf_Data *bd, *cd;
	const uint32_t *h, *b;

	if (!hd)
		return 0;
	h = hd->d_buf;
	nb = h[0];
	sym0 = h[1];
	nbloom = h[2];
	off += 16 + nbloom * word;
	bd = elf_getdata_rawchunk(elf, (int64_t)off, nb * 4, ELF_T_WORD);
	if (!bd)
		return 0;
	b = bd->d_buf;
	for (size_t i = 0; i < nb; i++)
		if (b[i] > top)
			top = b[i];
	if (top < sym0)
		return sym0;
	off += nb * 4;
	for (;;) {
		cd = elf_getdata_rawchunk(elf, (int64_t)(off + (top - sym0) * 4), 4, ELF_T_WORD);
		if (!cd)
			return 0;
		if (*(const uint32_t *)cd->d_buf & 1)
			return top + 1;
		top++;
	}
}

/* .dynsym located through PT_DYNAMIC, for files without section headers. */
static int dynsym_from_dynamic(struct symfile *f)
{
	uint64_t symtab = 0, strtab = 0, strsz = 0, versym = 0, hash = 0, gnuhash = 0, off;
	size_t nph = 0, syment;
	int cls = gelf_getclass(f->elf);
	Elf_Data *sd;

	elf_getphdrnum(f->elf, &nph);
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		Elf_Data *dd;
		GElf_Dyn d;

		if (!gelf_getphdr(f->elf, (int)i, &ph) || ph.p_type != PT_DYNAMIC)
			continue;
		dd = elf_getdata_rawchunk(f->elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_DYN);
		for (int k = 0; dd && gelf_getdyn(dd, k, &d) && d.d_tag != DT_NULL; k++) {
			switch (d.d_tag) {
			case DT_SYMTAB: symtab = d.d_un.d_ptr; break;
			case DT_STRTAB: strtab = d.d_un.d_ptr; break;
			case DT_STRSZ: strsz = d.d_un.d_val; break;
			case DT_VERSYM: versym = d.d_un.d_ptr; break;
			case DT_HASH: hash = d.d_un.d_ptr; break;
			case DT_GNU_HASH: gnuhash = d.d_un.d_ptr; break;
			default: break;
			}
		}
	}
	if (!symtab || !strtab || !strsz || vaddr_offset(f->elf, strtab, &off) < 0)
		return -1;
	sd = elf_getdata_rawchunk(f->elf, (int64_t)off, strsz, ELF_T_BYTE);
	if (!sd)
		return -1;
	f->strs = sd->d_buf;
	f->strsz = strsz;
	if (hash && vaddr_offset(f->elf, hash, &off) == 0) {
		Elf_Data *hd = elf_getdata_rawchunk(f->elf, (int64_t)off, 8, ELF_T_WORD);

		f->nsyms = hd ? ((const uint32_t *)hd->d_buf)[1] : 0;
	} else if (gnuhash && vaddr_offset(f->elf, gnuhash, &off) == 0) {
		f->nsyms = gnu_hash_count(f->elf, off, cls);
	}
	syment = gelf_fsize(f->elf, ELF_T_SYM, 1, EV_CURRENT);
	if (!f->nsyms || vaddr_offset(f->elf, symtab, &off) < 0)
		return -1;
	f->syms = elf_getdata_rawchunk(f->elf, (int64_t)off, f->nsyms * syment, ELF_T_SYM);
	if (versym && vaddr_offset(f->elf, versym, &off) == 0)
		f->vers = elf_getdata_rawchunk(f->elf, (int64_t)off, f->nsyms * 2, ELF_T_HALF);
	return f->syms ? 0 : -1;
}

static int symfile_open(int pid, const struct inj_module *mod, struct symfile *f)
{
	char path[PATH_MAX + 64];
	Elf_Scn *scn = NULL;
	long page = sysconf(_SC_PAGESIZE);
	size_t nph = 0;
	struct stat st;

	memset(f, 0, sizeof(*f));
	snprintf(path, sizeof(path), "/proc/%d/root%s", pid, mod->path);
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd >= 0 && (fstat(f->fd, &st) < 0 || st.st_ino != mod->inode)) {
		close(f->fd);
		f->fd = -1;
	}
	if (f->fd < 0) {
		/* Replaced on disk since it was mapped ("(deleted)"): the mapped file itself. */
		snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid,
			 mod->base, mod->base_end);
		f->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (f->fd < 0)
			return -1;
	}
	elf_version(EV_CURRENT);
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF)
		goto bad;
	elf_getphdrnum(f->elf, &nph);
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(f->elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    (ph.p_offset & ~(uint64_t)(page - 1)) == 0) {
			f->load_vaddr = ph.p_vaddr & ~(uint64_t)(page - 1);
			break;
		}
	}
	while ((scn = elf_nextscn(f->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNSYM && sh.sh_entsize) {
			Elf_Data *sd = elf_getdata(elf_getscn(f->elf, sh.sh_link), NULL);

			f->syms = elf_getdata(scn, NULL);
			f->nsyms = sh.sh_size / sh.sh_entsize;
			if (sd) {
				f->strs = sd->d_buf;
				f->strsz = sd->d_size;
			}
		} else if (sh.sh_type == SHT_GNU_versym) {
			f->vers = elf_getdata(scn, NULL);
		}
	}
	if ((f->syms && f->strs) || dynsym_from_dynamic(f) == 0)
		return 0;
bad:
	symfile_close(f);
	errno = ENOEXEC;
	return -1;
}

/* A symbol asked for; FOUND is 1 for a hidden (non-default) version, 2 for the default. */
struct want {
	const char *name;
	uint64_t value, size;
	int found;
};

/* One pass over the table for every name in W. */
static void symfile_find(struct symfile *f, struct want *w, size_t n)
{
	for (size_t i = 1; i < f->nsyms; i++) {
		const char *name;
		GElf_Sym s;

		if (!gelf_getsym(f->syms, (int)i, &s) || s.st_shndx == SHN_UNDEF || !s.st_value ||
		    (GELF_ST_TYPE(s.st_info) != STT_FUNC && GELF_ST_TYPE(s.st_info) != STT_OBJECT) ||
		    s.st_name >= f->strsz)
			continue;
		name = f->strs + s.st_name;
		for (size_t k = 0; k < n; k++) {
			GElf_Versym v = 0;
			int rank;

			if (w[k].found == 2 || name[0] != w[k].name[0] || strcmp(name, w[k].name))
				continue;
			if (f->vers)
				gelf_getversym(f->vers, (int)i, &v);
			rank = v & 0x8000 ? 1 : 2;
			if (rank > w[k].found) {
				w[k].value = s.st_value;
				w[k].size = s.st_size;
				w[k].found = rank;
			}
			break;
		}
	}
}

int inj_module_sym(int pid, const struct inj_module *mod, const char *name, uint64_t *addr,
		   uint64_t *size)
{
	struct want w = { name, 0, 0, 0 };
	struct symfile f;

	if (symfile_open(pid, mod, &f) < 0)
		return -1;
	symfile_find(&f, &w, 1);
	if (w.found) {
		*addr = mod->base - f.load_vaddr + w.value;
		if (size)
			*size = w.size;
	}
	symfile_close(&f);
	return !!w.found;
}

int inj_module_funcs(int pid, const struct inj_module *mod,
		     int (*cb)(const char *name, uint64_t addr, uint64_t size, void *arg), void *arg)
{
	struct symfile f;
	uint64_t bias;
	int ret = 0;

	if (symfile_open(pid, mod, &f) < 0)
		return -1;
	bias = mod->base - f.load_vaddr;
	for (size_t i = 1; i < f.nsyms && !ret; i++) {
		GElf_Sym s;

		if (!gelf_getsym(f.syms, (int)i, &s) || s.st_shndx == SHN_UNDEF || !s.st_value ||
		    (GELF_ST_TYPE(s.st_info) != STT_FUNC &&
		     GELF_ST_TYPE(s.st_info) != STT_GNU_IFUNC) || s.st_name >= f.strsz)
			continue;
		ret = cb(f.strs + s.st_name, bias + s.st_value, s.st_size, arg);
	}
	symfile_close(&f);
	return ret;
}

/* ---------------------------------------------------------------- libc */

static int has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

static int has_suffix(const char *s, const char *x)
{
	size_t a = strlen(s), b = strlen(x);

	return a >= b && !strcmp(s + a - b, x);
}

static int is_libc(const char *base)
{
	return !strcmp(base, "libc.so.6") || !strcmp(base, "libc.so") ||
	       !strcmp(base, "libc.so.0") ||
	       (has_prefix(base, "libc-") && has_suffix(base, ".so")) ||
	       (has_prefix(base, "libuClibc-") && has_suffix(base, ".so")) ||
	       (has_prefix(base, "ld-musl-") && has_suffix(base, ".so.1"));
}

static int is_libdl(const char *base)
{
	return !strcmp(base, "libdl.so.2") || !strcmp(base, "libdl.so.0") ||
	       (has_prefix(base, "libdl-") && has_suffix(base, ".so"));
}

static int is_libpthread(const char *base)
{
	return !strcmp(base, "libpthread.so.0") || !strcmp(base, "librt.so.1") ||
	       !strcmp(base, "librt.so.0") ||
	       (has_prefix(base, "libpthread-") && has_suffix(base, ".so")) ||
	       (has_prefix(base, "librt-") && has_suffix(base, ".so"));
}

int inj_is_system_lib(const char *path)
{
	const char *b = base_name(path);

	return is_libc(b) || is_libdl(b) || is_libpthread(b);
}

static const struct inj_map *find_map(const struct inj_maps *m, int (*match)(const char *))
{
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].path[0] == '/' && match(base_name(m->v[i].path)))
			return &m->v[i];
	return NULL;
}

enum {
	W_DLOPEN, W_DLERROR, W_DLCLOSE, W_PRIV_DLOPEN, W_PRIV_DLCLOSE, W_MUNMAP,
};

static const char *const wanted[] = {
	"dlopen", "dlerror", "dlclose", "__libc_dlopen_mode", "__libc_dlclose", "munmap",
};

#define NWANTED (sizeof(wanted) / sizeof(wanted[0]))

enum inj_kind inj_find_dlopen(int pid, const struct inj_maps *m, struct inj_libc *lc, char *msg,
			      size_t msglen)
{
	const struct inj_map *cm = find_map(m, is_libc), *dm = find_map(m, is_libdl);
	struct want w[NWANTED], d[3];
	struct inj_module libc, libdl;
	struct symfile f;
	uint64_t bias, dbias;

	memset(lc, 0, sizeof(*lc));
	if (!cm) {
		snprintf(msg, msglen, "process %d has no C library mapped (glibc, musl or uClibc); "
			 "it may still be starting up, or use a libc memtrace does not know", pid);
		return INJ_NO_DLOPEN;
	}
	if (inj_module_of(m, cm, &libc) < 0) {
		snprintf(msg, msglen, "%s in process %d has no mapping at file offset 0", cm->path,
			 pid);
		return INJ_INTERNAL;
	}
	if (symfile_open(pid, &libc, &f) < 0) {
		snprintf(msg, msglen, "cannot read %s of process %d: %s", libc.path, pid,
			 strerror(errno));
		return INJ_INTERNAL;
	}
	memset(w, 0, sizeof(w));
	for (size_t i = 0; i < NWANTED; i++)
		w[i].name = wanted[i];
	symfile_find(&f, w, NWANTED);
	bias = libc.base - f.load_vaddr;
	symfile_close(&f);
	lc->mod = libc;
	lc->munmap = w[W_MUNMAP].found ? bias + w[W_MUNMAP].value : 0;
	lc->dlopen_flags = RTLD_NOW_FLAG;
	lc->dlopen_name = "dlopen";
	if (w[W_DLOPEN].found) {
		/* glibc >= 2.34, musl. */
		lc->dlopen = bias + w[W_DLOPEN].value;
		lc->dlerror = w[W_DLERROR].found ? bias + w[W_DLERROR].value : 0;
		lc->dlclose = w[W_DLCLOSE].found ? bias + w[W_DLCLOSE].value : 0;
	} else if (dm && inj_module_of(m, dm, &libdl) == 0 && symfile_open(pid, &libdl, &f) == 0) {
		/* Older glibc with libdl loaded: the public functions, dlerror included. */
		memset(d, 0, sizeof(d));
		for (size_t i = 0; i < 3; i++)
			d[i].name = wanted[i];
		symfile_find(&f, d, 3);
		dbias = libdl.base - f.load_vaddr;
		symfile_close(&f);
		if (d[0].found) {
			lc->mod = libdl;
			lc->dlopen = dbias + d[0].value;
			lc->dlerror = d[1].found ? dbias + d[1].value : 0;
			lc->dlclose = d[2].found ? dbias + d[2].value : 0;
		}
	}
	if (!lc->dlopen && w[W_PRIV_DLOPEN].found) {
		/* Older glibc without libdl: its private entry point, no dlerror. */
		lc->dlopen = bias + w[W_PRIV_DLOPEN].value;
		lc->dlclose = w[W_PRIV_DLCLOSE].found ? bias + w[W_PRIV_DLCLOSE].value : 0;
		lc->dlopen_name = "__libc_dlopen_mode";
		lc->dlopen_flags = RTLD_NOW_FLAG | RTLD_DLOPEN_PRIVATE;
	}
	if (!lc->dlopen) {
		snprintf(msg, msglen, "neither dlopen nor __libc_dlopen_mode is exported by %s in "
			 "process %d", libc.path, pid);
		return INJ_NO_DLOPEN;
	}
	log_debug("%s at %#" PRIx64 " in %s (base %#" PRIx64 ")", lc->dlopen_name, lc->dlopen,
		  lc->mod.path, lc->mod.base);
	return INJ_OK;
}

/* ---------------------------------------------------------------- the agent */

/* The mount point holding PATH in process PID's namespace, or "" if unknown. */
static void mount_point(int pid, const char *path, char *mp, size_t size)
{
	char fn[64], line[4096];
	size_t best = 0;
	FILE *fp;

	mp[0] = 0;
	snprintf(fn, sizeof(fn), "/proc/%d/mountinfo", pid);
	fp = fopen(fn, "re");
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		char dir[PATH_MAX], un[PATH_MAX];
		size_t n, k = 0;

		if (sscanf(line, "%*s %*s %*s %*s %4095s", dir) != 1)
			continue;
		/* Octal escapes: \040 for a space and so on. */
		for (size_t i = 0; dir[i] && k < sizeof(un) - 1; i++) {
			if (dir[i] == '\\' && dir[i + 1] && dir[i + 2] && dir[i + 3]) {
				un[k++] = (char)strtol((char[]){ dir[i + 1], dir[i + 2], dir[i + 3], 0 },
						       NULL, 8);
				i += 3;
			} else {
				un[k++] = dir[i];
			}
		}
		un[k] = 0;
		n = strlen(un);
		if ((n == 1 || (!strncmp(path, un, n) && (path[n] == '/' || !path[n]))) &&
		    n >= best) {
			best = n;
			snprintf(mp, size, "%s", un);
		}
	}
	fclose(fp);
}

int inj_agent_libc_differs(const struct inj_elf_info *ai, const char *agent, const char *interp,
			   const char *who, char *msg, size_t msglen)
{
	int musl = strstr(interp, "/ld-musl-") != NULL;
	/* musl's C library is libc.so, glibc's libc.so.6; an agent that needs
	 * neither (a test library) is not judged. */
	int musl_agent = !strcmp(ai->libc, "libc.so");

	if (!ai->libc[0] || musl_agent == musl)
		return 0;
	snprintf(msg, msglen, "agent %s is built for %s but %s runs on %s (its loader is %s): use the "
		 "agent built for it with --agent (%s)", agent, musl ? "glibc" : "musl", who,
		 musl ? "musl" : "glibc", interp,
		 musl ? "make musl builds one into build/x86_64-linux-musl/" : "the one make builds");
	return 1;
}

enum inj_kind inj_check_agent(int pid, const char *agent, const struct inj_elf_info *target,
			      struct inj_agent *a, char *msg, size_t msglen)
{
	char tpath[PATH_MAX + 64], mp[PATH_MAX];
	struct inj_elf_info ai;
	struct statvfs vfs;
	struct stat st;
	int here;

	memset(a, 0, sizeof(*a));
	here = realpath(agent, a->path) != NULL;
	if (!here) {
		if (agent[0] != '/') {
			snprintf(msg, msglen, "agent %s: %s; build it (make) or give its path with "
				 "--agent", agent, strerror(errno));
			return INJ_AGENT_MISSING;
		}
		snprintf(a->path, sizeof(a->path), "%s", agent);
	}
	snprintf(tpath, sizeof(tpath), "/proc/%d/root%s", pid, a->path);
	if (stat(tpath, &st) < 0) {
		if (here)
			snprintf(msg, msglen, "agent %s is not visible in the mount namespace of "
				 "process %d (a container?): copy it to a directory the process "
				 "sees and give that path with --agent", a->path, pid);
		else
			snprintf(msg, msglen, "agent %s: %s; build it (make) or give its path with "
				 "--agent", a->path, strerror(ENOENT));
		return INJ_AGENT_MISSING;
	}
	a->inode = st.st_ino;
	a->major = major(st.st_dev);
	a->minor = minor(st.st_dev);
	if (!S_ISREG(st.st_mode) || inj_elf_info(tpath, &ai) < 0 || ai.type != ET_DYN ||
	    ai.has_interp) {
		snprintf(msg, msglen, "agent %s is not an ELF shared library", a->path);
		return INJ_AGENT_WRONG_ARCH;
	}
	if (ai.elf_class != target->elf_class || ai.machine != target->machine) {
		char what[64];

		snprintf(what, sizeof(what), "%s", inj_machine_name(ai.machine));
		snprintf(msg, msglen, "agent %s is built for %s (%d-bit) but process %d is %s "
			 "(%d-bit): use the agent built for the target", a->path, what,
			 ai.elf_class == ELFCLASS64 ? 64 : 32, pid, inj_machine_name(target->machine),
			 target->elf_class == ELFCLASS64 ? 64 : 32);
		return INJ_AGENT_WRONG_ARCH;
	}
	/* The agent is built per C library: its TLS, errno and libc are that one's. */
	snprintf(mp, sizeof(mp), "process %d", pid);
	if (target->has_interp && inj_agent_libc_differs(&ai, a->path, target->interp, mp, msg, msglen))
		return INJ_AGENT_WRONG_ARCH;
	if (statvfs(tpath, &vfs) == 0 && (vfs.f_flag & ST_NOEXEC)) {
		mount_point(pid, a->path, mp, sizeof(mp));
		snprintf(msg, msglen, "agent %s lies on a filesystem mounted noexec%s%s%s, where "
			 "dlopen cannot map code: copy it to a directory on an exec mount (e.g. "
			 "/usr/local/lib/memtrace) and give that path with --agent", a->path,
			 mp[0] ? " (" : "", mp, mp[0] ? ")" : "");
		return INJ_NOEXEC;
	}
	return INJ_OK;
}

const struct inj_map *inj_agent_mapping(const struct inj_maps *m, const struct inj_agent *a)
{
	return inj_agent_mapping_from(m, a, 0);
}

const struct inj_map *inj_agent_mapping_from(const struct inj_maps *m, const struct inj_agent *a,
					     size_t from)
{
	for (size_t i = from; i < m->n; i++) {
		const struct inj_map *e = &m->v[i];

		if (e->path[0] != '/')
			continue;
		if ((e->inode == a->inode && e->major == a->major && e->minor == a->minor) ||
		    !strcmp(e->path, a->path) || !strcmp(base_name(e->path), "libmemtrace-agent.so"))
			return e;
	}
	return NULL;
}
