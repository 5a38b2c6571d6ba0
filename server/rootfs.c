/*
 * Sysroots: opening device paths inside them without ever leaving them, and
 * finding files by name. srv_root_open walks with O_PATH descriptors, so
 * what it checks is what it opens: a link swapped in between two steps is
 * seen as a link, and the final open is checked to be the file the walk
 * reached (same device and inode).
 */
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "monotime.h"
#include "rootfs.h"
#include "util.h"

#define MAX_LINKS 40
#define MAX_DEPTH 256
/* A sysroot bigger than this is indexed in part (and says so). */
#define MAX_INDEX 4000000
/* A name not found in an index older than this walks the tree again. */
#define INDEX_STALE_SECONDS 10

struct entry {
	const char *name; /* points into path */
	char *path;	  /* device path */
	size_t order;	  /* walk order, to keep it among equal names */
};

struct srv_root {
	char *path;
	int fd; /* O_PATH directory */
	int indexed;
	time_t indexed_at; /* CLOCK_MONOTONIC seconds */
	struct entry *index; /* sorted by name, then walk order */
	size_t n_index;
	const char **found; /* the paths srv_root_find_name hands out */
};

struct srv_root *srv_root_new(const char *dir)
{
	struct srv_root *r;
	char *real = realpath(dir, NULL);
	int fd;

	if (!real)
		return log_err_null("sysroot %s: %m", dir);
	fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		log_err("sysroot %s: %m", dir);
		free(real);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->path = real;
	r->fd = fd;
	return r;
}

static void drop_index(struct srv_root *r)
{
	for (size_t i = 0; i < r->n_index; i++)
		free(r->index[i].path);
	free(r->index);
	free(r->found);
	r->index = NULL;
	r->found = NULL;
	r->n_index = 0;
}

void srv_root_free(struct srv_root *r)
{
	if (!r)
		return;
	drop_index(r);
	close(r->fd);
	free(r->path);
	free(r);
}

const char *srv_root_path(const struct srv_root *r)
{
	return r->path;
}

/* The walk's state: the directories entered below the root, and the path so far. */
struct walk {
	int fds[MAX_DEPTH];
	size_t lens[MAX_DEPTH]; /* rel_len before each directory was entered */
	size_t depth;
	char rel[PATH_MAX];
	size_t rel_len;
};

static void walk_pop(struct walk *w)
{
	close(w->fds[--w->depth]);
	w->rel_len = w->lens[w->depth];
	w->rel[w->rel_len] = '\0';
}

static int walk_append(struct walk *w, const char *comp, size_t len)
{
	if (w->rel_len + 1 + len >= sizeof(w->rel))
		return -1;
	w->rel[w->rel_len++] = '/';
	memcpy(w->rel + w->rel_len, comp, len);
	w->rel_len += len;
	w->rel[w->rel_len] = '\0';
	return 0;
}

/*
 * TARGET of a link met at *P (the component ending at END) replaces that
 * component: the new remaining path is TARGET/REST. Returns the new buffer
 * (the old one is freed), or NULL when too long.
 */
static char *splice_link(char *todo, const char *target, const char *end)
{
	size_t tl = strlen(target), rl = strlen(end);
	char *s;

	if (tl + rl + 2 > 2 * PATH_MAX) {
		free(todo);
		return NULL;
	}
	s = xmalloc(tl + rl + 2);
	memcpy(s, target, tl);
	s[tl] = '/';
	memcpy(s + tl + (rl > 0), end, rl + 1); /* no '/' after a last component */
	free(todo);
	return s;
}

/* One step: COMP in the current directory. 1 to go on, 0 when FD is the file, -1 with errno. */
static int step(const struct srv_root *r, struct walk *w, char **todo, const char **p,
		const char *comp, const char *end, int *links, int *fd)
{
	int dir = w->depth ? w->fds[w->depth - 1] : r->fd;
	size_t len = strlen(comp);
	struct stat st, st2;
	char target[PATH_MAX];
	ssize_t n;
	int f;

	if (!strcmp(comp, "."))
		return 1;
	if (!strcmp(comp, "..")) {
		if (!w->depth) {
			errno = EXDEV;
			return -1;
		}
		walk_pop(w);
		return 1;
	}
	f = openat(dir, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (f < 0)
		return -1;
	if (fstat(f, &st) < 0)
		goto out_close;
	if (S_ISLNK(st.st_mode)) {
		if (++*links > MAX_LINKS) {
			errno = ELOOP;
			goto out_close;
		}
		n = readlinkat(f, "", target, sizeof(target) - 1);
		if (n < 0)
			goto out_close;
		close(f);
		target[n] = '\0';
		/* An absolute target is a path on the device: from the sysroot again. */
		if (target[0] == '/')
			while (w->depth)
				walk_pop(w);
		*todo = splice_link(*todo, target, end);
		if (!*todo) {
			errno = ENAMETOOLONG;
			return -1;
		}
		*p = *todo;
		return 1;
	}
	if (S_ISDIR(st.st_mode)) {
		if (!*end) {
			errno = EINVAL;
			goto out_close;
		}
		if (w->depth == MAX_DEPTH || walk_append(w, comp, len) < 0) {
			errno = ENAMETOOLONG;
			goto out_close;
		}
		w->lens[w->depth] = w->rel_len - len - 1;
		w->fds[w->depth++] = f;
		return 1;
	}
	if (*end) {
		errno = ENOTDIR;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto out_close;
	}
	/* O_NONBLOCK: should the entry have become a FIFO, do not wait on it. */
	*fd = openat(dir, comp, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0)
		goto out_close;
	if (fstat(*fd, &st2) < 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
		close(*fd);
		*fd = -1;
		errno = EAGAIN; /* replaced while we looked */
		goto out_close;
	}
	close(f);
	if (walk_append(w, comp, len) < 0) {
		close(*fd);
		*fd = -1;
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
out_close:
	close(f);
	return -1;
}

int srv_root_open(const struct srv_root *r, const char *path, char **resolved)
{
	struct walk w = { .depth = 0, .rel_len = 0 };
	char *todo = xstrdup(path);
	const char *p = todo;
	char comp[NAME_MAX + 1];
	int links = 0, fd = -1, rc;

	w.rel[0] = '\0';
	for (;;) {
		const char *end;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p) { /* the path ends in a directory */
			errno = EINVAL;
			rc = -1;
			break;
		}
		end = strchrnul(p, '/');
		len = (size_t)(end - p);
		if (len > NAME_MAX) {
			errno = ENAMETOOLONG;
			rc = -1;
			break;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		p = end;
		rc = step(r, &w, &todo, &p, comp, end, &links, &fd);
		if (rc <= 0)
			break;
	}
	if (rc == 0 && resolved) {
		size_t rl = strcmp(r->path, "/") ? strlen(r->path) : 0;

		*resolved = xmalloc(rl + w.rel_len + 1);
		memcpy(*resolved, r->path, rl);
		memcpy(*resolved + rl, w.rel, w.rel_len + 1);
	}
	while (w.depth)
		walk_pop(&w);
	free(todo);
	return rc < 0 ? -1 : fd;
}

/* ---------------------------------------------------------------- names */

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int fts_by_name(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

static void build_index(struct srv_root *r)
{
	char *const roots[] = { r->path, NULL };
	size_t cap = 0, root_len = strcmp(r->path, "/") ? strlen(r->path) : 0;
	FTSENT *e;
	FTS *fts;

	drop_index(r);
	r->indexed = 1;
	r->indexed_at = (time_t)(monotime_ms() / 1000);
	fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, fts_by_name);
	if (!fts) {
		log_warn("sysroot %s: cannot walk it: %m", r->path);
		return;
	}
	while ((e = fts_read(fts))) {
		struct entry *x;

		if (e->fts_info != FTS_F && e->fts_info != FTS_SL && e->fts_info != FTS_SLNONE)
			continue;
		if (r->n_index == MAX_INDEX) {
			log_warn("sysroot %s: more than %d files, the rest is not searched by name",
				 r->path, MAX_INDEX);
			break;
		}
		if (r->n_index == cap) {
			cap = cap ? cap * 2 : 1024;
			r->index = realloc(r->index, cap * sizeof(*r->index));
			if (!r->index) {
				log_err("out of memory");
				exit(1);
			}
		}
		x = &r->index[r->n_index];
		x->path = xstrdup(e->fts_path + root_len);
		x->name = strrchr(x->path, '/') + 1;
		x->order = r->n_index++;
	}
	fts_close(fts);
	qsort(r->index, r->n_index, sizeof(*r->index), entry_cmp);
	r->found = xcalloc(r->n_index + 1, sizeof(*r->found));
	for (size_t i = 0; i < r->n_index; i++)
		r->found[i] = r->index[i].path;
	log_debug("sysroot %s: %zu files indexed by name", r->path, r->n_index);
}

/* The entries named NAME in the index: the first one's place, their count in *N. */
static size_t lookup(const struct srv_root *r, const char *name, size_t *n)
{
	size_t lo = 0, hi, first;

	/* The first entry whose name is not below NAME. */
	hi = r->n_index;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(r->index[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	while (lo < r->n_index && !strcmp(r->index[lo].name, name))
		lo++;
	*n = lo - first;
	return first;
}

const char *const *srv_root_find_name(struct srv_root *r, const char *name, size_t *n)
{
	size_t first;

	/* The host's own root: a walk would read the whole disk. */
	if (!strcmp(r->path, "/")) {
		*n = 0;
		return NULL;
	}
	if (!r->indexed)
		build_index(r);
	first = lookup(r, name, n);
	if (!*n && (time_t)(monotime_ms() / 1000) - r->indexed_at >= INDEX_STALE_SECONDS) {
		build_index(r);
		first = lookup(r, name, n);
	}
	return *n ? r->found + first : NULL;
}
