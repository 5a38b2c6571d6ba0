/*
 * Where a process's memory is read from: a live process (memtrace, through
 * process_vm_readv while every thread is stopped) or a core (memtrace-server,
 * through gdb or the core's segments). The heap walker (glibcheap.h) and
 * the leak scan (leaks.h) read only through this, so the same code judges a
 * live process on the device and a core on the host.
 */
#ifndef MEMTRACE_MEMSRC_H
#define MEMTRACE_MEMSRC_H

#include <stddef.h>
#include <stdint.h>

/* One piece of a vector read (memsrc.readv). */
struct memsrc_piece {
	uint64_t addr;
	void *buf;
	size_t len;
};

/* The most pieces a caller passes to readv at once. */
#define MEMSRC_READV_MAX 64

struct memsrc {
	/*
	 * Copy LEN bytes at ADDR into BUF: 0 when all LEN bytes were read, -1
	 * (errno EFAULT) when any part is not there (unmapped, unreadable, not
	 * in the core). Never partial: the caller reads smaller pieces when it
	 * wants what is there of a range. Must not fail for other reasons
	 * without errno saying so (EIO, ESRCH: the process is gone).
	 */
	int (*read)(void *arg, uint64_t addr, void *buf, size_t len);
	void *arg;
	unsigned ptr_size;	/* the target's pointer size: 4 or 8 */
	/*
	 * Optional (NULL: the caller reads piece by piece): read the N
	 * (at most MEMSRC_READV_MAX) pieces at once, as one
	 * process_vm_readv does, for a caller with many small reads (the
	 * leak scan's blocks: one system call for up to 64 blocks instead of
	 * one each). 0 when every piece was read whole; -1 as read when any
	 * was not, without saying which: the caller then reads them one by
	 * one through read.
	 */
	int (*readv)(void *arg, const struct memsrc_piece *pieces, size_t n);
};

/* A word of the target (ptr_size bytes, the host's byte order) at BUF. */
static inline uint64_t memsrc_word(const struct memsrc *m, const void *buf)
{
	if (m->ptr_size == 4) {
		uint32_t v;

		__builtin_memcpy(&v, buf, 4);
		return v;
	}
	{
		uint64_t v;

		__builtin_memcpy(&v, buf, 8);
		return v;
	}
}

/* Read one target word at ADDR into *V. 0, or -1 as read. */
static inline int memsrc_read_word(const struct memsrc *m, uint64_t addr, uint64_t *v)
{
	unsigned char buf[8];

	if (m->read(m->arg, addr, buf, m->ptr_size) < 0)
		return -1;
	*v = memsrc_word(m, buf);
	return 0;
}

#endif
