/*
 * core.c: memtrace-server --core. One gdb session (mi/) on a core file and
 * its program, and three questions asked in memtrace's terms: which thread
 * allocates in context ID and what its frames hold, which blocks of context
 * ID are live, what is in the block at an address.
 *
 * memtrace's tables are read through the agent's exported anchor,
 * `memtrace_gdb`, by common/anchortab.c; this file finds the anchor (a stripped
 * agent works: its dynamic symbols name it) and is the gdb session around
 * the tables.
 *
 * The held thread is found, not assumed: the thread whose stack holds the
 * context's first return address below some frames (the allocator's and the
 * agent's hook). With `coredump -c ID` that is the core's first thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "anchor.h"
#include "core.h"
#include "anchortab.h"
#include "gdbcmd.h"
#include "gdbroot.h"
#include "gdbmi.h"
#include "log.h"
#include "util.h"


struct srv_core {
	struct gdbmi_session *s;
	char *tmp;	     /* the gunzipped core, removed at close */
	int fd;		     /* the core gdb opened (tmp or the caller's), -1 live: its name may go */
	char *file;	     /* the core's name as the caller gave it, for messages */
	char *exe;	     /* the program */
	char *warn;	     /* gdb's "warning:" lines while the core opened */
	size_t warn_len;
	int collect;	     /* 1 while warnings are collected */
	int all_frames;
	int live;	     /* through gdbserver, not a core */
	FILE *sink;	     /* gdb's console text goes here while set (srv_core_run) */
	struct memsrc mem;	     /* gdb's reads of the core or process, for tab */
	struct anchortab tab; /* memtrace's tables in the core or process */
};

/* mi/ logs to us: its errors come back as statuses we word ourselves, so they are INFO here. */
static void on_log(void *ctx, enum gdbmi_log_level level, const char *msg)
{
	(void)ctx;
	log_msg(level == GDBMI_LOG_DEBUG ? LOG_DEBUG : level == GDBMI_LOG_INFO ? LOG_DEBUG : LOG_INFO, "gdb: %s",
		msg);
}

static void on_async(void *ctx, const struct gdbmi_record *rec)
{
	struct srv_core *c = ctx;
	char *w;

	if (c->sink && rec->type == GDBMI_CONSOLE && rec->text)
		fwrite(rec->text, 1, rec->text_len, c->sink);
	if (rec->type != GDBMI_LOG || !rec->text || !c->collect)
		return;
	if (strncmp(rec->text, "warning:", 8) && !c->warn_len)
		return; /* a warning may come in pieces: keep what follows the first */
	w = realloc(c->warn, c->warn_len + rec->text_len + 1);
	if (!w)
		return;
	memcpy(w + c->warn_len, rec->text, rec->text_len);
	c->warn_len += rec->text_len;
	w[c->warn_len] = '\0';
	c->warn = w;
}


/*
 * A new file for the gunzipped core: TO (created, O_EXCL: a file left there
 * is not ours to overwrite), or a fresh name in $TMPDIR. Its fd, the name
 * (malloc'ed) in *PATH; -1 logged.
 */
static int unpack_file(const char *to, char **path)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (to ? asprintf(path, "%s", to) < 0
	       : asprintf(path, "%s/memtrace-core.XXXXXX", dir && *dir ? dir : "/tmp") < 0) {
		*path = NULL;
		return log_err("out of memory");
	}
	fd = to ? open(*path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : mkostemp(*path, O_CLOEXEC);
	if (fd < 0) {
		log_err("%s: cannot make a temporary file for the gunzipped core: %s", *path, strerror(errno));
		free(*path);
		*path = NULL;
	}
	return fd;
}

/* Gunzip IN into a new file (TO, or one in $TMPDIR); its path (malloc'ed), or NULL (logged, nothing left). */
static char *gunzip_core(const char *in, const char *to)
{
	char buf[65536];
	gzFile gz;
	int fd, n, err;
	char *path;

	fd = unpack_file(to, &path);
	if (fd < 0)
		return NULL;
	gz = gzopen(in, "rb");
	if (!gz) {
		log_err("%s: %s", in, strerror(errno ? errno : ENOMEM));
		goto out_close;
	}
	gzbuffer(gz, 1 << 17);
	while ((n = gzread(gz, buf, sizeof(buf))) > 0) {
		if (write_all(fd, buf, (size_t)n) < 0) {
			log_err("%s: writing the gunzipped core: %s", path, strerror(errno));
			gzclose_r(gz);
			goto out_close;
		}
	}
	if (n < 0) {
		log_err("%s: not a readable gzip stream: %s", in, gzerror(gz, &err));
		gzclose_r(gz);
		goto out_close;
	}
	err = gzclose_r(gz);
	if (err != Z_OK) {
		log_err("%s: the gzip stream is %s", in, err == Z_BUF_ERROR ? "truncated" : "damaged");
		goto out_close;
	}
	if (close(fd) < 0) {
		log_err("%s: %s", path, strerror(errno));
		goto out_unlink;
	}
	return path;
out_close:
	close(fd);
out_unlink:
	unlink(path);
	free(path);
	return NULL;
}

/* 1 when FILE starts with the gzip magic. */
static int is_gzip(const char *file)
{
	unsigned char m[2];
	int fd = open(file, O_RDONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return 0;
	ok = read(fd, m, 2) == 2 && m[0] == 0x1f && m[1] == 0x8b;
	close(fd);
	return ok;
}

/* ---------------------------------------------------------------- target memory */

/* gdb's own words from the session's last error, without the "`-command...`: " mi/ puts first. */
static const char *gdb_msg(struct srv_core *c)
{
	const char *e = gdbmi_session_error(c->s), *p;

	if (e[0] == '`' && (p = strstr(e, "`: ")))
		return p + 3;
	return e;
}

/* ---------------------------------------------------------------- open */

/* The start of gdb's first line in TEXT that mentions WHAT, up to its end, or NULL. */
static char *line_with(const char *text, const char *what, char *buf, size_t size)
{
	const char *p = text ? strstr(text, what) : NULL, *b, *e;

	if (!p)
		return NULL;
	for (b = p; b > text && b[-1] != '\n'; b--)
		;
	e = strchr(p, '\n');
	snprintf(buf, size, "%.*s", (int)(e ? e - b : (long)strlen(b)), b);
	return buf;
}

/* The tables' memory source (memsrc.h): exact reads through gdb. */
static int gdb_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	size_t got = 0;

	if (gdbmi_read_memory(arg, addr, len, buf, &got) != GDBMI_OK || got != len) {
		errno = EFAULT;
		return -1;
	}
	return 0;
}

/* Find memtrace_gdb; -1 with the reason logged. */
static int find_anchor(struct srv_core *c)
{
	char *v = NULL, *libs = NULL, line[512];

	if (gdbmi_evaluate(c->s, "(unsigned long long) &memtrace_gdb", &v) == GDBMI_OK) {
		c->tab.anchor = strtoull(v, NULL, 0);
		free(v);
		if (c->tab.anchor)
			return 0;
	}
	/* In the core but not found on this host, or not there at all? */
	gdbmi_console(c->s, "info sharedlibrary", &libs, NULL);
	if (libs && strstr(libs, "No shared libraries loaded")) {
		free(libs);
		/* gdb finds the libraries through the program's dynamic section: a rebuilt program misleads it */
		return log_err("gdb found no shared library in this core: is --exe the program it was taken of (the "
			       "same build)?");
	}
	if (line_with(libs, "memtrace-agent", line, sizeof(line))) {
		free(libs);
		return log_err("memtrace's agent is in this core but gdb could not read its symbols: put the "
			       "device's libmemtrace-agent.so in the sysroot (gdb: %s)",
			       line);
	}
	free(libs);
	return log_err("memtrace's agent is not in this core: was it taken by memtrace coredump?");
}

/*
 * How opening a core and reaching a live device both end, once gdb holds
 * the target: gdb's warnings at the info level (DOING names the step), the
 * sysroots' libraries given to gdb, memtrace_gdb found and the table read.
 * Takes DEBUGDIR (freed). C, or NULL (C closed, logged).
 */
static struct srv_core *core_ready(struct srv_core *c, const struct srv_core_options *o, const char *doing,
				   char *debugdir)
{
	int failed;

	if (c->warn)
		log_info("gdb, %s: %s", doing, c->warn);
	if (o->n_sysroots)
		srv_gdbroot_load(c->s, o->sysroots, o->n_sysroots);
	failed = find_anchor(c) < 0 || anchortab_read(&c->tab) < 0;
	free(debugdir);
	if (failed) {
		srv_core_close(c);
		return NULL;
	}
	return c;
}

/*
 * The live half of srv_core_open: the program, then `target remote | REMOTE`
 * (gdbserver at the other end, attached, every thread stopped). No function
 * of the target is ever called from here: `print f()` is refused by gdb.
 * Takes DEBUGDIR (freed). C or NULL (C closed, logged).
 */
static struct srv_core *open_live(struct srv_core *c, const struct srv_core_options *o,
				  const struct gdbmi_paths *paths, char *debugdir)
{
	enum gdbmi_status st = gdbmi_open_program(c->s, paths, o->exe);

	if (st != GDBMI_OK) {
		log_err("%s: gdb cannot load it: %s", o->exe, gdb_msg(c));
		goto fail;
	}
	if (gdbmi_cmd(c->s, NULL, "-gdb-set may-call-functions off") != GDBMI_OK) {
		log_err("this gdb cannot refuse calls into the program (set may-call-functions: gdb 10 or later "
			"needed): %s", gdb_msg(c));
		goto fail;
	}
	c->collect = 1;
	st = gdbmi_connect_pipe(c->s, o->remote);
	c->collect = 0;
	if (st != GDBMI_OK) {
		log_err("gdb could not reach gdbserver on the device: %s", gdb_msg(c));
		goto fail;
	}
	return core_ready(c, o, "connecting", debugdir);
fail:
	free(debugdir);
	srv_core_close(c);
	return NULL;
}

struct srv_core *srv_core_open(const struct srv_core_options *o)
{
	/* no script and no libthread_db from the sysroot: nothing runs but gdb */
	const char *nx_args[] = { "-iex", "set auto-load off", NULL };
	struct gdbmi_options go = {
		.gdb = o->gdb,
		.args = nx_args,
		.on_async = on_async,
		.log = on_log,
	};
	struct gdbmi_paths paths = { 0 };
	char *debugdir = NULL, line[512];
	const char *core = o->core;
	struct srv_core *c;
	struct stat sb;
	enum gdbmi_status st;

	if (!o->remote && stat(o->core, &sb) < 0)
		return log_err_null("%s: %s", o->core, strerror(errno));
	if (!o->remote && !S_ISREG(sb.st_mode))
		return log_err_null("%s: not a regular file, not a core", o->core);
	if (access(o->exe, R_OK) < 0)
		return log_err_null("%s: %s", o->exe, strerror(errno));
	c = calloc(1, sizeof(*c));
	if (!c)
		return log_err_null("out of memory");
	c->fd = -1;
	c->all_frames = o->all_frames;
	c->live = o->remote != NULL;
	go.async_ctx = c;
	if (!o->remote && is_gzip(o->core)) {
		c->tmp = gunzip_core(o->core, o->unpack_to);
		if (!c->tmp)
			goto out_free;
		core = c->tmp;
	}
	c->fd = o->remote ? -1 : open(core, O_RDONLY | O_CLOEXEC);
	if (!o->remote && c->fd < 0) {
		log_err("%s: %s", core, strerror(errno));
		goto out_free;
	}
	c->file = o->remote ? NULL : xstrdup(o->core);
	c->exe = xstrdup(o->exe);
	c->s = gdbmi_session_new(&go);
	if (!c->s) {
		if (errno == ENOENT || errno == EACCES)
			log_err("cannot run %s (%s): install gdb (apt-get install gdb) or give its path with --gdb",
				o->gdb ? o->gdb : "gdb", strerror(errno));
		else
			log_err("cannot start %s: %s", o->gdb ? o->gdb : "gdb", strerror(errno));
		goto out_free;
	}
	c->mem.read = gdb_read;
	c->mem.arg = c->s;
	c->mem.ptr_size = 8;	/* not used by the table reader, which takes the anchor's */
	c->tab.m = &c->mem;
	c->tab.where = c->live ? "the process" : "the core";
	log_info("%s", gdbmi_session_version(c->s));
	if (o->n_sysroots) {
		/* gdb finds no library by itself: the server gives it those it found in the sysroots (gdbroot.h) */
		paths.sysroot = SRV_GDBROOT_NOWHERE;
		if (asprintf(&debugdir, "%s/usr/lib/debug", o->sysroots[0]) < 0) {
			log_err("out of memory");
			goto out_session;
		}
		if (stat(debugdir, &sb) == 0 && S_ISDIR(sb.st_mode))
			paths.debug_file_directory = debugdir;
	}
	/* Values are printed one field a line, as gdb's `print` with `set print pretty`. */
	gdbmi_cmd(c->s, NULL, "-gdb-set print pretty on");
	if (o->remote)
		return open_live(c, o, &paths, debugdir);
	c->collect = 1;
	st = gdbmi_open_core(c->s, &paths, o->exe, core, NULL);
	c->collect = 0;
	if (st != GDBMI_OK) {
		const char *why = gdb_msg(c);

		if (strstr(why, "not a core dump") || strstr(why, "format not recognized") ||
		    strstr(why, "file format is ambiguous"))
			log_err("%s: not a core file (gdb: %s)", o->core, why);
		else if (strstr(why, o->exe))
			log_err("--exe %s: gdb cannot load it: %s", o->exe, why);
		else
			log_err("%s: gdb cannot open it: %s", o->core, why);
		goto out_session;
	}
	if (line_with(c->warn, "may not match", line, sizeof(line))) {
		log_err("%s is not the program this core was taken of (gdb: %s): give that program's build with "
			"--exe",
			o->exe, line);
		goto out_session;
	}
	return core_ready(c, o, "opening the core", debugdir);
out_session:
	free(debugdir);
out_free:
	srv_core_close(c);
	return NULL;
}

void srv_core_close(struct srv_core *c)
{
	if (!c)
		return;
	gdbmi_session_free(c->s);
	if (c->tmp) {
		unlink(c->tmp);
		free(c->tmp);
	}
	free(c->warn);
	if (c->fd >= 0)
		close(c->fd);
	free(c->file);
	free(c->exe);
	free(c);
}

int srv_core_fd(const struct srv_core *c, const char **name)
{
	*name = c->file;
	return c->fd;
}

const char *srv_core_exe(const struct srv_core *c)
{
	return c->exe;
}

uint64_t srv_core_anchor(const struct srv_core *c)
{
	return c->tab.anchor;
}

/* ---------------------------------------------------------------- frames */

/* The operator new of C++ (mangled or not): the allocation site is the frame that called it. */
static int is_new(const char *func)
{
	return func && (!strncmp(func, "operator new", 12) || !strncmp(func, "_Znw", 4) || !strncmp(func, "_Zna", 4));
}

/*
 * The level of the frame of F that returns to PCS[0] with frames above it
 * (the allocator's and the agent's), and with PCS[1] among the next few
 * frames (inlined frames share an address), or -1.
 */
static long find_site(const struct gdbmi_frames *f, const uint64_t *pcs, unsigned depth)
{
	for (size_t k = 1; k < f->n; k++) {
		if (f->frame[k].addr != pcs[0])
			continue;
		if (depth < 2)
			return (long)k;
		for (size_t j = k + 1; j < f->n && j <= k + 8; j++)
			if (f->frame[j].addr == pcs[1])
				return (long)k;
	}
	return -1;
}

static void print_frame(struct srv_core *c, FILE *out, long thread, const struct gdbmi_frame *fr, int mark)
{
	struct gdbmi_vars *v = NULL;
	int first = 1;

	fprintf(out, "#%-2lu 0x%016" PRIx64 " in %s (", fr->level, fr->addr, fr->func ? fr->func : "??");
	if (gdbmi_list_variables(c->s, thread, fr->level, GDBMI_ALL_VALUES, &v) != GDBMI_OK)
		v = NULL;
	for (size_t i = 0; v && i < v->n; i++) {
		const char *at = strstr(v->var[i].name, "@entry");

		if (!v->var[i].is_arg)
			continue;
		/* gdb's bt says serial=serial@entry=16: one of the two is enough when they agree */
		if (at && !at[6] && i > 0 && v->var[i - 1].value && v->var[i].value &&
		    !strncmp(v->var[i - 1].name, v->var[i].name, (size_t)(at - v->var[i].name)) &&
		    !v->var[i - 1].name[at - v->var[i].name] && !strcmp(v->var[i - 1].value, v->var[i].value))
			continue;
		fprintf(out, "%s%s=%s", first ? "" : ", ", v->var[i].name, v->var[i].value ? v->var[i].value : "?");
		first = 0;
	}
	fputc(')', out);
	if (fr->file)
		fprintf(out, " at %s:%ld", fr->file, fr->line);
	else if (fr->from)
		fprintf(out, " from %s", fr->from);
	fprintf(out, "%s\n", mark ? "   [allocator/agent]" : "");
	for (size_t i = 0; v && i < v->n; i++) {
		const char *val = v->var[i].value ? v->var[i].value : "?";

		if (v->var[i].is_arg)
			continue;
		fprintf(out, "        %s = ", v->var[i].name);
		/* a pretty-printed aggregate: indent its lines under the name */
		for (const char *p = val; *p; p++) {
			fputc(*p, out);
			if (*p == '\n')
				fputs("        ", out);
		}
		fputc('\n', out);
	}
	gdbmi_vars_free(v);
}

/* Where context ID allocates in this target: its thread, that thread's frames and the site's level. */
struct site {
	struct gdbmi_record *threads; /* owns TARGET */
	struct gdbmi_frames *f;
	long thread, level, user;     /* USER: the caller of the allocator (past operator new) */
	const char *target;
};

static void site_free(struct site *st)
{
	gdbmi_frames_free(st->f);
	gdbmi_record_free(st->threads);
}

/*
 * Find the thread allocating in context ID: the first thread (the held one
 * of `coredump -c`, or the one gdb selected) is tried first. 0, or -1 logged.
 */
static int locate(struct srv_core *c, unsigned long id, struct site *st)
{
	uint64_t pcs[ANCHORTAB_MAX_DEPTH];
	unsigned depth = 0;
	const struct gdbmi_value *threads;

	*st = (struct site){ .level = -1 };
	if (anchortab_ctx_pcs(&c->tab, id, pcs, &depth) < 0)
		return -1;
	if (gdbmi_cmd(c->s, &st->threads, "-thread-info") != GDBMI_OK)
		return log_err("the threads: %s", gdb_msg(c));
	threads = gdbmi_record_get(st->threads, "threads");
	for (size_t i = 0; threads && i < threads->n && st->level < 0; i++) {
		long t;

		if (gdbmi_get_long(&threads->v[i], "id", &t) < 0)
			continue;
		gdbmi_frames_free(st->f);
		st->f = NULL;
		if (gdbmi_list_frames(c->s, t, 0, -1, &st->f) != GDBMI_OK)
			continue;
		st->level = find_site(st->f, pcs, depth);
		if (st->level >= 0) {
			st->thread = t;
			st->target = gdbmi_get_str(&threads->v[i], "target-id");
		}
	}
	if (st->level < 0) {
		if (c->live)
			return log_err("context %lu: no thread is allocating in it now (gdb -c %lu stops one that does)",
				       id, id);
		return log_err("context %lu: no thread of this core is allocating in it: take the core with "
			       "`coredump -c %lu` (the thread it holds is the core's first)", id, id);
	}
	for (st->user = st->level; st->user + 1 < (long)st->f->n && is_new(st->f->frame[st->user].func); st->user++)
		;
	return 0;
}

int srv_core_frames(struct srv_core *c, FILE *out, unsigned long id)
{
	struct site st;
	long user;

	if (locate(c, id, &st) < 0) {
		site_free(&st);
		return -1;
	}
	user = st.user;
	fprintf(out, "== frames of context %lu: thread %ld (%s), %s\n", id, st.thread, st.target ? st.target : "?",
		c->live ? "allocating in it"
		: st.thread == 1 ? "held at its allocation (the core's first thread: coredump -c)"
				 : "allocating in it (not the core's first thread: the core was not taken with coredump -c)");
	if (!c->all_frames)
		fprintf(out, "   (#0-#%ld: the allocator and memtrace's agent, not shown: --all-frames shows them)\n",
			user - 1);
	for (long i = c->all_frames ? 0 : user; i < (long)st.f->n; i++)
		print_frame(c, out, st.thread, &st.f->frame[i], i < user);
	site_free(&st);
	return 0;
}

struct gdbmi_session *srv_core_gdb(struct srv_core *c)
{
	return c->s;
}

int srv_core_is_live(const struct srv_core *c)
{
	return c->live;
}

/*
 * Wait up to TIMEOUT_MS for a stop after SINCE; once stopped, let what gdb
 * prints after a stop (the frame, a returned value) reach the sink: it
 * comes before the answer to the next command.
 */
static enum gdbmi_status settle(struct srv_core *c, unsigned long since, int timeout_ms)
{
	enum gdbmi_status st = gdbmi_wait_stopped(c->s, since, timeout_ms, NULL);

	if (st == GDBMI_OK)
		gdbmi_cmd(c->s, NULL, "-data-evaluate-expression 0");
	return st;
}

int srv_core_run(struct srv_core *c, FILE *out, const char *command, int timeout_ms)
{
	unsigned long since = gdbmi_stop_count(c->s);
	struct gdbmi_record *rec = NULL;
	enum gdbmi_status st;
	char why[300], *q;

	/* The gate again, whoever the caller: no line outside the allowlist reaches gdb (gdbcmd.h) */
	if (srv_gdbcmd_check(command, why, sizeof(why)) == SRV_GDBCMD_REFUSED)
		return log_err("%s", why);
	q = gdbmi_quote(command);
	if (!q) {
		log_err("out of memory");
		return -1;
	}
	c->sink = out;
	st = gdbmi_cmd(c->s, &rec, "-interpreter-exec console %s", q);
	free(q);
	if (st == GDBMI_OK && rec->rclass == GDBMI_RUNNING) {
		st = settle(c, since, timeout_ms);
		if (st == GDBMI_TIMEOUT) {
			/* gdbserver stops an attached process by its process group: try, briefly */
			gdbmi_interrupt(c->s);
			st = settle(c, since, 2000);
			if (st == GDBMI_OK)
				fprintf(out, "(interrupted: `%s` did not stop within %d s)\n", command, timeout_ms / 1000);
		}
	}
	c->sink = NULL;
	if (st == GDBMI_GDB_ERROR)
		fprintf(out, "%s\n", gdbmi_error_msg(rec));
	else if (st != GDBMI_OK)
		log_err("`%s`: %s", command, st == GDBMI_TIMEOUT ? "the program is still running" : gdb_msg(c));
	gdbmi_record_free(rec);
	if (st == GDBMI_TIMEOUT)
		return 1;
	return st == GDBMI_OK || st == GDBMI_GDB_ERROR ? 0 : -1;
}

int srv_core_wait_stop(struct srv_core *c, FILE *out, int timeout_ms)
{
	enum gdbmi_status st;

	if (!gdbmi_is_running(c->s))
		return 0;
	c->sink = out;
	st = settle(c, gdbmi_stop_count(c->s), timeout_ms);
	c->sink = NULL;
	return st == GDBMI_OK ? 0 : st == GDBMI_TIMEOUT ? 1 : -1;
}

int srv_core_to_site(struct srv_core *c, FILE *out, unsigned long id, int timeout_ms)
{
	struct site st;
	char loc[64];
	int rc = -1;

	if (locate(c, id, &st) < 0)
		goto out;
	if (gdbmi_cmd(c->s, NULL, "-thread-select %ld", st.thread) != GDBMI_OK) {
		log_err("thread %ld: %s", st.thread, gdb_msg(c));
		goto out;
	}
	if (st.user == 0) {
		/* Already in the caller: nothing to run. */
		rc = srv_core_run(c, out, "frame", timeout_ms);
		goto out;
	}
	/* Run the allocator to its return, in this thread only: the pointer is then in the caller's hands. */
	snprintf(loc, sizeof(loc), "*0x%" PRIx64, st.f->frame[st.user].addr);
	if (gdbmi_cmd(c->s, NULL, "-break-insert -t -p %ld %s", st.thread, loc) != GDBMI_OK) {
		log_err("a breakpoint at %s: %s", loc, gdb_msg(c));
		goto out;
	}
	fprintf(out, "thread %ld (%s) allocated in context %lu; running it to the return into %s\n", st.thread,
		st.target ? st.target : "?", id, st.f->frame[st.user].func ? st.f->frame[st.user].func : "??");
	rc = srv_core_run(c, out, "continue", timeout_ms);
out:
	site_free(&st);
	return rc;
}

/* ---------------------------------------------------------------- blocks */

struct blocklist {
	uint64_t ctx;
	struct anchortab_blk *b;
	size_t n, cap;
};

static int collect_block(void *arg, const struct anchortab_blk *b)
{
	struct blocklist *l = arg;

	if (b->ctx != l->ctx)
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->b = realloc(l->b, l->cap * sizeof(*l->b));
		if (!l->b)
			return log_err("out of memory");
	}
	l->b[l->n++] = *b;
	return 0;
}

static int by_seq(const void *a, const void *b)
{
	uint64_t x = ((const struct anchortab_blk *)a)->seq, y = ((const struct anchortab_blk *)b)->seq;

	return x < y ? -1 : x > y;
}

int srv_core_blocks(struct srv_core *c, FILE *out, unsigned long id)
{
	struct blocklist l = { .ctx = id };
	uint64_t at, bytes = 0;

	if (anchortab_ctx_addr(&c->tab, id, &at) < 0)
		return -1;
	if (!at)
		return log_err("context %lu: no such context in this core (the IDs are those of memtrace's report)",
			       id);
	if (anchortab_walk(&c->tab, collect_block, &l) < 0) {
		free(l.b);
		return -1;
	}
	if (!l.n)
		return log_err("context %lu: no live blocks in this core", id);
	qsort(l.b, l.n, sizeof(*l.b), by_seq);
	for (size_t i = 0; i < l.n; i++)
		bytes += l.b[i].size;
	fprintf(out, "== blocks of context %lu: %zu live, %" PRIu64 " bytes (address, size, allocation #), oldest first\n",
		id, l.n, bytes);
	for (size_t i = 0; i < l.n; i++)
		fprintf(out, "0x%" PRIx64 " %" PRIu64 " %" PRIu64 "\n", l.b[i].ptr, l.b[i].size, l.b[i].seq);
	free(l.b);
	return 0;
}

/* ---------------------------------------------------------------- inspect */

struct finder {
	uint64_t addr;
	struct anchortab_blk hit;
};

static int find_block(void *arg, const struct anchortab_blk *b)
{
	struct finder *f = arg;

	/* a block of 0 bytes holds its own address */
	if (f->addr >= b->ptr && (f->addr - b->ptr < b->size || f->addr == b->ptr)) {
		f->hit = *b;
		return 1;
	}
	return 0;
}

int srv_core_inspect(struct srv_core *c, FILE *out, const char *addr_text, const char *type, size_t bytes)
{
	struct finder f = { 0 };
	char *v = NULL, *expr = NULL, sym[SRV_GDBCMD_CANON_MAX], ty[SRV_GDBCMD_CANON_MAX], why[300];
	unsigned char *buf;
	uint64_t start;
	size_t len, got = 0;
	int found, rc = -1;

	/* The gate (gdbcmd.h): from here on only the canonical sym and ty reach gdb, never the text received. */
	switch (srv_gdbcmd_addr(addr_text, &f.addr, sym, sizeof(sym), why, sizeof(why))) {
	case SRV_GDBCMD_ADDR_REFUSED:
		return log_err("%s", why);
	case SRV_GDBCMD_ADDR_NUMBER:
		break;
	case SRV_GDBCMD_ADDR_SYMBOL: /* `items`, `&core_global` */
		if (asprintf(&expr, "(unsigned long long) (%s)", sym) < 0)
			return log_err("out of memory");
		if (gdbmi_evaluate(c->s, expr, &v) != GDBMI_OK) {
			log_err("--inspect %s: %s", sym, gdb_msg(c));
			free(expr);
			return -1;
		}
		f.addr = strtoull(v, NULL, 0);
		free(v);
		free(expr);
		v = expr = NULL;
		break;
	}
	if (type && srv_gdbcmd_type(type, ty, sizeof(ty), why, sizeof(why)) < 0)
		return log_err("--type: %s", why);
	found = anchortab_walk(&c->tab, find_block, &f);
	if (found < 0)
		return -1;
	if (type) {
		if (asprintf(&expr, "*(%s *) 0x%" PRIx64, ty, f.addr) < 0)
			return log_err("out of memory");
		if (gdbmi_evaluate(c->s, expr, &v) != GDBMI_OK) {
			log_err("--inspect 0x%" PRIx64 " --type '%s': %s", f.addr, ty, gdb_msg(c));
			free(expr);
			return -1;
		}
		fprintf(out, "== %s", expr);
		if (found)
			fprintf(out, ": %" PRIu64 " bytes into block 0x%" PRIx64 " of %" PRIu64
				     " bytes, allocation #%" PRIu64 ", context %" PRIu64,
				f.addr - f.hit.ptr, f.hit.ptr, f.hit.size, f.hit.seq, f.hit.ctx);
		else
			fputs(": in no live block memtrace knows of", out);
		fprintf(out, "\n%s\n", v);
		free(v);
		free(expr);
		return 0;
	}
	if (found) {
		start = f.hit.ptr;
		len = f.hit.size < bytes ? (size_t)f.hit.size : bytes;
		fprintf(out,
			"== 0x%" PRIx64 ": in block 0x%" PRIx64 ", %" PRIu64 " bytes, allocation #%" PRIu64
			", context %" PRIu64 "\n",
			f.addr, f.hit.ptr, f.hit.size, f.hit.seq, f.hit.ctx);
	} else {
		start = f.addr;
		len = bytes;
		fprintf(out, "== 0x%" PRIx64 ": in no live block memtrace knows of; %zu bytes from there\n", f.addr,
			len);
	}
	if (!len)
		return 0;
	buf = xmalloc(len);
	if (gdbmi_read_memory(c->s, start, len, buf, &got) != GDBMI_OK || !got) {
		log_err("0x%" PRIx64 ": not in the core's memory", start);
	} else {
		hexdump(out, buf, got, "  ");
		if (got < len)
			fprintf(out, "  (the core holds only %zu of the %zu bytes)\n", got, len);
		rc = 0;
	}
	free(buf);
	return rc;
}
