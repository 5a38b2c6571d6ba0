/*
 * The system calls libunwind, the agent's table walk on this architecture,
 * makes in the process (regs.h, inj_arch_walk_syscalls): mincore, tried
 * once when it starts (tdep_init_mem_validate) and used to check
 * addresses (validate_mem), or msync where mincore failed then. Included
 * by the regs.c of each architecture whose agent walks with libunwind.
 */
#include <sys/syscall.h>

size_t inj_arch_walk_syscalls(const int **nrs, const char *const **names)
{
	static const int n[] = { SYS_mincore, SYS_msync };
	static const char *const s[] = { "mincore", "msync" };

	*nrs = n;
	*names = s;
	return 2;
}
