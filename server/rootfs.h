/*
 * A sysroot: a directory that stands for the device's root file system on
 * the host (buildroot's output/staging, a yocto sysroot, a folder of
 * unstripped binaries). Every file the server reads on a peer's behalf is
 * opened through here, and nothing outside the sysroot can be reached: the
 * path is walked one component at a time from the sysroot's directory with
 * O_NOFOLLOW, a symbolic link is read and followed by hand, an absolute link
 * target starts again at the sysroot (it names a path on the device), and a
 * ".." that would climb above the sysroot is refused.
 */
#ifndef SRV_ROOTFS_H
#define SRV_ROOTFS_H

#include <stddef.h>

struct srv_root;

/*
 * The sysroot at DIR (made absolute, its own symbolic links resolved).
 * NULL, with the cause logged and errno set, when DIR is not a directory
 * that can be opened.
 */
struct srv_root *srv_root_new(const char *dir);
/* NULL is a no-op. */
void srv_root_free(struct srv_root *r);

/* The sysroot's absolute path, without a trailing slash ("/" for the host's root). */
const char *srv_root_path(const struct srv_root *r);

/*
 * Open PATH (a path on the device; a leading '/' is optional) inside the
 * sysroot, read-only. Returns a file descriptor of a regular file and sets
 * *RESOLVED (malloc'ed, caller frees) to its host path with every link
 * resolved, or -1 with errno: ENOENT (no such file), EXDEV (a link leads
 * out of the sysroot), ELOOP (more than 40 links), ENOTDIR, EINVAL (not a
 * regular file), or the error of a system call. RESOLVED may be NULL.
 */
int srv_root_open(const struct srv_root *r, const char *path, char **resolved);

/*
 * Every file and symbolic link named NAME anywhere in the sysroot, as device
 * paths ("/usr/lib/libfoo.so.1"), in a fixed order (directory entries
 * sorted by name, depth first). The tree is walked on the first call,
 * without following links to directories, and again when a name is not
 * found and the last walk is 10 s old or more (files added since). The
 * result stays valid until the next call or srv_root_free. Sets *N; NULL
 * when there is none. The host's own root ("/") is never walked (the whole
 * disk): nothing is found there by name.
 */
const char *const *srv_root_find_name(struct srv_root *r, const char *name, size_t *n);

#endif
