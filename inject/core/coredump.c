/*
 * The core writer. The layout is the kernel's (fs/binfmt_elf.c): an ELF
 * header of the target's class and machine, one PT_NOTE, then one PT_LOAD
 * per mapping. Notes: per thread NT_PRSTATUS followed by its FP/vector
 * regsets; after the first thread's, the process-wide NT_PRPSINFO,
 * NT_SIGINFO, NT_AUXV and NT_FILE (which mapping comes from which file,
 * how gdb finds the libraries). memtrace is built for the target's
 * architecture, so the native <sys/procfs.h> structures have the layout
 * the kernel and gdb use.
 *
 * The layout is computed before any memory is read, so the file is written
 * front to back: through zlib too (a gzip stream), and without seeking.
 * A page /proc/PID/mem refuses (a device mapping, a guard) is written as
 * zeros; mappings that are not readable get a PT_LOAD without contents.
 * [vvar] and [vsyscall] are left out: reading them faults or means nothing.
 *
 * The process is held only between the seize and the release, the time it
 * takes to read the registers and write the memory.
 */
#include <elf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "core/coredump.h"
#include "log.h"
#include "injector/ptrace.h"
#include "injector/regs.h"
#include "util.h"

/* The native ELF class: memtrace is built for the target's architecture.
 * (Not <link.h>'s ElfW: -Iinject puts memtrace's own headers first.) */
#if UINTPTR_MAX > 0xffffffffu
#define EW(t) Elf64_##t
#define CORE_CLASS ELFCLASS64
#else
#define EW(t) Elf32_##t
#define CORE_CLASS ELFCLASS32
#endif

#define SEIZE_TIMEOUT_MS 5000
#define MAX_THREADS 4096
#define CHUNK (1u << 20)
#define FP_MAX (1u << 16)
#define MIB(x) ((double)(x) / (1024.0 * 1024.0))

struct map {
	uint64_t start, end, offset;
	int prot;		/* PF_R | PF_W | PF_X */
	int dump;		/* contents go in the file */
	char *path;		/* NULL: anonymous */
};

struct buf {
	unsigned char *p;
	size_t len, cap;
};

/* The output: a plain file (zero runs become holes) or a gzip stream. */
struct out {
	int fd;
	int gz;
	z_stream z;
	unsigned char *zbuf;
	uint64_t raw;		/* bytes of core written so far */
	uint64_t hole;		/* plain file: pending zeros not written yet */
	const char *name;	/* the temporary file, for messages */
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *np;

		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			log_oom();
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void buf_pad4(struct buf *b)
{
	static const unsigned char zero[4];

	buf_add(b, zero, (4 - b->len % 4) % 4);
}

/* One note: name "CORE" for the classic types, "LINUX" for the regsets beyond. */
static void note_add(struct buf *b, unsigned type, const void *desc, size_t size)
{
	const char *name = type == NT_PRSTATUS || type == NT_PRFPREG || type == NT_PRPSINFO ||
			   type == NT_SIGINFO || type == NT_AUXV || type == NT_FILE ? "CORE" : "LINUX";
	EW(Nhdr) nh = { .n_namesz = (EW(Word))strlen(name) + 1, .n_descsz = (EW(Word))size,
			  .n_type = type };

	buf_add(b, &nh, sizeof(nh));
	buf_add(b, name, nh.n_namesz);
	buf_pad4(b);
	buf_add(b, desc, size);
	buf_pad4(b);
}

/* The whole of a /proc file (they have no size). NULL with errno on failure. */
static char *slurp(const char *path, size_t *len)
{
	struct buf b = { 0 };
	char tmp[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		buf_add(&b, tmp, (size_t)n);
	close(fd);
	if (n < 0) {
		free(b.p);
		return NULL;
	}
	buf_add(&b, "", 1);
	*len = b.len - 1;
	return (char *)b.p;
}

/* /proc/PID/NAME, or /proc/PID/task/TID/NAME when TID is not 0. */
static char *slurp_proc(size_t *len, int pid, int tid, const char *name)
{
	char path[96];

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", pid, tid, name);
	else
		snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	return slurp(path, len);
}

/* ---------------------------------------------------------------- mappings */

static int is_skipped(const char *path)
{
	return path && (!strncmp(path, "[vvar", 5) || !strcmp(path, "[vsyscall]"));
}

static struct map *read_maps(int pid, size_t *nmaps)
{
	size_t len, n = 0, cap = 0;
	char *text = slurp_proc(&len, pid, 0, "maps"), *line, *save = NULL;
	struct map *m = NULL;

	if (!text)
		return NULL;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long start, end, off;
		char perms[8];
		int pos = 0;
		char *path;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &off, &pos) < 4 ||
		    !pos)
			continue;
		path = line + pos;
		while (*path == ' ')
			path++;
		if (is_skipped(path))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			m = realloc(m, cap * sizeof(*m));
			if (!m)
				log_oom();
		}
		m[n].start = start;
		m[n].end = end;
		m[n].offset = off;
		m[n].prot = (perms[0] == 'r' ? PF_R : 0) | (perms[1] == 'w' ? PF_W : 0) |
			    (perms[2] == 'x' ? PF_X : 0);
		m[n].dump = perms[0] == 'r';
		m[n].path = *path ? xstrdup(path) : NULL;
		n++;
	}
	free(text);
	*nmaps = n;
	if (!m)
		errno = ENOENT;
	return m;
}

static void free_maps(struct map *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++)
		free(m[i].path);
	free(m);
}

/* NT_FILE: count, page size, then (start, end, offset in pages) and the names. */
static void note_file(struct buf *notes, const struct map *m, size_t n, long page)
{
	struct buf d = { 0 };
	long count = 0;

	for (size_t i = 0; i < n; i++)
		count += m[i].path && m[i].path[0] == '/';
	buf_add(&d, &count, sizeof(count));
	buf_add(&d, &page, sizeof(page));
	for (size_t i = 0; i < n; i++) {
		long v[3] = { (long)m[i].start, (long)m[i].end, (long)(m[i].offset / (uint64_t)page) };

		if (m[i].path && m[i].path[0] == '/')
			buf_add(&d, v, sizeof(v));
	}
	for (size_t i = 0; i < n; i++)
		if (m[i].path && m[i].path[0] == '/')
			buf_add(&d, m[i].path, strlen(m[i].path) + 1);
	note_add(notes, NT_FILE, d.p, d.len);
	free(d.p);
}

/* ---------------------------------------------------------------- process facts */

struct proc_stat {
	char state;
	int ppid, pgrp, sid, nice;
};

static void read_stat(int pid, int tid, struct proc_stat *st)
{
	size_t len;
	char *s = slurp_proc(&len, pid, tid, "stat"), *p;

	memset(st, 0, sizeof(*st));
	if (!s)
		return;
	/* After the command's closing parenthesis: state ppid pgrp session ... nice (field 19). */
	p = strrchr(s, ')');
	if (p) {
		long f[17] = { 0 };
		char c = 0;

		sscanf(p + 1, " %c %ld %ld %ld %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %ld",
		       &c, &f[0], &f[1], &f[2], &f[3]);
		st->state = c;
		st->ppid = (int)f[0];
		st->pgrp = (int)f[1];
		st->sid = (int)f[2];
		st->nice = (int)f[3];
	}
	free(s);
}

/* SigPnd/SigBlk of a thread from its status file. */
static void read_sigmasks(int pid, int tid, unsigned long *pend, unsigned long *blk)
{
	size_t len;
	char *s = slurp_proc(&len, pid, tid, "status"), *p;

	*pend = *blk = 0;
	if (!s)
		return;
	if ((p = strstr(s, "\nSigPnd:")))
		*pend = (unsigned long)strtoull(p + 8, NULL, 16);
	if ((p = strstr(s, "\nShdPnd:")))
		*pend |= (unsigned long)strtoull(p + 8, NULL, 16);
	if ((p = strstr(s, "\nSigBlk:")))
		*blk = (unsigned long)strtoull(p + 8, NULL, 16);
	free(s);
}

static void note_prpsinfo(struct buf *notes, int pid)
{
	static const char states[] = "RSDTZW";
	struct elf_prpsinfo ps;
	struct proc_stat st;
	struct stat sb;
	size_t len = 0;
	char *s;

	memset(&ps, 0, sizeof(ps));
	read_stat(pid, pid, &st);
	ps.pr_sname = st.state;
	for (size_t i = 0; i < sizeof(states) - 1; i++)
		if (states[i] == st.state)
			ps.pr_state = (char)i;
	ps.pr_zomb = st.state == 'Z';
	ps.pr_nice = (char)st.nice;
	ps.pr_pid = pid;
	ps.pr_ppid = st.ppid;
	ps.pr_pgrp = st.pgrp;
	ps.pr_sid = st.sid;
	{
		char path[32];

		snprintf(path, sizeof(path), "/proc/%d", pid);
		if (stat(path, &sb) == 0) {
			ps.pr_uid = sb.st_uid;
			ps.pr_gid = sb.st_gid;
		}
	}
	if ((s = slurp_proc(&len, pid, 0, "comm"))) {
		s[strcspn(s, "\n")] = '\0';
		strncpy(ps.pr_fname, s, sizeof(ps.pr_fname) - 1);
		free(s);
	}
	if ((s = slurp_proc(&len, pid, 0, "cmdline"))) {
		size_t n = len < sizeof(ps.pr_psargs) - 1 ? len : sizeof(ps.pr_psargs) - 1;

		for (size_t i = 0; i < n; i++)
			ps.pr_psargs[i] = s[i] ? s[i] : ' ';
		while (n > 0 && ps.pr_psargs[n - 1] == ' ')
			ps.pr_psargs[--n] = '\0';
		free(s);
	}
	note_add(notes, NT_PRPSINFO, &ps, sizeof(ps));
}

/* ---------------------------------------------------------------- threads */

/* A regset of a stopped thread into a fresh buffer; NULL if it has none. */
static void *get_regset(int tid, unsigned type, size_t size, size_t *len)
{
	for (; size <= FP_MAX; size *= 2) {
		void *p = calloc(1, size);
		struct iovec iov = { p, size };

		if (!p)
			return NULL;
		if (ptrace(PTRACE_GETREGSET, tid, (void *)(unsigned long)type, &iov) < 0) {
			free(p);
			return NULL;
		}
		if (iov.iov_len < size) {
			*len = iov.iov_len;
			return p;
		}
		free(p);
	}
	return NULL;
}

/* The FP/vector regsets of a stopped thread: NT_PRFPREG and the arch's own. */
struct fpstate {
	unsigned type[2];
	void *p[2];
	size_t len[2];
};

static void read_fp(int tid, struct fpstate *f)
{
	size_t hint;

	memset(f, 0, sizeof(*f));
	f->type[0] = NT_PRFPREG;
	f->type[1] = inj_arch_fp_regset(&hint);
	f->p[0] = get_regset(tid, NT_PRFPREG, 1024, &f->len[0]);
	if (f->type[1] != NT_PRFPREG)
		f->p[1] = get_regset(tid, f->type[1], hint, &f->len[1]);
}

static void note_fp(struct buf *notes, struct fpstate *f)
{
	for (int i = 0; i < 2; i++) {
		if (f->p[i])
			note_add(notes, f->type[i], f->p[i], f->len[i]);
		free(f->p[i]);
		f->p[i] = NULL;
	}
}

static void note_prstatus(struct buf *notes, int pid, int tid, const struct inj_regs *r,
			  const struct proc_stat *st, int sig, int fpvalid)
{
	struct elf_prstatus ps;

	memset(&ps, 0, sizeof(ps));
	ps.pr_info.si_signo = sig;
	ps.pr_cursig = (short)sig;
	ps.pr_pid = tid;
	ps.pr_ppid = st->ppid;
	ps.pr_pgrp = st->pgrp;
	ps.pr_sid = st->sid;
	read_sigmasks(pid, tid, &ps.pr_sigpend, &ps.pr_sighold);
	memcpy(&ps.pr_reg, r->w, r->len < sizeof(ps.pr_reg) ? r->len : sizeof(ps.pr_reg));
	ps.pr_fpvalid = fpvalid;
	note_add(notes, NT_PRSTATUS, &ps, sizeof(ps));
}

/* A thread left running: pc and sp from /proc/PID/task/TID/syscall. */
static int running_regs(int pid, int tid, struct inj_regs *r)
{
	unsigned long long v[9];
	size_t len;
	char *s = slurp_proc(&len, pid, tid, "syscall");
	int ok;

	if (!s)
		return -1;
	ok = sscanf(s, "%llu %llx %llx %llx %llx %llx %llx %llx %llx", &v[0], &v[1], &v[2], &v[3],
		    &v[4], &v[5], &v[6], &v[7], &v[8]) == 9;
	free(s);
	if (!ok)
		return -1;
	memset(r, 0, sizeof(*r));
	inj_arch_set_pc_sp(r, v[8], v[7]);
	return 0;
}

/* ---------------------------------------------------------------- output */

static int out_flush_hole(struct out *o)
{
	if (!o->hole)
		return 0;
	if (lseek(o->fd, (off_t)o->hole, SEEK_CUR) < 0)
		return -1;
	o->hole = 0;
	return 0;
}

static int gz_pump(struct out *o, int flush)
{
	int r;

	do {
		o->z.next_out = o->zbuf;
		o->z.avail_out = CHUNK;
		r = deflate(&o->z, flush);
		if (r == Z_STREAM_ERROR) {
			errno = EIO;
			return -1;
		}
		if (write_all(o->fd, o->zbuf, CHUNK - o->z.avail_out) < 0)
			return -1;
	} while (o->z.avail_out == 0 || (flush == Z_FINISH && r != Z_STREAM_END));
	return 0;
}

static int out_write(struct out *o, const void *p, size_t n)
{
	o->raw += n;
	if (o->gz) {
		o->z.next_in = (unsigned char *)(uintptr_t)p;
		o->z.avail_in = (uInt)n;
		return gz_pump(o, Z_NO_FLUSH);
	}
	if (out_flush_hole(o) < 0)
		return -1;
	return write_all(o->fd, p, n);
}

static int all_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

/* Zeros: a hole in a plain file. */
static int out_data(struct out *o, const unsigned char *p, size_t n)
{
	if (!o->gz && all_zero(p, n)) {
		o->raw += n;
		o->hole += n;
		return 0;
	}
	return out_write(o, p, n);
}

static int out_finish(struct out *o)
{
	if (o->gz)
		return gz_pump(o, Z_FINISH);
	if (o->hole) {
		/* The file ends in a hole: give it its length. */
		off_t end = lseek(o->fd, 0, SEEK_CUR);

		if (end < 0 || ftruncate(o->fd, end + (off_t)o->hole) < 0)
			return -1;
		o->hole = 0;
	}
	return 0;
}

/* Copy [START, END) of the process; pages it refuses become zeros. */
static int dump_range(struct out *o, int memfd, uint64_t start, uint64_t end, unsigned char *buf,
		      long page, uint64_t *unreadable)
{
	for (uint64_t a = start; a < end;) {
		size_t n = end - a < CHUNK ? (size_t)(end - a) : CHUNK;
		ssize_t got = pread64(memfd, buf, n, (off64_t)a);

		if (got <= 0) {
			/* Page by page, to keep what can be read. */
			n = (size_t)page;
			got = pread64(memfd, buf, n, (off64_t)a);
			if (got < (ssize_t)n) {
				memset(buf + (got > 0 ? got : 0), 0, n - (size_t)(got > 0 ? got : 0));
				*unreadable += n - (size_t)(got > 0 ? got : 0);
			}
			got = (ssize_t)n;
		}
		if (out_data(o, buf, (size_t)got) < 0)
			return -1;
		a += (uint64_t)got;
	}
	return 0;
}

/* ---------------------------------------------------------------- the core */

/* The target's ELF identity, from its executable. */
static int target_ident(int pid, unsigned char ident[EI_NIDENT], EW(Half) *machine)
{
	char path[32];
	EW(Ehdr) eh;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = pread(fd, &eh, sizeof(eh), 0);
	close(fd);
	if (n != (ssize_t)sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != CORE_CLASS) {
		errno = ENOEXEC;
		return -1;
	}
	memcpy(ident, eh.e_ident, EI_NIDENT);
	*machine = eh.e_machine;
	return 0;
}


/* TIDS[0..N) holds TID. */
static int in_list(const int *v, size_t n, int x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

/*
 * All the notes. Thread order: FIRST, then the main thread, then the others
 * as /proc lists them. Stopped threads get their registers; threads left
 * running (epoll waits) their pc and sp only.
 */
static int build_notes(struct buf *notes, int pid, int first, struct inj_task *t,
		       const struct map *maps, size_t nmaps, long page, struct inj_core_info *info)
{
	static int held[MAX_THREADS], order[MAX_THREADS];
	size_t nheld = inj_task_list(t, held, MAX_THREADS), norder = 0, len;
	char path[64], *auxv;
	struct proc_stat st;
	struct dirent *de;
	siginfo_t si;
	DIR *d;

	if (nheld > MAX_THREADS)
		return log_err("coredump: process %d has more than %d threads", pid, MAX_THREADS);
	order[norder++] = first;
	if (first != pid)
		order[norder++] = pid;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (de = readdir(d)) && norder < MAX_THREADS) {
		int tid = atoi(de->d_name);

		if (tid > 0 && !in_list(order, norder, tid))
			order[norder++] = tid;
	}
	if (d)
		closedir(d);
	read_stat(pid, pid, &st);
	for (size_t i = 0; i < norder; i++) {
		int tid = order[i], stopped = in_list(held, nheld, tid);
		struct fpstate fp;
		memset(&fp, 0, sizeof(fp));
		struct inj_regs r;

		if (stopped) {
			if (inj_regs_get(tid, &r) < 0) {
				log_warn("coredump: thread %d: its registers cannot be read (%s); left out",
					 tid, strerror(errno));
				continue;
			}
			read_fp(tid, &fp);
		} else if (running_regs(pid, tid, &r) < 0) {
			/* Gone, or the main thread of a process whose main thread exited. */
			if (tid != pid)
				log_debug("coredump: thread %d: not stopped and not in a system call; left out", tid);
			continue;
		} else {
			info->partial++;
			log_info("coredump: thread %d waits in epoll_wait: stopping it would end the wait "
				 "with EINTR, so the core has only its pc and stack pointer", tid);
		}
		note_prstatus(notes, pid, tid, &r, &st, 0, fp.p[0] || fp.p[1]);
		if (info->threads++ == 0) {
			/* The process-wide notes follow the first thread's status, as the kernel's. */
			note_prpsinfo(notes, pid);
			memset(&si, 0, sizeof(si));
			note_add(notes, NT_SIGINFO, &si, sizeof(si));
			if ((auxv = slurp_proc(&len, pid, 0, "auxv"))) {
				note_add(notes, NT_AUXV, auxv, len);
				free(auxv);
			}
			note_file(notes, maps, nmaps, page);
		}
		note_fp(notes, &fp);
	}
	if (!info->threads)
		return log_err("coredump: no thread of process %d could be read", pid);
	return 0;
}

static const char *fix_hint(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
		return "free some space there, or write elsewhere with -f PATH (--gz makes it smaller)";
	case EACCES:
	case EPERM:
	case EROFS:
		return "choose a directory you may write to with -f PATH";
	case ENOENT:
	case ENOTDIR:
		return "the directory must exist: give an existing one with -f PATH";
	default:
		return "write elsewhere with -f PATH";
	}
}

/* Header, program headers, notes, then the memory of every mapping. */
static int write_core(struct out *o, int pid, const unsigned char *ident, EW(Half) machine,
		      const struct map *maps, size_t nmaps, const struct buf *notes, long page,
		      struct inj_core_info *info)
{
	size_t nph = nmaps + 1;
	EW(Ehdr) eh;
	EW(Phdr) *ph = xcalloc(nph, sizeof(*ph));
	uint64_t off, data;
	unsigned char *buf = NULL;
	char path[32];
	int memfd = -1, ret = -1, e;

	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ident, EI_NIDENT);
	eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
	eh.e_ident[EI_ABIVERSION] = 0;
	eh.e_type = ET_CORE;
	eh.e_machine = machine;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(EW(Phdr));
	if (nph >= PN_XNUM) {
		log_err("coredump: process %d has %zu mappings, more than an ELF core without "
			"extended numbering holds", pid, nmaps);
		goto out;
	}
	eh.e_phnum = (EW(Half))nph;
	off = sizeof(eh) + nph * sizeof(EW(Phdr));
	ph[0].p_type = PT_NOTE;
	ph[0].p_offset = off;
	ph[0].p_filesz = notes->len;
	ph[0].p_align = 4;
	off += notes->len;
	data = (off + (uint64_t)page - 1) & ~((uint64_t)page - 1);
	off = data;
	for (size_t i = 0; i < nmaps; i++) {
		EW(Phdr) *p = &ph[i + 1];

		p->p_type = PT_LOAD;
		p->p_offset = off;
		p->p_vaddr = maps[i].start;
		p->p_memsz = maps[i].end - maps[i].start;
		p->p_filesz = maps[i].dump ? p->p_memsz : 0;
		p->p_flags = (EW(Word))maps[i].prot;
		p->p_align = (EW(Xword))page;
		off += p->p_filesz;
	}
	if (out_write(o, &eh, sizeof(eh)) < 0 || out_write(o, ph, nph * sizeof(*ph)) < 0 ||
	    out_write(o, notes->p, notes->len) < 0)
		goto io;
	buf = xcalloc(1, CHUNK);
	if (out_data(o, buf, data - o->raw) < 0)
		goto io;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	memfd = open(path, O_RDONLY | O_CLOEXEC | O_LARGEFILE);
	if (memfd < 0) {
		log_err("coredump: cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < nmaps; i++) {
		if (!maps[i].dump)
			continue;
		if (dump_range(o, memfd, maps[i].start, maps[i].end, buf, page, &info->unreadable) < 0)
			goto io;
		info->mem_bytes += maps[i].end - maps[i].start;
	}
	if (out_finish(o) < 0)
		goto io;
	ret = 0;
	goto out;
io:
	e = errno;
	log_err("coredump: writing %s failed after %.1f MiB: %s; the partial file is removed; %s",
		o->name, MIB(o->raw), strerror(e), fix_hint(e));
	errno = e;
out:
	if (memfd >= 0)
		close(memfd);
	free(buf);
	free(ph);
	return ret;
}

int inj_coredump(int pid, int first_tid, const char *path, int gz, struct inj_core_info *info)
{
	struct inj_core_info dummy;
	unsigned char ident[EI_NIDENT];
	EW(Half) machine;
	struct out o = { .fd = -1 };
	struct buf notes = { 0 };
	struct map *maps = NULL;
	struct inj_task *t = NULL;
	size_t nmaps = 0;
	long page = sysconf(_SC_PAGESIZE);
	char *tmp, *dir, *slash;
	int64_t t0 = 0;
	int ret = -1, e;

	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	if (!first_tid)
		first_tid = pid;
	if (target_ident(pid, ident, &machine) < 0)
		return log_err("coredump: process %d: its executable cannot be read (%s)", pid,
			       strerror(errno));
	/* The temporary file beside PATH, so the rename is atomic. */
	tmp = xmalloc(strlen(path) + 32);
	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	slash = strrchr(path, '/');
	if (slash)
		sprintf(tmp, "%.*s.%s.tmp%d", (int)(slash - path + 1), path, slash + 1, (int)getpid());
	else
		sprintf(tmp, ".%s.tmp%d", path, (int)getpid());
	o.name = tmp;
	o.gz = gz;
	o.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_LARGEFILE, 0600);
	if (o.fd < 0) {
		e = errno;
		log_err("coredump: cannot create a file in %s: %s; %s", dir, strerror(e), fix_hint(e));
		goto out_free;
	}
	if (gz) {
		o.zbuf = xmalloc(CHUNK);
		/* Level 1: the process is held while this runs; cores compress well anyway. */
		if (deflateInit2(&o.z, 1, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			log_err("coredump: zlib cannot start a gzip stream");
			goto out_unlink;
		}
	}

	t0 = inj_now_ns();
	t = inj_seize(pid, SEIZE_TIMEOUT_MS);
	if (!t) {
		e = errno;
		log_err("coredump: cannot stop process %d: %s%s", pid, strerror(e),
			e == EPERM ? " (is it traced by someone else, e.g. a debugger?)" :
			e == ETIMEDOUT ? " (a thread did not stop: uninterruptible sleep?)" : "");
		goto out_zlib;
	}
	/* Mappings only now: they cannot change while every thread is stopped. */
	maps = read_maps(pid, &nmaps);
	if (!maps) {
		log_err("coredump: cannot read /proc/%d/maps: %s", pid, strerror(errno));
		goto out_release;
	}
	if (build_notes(&notes, pid, first_tid, t, maps, nmaps, page, info) < 0)
		goto out_release;
	if (write_core(&o, pid, ident, machine, maps, nmaps, &notes, page, info) < 0)
		goto out_release;
	ret = 0;
out_release:
	e = errno;
	if (inj_release(t) < 0)
		log_warn("coredump: process %d: some threads could not be let go cleanly", pid);
	info->stopped_ns = inj_now_ns() - t0;
	errno = e;
out_zlib:
	if (gz)
		deflateEnd(&o.z);
	if (ret == 0 && close(o.fd) < 0) {
		e = errno;
		log_err("coredump: writing %s failed: %s; %s", tmp, strerror(e), fix_hint(e));
		ret = -1;
	} else if (ret < 0) {
		close(o.fd);
	}
	o.fd = -1;
	if (ret == 0) {
		struct stat sb;

		if (rename(tmp, path) < 0) {
			e = errno;
			log_err("coredump: cannot rename %s to %s: %s; %s", tmp, path, strerror(e), fix_hint(e));
			ret = -1;
		} else {
			info->file_bytes = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : o.raw;
		}
	}
out_unlink:
	if (o.fd >= 0)
		close(o.fd);
	if (ret < 0)
		unlink(tmp);
out_free:
	free(o.zbuf);
	free(notes.p);
	free_maps(maps, nmaps);
	free(dir);
	free(tmp);
	return ret;
}
