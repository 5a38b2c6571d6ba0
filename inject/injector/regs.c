/*
 * A stopped thread's general registers, whole, as the kernel's NT_PRSTATUS
 * regset: the architecture-neutral half of regs.h (what they mean is
 * inject/arch/<arch>/regs.c's).
 */
#include <elf.h>
#include <errno.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#include "injector/regs.h"

int inj_regs_get(int tid, struct inj_regs *r)
{
#ifdef INJ_ARCH_OWN_REGS
	return inj_arch_regs_get(tid, r);
#else
	struct iovec iov = { r->w, sizeof(r->w) };

	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0)
		return -1;
	/* A tracee of another word size shows another layout. */
	if (iov.iov_len != inj_arch_regs_size()) {
		errno = EINVAL;
		return -1;
	}
	r->len = iov.iov_len;
	return 0;
#endif
}

int inj_regs_set(int tid, const struct inj_regs *r)
{
#ifdef INJ_ARCH_OWN_REGS
	return inj_arch_regs_set(tid, r);
#else
	struct iovec iov = { (void *)r->w, r->len };

	return ptrace(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0 ? -1 : 0;
#endif
}
