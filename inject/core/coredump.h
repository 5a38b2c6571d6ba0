/*
 * An ELF core file of a live process, written without its help: every
 * thread is seized with ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT, no signal
 * queued), its registers and FP/vector state read, the memory copied from
 * /proc/PID/mem, and every thread let go exactly as it was. gdb opens the
 * result like a kernel core (docs/architecture.md, "Cores").
 */
#ifndef INJ_COREDUMP_H
#define INJ_COREDUMP_H

#include <stddef.h>
#include <stdint.h>

struct inj_core_info {
	size_t threads;		/* threads in the core */
	size_t partial;		/* of which left running (an epoll wait): only pc and sp */
	uint64_t mem_bytes;	/* memory dumped (PT_LOAD contents) */
	uint64_t file_bytes;	/* size of the file written (compressed with gz) */
	uint64_t unreadable;	/* bytes that could not be read, written as zeros */
	int64_t stopped_ns;	/* how long the process was held */
};

/*
 * Write a core of process PID to PATH. The process must not be traced by
 * anyone (memtrace included) at the time. FIRST_TID (0: the main thread)
 * becomes the core's first thread, the one gdb selects. GZ: a gzip stream
 * (PATH should end in .gz). The file appears at PATH only when complete: it
 * is written to a temporary file in the same directory and renamed.
 *
 * Threads stopped in a system call resume it as if nothing happened; a
 * thread blocked in epoll_wait, which any ptrace stop would end with EINTR,
 * is not stopped and gets only its pc and stack pointer in the core. A
 * stopped (job control) process stays stopped.
 *
 * Returns 0 with *INFO filled in (INFO may be NULL), or -1 after logging
 * what failed, where and what to do; nothing is left at PATH nor beside it.
 */
int inj_coredump(int pid, int first_tid, const char *path, int gz, struct inj_core_info *info);

#endif
