/*
 * Which files the host's gdb may open for a device's process: only those
 * the server resolved inside a sysroot (rootfs.h). gdb's own search joins
 * its sysroot and the library names it reads from the target (the core's
 * memory, gdbserver's answers), and a name such as
 * "/usr/lib/../../../../home/me/.ssh/x.so" then climbs out of any sysroot:
 * gdb follows ".." and links as the kernel does. So gdb is given a sysroot
 * no path can be found under (SRV_GDBROOT_NOWHERE: a character device, so
 * "/dev/null/usr/../.." fails at its first step with ENOTDIR) and no
 * solib-search-path, and opens no library by itself; the server reads the
 * library list from the target's memory (r_debug's link map, as gdb
 * would), resolves each name with srv_root_open (links as device paths,
 * ".." never above the sysroot) and hands gdb the resolved host file with
 * `add-symbol-file FILE -o L_ADDR`.
 */
#ifndef SRV_GDBROOT_H
#define SRV_GDBROOT_H

#include <stddef.h>

struct gdbmi_session;

/* gdb's sysroot when the server finds its libraries. */
#define SRV_GDBROOT_NOWHERE "/dev/null"

/*
 * Give gdb session S (a program loaded, a core or a live target open) the
 * symbols of every library in the target's link map that is found inside
 * one of the N SYSROOTS (the first that has it). A library not found, or
 * whose name leads outside the sysroot, is left out and said in one INFO
 * line. Libraries loaded later (dlopen while gdb runs the program) are not
 * added. Bounded: at most 1024 libraries, names of at most 4095 bytes, each
 * memory read one gdb command (the session's timeout). 0, or -1 when the
 * link map cannot be read (logged at INFO: gdb then has no library symbols,
 * the program's own still work).
 */
int srv_gdbroot_load(struct gdbmi_session *s, char *const *sysroots, size_t n);

#endif
