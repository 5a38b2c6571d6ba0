/*
 * attach.h: what the attach victims (tests/victims/attach_*.c|cc) share with
 * the attach tests (tests/integration/t-attach-*.sh, tests/lib/attach.sh).
 *
 * An attach victim runs as `attach_NAME DIR [ARGS...]` and talks with the
 * test through files in DIR (argv[1], else $ATTACH_DIR, else "."):
 *
 *   DIR/ready    written by the victim (its pid) once it has made its
 *                pre-attach blocks and is in the state the test attaches to;
 *   DIR/go       created by the test once memtrace says it is attached (or,
 *                for the untraced run, at once); its content, if any, is an
 *                argument for the victim (at_wait_go returns it);
 *   DIR/leaked   written by the victim when its leaks are made and it is
 *                quiet: nothing allocates until DIR/stop, so a report taken
 *                now is exact;
 *   DIR/stop     created by the test; the victim then works on (after
 *                detach, when the test detached first), gives back its
 *                pre-attach blocks and exits 0 if every self-check held, 1
 *                if one failed (98: the test never said go or stop).
 *
 * Pre-attach blocks (at_pre_attach_*): made before "ready" by every family
 * function, from functions named pre_attach_*; a quarter are freed and a
 * few realloc'ed and freed between go and leaked, the rest after stop.  A
 * report must never show them, and their frees must not change the counts.
 *
 * GOT census (at_got_*): the victim reads every JUMP_SLOT and GLOB_DAT slot
 * of every module (not ld.so, not the vDSO, not the agent) and counts the
 * slots of the malloc family and those that point into memtrace's agent, so
 * a test can see that the agent hooked this program (while attached) and put
 * every slot back (after detach).  The counts go to a file, never to stdout:
 * the output must be byte for byte that of an untraced run.
 *
 * Nothing here allocates after the pre-attach phase, except what the helpers
 * named at_pre_attach_* free or reallocate on purpose.
 */
#ifndef ATTACH_H
#define ATTACH_H

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <stdio.h>
#include <sys/stat.h>

#include "victim.h"

#ifdef __cplusplus
#define AT_EXTERN_C extern "C"
#else
#define AT_EXTERN_C
#endif

static char at_dir[256] = ".";

/* DIR/NAME into BUF (PATH_MAX-free: the test keeps DIR short). */
static VT_UNUSED const char *at_path(char *buf, size_t n, const char *name)
{
	vt_format(buf, n, "%s/%s", at_dir, name);
	return buf;
}

/*
 * A FIFO DIR/NAME made anew, opened O_RDWR: the open does not wait for a
 * writer, and read() blocks until the test writes, never seeing end of file.
 * Dies if it cannot be made.
 */
static VT_UNUSED int at_fifo(const char *name)
{
	char path[320];
	int fd;

	at_path(path, sizeof(path), name);
	unlink(path);
	if (mkfifo(path, 0600) < 0)
		vt_die(path);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		vt_die(path);
	return fd;
}

/* Write TEXT to DIR/NAME as a whole: a reader sees the old file or the new. */
static VT_UNUSED void at_put(const char *name, const char *text)
{
	char tmp[320], path[320];
	int fd;

	at_path(path, sizeof(path), name);
	vt_format(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		vt_die(tmp);
	vt_write_all(fd, text, strlen(text));
	close(fd);
	if (rename(tmp, path) < 0)
		vt_die(path);
}

/* Wait for DIR/NAME; exit 98 if the test never creates it. */
static VT_UNUSED void at_wait(const char *name, long ms)
{
	char path[320];

	if (!vt_wait_file(at_path(path, sizeof(path), name), ms)) {
		vt_dprintf(2, "victim: no %s after %ld s, giving up\n", path, ms / 1000);
		exit(98);
	}
}

#define AT_WAIT_MS 60000L

/* Wait for DIR/go and return its content ("" if empty), a static buffer. */
static VT_UNUSED const char *at_wait_go(void)
{
	static char text[128];
	char path[320];
	ssize_t n;
	int fd;

	at_wait("go", AT_WAIT_MS);
	text[0] = '\0';
	fd = open(at_path(path, sizeof(path), "go"), O_RDONLY);
	if (fd >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		text[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	for (n = (ssize_t)strlen(text); n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '); n--)
		text[n - 1] = '\0';
	return text;
}

static VT_UNUSED void at_ready(void)
{
	char pid[32];

	vt_format(pid, sizeof(pid), "%d\n", (int)getpid());
	at_put("ready", pid);
}

/* argv[1] is DIR; returns the index of the first victim-specific argument. */
static VT_UNUSED int at_init(int argc, char **argv)
{
	const char *env = getenv("ATTACH_DIR");

	if (argc > 1)
		vt_format(at_dir, sizeof(at_dir), "%s", argv[1]);
	else if (env && *env)
		vt_format(at_dir, sizeof(at_dir), "%s", env);
	return 2;
}

/* ------------------------------------------------------------ pre-attach blocks */

#define AT_PRE_BLOCKS 48

struct at_pre {
	unsigned char *p;
	size_t size;
};

static struct at_pre at_pre_blocks[AT_PRE_BLOCKS];

static VT_UNUSED void at_pre_fill(struct at_pre *b, int i)
{
	for (size_t k = 0; k < b->size; k++)
		b->p[k] = (unsigned char)(i * 31 + k);
}

static VT_UNUSED int at_pre_intact(const struct at_pre *b, int i, size_t upto)
{
	for (size_t k = 0; k < upto; k++)
		if (b->p[k] != (unsigned char)(i * 31 + k))
			return 0;
	return 1;
}

/*
 * Every member of the family once, so that a lazily bound PLT slot of each
 * is resolved before the test looks at the GOT, and the agent meets blocks
 * of every kind that it never saw allocated.
 */
AT_EXTERN_C NOINLINE VT_UNUSED void pre_attach_alloc(void)
{
	free(vt_opaque_ptr(malloc(1)));
	for (int i = 0; i < AT_PRE_BLOCKS; i++) {
		struct at_pre *b = &at_pre_blocks[i];
		void *p = NULL;

		b->size = 16 + (size_t)i * 37;
		switch (i % 8) {
		case 0: p = malloc(b->size); break;
		case 1: p = calloc(1, b->size); break;
		case 2: p = realloc(malloc(8), b->size); break;
		case 3: if (posix_memalign(&p, 64, b->size)) p = NULL; break;
		case 4: b->size = 128; p = aligned_alloc(128, b->size); break;
		case 5: p = memalign(32, b->size); break;
		case 6: p = reallocarray(NULL, b->size, 1); break;
		default: p = (i % 16 == 7) ? valloc(b->size) : pvalloc(b->size); break;
		}
		if (!p)
			vt_die("pre-attach allocation");
		b->p = (unsigned char *)p;
		at_pre_fill(b, i);
	}
}

/* Between go and leaked: check every block, free a quarter, move a sixth
 * with realloc and free those too.  Blocks 24.. stay for at_pre_attach_end. */
AT_EXTERN_C NOINLINE VT_UNUSED void pre_attach_release(void)
{
	int bad = 0;

	for (int i = 0; i < AT_PRE_BLOCKS; i++)
		bad += !at_pre_intact(&at_pre_blocks[i], i, at_pre_blocks[i].size);
	vt_check(bad == 0, "pre-attach blocks intact after attach");
	for (int i = 0; i < 16; i++) {
		free(at_pre_blocks[i].p);
		at_pre_blocks[i].p = NULL;
	}
	bad = 0;
	for (int i = 16; i < 24; i++) {
		struct at_pre *b = &at_pre_blocks[i];
		unsigned char *q = (unsigned char *)realloc(b->p, b->size * 3 + 4096);

		if (!q)
			vt_die("realloc of a pre-attach block");
		b->p = q;
		bad += !at_pre_intact(b, i, b->size);
		free(b->p);
		b->p = NULL;
	}
	vt_check(bad == 0, "pre-attach blocks moved by realloc kept their bytes");
}

/* After stop: the rest, checked, some shrunk by realloc first, then freed. */
AT_EXTERN_C NOINLINE VT_UNUSED void pre_attach_end(void)
{
	int bad = 0;

	for (int i = 24; i < AT_PRE_BLOCKS; i++) {
		struct at_pre *b = &at_pre_blocks[i];

		bad += !at_pre_intact(b, i, b->size);
		if (i % 3 == 0) {
			unsigned char *q = (unsigned char *)realloc(b->p, 8);

			if (!q)
				vt_die("realloc of a pre-attach block");
			b->p = q;
			bad += !at_pre_intact(b, i, 8);
		}
		free(b->p);
		b->p = NULL;
	}
	vt_check(bad == 0, "pre-attach blocks intact at the end");
}

/* ------------------------------------------------------------ GOT census */

#if defined(__x86_64__)
#define AT_R_JUMP_SLOT 7  /* R_X86_64_JUMP_SLOT */
#define AT_R_GLOB_DAT 6   /* R_X86_64_GLOB_DAT */
#elif defined(__aarch64__)
#define AT_R_JUMP_SLOT 1026 /* R_AARCH64_JUMP_SLOT */
#define AT_R_GLOB_DAT 1025  /* R_AARCH64_GLOB_DAT */
#elif defined(__arm__)
#define AT_R_JUMP_SLOT 22 /* R_ARM_JUMP_SLOT */
#define AT_R_GLOB_DAT 21  /* R_ARM_GLOB_DAT */
#elif defined(__i386__)
#define AT_R_JUMP_SLOT 7  /* R_386_JMP_SLOT */
#define AT_R_GLOB_DAT 6   /* R_386_GLOB_DAT */
#elif defined(__mips__)
#define AT_R_JUMP_SLOT 127 /* R_MIPS_JUMP_SLOT (non-PIC -mplt executables only) */
#define AT_R_GLOB_DAT 0x100 /* none: the global GOT, below */
#else
#error "attach.h: relocation types of this architecture unknown"
#endif

#if defined(__mips__) && UINTPTR_MAX > 0xffffffffu
/* n64's r_info: r_sym in the low 32 bits, the first type in the top byte. */
#define AT_R_SYM(i) ((uint64_t)(i) & 0xffffffffu)
#define AT_R_TYPE(i) ((uint64_t)(i) >> 56)
#elif UINTPTR_MAX > 0xffffffffu /* musl has no __ELF_NATIVE_CLASS */
#define AT_R_SYM(i) ELF64_R_SYM(i)
#define AT_R_TYPE(i) ELF64_R_TYPE(i)
#else
#define AT_R_SYM(i) ELF32_R_SYM(i)
#define AT_R_TYPE(i) ELF32_R_TYPE(i)
#endif

/* size_t in C++ mangled names: unsigned long (LP64), unsigned int (32-bit ARM) */
#if __SIZEOF_SIZE_T__ == 8
#define AT_SZ "m"
#else
#define AT_SZ "j"
#endif
#define AT_ALIGN "St11align_val_t"
#define AT_NOTHROW "RKSt9nothrow_t"

static const char *const at_family[] = {
	"malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign",
	"aligned_alloc", "memalign", "valloc", "pvalloc", "dlopen", "dlclose",
	/* the C++ operators new and delete in every form (agent/hooks_cxx.c) */
	"_Znw" AT_SZ, "_Zna" AT_SZ, "_Znw" AT_SZ AT_NOTHROW, "_Zna" AT_SZ AT_NOTHROW,
	"_Znw" AT_SZ AT_ALIGN, "_Zna" AT_SZ AT_ALIGN, "_Znw" AT_SZ AT_ALIGN AT_NOTHROW,
	"_Zna" AT_SZ AT_ALIGN AT_NOTHROW, "_ZdlPv", "_ZdaPv", "_ZdlPv" AT_SZ, "_ZdaPv" AT_SZ,
	"_ZdlPv" AT_NOTHROW, "_ZdaPv" AT_NOTHROW, "_ZdlPv" AT_ALIGN, "_ZdaPv" AT_ALIGN,
	"_ZdlPv" AT_SZ AT_ALIGN, "_ZdaPv" AT_SZ AT_ALIGN, "_ZdlPv" AT_ALIGN AT_NOTHROW,
	"_ZdaPv" AT_ALIGN AT_NOTHROW, NULL,
};
#define AT_NFAMILY (sizeof(at_family) / sizeof(at_family[0]))

#define AT_MAX_SNAP 512
#define AT_MAX_RANGES 8

struct at_range {
	uintptr_t lo, hi;
};

struct at_census {
	/* the snapshot taken before ready: slot address and value */
	uintptr_t snap_addr[AT_MAX_SNAP], snap_val[AT_MAX_SNAP];
	int nsnap;
	uintptr_t real[AT_NFAMILY];	/* dlsym(RTLD_DEFAULT) of each family name */
	uintptr_t next[AT_NFAMILY];	/* dlsym(RTLD_NEXT): the definition after the program's
				 * own canonical PLT entry, when it has one (non-PIE) */
	struct at_range agent[AT_MAX_RANGES];
	int nagent;
	int taking_snapshot;
	/* the counts */
	int slots, hooked, own_slots, own_hooked, changed;
};

static struct at_census at_gc;

static VT_UNUSED int at_family_index(const char *name)
{
	for (int i = 0; at_family[i]; i++)
		if (!strcmp(name, at_family[i]))
			return i;
	return -1;
}

static VT_UNUSED int at_skip_module(const char *name)
{
	return strstr(name, "linux-vdso") || strstr(name, "linux-gate") || strstr(name, "/ld-linux") ||
	       strstr(name, "/ld-musl") || strstr(name, "libmemtrace-agent");
}

static VT_UNUSED int at_in_agent(uintptr_t v)
{
	for (int i = 0; i < at_gc.nagent; i++)
		if (v >= at_gc.agent[i].lo && v < at_gc.agent[i].hi)
			return 1;
	return 0;
}

static VT_UNUSED int at_find_agent(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	if (!info->dlpi_name || !strstr(info->dlpi_name, "libmemtrace-agent"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum && at_gc.nagent < AT_MAX_RANGES; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		at_gc.agent[at_gc.nagent].lo = info->dlpi_addr + ph->p_vaddr;
		at_gc.agent[at_gc.nagent].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		at_gc.nagent++;
	}
	return 0;
}

static VT_UNUSED int at_in_module(struct dl_phdr_info *info, uintptr_t v)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && v >= info->dlpi_addr + ph->p_vaddr &&
		    v < info->dlpi_addr + ph->p_vaddr + ph->p_memsz)
			return 1;
	}
	return 0;
}

/* One slot of module INFO: remember it (snapshot) or count it. */
static VT_UNUSED void at_census_slot(struct dl_phdr_info *info, uintptr_t *slot, const char *name, int own)
{
	int fam = at_family_index(name);
	uintptr_t v = *slot;
	int hooked = at_in_agent(v);

	if (at_gc.taking_snapshot) {
		if (fam >= 0 && at_gc.nsnap < AT_MAX_SNAP) {
			at_gc.snap_addr[at_gc.nsnap] = (uintptr_t)slot;
			at_gc.snap_val[at_gc.nsnap] = v;
			at_gc.nsnap++;
		}
		return;
	}
	at_gc.hooked += hooked;
	if (fam < 0)
		return;
	at_gc.slots++;
	if (own) {
		at_gc.own_slots++;
		at_gc.own_hooked += hooked;
	}
	if (!hooked) {
		int clean = v == at_gc.real[fam] || v == at_gc.next[fam] || at_in_module(info, v);

		for (int i = 0; !clean && i < at_gc.nsnap; i++)
			clean = at_gc.snap_addr[i] == (uintptr_t)slot && at_gc.snap_val[i] == v;
		at_gc.changed += !clean;
	}
}

/* Dynamic-section pointers: glibc relocates most in place, not every loader does. */
static VT_UNUSED uintptr_t at_dptr(uintptr_t bias, uintptr_t v)
{
	return v < bias ? v + bias : v;
}

static VT_UNUSED void at_census_relocs(struct dl_phdr_info *info, const ElfW(Sym) *symtab, const char *strtab,
				       uintptr_t start, uintptr_t size, int rela, int own)
{
	size_t ent = rela ? sizeof(ElfW(Rela)) : sizeof(ElfW(Rel));

	for (uintptr_t a = start; a + ent <= start + size; a += ent) {
		ElfW(Addr) off;
		ElfW(Xword) rinfo;

		if (rela) {
			off = ((const ElfW(Rela) *)a)->r_offset;
			rinfo = ((const ElfW(Rela) *)a)->r_info;
		} else {
			off = ((const ElfW(Rel) *)a)->r_offset;
			rinfo = ((const ElfW(Rel) *)a)->r_info;
		}
		if (AT_R_TYPE(rinfo) != AT_R_JUMP_SLOT && AT_R_TYPE(rinfo) != AT_R_GLOB_DAT)
			continue;
		if (AT_R_SYM(rinfo) == 0)
			continue;
		at_census_slot(info, (uintptr_t *)(info->dlpi_addr + off),
			       strtab + symtab[AT_R_SYM(rinfo)].st_name, own);
	}
}

static VT_UNUSED int at_census_module(struct dl_phdr_info *info, size_t size, void *data)
{
	const ElfW(Dyn) *dyn = NULL;
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	uintptr_t jmprel = 0, pltrelsz = 0, rela = 0, relasz = 0, rel = 0, relsz = 0;
	uintptr_t pltgot = 0, local_gotno = 0, gotsym = 0, symtabno = 0;
	long pltrel = 0;
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	int own = *(int *)data == 0; /* the first module is the program */

	(void)size;
	(*(int *)data)++;
	if (at_skip_module(name))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	if (!dyn)
		return 0;
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: symtab = (const ElfW(Sym) *)at_dptr(info->dlpi_addr, d->d_un.d_ptr); break;
		case DT_STRTAB: strtab = (const char *)at_dptr(info->dlpi_addr, d->d_un.d_ptr); break;
		case DT_JMPREL: jmprel = at_dptr(info->dlpi_addr, d->d_un.d_ptr); break;
		case DT_PLTRELSZ: pltrelsz = d->d_un.d_val; break;
		case DT_PLTREL: pltrel = (long)d->d_un.d_val; break;
		case DT_RELA: rela = at_dptr(info->dlpi_addr, d->d_un.d_ptr); break;
		case DT_RELASZ: relasz = d->d_un.d_val; break;
		case DT_REL: rel = at_dptr(info->dlpi_addr, d->d_un.d_ptr); break;
		case DT_RELSZ: relsz = d->d_un.d_val; break;
#ifdef __mips__
		case DT_PLTGOT: pltgot = at_dptr(info->dlpi_addr, d->d_un.d_ptr); break;
		case DT_MIPS_LOCAL_GOTNO: local_gotno = d->d_un.d_val; break;
		case DT_MIPS_GOTSYM: gotsym = d->d_un.d_val; break;
		case DT_MIPS_SYMTABNO: symtabno = d->d_un.d_val; break;
#endif
		default: break;
		}
	}
	if (!symtab || !strtab)
		return 0;
	/* MIPS's global GOT: entry local_gotno + i holds dynamic symbol gotsym + i. */
	for (uintptr_t i = gotsym; pltgot && i < symtabno; i++)
		if (symtab[i].st_name)
			at_census_slot(info, (uintptr_t *)pltgot + local_gotno + (i - gotsym),
				       strtab + symtab[i].st_name, own);
	if (jmprel)
		at_census_relocs(info, symtab, strtab, jmprel, pltrelsz, pltrel == DT_RELA, own);
	if (rela)
		at_census_relocs(info, symtab, strtab, rela, relasz, 1, own);
	if (rel)
		at_census_relocs(info, symtab, strtab, rel, relsz, 0, own);
	return 0;
}

/* Before ready: remember every family slot's value and the real functions. */
static VT_UNUSED void at_got_snapshot(void)
{
	int n = 0;

	for (int i = 0; at_family[i]; i++) {
		at_gc.real[i] = (uintptr_t)dlsym(RTLD_DEFAULT, at_family[i]);
		at_gc.next[i] = (uintptr_t)dlsym(RTLD_NEXT, at_family[i]);
	}
	at_gc.taking_snapshot = 1;
	dl_iterate_phdr(at_census_module, &n);
	at_gc.taking_snapshot = 0;
}

/*
 * Count now, into TEXT:
 *   slots=N       family slots in every module (not ld.so, vDSO, agent)
 *   hooked=N      slots of any name that point into the agent
 *   own_slots=N   family slots of the program itself
 *   own_hooked=N  of those, pointing into the agent
 *   changed=N     family slots that point neither into the agent nor where
 *                 they pointed before ready, nor at the real function, nor
 *                 into their own module (a lazy PLT stub)
 *   agent=0|1     the agent is loaded
 */
static VT_UNUSED void at_got_state(char *text, size_t n)
{
	int m = 0;

	at_gc.nagent = 0;
	at_gc.slots = at_gc.hooked = at_gc.own_slots = at_gc.own_hooked = at_gc.changed = 0;
	dl_iterate_phdr(at_find_agent, NULL);
	dl_iterate_phdr(at_census_module, &m);
	vt_format(text, n, "slots=%d hooked=%d own_slots=%d own_hooked=%d changed=%d agent=%d",
		  at_gc.slots, at_gc.hooked, at_gc.own_slots, at_gc.own_hooked, at_gc.changed,
		  at_gc.nagent > 0);
}

/* The census into DIR/NAME ("got.attached", "got.stop"), for the test. */
static VT_UNUSED void at_got_note(const char *name)
{
	char text[160];

	at_got_state(text, sizeof(text));
	vt_format(text + strlen(text), sizeof(text) - strlen(text), "\n");
	at_put(name, text);
}

/* ------------------------------------------------------------ the usual life */

/* Up to ready: pre-attach blocks and the GOT snapshot. */
static VT_UNUSED void at_start(int argc, char **argv)
{
	at_init(argc, argv);
	pre_attach_alloc();
	at_got_snapshot();
}

/* After the leaks: the census, then DIR/leaked, then wait for DIR/stop. */
static VT_UNUSED void at_leaked_then_wait_stop(void)
{
	at_got_note("got.attached");
	at_put("leaked", "leaked\n");
	at_wait("stop", AT_WAIT_MS);
	at_got_note("got.stop");
}

/* Does /proc/self/maps map a file whose path ends with NAME?  No malloc. */
static VT_UNUSED int at_mapped(const char *name)
{
	char buf[4096], line[1024];
	size_t len = 0, nlen = strlen(name);
	ssize_t n;
	int fd = open("/proc/self/maps", O_RDONLY), found = 0;

	if (fd < 0)
		vt_die("/proc/self/maps");
	while (!found && (n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n && !found; i++) {
			if (buf[i] != '\n') {
				if (len < sizeof(line) - 1)
					line[len++] = buf[i];
				continue;
			}
			line[len] = '\0';
			found = len >= nlen && !strcmp(line + len - nlen, name);
			len = 0;
		}
	}
	close(fd);
	return found;
}

#endif /* ATTACH_H */
