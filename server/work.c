/*
 * A peer's gdb work (work.h). The loop and the thread share only the
 * request slot, the reply slot and the quit flag, under one mutex; the
 * eventfd wakes the loop. Everything else (the core file, the gdb view, the
 * sysroot lookups) belongs to the thread: the decoder's caches are not
 * thread-safe, so the thread keeps roots and a module map of its own.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <poll.h>
#include <unistd.h>

#include "core.h"
#include "leaksdoc.h"
#include "gdbcmd.h"
#include "gdbmi.h"
#include "log.h"
#include "modmap.h"
#include "monotime.h"
#include "proto.h"
#include "relay.h"
#include "report.h"
#include "request.h"
#include "rootfs.h"
#include "util.h"
#include "work.h"
#include "workcmd.h"

#define CORE_READ_MS 30000   /* a core upload that stalls this long is dropped */
#define RELAY_MS 20000       /* gdb starting its relay */
#define RUN_MS 15000         /* finish, next, step: then interrupted */
#define SITE_MS 10000        /* the held thread back to its caller */
#define MAX_CORE (1ull << 40) /* a sane size; --peer-core-budget (at most this) is the real bound */
#define MAX_KEPT 100000      /* core.PROGRAM.PID.N: N at most this */

struct srv_work {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int efd;
	int quit;
	cJSON *req;
	double id;
	char cmd[32];
	int chan;
	cJSON *reply;
	/* The thread's own. */
	const struct srv_work_config *cfg;
	char name[64];
	char *dir;		/* private temporary directory: cores, the relay's socket */
	struct srv_root **roots;
	size_t nroots;
	struct srv_modmap *map;
	struct srv_core *view;
	uint64_t core_bytes;	/* of the budget (cfg->budget), held by the core received and its view */
	char err[512];		/* the thread's last logged error (log_capture) */
};

static pthread_mutex_t count_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t count_cv = PTHREAD_COND_INITIALIZER;
static int running;

/* ---------------------------------------------------------------- replies */

static cJSON *text_reply(double id, char *text, int running_now)
{
	cJSON *r = srv_reply_new(id, 1);

	cJSON_AddStringToObject(r, "text", text ? text : "");
	if (running_now)
		cJSON_AddBoolToObject(r, "running", 1);
	free(text);
	return r;
}

/* The error reply for a failed step: WHAT, then the thread's last logged error. */
static cJSON *fail(struct srv_work *w, double id, const char *what)
{
	return srv_reply_error(id, "%s%s%s", what, w->err[0] ? ": " : "", w->err);
}

static int num_of(const cJSON *msg, const char *name, double lo, double hi, double *out)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(msg, name);

	if (!cJSON_IsNumber(n) || n->valuedouble < lo || n->valuedouble > hi || n->valuedouble != (double)(int64_t)n->valuedouble)
		return -1;
	*out = n->valuedouble;
	return 0;
}

/* ---------------------------------------------------------------- files */

static int ensure_dir(struct srv_work *w)
{
	const char *t = getenv("TMPDIR");

	if (w->dir)
		return 0;
	if (asprintf(&w->dir, "%s/memtrace-server.XXXXXX", t && *t ? t : "/tmp") < 0) {
		w->dir = NULL;
		return log_err("out of memory");
	}
	if (!mkdtemp(w->dir)) {
		log_err("%s: cannot make a temporary directory: %s", w->dir, strerror(errno));
		free(w->dir);
		w->dir = NULL;
		return -1;
	}
	return 0;
}

static char *in_dir(struct srv_work *w, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", w->dir, name) < 0)
		log_oom();
	return p;
}

/* The host file of the device's program EXE (build-id BID, may be NULL), malloc'ed; NULL logged. */
static char *host_program(struct srv_work *w, const char *exe, const char *bid)
{
	struct srv_modfile *mf;

	if (!exe || exe[0] != '/')
		return log_err_null("the device did not name its program (an absolute path)");
	if (!w->cfg->n_sysroots)
		return log_err_null("memtrace-server was started without a sysroot: give it the device's (where %s "
				    "is, with its symbols)", exe);
	if (!w->map) {
		w->roots = xcalloc(w->cfg->n_sysroots, sizeof(*w->roots));
		for (size_t i = 0; i < w->cfg->n_sysroots; i++) {
			w->roots[i] = srv_root_new(w->cfg->sysroots[i]);
			if (!w->roots[i])
				return NULL;
			w->nroots++;
		}
		w->map = srv_modmap_new(w->roots, w->nroots);
	}
	mf = srv_modmap_get(w->map, exe, bid && *bid ? bid : NULL);
	if (mf->status != SRV_OK)
		return log_err_null("%s", mf->message ? mf->message : "no host file for the program");
	return xstrdup(mf->host_file);
}

/* Read exactly SIZE bytes of CHAN into PATH. 0, or -1 logged (PATH removed). */
static int receive_file(int chan, const char *path, uint64_t size)
{
	FILE *f = fopen(path, "wbe");
	char buf[65536];
	uint64_t got = 0;

	if (!f)
		return log_err("%s: %s", path, strerror(errno));
	while (got < size) {
		struct pollfd pfd = { .fd = chan, .events = POLLIN };
		size_t want = size - got < sizeof(buf) ? (size_t)(size - got) : sizeof(buf);
		ssize_t n;

		if (poll(&pfd, 1, CORE_READ_MS) <= 0) {
			log_err("the core stopped coming after %" PRIu64 " of %" PRIu64 " bytes (%d s)", got, size,
				CORE_READ_MS / 1000);
			goto fail;
		}
		n = recv(chan, buf, want, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_err("the device closed the channel after %" PRIu64 " of %" PRIu64 " bytes", got, size);
			goto fail;
		}
		if (fwrite(buf, 1, (size_t)n, f) != (size_t)n) {
			log_err("%s: %s", path, strerror(errno));
			goto fail;
		}
		got += (uint64_t)n;
	}
	if (fclose(f) != 0) {
		f = NULL;
		log_err("%s: %s", path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (f)
		fclose(f);
	unlink(path);
	return -1;
}

/* Names in --cores DIR are picked under this lock (the peers' threads share DIR). */
static pthread_mutex_t keep_mu = PTHREAD_MUTEX_INITIALIZER;

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 || errno != ENOENT;
}

/*
 * A new file DIR/core.PROGRAM.PID.N for the core of EXE (the device's path)
 * and PID, N the first free number (neither it nor N.gz there): created
 * empty, its name malloc'ed. NULL logged.
 */
static char *keep_create(const char *dir, const char *exe, double pid)
{
	const char *base = exe && strrchr(exe, '/') ? strrchr(exe, '/') + 1 : "program";
	char prog[64], *path = NULL, *gz = NULL;
	size_t i;
	int err = 0;

	for (i = 0; base[i] && i < sizeof(prog) - 1; i++) /* a file name whatever the device said */
		prog[i] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-", base[i]) ?
				  base[i] : '_';
	prog[i] = '\0';
	if (!i || prog[0] == '.')
		snprintf(prog, sizeof(prog), "program");
	pthread_mutex_lock(&keep_mu);
	for (int n = 1; n <= MAX_KEPT && !err; n++) {
		int fd;

		free(path);
		free(gz);
		if (asprintf(&path, "%s/core.%s.%.0f.%d", dir, prog, pid, n) < 0 ||
		    asprintf(&gz, "%s.gz", path) < 0) {
			log_oom();
		}
		if (exists(path) || exists(gz))
			continue;
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd >= 0) {
			close(fd);
			pthread_mutex_unlock(&keep_mu);
			free(gz);
			return path;
		}
		if (errno != EEXIST) {
			err = errno;
			log_err("--cores %s: cannot create %s: %s", dir, path, strerror(err));
		}
	}
	if (!err)
		log_err("--cores %s: no free name for another core of %s, process %.0f", dir, prog, pid);
	pthread_mutex_unlock(&keep_mu);
	free(path);
	free(gz);
	return NULL;
}

/* A kept core PATH that is gzip'ed becomes PATH.gz: the name to give (PATH, or PATH realloc'ed). */
static char *keep_suffix(char *path)
{
	unsigned char magic[2] = { 0, 0 };
	FILE *f = fopen(path, "rbe");
	char *gz;

	if (f) {
		if (fread(magic, 1, 2, f) != 2)
			magic[0] = 0;
		fclose(f);
	}
	if (magic[0] != 0x1f || magic[1] != 0x8b || asprintf(&gz, "%s.gz", path) < 0)
		return path;
	pthread_mutex_lock(&keep_mu);
	if (!exists(gz) && rename(path, gz) == 0) {
		pthread_mutex_unlock(&keep_mu);
		free(path);
		return gz;
	}
	pthread_mutex_unlock(&keep_mu);
	free(gz);
	return path;
}

/* ---------------------------------------------------------------- views */

/* The core of the view, if any, no longer takes disk: its budget is given back. */
static void core_gone(struct srv_work *w)
{
	if (w->core_bytes && w->cfg->budget)
		srv_corebudget_release(w->cfg->budget, w->core_bytes);
	w->core_bytes = 0;
}

static void close_view(struct srv_work *w)
{
	if (w->view && srv_core_is_live(w->view)) {
		struct gdbmi_session *s = srv_core_gdb(w->view);

		/* gdb removes its breakpoints and lets every thread go; gdbserver then ends. */
		if (gdbmi_is_running(s) || gdbmi_detach(s) != GDBMI_OK)
			log_warn("%s: gdb did not detach cleanly: %s", w->name, gdbmi_session_error(s));
		else
			log_info("%s: gdb detached from the device's process", w->name);
	}
	srv_core_close(w->view);
	w->view = NULL;
	core_gone(w);
}

static cJSON *do_core(struct srv_work *w, const cJSON *msg, double id, int chan)
{
	struct srv_core_options o = { .gdb = w->cfg->gdb, .sysroots = w->cfg->sysroots,
				      .n_sysroots = w->cfg->n_sysroots };
	double size, pid = 0;
	char *path = NULL, *exe = NULL, *unpack = NULL, kept[4200] = "", what[4400], why[400];
	cJSON *r;

	if (chan < 0)
		return srv_reply_error(id, "core: no channel to read it from");
	if (num_of(msg, "size", 1, (double)MAX_CORE, &size) < 0)
		return srv_reply_error(id, "core: \"size\" must be the core's size in bytes (1 to %llu)", MAX_CORE);
	close_view(w);
	/* The one gate of every upload: before a byte is read (the refusal closes the channel). */
	if (w->cfg->budget) {
		if (srv_corebudget_take(w->cfg->budget, (uint64_t)size, why, sizeof(why)) < 0) {
			log_warn("%s: core refused: %s", w->name, why);
			return srv_reply_error(id, "core: refused: %s", why);
		}
		w->core_bytes = (uint64_t)size;
	}
	log_info("%s: a core of %.1f MiB is coming", w->name, size / (1024.0 * 1024.0));
	/* A gzip'ed core is gunzipped in this peer's own directory: no other peer's name can meet it. */
	if (ensure_dir(w) < 0) {
		r = fail(w, id, "core");
		goto out_budget;
	}
	if (w->cfg->cores_dir) {
		if (num_of(msg, "pid", 1, 1 << 30, &pid) < 0)
			pid = 0;
		path = keep_create(w->cfg->cores_dir, inj_json_str(msg, "exe", NULL), pid);
		if (!path) {
			r = fail(w, id, "core: keeping it");
			goto out_budget;
		}
	} else {
		path = in_dir(w, "core");
	}
	if (receive_file(chan, path, (uint64_t)size) < 0) {
		free(path);
		r = fail(w, id, "core: receiving it");
		goto out_budget;
	}
	if (w->cfg->budget)
		srv_corebudget_arrived(w->cfg->budget, (uint64_t)size);
	if (w->cfg->cores_dir) {
		path = keep_suffix(path);
		snprintf(kept, sizeof(kept), "; kept as %s", path);
	}
	log_info("%s: received a core of %.1f MiB%s", w->name, size / (1024.0 * 1024.0), kept);
	exe = host_program(w, inj_json_str(msg, "exe", NULL), inj_json_str(msg, "build_id", NULL));
	if (!exe) {
		snprintf(what, sizeof(what), "core: received%s, but the program is not found on this host", kept);
		r = fail(w, id, what);
		goto out;
	}
	o.core = path;
	o.exe = exe;
	o.unpack_to = unpack = in_dir(w, "core.gunzipped");
	w->view = srv_core_open(&o);
	if (!w->view) {
		snprintf(what, sizeof(what), "core: received%s, but gdb cannot open it", kept);
		r = fail(w, id, what);
		goto out;
	}
	{
		char *text;

		if (asprintf(&text, "memtrace-server opened the core (%.1f MiB) in gdb with %s%s\n",
			     size / (1024.0 * 1024.0), exe, kept) < 0)
			text = NULL;
		r = text_reply(id, text, 0);
	}
out:
	/* gdb keeps the file open; the name can go now, unless kept */
	if (!w->cfg->cores_dir)
		unlink(path);
	free(path);
	free(unpack);
	free(exe);
	if (!w->view)
		core_gone(w); /* removed, or kept: no longer ours (--cores is the user's to empty) */
	return r;
out_budget:
	if (w->cfg->budget)
		srv_corebudget_arrived(w->cfg->budget, (uint64_t)size);
	core_gone(w);
	return r;
}

struct relay_arg {
	int lfd, chan, rc;
};

static void *relay_thread(void *p)
{
	struct relay_arg *a = p;

	a->rc = srv_relay_pass(a->lfd, a->chan, RELAY_MS);
	return NULL;
}

/* `SELF` --rsp-relay `SOCK`, in single quotes for gdb's shell; NULL when a path holds one. */
static char *relay_command(const char *self, const char *sock)
{
	char *cmd;

	if (strchr(self, '\'') || strchr(sock, '\'')) {
		log_err("a path with a quote (%s, %s): cannot run gdb's relay", self, sock);
		return NULL;
	}
	if (asprintf(&cmd, "exec '%s' --rsp-relay '%s'", self, sock) < 0)
		return NULL;
	return cmd;
}

static cJSON *do_gdb_open(struct srv_work *w, const cJSON *msg, double id, int chan)
{
	struct srv_core_options o = { .gdb = w->cfg->gdb, .sysroots = w->cfg->sysroots,
				      .n_sysroots = w->cfg->n_sysroots };
	struct relay_arg a = { .lfd = -1, .chan = chan, .rc = -1 };
	char *exe = NULL, *sock = NULL, *cmd = NULL, *text = NULL;
	pthread_t th;
	cJSON *r = NULL;

	if (chan < 0)
		return srv_reply_error(id, "gdb-open: no channel to gdbserver");
	close_view(w);
	exe = host_program(w, inj_json_str(msg, "exe", NULL), inj_json_str(msg, "build_id", NULL));
	if (!exe)
		return fail(w, id, "gdb: the program is not found on this host");
	if (ensure_dir(w) < 0) {
		r = fail(w, id, "gdb");
		goto out;
	}
	sock = in_dir(w, "rsp");
	unlink(sock);
	a.lfd = srv_relay_listen(sock);
	cmd = relay_command(w->cfg->self, sock);
	if (a.lfd < 0 || !cmd || pthread_create(&th, NULL, relay_thread, &a) != 0) {
		r = fail(w, id, "gdb: the relay to the device");
		goto out;
	}
	o.exe = exe;
	o.remote = cmd;
	w->view = srv_core_open(&o);
	shutdown(a.lfd, SHUT_RDWR); /* ends the relay thread's wait if gdb never ran it */
	pthread_join(th, NULL);
	if (!w->view) {
		r = fail(w, id, "gdb: cannot open the device's process");
		goto out;
	}
	if (asprintf(&text, "gdb on the host (symbols of %s) is attached to process %.0f on the device through "
		     "gdbserver\n", exe, cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(msg, "pid"))) < 0)
		text = NULL;
	r = text_reply(id, text, 0);
	log_info("%s: gdb attached through gdbserver, with %s", w->name, exe);
out:
	if (a.lfd >= 0)
		close(a.lfd);
	if (sock)
		unlink(sock);
	free(sock);
	free(cmd);
	free(exe);
	return r;
}

static cJSON *do_gdb_close(struct srv_work *w, const cJSON *msg, double id, int chan)
{
	int live = w->view && srv_core_is_live(w->view);

	(void)msg;
	(void)chan;
	close_view(w);
	return text_reply(id, xstrdup(live ? "gdb detached; the program runs on\n" : ""), 0);
}

/*
 * The views: each writes its text to F from the open core or gdb session
 * (w->view) and returns what srv_core's functions do: -1 failed (the
 * reason logged), 0 done, 1 done and the program runs now. CTX is the
 * request's context ID where the command takes one; KIND gdb-exec's line,
 * as the gate judged it.
 */
static int view_frames(struct srv_work *w, FILE *f, const cJSON *msg, unsigned long ctx,
		       enum srv_gdbcmd_kind kind)
{
	(void)msg;
	(void)kind;
	return srv_core_frames(w->view, f, ctx);
}

static int view_blocks(struct srv_work *w, FILE *f, const cJSON *msg, unsigned long ctx,
		       enum srv_gdbcmd_kind kind)
{
	(void)msg;
	(void)kind;
	return srv_core_blocks(w->view, f, ctx);
}

static int view_inspect(struct srv_work *w, FILE *f, const cJSON *msg, unsigned long ctx,
			enum srv_gdbcmd_kind kind)
{
	const char *addr = inj_json_str(msg, "addr", NULL);
	double bytes = PROTO_INSPECT_BYTES;

	double id, k, n = PROTO_DUMP_BLOCKS;

	(void)ctx;
	(void)kind;
	num_of(msg, "bytes", 1, 1 << 20, &bytes);
	/* The blocks of a verdict: "ctx" and "kind" instead of "addr". */
	if (!addr && cJSON_GetObjectItemCaseSensitive(msg, "kind")) {
		if (num_of(msg, "ctx", 0, PROTO_CTX_ID_MAX, &id) < 0)
			return log_err("inspect: \"ctx\" must be a context ID (0: from before the attach)");
		if (num_of(msg, "kind", LEAKS_KIND_LOST, LEAK_NVERDICTS - 1, &k) < 0 || (k < 0 && k != LEAKS_KIND_LOST))
			return log_err("inspect: \"kind\" must be -4 (lost) or a verdict (0 to 3)");
		if (cJSON_GetObjectItemCaseSensitive(msg, "n") && num_of(msg, "n", 1, PROTO_DUMP_MAX_BLOCKS, &n) < 0)
			return log_err("inspect: \"n\" must be a number of blocks from 1 to %d", PROTO_DUMP_MAX_BLOCKS);
		return srv_core_inspect_kind(w->view, f, (unsigned long)id, (int)k, (long)n,
					     inj_json_str(msg, "type", NULL), (size_t)bytes);
	}
	return addr ? srv_core_inspect(w->view, f, addr, inj_json_str(msg, "type", NULL), (size_t)bytes)
		    : log_err("no \"addr\" to inspect");
}

/* The leaks document of the core (JSON: the console prints it its own way); "kind" and "count" as leaksdoc.h. */
static int view_leaks(struct srv_work *w, FILE *f, const cJSON *msg, unsigned long ctx,
		      enum srv_gdbcmd_kind kind)
{
	struct srv_core_leaks_options o = { .sysroots = w->cfg->sysroots, .n_sysroots = w->cfg->n_sysroots,
					    .kind = -1, .json = 1 };
	double v;

	(void)ctx;
	(void)kind;
	if (cJSON_GetObjectItemCaseSensitive(msg, "kind")) {
		if (num_of(msg, "kind", LEAKS_KIND_ALL, LEAK_NVERDICTS - 1, &v) < 0 || v == -2)
			return log_err("leaks: \"kind\" must be -3 (all), -1 (lost) or a verdict (0 to 3)");
		o.kind = (int)v;
	}
	if (cJSON_GetObjectItemCaseSensitive(msg, "count")) {
		if (num_of(msg, "count", 0, PROTO_CTX_ID_MAX, &v) < 0)
			return log_err("leaks: \"count\" must be a number of contexts (0: all)");
		o.count = (long)v;
	}
	return srv_core_leaks(w->view, f, &o);
}

static int view_site(struct srv_work *w, FILE *f, const cJSON *msg, unsigned long ctx,
		     enum srv_gdbcmd_kind kind)
{
	(void)msg;
	(void)kind;
	return srv_core_is_live(w->view) ? srv_core_to_site(w->view, f, ctx, SITE_MS) : log_err("not live");
}

static int view_exec(struct srv_work *w, FILE *f, const cJSON *msg, unsigned long ctx,
		     enum srv_gdbcmd_kind kind)
{
	(void)ctx;
	return srv_core_run(w->view, f, inj_json_str(msg, "command", NULL), kind == SRV_GDBCMD_RUN ? RUN_MS : 0);
}

static int view_wait(struct srv_work *w, FILE *f, const cJSON *msg, unsigned long ctx,
		     enum srv_gdbcmd_kind kind)
{
	double ms = 0;

	(void)ctx;
	(void)kind;
	num_of(msg, "ms", 1, 600000, &ms);
	return srv_core_wait_stop(w->view, f, ms > 0 ? (int)ms : RUN_MS);
}

/* The work commands (workcmd.h): a handler for the whole answer, or a view. */
static const struct work_cmd {
	const char *name;
	cJSON *(*whole)(struct srv_work *w, const cJSON *msg, double id, int chan);
	int (*view)(struct srv_work *w, FILE *f, const cJSON *msg, unsigned long ctx,
		    enum srv_gdbcmd_kind kind);
	int needs_ctx;
} work_cmds[] = {
#define WORK_ENTRY(name, whole, view, ctx) { name, whole, view, ctx },
	SRV_WORK_COMMANDS(WORK_ENTRY)
#undef WORK_ENTRY
};

static cJSON *do_view(struct srv_work *w, const struct work_cmd *c, const cJSON *msg, double id)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	double v = 0;
	int rc;
	enum srv_gdbcmd_kind kind = SRV_GDBCMD_INSPECT;
	char why[300];

	if (!w->view)
		return srv_reply_error(id, "%s: no core and no gdb session yet (coredump, or gdb, first)", c->name);
	if (c->view == view_exec) {
		/* The gdb gate, before gdb sees anything of the line. */
		const char *line = inj_json_str(msg, "command", NULL);

		if (!srv_core_is_live(w->view))
			return srv_reply_error(id, "gdb-exec: no gdb session on the live process (gdb first)");
		kind = srv_gdbcmd_check(line ? line : "", why, sizeof(why));
		if (kind == SRV_GDBCMD_REFUSED)
			return srv_reply_error(id, "%s", why);
		if (kind == SRV_GDBCMD_CONTINUE || kind == SRV_GDBCMD_DETACH)
			return srv_reply_error(id, "gdb-exec: '%s' ends the session: send gdb-close", line);
	}
	if (c->needs_ctx && num_of(msg, "ctx", 1, PROTO_CTX_ID_MAX, &v) < 0)
		return srv_reply_error(id, "%s: \"ctx\" must be a context ID", c->name);
	f = open_memstream(&buf, &len);
	if (!f)
		log_oom();
	rc = c->view(w, f, msg, (unsigned long)v, kind);
	fclose(f);
	if (rc < 0) {
		free(buf);
		return fail(w, id, c->name);
	}
	return text_reply(id, buf, rc == 1);
}

static cJSON *answer(struct srv_work *w, const cJSON *msg, double id, const char *cmd, int chan)
{
	for (size_t i = 0; i < sizeof(work_cmds) / sizeof(work_cmds[0]); i++) {
		const struct work_cmd *c = &work_cmds[i];

		if (strcmp(cmd, c->name))
			continue;
		return c->whole ? c->whole(w, msg, id, chan) : do_view(w, c, msg, id);
	}
	return srv_reply_error(id, "unknown work command \"%s\"", cmd);
}

/* ---------------------------------------------------------------- the thread */

static void finish(struct srv_work *w)
{
	close_view(w);
	if (w->dir && rmdir(w->dir) < 0)
		log_debug("%s: %s", w->dir, strerror(errno));
	free(w->dir);
	srv_modmap_free(w->map);
	for (size_t i = 0; i < w->nroots; i++)
		srv_root_free(w->roots[i]);
	free(w->roots);
	close(w->efd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
	pthread_mutex_lock(&count_mu);
	running--;
	pthread_cond_broadcast(&count_cv);
	pthread_mutex_unlock(&count_mu);
}

static void *work_main(void *p)
{
	struct srv_work *w = p;

	log_capture(w->err, sizeof(w->err));
	pthread_mutex_lock(&w->mu);
	for (;;) {
		cJSON *req, *reply;
		double id;
		char cmd[32];
		int chan;
		uint64_t one = 1;

		while (!w->req && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->quit && !w->req)
			break;
		req = w->req;
		id = w->id;
		chan = w->chan;
		memcpy(cmd, w->cmd, sizeof(cmd));
		w->req = NULL;
		w->chan = -1;
		pthread_mutex_unlock(&w->mu);

		w->err[0] = '\0';
		reply = answer(w, req, id, cmd, chan);
		cJSON_Delete(req);
		if (chan >= 0)
			close(chan);

		pthread_mutex_lock(&w->mu);
		if (w->quit) {
			cJSON_Delete(reply);
			break;
		}
		w->reply = reply;
		if (write(w->efd, &one, sizeof(one)) < 0)
			log_warn("%s: eventfd: %s", w->name, strerror(errno));
	}
	if (w->req) {
		cJSON_Delete(w->req);
		if (w->chan >= 0)
			close(w->chan);
	}
	cJSON_Delete(w->reply);
	pthread_mutex_unlock(&w->mu);
	log_capture(NULL, 0);
	finish(w);
	return NULL;
}

struct srv_work *srv_work_new(const struct srv_work_config *cfg, const char *name)
{
	struct srv_work *w = xcalloc(1, sizeof(*w));
	pthread_attr_t attr;
	pthread_t th;

	w->cfg = cfg;
	w->chan = -1;
	snprintf(w->name, sizeof(w->name), "%s", name);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (w->efd < 0 || pthread_create(&th, &attr, work_main, w) != 0) {
		log_err("cannot start a thread for %s's gdb work: %s", name, strerror(errno));
		exit(125);
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_lock(&count_mu);
	running++;
	pthread_mutex_unlock(&count_mu);
	return w;
}

int srv_work_fd(const struct srv_work *w)
{
	return w->efd;
}

void srv_work_submit(struct srv_work *w, cJSON *msg, double id, const char *cmd, int chan)
{
	pthread_mutex_lock(&w->mu);
	w->req = msg;
	w->id = id;
	snprintf(w->cmd, sizeof(w->cmd), "%s", cmd);
	w->chan = chan;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

cJSON *srv_work_take(struct srv_work *w)
{
	uint64_t n;
	cJSON *r;

	if (read(w->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("eventfd: %s", strerror(errno));
	pthread_mutex_lock(&w->mu);
	r = w->reply;
	w->reply = NULL;
	pthread_mutex_unlock(&w->mu);
	return r;
}

void srv_work_free(struct srv_work *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void srv_work_drain(int timeout_ms)
{
	struct timespec ts = wall_deadline(timeout_ms);

	pthread_mutex_lock(&count_mu);
	while (running > 0 && pthread_cond_timedwait(&count_cv, &count_mu, &ts) == 0)
		;
	if (running > 0)
		log_warn("%d gdb sessions still closing: stopping without them", running);
	pthread_mutex_unlock(&count_mu);
}
