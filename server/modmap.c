/*
 * Finding a device module's file on the host. The search, in order, stops at
 * the first file that has DWARF:
 *   1. the module's path under each sysroot;
 *   2. (build-id known) every file with the module's name in the sysroots;
 *   3. (build-id known) SYSROOT/usr/lib/debug/.build-id/xx/rest.debug;
 *   4. the .gnu_debuglink of the first file found in 1-2 without DWARF: in
 *      its directory, its .debug/ subdirectory, then under usr/lib/debug.
 * A file whose build-id is not the device's is passed over (and remembered
 * for the mismatch message); a debug file found by debuglink is checked by
 * build-id when both sides have one, else by the link's CRC. Without a
 * build-id from the device, only the path itself (1) and its debuglink (4)
 * are used: a file found by name alone could be any build. When nothing has
 * DWARF, the first matching file is still used for its ELF symbols.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfinfo.h"
#include "log.h"
#include "modmap.h"
#include "strmap.h"
#include "util.h"

struct srv_modmap {
	struct srv_root *const *roots;
	size_t n_roots;
	struct srv_strmap *cache; /* "path\0build-id" -> struct srv_modfile */
};

/* An accepted candidate file. */
struct cand {
	int fd; /* -1: none */
	char *host;
	size_t root;
	struct srv_elfinfo info;
};

struct search {
	const struct srv_modmap *m;
	const char *module;
	const char *build_id; /* NULL: unknown */
	struct cand best;     /* the first match without DWARF */
	struct cand found;    /* the first match with DWARF: the answer */
	char *mismatch;	      /* the first file passed over for its build-id */
};

static void cand_drop(struct cand *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->host);
	c->host = NULL;
	srv_elfinfo_clear(&c->info);
}

/*
 * Open device path PATH in sysroot ROOT into C when it is an ELF file. 0, or
 * -1 when there is no such file (a path that leads outside the sysroot is
 * logged: someone's tree or someone's report is wrong).
 */
static int open_cand(const struct search *s, size_t root, const char *path, struct cand *c)
{
	const struct srv_root *r = s->m->roots[root];

	c->fd = srv_root_open(r, path, &c->host);
	if (c->fd < 0) {
		if (errno == EXDEV || errno == ELOOP)
			log_warn("sysroot %s: %s leads outside the sysroot or loops: not read",
				 srv_root_path(r), path);
		else if (errno != ENOENT && errno != ENOTDIR)
			log_debug("sysroot %s: %s: %m", srv_root_path(r), path);
		c->host = NULL;
		return -1;
	}
	c->root = root;
	if (srv_elfinfo_read(c->fd, &c->info) < 0) {
		log_debug("%s: not an ELF file", c->host);
		cand_drop(c);
		return -1;
	}
	return 0;
}

/* Steps 1-3: PATH in sysroot ROOT as a candidate. Returns 1 when it is the answer. */
static int try_file(struct search *s, size_t root, const char *path)
{
	struct cand c;

	if (open_cand(s, root, path, &c) < 0)
		return 0;
	if (s->build_id && strcmp(c.info.build_id, s->build_id)) {
		if (!s->mismatch &&
		    asprintf(&s->mismatch, "build-id mismatch: the device's module has %s, %s has %s",
			     s->build_id, c.host, c.info.build_id[0] ? c.info.build_id : "none") < 0)
			s->mismatch = NULL;
		log_debug("%s", s->mismatch ? s->mismatch : "build-id mismatch");
		cand_drop(&c);
		return 0;
	}
	if (c.info.has_dwarf) {
		s->found = c;
		return 1;
	}
	if (s->best.fd < 0)
		s->best = c;
	else
		cand_drop(&c);
	return 0;
}

/* Step 4: the separate debug file named by the best file's .gnu_debuglink. */
static void try_debuglink(struct search *s)
{
	const struct cand *b = &s->best;
	const char *want = s->build_id ? s->build_id : b->info.build_id;
	const char *root_path, *dev, *slash;
	char path[PATH_MAX];
	int dirlen;

	/* Nothing found (with no sysroot at all, there is no root to look at either). */
	if (b->fd < 0 || !b->info.debuglink || strchr(b->info.debuglink, '/'))
		return;
	root_path = srv_root_path(s->m->roots[b->root]);
	/* The best file's own place on the device, its links resolved. */
	dev = b->host + (strcmp(root_path, "/") ? strlen(root_path) : 0);
	slash = strrchr(dev, '/');
	dirlen = (int)(slash - dev);
	for (int k = 0; k < 3; k++) {
		/* DIR/NAME, DIR/.debug/NAME, /usr/lib/debug/DIR/NAME */
		static const char *const pre[] = { "", "", "/usr/lib/debug" }, *const mid[] = { "", "/.debug", "" };
		struct cand c;
		uint32_t crc;

		if (snprintf(path, sizeof(path), "%s%.*s%s/%s", pre[k], dirlen, dev, mid[k], b->info.debuglink) >=
		    (int)sizeof(path))
			continue;
		if (open_cand(s, b->root, path, &c) < 0)
			continue;
		if (!c.info.has_dwarf || !strcmp(c.host, b->host)) {
			cand_drop(&c);
			continue;
		}
		if (want[0] && c.info.build_id[0]) {
			if (strcmp(want, c.info.build_id)) {
				log_debug("%s: build-id %s, not %s: not the debug file", c.host,
					  c.info.build_id, want);
				cand_drop(&c);
				continue;
			}
		} else if (srv_file_crc32(c.fd, &crc) < 0 || crc != b->info.debuglink_crc) {
			log_debug("%s: CRC differs from the debuglink's: not the debug file", c.host);
			cand_drop(&c);
			continue;
		}
		s->found = c;
		return;
	}
}

static void search(struct search *s)
{
	const struct srv_modmap *m = s->m;
	const char *base = strrchr(s->module, '/') + 1;

	for (size_t i = 0; i < m->n_roots; i++)
		if (try_file(s, i, s->module))
			return;
	if (s->build_id) {
		for (size_t i = 0; i < m->n_roots; i++) {
			const char *const *names;
			size_t n;

			names = srv_root_find_name(m->roots[i], base, &n);
			for (size_t k = 0; k < n; k++)
				if (strcmp(names[k], s->module) && try_file(s, i, names[k]))
					return;
		}
		for (size_t i = 0; i < m->n_roots; i++) {
			char path[PATH_MAX];

			snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug", s->build_id,
				 s->build_id + 2);
			if (try_file(s, i, path))
				return;
		}
	}
	try_debuglink(s);
}

/* NULL when PATH may be looked for, else why not. */
static const char *path_refused(const char *path)
{
	const char *p;

	if (path[0] != '/')
		return "not an absolute path";
	if (strlen(path) >= PATH_MAX)
		return "too long";
	for (p = path; (p = strstr(p, "..")); p += 2)
		if (p[-1] == '/' && (p[2] == '/' || !p[2]))
			return "has a \"..\" component";
	if (!strrchr(path, '/')[1])
		return "names a directory";
	return NULL;
}

static struct srv_modfile *resolve(const struct srv_modmap *m, const char *module, const char *build_id)
{
	struct srv_modfile *f = xcalloc(1, sizeof(*f));
	struct search s = { .m = m, .module = module, .build_id = build_id };
	const char *why;

	f->fd = -1;
	s.best.fd = s.found.fd = -1;
	if ((why = path_refused(module))) {
		f->status = SRV_REFUSED;
		if (asprintf(&f->message, "module path refused: %s", why) < 0)
			f->message = NULL;
		return f;
	}
	if (build_id && !srv_build_id_valid(build_id)) {
		f->status = SRV_REFUSED;
		f->message = xstrdup("build_id refused: not 4 to 128 lowercase hex digits");
		return f;
	}
	search(&s);
	if (s.found.fd < 0 && s.best.fd >= 0) {
		s.found = s.best;
		s.best.fd = -1;
		s.best.host = NULL;
		memset(&s.best.info, 0, sizeof(s.best.info));
	}
	if (s.found.fd >= 0) {
		f->status = SRV_OK;
		f->host_file = s.found.host;
		f->has_dwarf = s.found.info.has_dwarf;
		memcpy(f->build_id, s.found.info.build_id, sizeof(f->build_id));
		f->fd = s.found.fd;
		srv_elfinfo_clear(&s.found.info);
		log_debug("%s%s%s: %s%s", module, build_id ? " build-id " : "", build_id ? build_id : "",
			  f->host_file, f->has_dwarf ? "" : " (no DWARF: ELF symbols only)");
	} else if (s.mismatch) {
		f->status = SRV_BUILD_ID_MISMATCH;
		f->message = s.mismatch;
		s.mismatch = NULL;
	} else {
		f->status = SRV_NOT_FOUND;
		if (asprintf(&f->message, "%s%s%s not found in the sysroots%s", module,
			     build_id ? " with build-id " : "", build_id ? build_id : "",
			     m->n_roots ? "" : " (none given)") < 0)
			f->message = NULL;
	}
	cand_drop(&s.best);
	free(s.mismatch);
	return f;
}

struct srv_modmap *srv_modmap_new(struct srv_root *const *roots, size_t n)
{
	struct srv_modmap *m = xcalloc(1, sizeof(*m));

	m->roots = roots;
	m->n_roots = n;
	m->cache = srv_strmap_new();
	return m;
}

static void modfile_free(void *p)
{
	struct srv_modfile *f = p;

	if (f->fd >= 0)
		close(f->fd);
	free(f->message);
	free(f->host_file);
	free(f);
}

void srv_modmap_free(struct srv_modmap *m)
{
	if (!m)
		return;
	srv_strmap_free(m->cache, modfile_free);
	free(m);
}

struct srv_modfile *srv_modmap_get(struct srv_modmap *m, const char *module, const char *build_id)
{
	size_t ml = strlen(module), bl = build_id ? strlen(build_id) : 0;
	char *key = xmalloc(ml + bl + 2);
	struct srv_modfile *f;

	memcpy(key, module, ml + 1);
	memcpy(key + ml + 1, build_id ? build_id : "", bl + 1);
	f = srv_strmap_get(m->cache, key, ml + bl + 2);
	if (!f) {
		f = resolve(m, module, build_id);
		srv_strmap_put(m->cache, key, ml + bl + 2, f);
	}
	free(key);
	return f;
}
