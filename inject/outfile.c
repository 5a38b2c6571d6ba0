/*
 * Whole-or-none output files. A temporary beside the name (same directory,
 * so the rename is atomic and on the same filesystem), created with mode
 * 0666 through the umask as fopen would, or with the mode of the file it
 * replaces. Names that are not regular files are written in place: there is
 * nothing to rename onto a FIFO or a device, and removing one (/dev/full) on
 * failure would be a disaster.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"
#include "util.h"

static void release(struct inj_outfile *o)
{
	int e = errno;

	if (o->f)
		fclose(o->f);
	if (o->fd >= 0)
		close(o->fd);
	if (o->tmp)
		unlink(o->tmp);
	free(o->buf);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	errno = e;
}

int inj_outfile_open(struct inj_outfile *o, const char *path)
{
	static unsigned serial;
	struct stat st;
	const char *slash;
	char *real = NULL;
	int have = stat(path, &st) == 0;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (have && !S_ISREG(st.st_mode)) {
		o->path = xstrdup(path);
		o->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	} else {
		/* A symbolic link stays one: the file it names is replaced. */
		if (have)
			real = realpath(path, NULL);
		o->path = real ? real : xstrdup(path);
		slash = strrchr(o->path, '/');
		o->tmp = xmalloc(strlen(o->path) + 48);
		sprintf(o->tmp, "%.*s.%s.tmp%d.%u", slash ? (int)(slash - o->path + 1) : 0, o->path,
			slash ? slash + 1 : o->path, (int)getpid(), serial++);
		o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (o->fd < 0) {
			free(o->tmp);
			o->tmp = NULL;	/* not ours to unlink */
		} else if (have) {
			(void)fchmod(o->fd, st.st_mode & 07777);
		}
	}
	if (o->fd >= 0)
		o->f = open_memstream(&o->buf, &o->len);
	if (!o->f) {
		release(o);
		return -1;
	}
	return 0;
}

int inj_outfile_close(struct inj_outfile *o)
{
	int bad = ferror(o->f);
	int e = 0;

	/* The memory stream fails only when memory does. */
	if (fclose(o->f) != 0 || bad)
		e = ENOMEM;
	o->f = NULL;
	if (!e && write_all(o->fd, o->buf, o->len) < 0)
		e = errno;
	if (close(o->fd) < 0 && !e)
		e = errno;
	o->fd = -1;
	if (!e && o->tmp && rename(o->tmp, o->path) < 0)
		e = errno;
	if (!e) {
		free(o->tmp);
		o->tmp = NULL;	/* in place now: not to be removed */
	}
	release(o);
	errno = e;
	return e ? -1 : 0;
}

void inj_outfile_abort(struct inj_outfile *o)
{
	release(o);
}
