/*
 * Files memtrace writes for the user (the exit report of -o, the console's
 * report -o): whole or not at all. The text is gathered in memory and
 * written at close, where every write and the close are checked (stdio
 * would lose a failed write's errno, and a flush's); a regular file is written beside its name and renamed over it
 * only once complete, so a full disk leaves the file as it was before (or
 * absent), never cut. A name that is not a regular file (a FIFO, a terminal,
 * /dev/stdout) is written in place and never removed.
 */
#ifndef INJ_OUTFILE_H
#define INJ_OUTFILE_H

#include <stdio.h>

struct inj_outfile {
	FILE *f;	/* write here: a memory stream, written out at close */
	int fd;		/* the file */
	char *path;	/* the name the user gave (or what its link names) */
	char *tmp;	/* the file being written beside it, or NULL (in place) */
	char *buf;	/* the memory stream's text */
	size_t len;
};

/*
 * Open PATH for writing into O. 0, or -1 with errno (nothing was created;
 * the caller says so). O is owned by the caller, released by
 * inj_outfile_close or inj_outfile_abort.
 */
int inj_outfile_open(struct inj_outfile *o, const char *path);

/*
 * Write the text out, close, then put the file in place. 0, or -1 with
 * errno (ENOSPC, EIO... from the first write, the close or the rename that
 * failed; ENOMEM when the text could not be gathered; the partial file
 * removed). Releases O either way.
 */
int inj_outfile_close(struct inj_outfile *o);

/* Give up: close and remove what was written (a regular file's temporary). */
void inj_outfile_abort(struct inj_outfile *o);

#endif
