/*
 * Remote stack walks with libunwind-ptrace.
 *
 * One address space per target, with libunwind's global cache: the unwind
 * tables of a module are found and parsed once, not at every walk (600 us
 * a walk without it, 15 us with it: ../shared/notes, part B1).
 *
 * libunwind reads the target one word at a time. Its ptrace accessors make
 * that one PTRACE_PEEKDATA each; ours serve the words from a copy of the
 * page they lie in, read with process_vm_readv, and fall back to
 * libunwind's own accessor when the page cannot be read that way. Every
 * other accessor is libunwind's, called with its own argument.
 *
 * libunwind's own accessors call the address space's accessors again with
 * the argument they were given (theirs, not ours), so the walk in progress
 * is found through `walking`: one walk at a time in a process.
 */
#include <errno.h>
#include <libunwind-ptrace.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "log.h"
#include "injector/regs.h"
#include "injector/stackwalk.h"

/*
 * The register libunwind calls the pc. Its MIPS port names $ra UNW_REG_IP
 * (UNW_TDEP_IP), which is the caller's address in the first frame, not
 * the pc: there it is UNW_MIPS_PC.
 */
#ifdef __mips__
#define WALK_IP UNW_MIPS_PC
#else
#define WALK_IP UNW_REG_IP
#endif

#define PAGE 4096u
#define NPAGES 4

struct page {
	uint64_t addr; /* page-aligned; 0: empty */
	unsigned char bytes[PAGE];
};

/* libunwind's per-thread state, kept: it holds the module image it mapped last. */
struct upt {
	int tid;
	void *upt;
};

struct inj_stackwalk {
	int pid;
	unw_addr_space_t as;
	unw_accessors_t acc;
	struct upt *upts;
	size_t nupts;
	/* Per walk: */
	void *upt;
	int tid;
	struct page pages[NPAGES];
	unsigned next; /* round-robin victim */
	unw_word_t ip; /* nonzero: the pc the walk starts from instead of the thread's */
	unw_word_t sp; /* nonzero: the stack pointer it starts from instead of the thread's */
	unw_word_t fp; /* MIPS, nonzero: the $fp it starts from instead of the thread's */
#ifdef INJ_ARCH_OWN_REGS
	struct inj_regs regs; /* the thread's registers, read once (access_reg) */
#endif
};

static struct inj_stackwalk *walking;

/* Each accessor passes libunwind's own argument on. */
static int w_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need,
			    void *arg)
{
	return _UPT_find_proc_info(as, ip, pi, need, walking->upt);
}

static void w_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	_UPT_put_unwind_info(as, pi, walking->upt);
}

static int w_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	return _UPT_get_dyn_info_list_addr(as, addr, walking->upt);
}

static int w_access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write,
			void *arg)
{
	if (reg == WALK_IP && walking->ip && !write) {
		*val = walking->ip;
		return 0;
	}
	if (reg == UNW_REG_SP && walking->sp && !write) {
		*val = walking->sp;
		return 0;
	}
#ifdef INJ_ARCH_OWN_REGS
	if (reg == UNW_MIPS_R30 && walking->fp && !write) {
		*val = walking->fp;
		return 0;
	}
	/* libunwind-ptrace's own reads give garbage on MIPS o32; the walk
	 * only reads the first frame's registers, taken here with the rest. */
	if (!write) {
		uint64_t v;

		if (reg == UNW_MIPS_PC)
			v = inj_arch_pc(&walking->regs);
		else if (inj_arch_gpr(&walking->regs, (unsigned)reg, &v) < 0)
			return -UNW_EBADREG;
		*val = (unw_word_t)v;
		return 0;
	}
#endif
	return _UPT_access_reg(as, reg, val, write, walking->upt);
}

static int w_access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
			  void *arg)
{
	return _UPT_access_fpreg(as, reg, val, write, walking->upt);
}

static int w_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as;
	(void)c;
	(void)arg;
	/* Walks only look: nothing is ever resumed through libunwind. */
	return -UNW_EINVAL;
}

static int w_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			   unw_word_t *off, void *arg)
{
	return _UPT_get_proc_name(as, addr, buf, len, off, walking->upt);
}

static struct page *page_of(struct inj_stackwalk *w, uint64_t addr)
{
	uint64_t base = addr & ~(uint64_t)(PAGE - 1);
	struct iovec local, remote;
	struct page *p;

	for (unsigned i = 0; i < NPAGES; i++)
		if (w->pages[i].addr == base && base)
			return &w->pages[i];
	p = &w->pages[w->next++ % NPAGES];
	local.iov_base = p->bytes;
	local.iov_len = PAGE;
	remote.iov_base = (void *)(uintptr_t)base;
	remote.iov_len = PAGE;
	if (!base || process_vm_readv(w->tid, &local, 1, &remote, 1, 0) != (ssize_t)PAGE) {
		p->addr = 0;
		return NULL;
	}
	p->addr = base;
	return p;
}

static int w_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write,
			void *arg)
{
	struct inj_stackwalk *w = walking;
	struct page *p;
	size_t off;

	(void)arg;
	if (write)
		return -UNW_EINVAL;
	off = (size_t)(addr & (PAGE - 1));
	if (off + sizeof(*val) <= PAGE && (p = page_of(w, addr))) {
		memcpy(val, p->bytes + off, sizeof(*val));
		return 0;
	}
	return _UPT_access_mem(as, addr, val, 0, w->upt);
}

struct inj_stackwalk *inj_stackwalk_new(int pid)
{
	struct inj_stackwalk *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->pid = pid;
	w->acc = _UPT_accessors;
	w->acc.find_proc_info = w_find_proc_info;
	w->acc.put_unwind_info = w_put_unwind_info;
	w->acc.get_dyn_info_list_addr = w_get_dyn_info_list_addr;
	w->acc.access_mem = w_access_mem;
	w->acc.access_reg = w_access_reg;
	w->acc.access_fpreg = w_access_fpreg;
	w->acc.resume = w_resume;
	w->acc.get_proc_name = w_get_proc_name;
	w->as = unw_create_addr_space(&w->acc, 0);
	if (!w->as) {
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	unw_set_caching_policy(w->as, UNW_CACHE_GLOBAL);
	return w;
}

void inj_stackwalk_free(struct inj_stackwalk *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nupts; i++)
		_UPT_destroy(w->upts[i].upt);
	free(w->upts);
	unw_destroy_addr_space(w->as);
	free(w);
}

/* The libunwind state of thread TID, made on its first walk. NULL (ENOMEM). */
static void *upt_of(struct inj_stackwalk *w, int tid)
{
	struct upt *v;

	for (size_t i = 0; i < w->nupts; i++)
		if (w->upts[i].tid == tid)
			return w->upts[i].upt;
	v = realloc(w->upts, (w->nupts + 1) * sizeof(*v));
	if (!v)
		return NULL;
	w->upts = v;
	v[w->nupts].upt = _UPT_create(tid);
	if (!v[w->nupts].upt)
		return NULL;
	v[w->nupts].tid = tid;
	return v[w->nupts++].upt;
}

void inj_stackwalk_flush(struct inj_stackwalk *w)
{
	unw_flush_cache(w->as, 0, 0);
	/* Each thread's state holds a module image mapped from its file. */
	for (size_t i = 0; i < w->nupts; i++)
		_UPT_destroy(w->upts[i].upt);
	w->nupts = 0;
}

/*
 * A kernel helper the thread is in, called as a leaf: 32-bit ARM's kuser
 * helpers at the top of the address space (0xffff0f60-0xffff0fff), which
 * armel's C library calls for every atomic operation, the allocator's
 * locks among them. They have no unwind tables, touch no stack and return
 * to the link register, the only record of their caller: the walk goes on
 * from there. Returns the caller's address (the link register), or 0.
 */
static unw_word_t helper_return(unw_cursor_t *c, unw_word_t ip)
{
#if defined(__arm__)
	unw_word_t lr = 0;

	if (ip >= 0xffff0f60u && ip <= 0xffff0fffu && unw_get_reg(c, UNW_ARM_R14, &lr) == 0)
		return lr;
#else
	(void)c;
	(void)ip;
#endif
	return 0;
}

static int walk(struct inj_stackwalk *w, int tid, uint64_t from_pc, uint64_t from_sp,
		uint64_t from_fp, struct inj_frame *f, int max, int *end)
{
	unw_cursor_t c;
	unw_word_t ip = 0, ret;
	int n = 0, r;

	*end = 0;
	if (max < 1) {
		errno = EINVAL;
		return -1;
	}
	w->upt = upt_of(w, tid);
	if (!w->upt) {
		errno = ENOMEM;
		return -1;
	}
	w->tid = tid;
	w->ip = (unw_word_t)from_pc;
	w->sp = (unw_word_t)from_sp;
	w->fp = (unw_word_t)from_fp;
#ifdef INJ_ARCH_OWN_REGS
	if (inj_regs_get(tid, &w->regs) < 0) {
		w->upt = NULL;
		return -1;
	}
#endif
	walking = w;
	for (unsigned i = 0; i < NPAGES; i++)
		w->pages[i].addr = 0;
	r = unw_init_remote(&c, w->as, w);
	if (r >= 0 && unw_get_reg(&c, WALK_IP, &ip) == 0 && (ret = helper_return(&c, ip))) {
		unw_word_t sp = 0;

		unw_get_reg(&c, UNW_REG_SP, &sp);
		f[n++] = (struct inj_frame){ .pc = ip, .sp = sp, .helper = 1 };
		if (n == max)
			goto done;
		/* The walk starts again at the caller: the same registers, the pc from lr. */
		w->ip = ret;
		if (unw_init_remote(&c, w->as, w) < 0) {
			f[n++] = (struct inj_frame){ .pc = ret, .sp = sp };
			goto done;
		}
	}
	if (r < 0) {
		w->upt = NULL;
		walking = NULL;
		log_debug("thread %d: no stack walk (libunwind error %d)", tid, r);
		errno = ESRCH;
		return -1;
	}
	do {
		unw_word_t sp = 0;

		ip = 0;
		unw_get_reg(&c, WALK_IP, &ip);
		unw_get_reg(&c, UNW_REG_SP, &sp);
		f[n].pc = ip;
		f[n].sp = sp;
		f[n].fp = 0;
#ifdef __mips__
		{
			unw_word_t fpv = 0;

			unw_get_reg(&c, UNW_MIPS_R30, &fpv);
			f[n].fp = fpv;
		}
#endif
		f[n].signal = unw_is_signal_frame(&c) > 0;
		f[n].helper = 0;
		n++;
		if (n == max)
			break;
		r = unw_step(&c);
		if (r == 0)
			*end = 1;
	} while (r > 0);
done:
	w->ip = w->sp = w->fp = 0;
	w->upt = NULL;
	walking = NULL;
	return n;
}

int inj_stackwalk_thread(struct inj_stackwalk *w, int tid, struct inj_frame *f, int max, int *end)
{
	return walk(w, tid, 0, 0, 0, f, max, end);
}

int inj_stackwalk_thread_from(struct inj_stackwalk *w, int tid, uint64_t pc, uint64_t sp,
			      uint64_t fp, struct inj_frame *f, int max, int *end)
{
	if (!pc || !sp) {
		errno = EINVAL;
		return -1;
	}
	return walk(w, tid, pc, sp, fp, f, max, end);
}
