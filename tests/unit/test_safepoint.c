/*
 * test_safepoint: the safe-point judge (inject/injector/safepoint.c over
 * stackwalk.c) on a real stopped process whose registers are set by hand
 * to where a stop can land. The child is a fork of this test, stopped in
 * pause() under ptrace; after each case its registers are put back, and
 * it is killed at the end without having run in any of the made-up states.
 *
 * - As stopped, in pause(): safe (a wait the program called).
 * - The pc inside malloc: in the allocator, frame 0 named.
 * - 32-bit ARM: the pc in the kuser helper __kuser_cmpxchg (0xffff0fc0),
 *   called from inside malloc, whose address is only in lr. armel's C
 *   library takes every lock through that helper; a thread stopped there
 *   was judged safe from its one frame and a remote dlopen in it deadlocked
 *   on the arena lock it held (1 attach in about 100 in the armel VM,
 *   t-attach-safepoint). Now: in the allocator, the helper marked as frame
 *   0 and malloc as frame 1.
 */
#include <dlfcn.h>
#include <elf.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>

#include "check.h"
#include "injector/loader.h"
#include "injector/safepoint.h"
#include "injector/stackwalk.h"

#define MAX_FRAMES 64

#if defined(__x86_64__)
typedef struct user_regs_struct regs_t;
#define REG_PC(r) ((r)->rip)
#elif defined(__aarch64__)
typedef struct user_regs_struct regs_t;
#define REG_PC(r) ((r)->pc)
#define REG_LR(r) ((r)->regs[30])
#elif defined(__arm__)
typedef struct user_regs regs_t;
#define REG_PC(r) ((r)->uregs[15])
#define REG_LR(r) ((r)->uregs[14])
#define REG_CPSR(r) ((r)->uregs[16])
#define CPSR_T 0x20u
#elif defined(__mips__)
/* NT_PRSTATUS: 45 words, r0 at word 6 on o32 and 0 on n64; epc after r0-r31, lo, hi. */
typedef struct {
	unsigned long w[45];
} regs_t;
#define MIPS_R0 (_MIPS_SIM == _ABIO32 ? 6 : 0)
#define REG_PC(r) ((r)->w[MIPS_R0 + 34])
#else
#error "test_safepoint: no register layout for this architecture"
#endif

static pid_t child;

/* The child's state letter in /proc/PID/stat, or 0. */
static char state_of(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static void get_regs(regs_t *r)
{
	struct iovec io = { r, sizeof(*r) };

	if (ptrace(PTRACE_GETREGSET, child, (void *)NT_PRSTATUS, &io) < 0)
		broken("PTRACE_GETREGSET");
}

static void set_regs(const regs_t *r)
{
	struct iovec io = { (void *)r, sizeof(*r) };

	if (ptrace(PTRACE_SETREGSET, child, (void *)NT_PRSTATUS, &io) < 0)
		broken("PTRACE_SETREGSET");
}

/* Walk the child's stack and judge it: the verdict, with WHY and the frames. */
static enum inj_safety judge(const struct inj_codemap *cm, struct inj_frame *f, int *n, char *why,
			     size_t len)
{
	struct inj_stackwalk *w = inj_stackwalk_new(child);
	struct inj_maps now;
	enum inj_safety v;
	int end = 0;

	if (!w || inj_maps_read(child, &now) < 0)
		broken("inj_stackwalk_new / inj_maps_read");
	*n = inj_stackwalk_thread(w, child, f, MAX_FRAMES, &end);
	if (*n < 0) {
		snprintf(why, len, "no stack walk");
		v = INJ_NOT_PROVEN;
	} else {
		v = inj_codemap_judge(cm, child, f, *n, &now, why, len);
	}
	inj_maps_free(&now);
	inj_stackwalk_free(w);
	return v;
}

int main(void)
{
	struct inj_frame f[MAX_FRAMES];
	struct inj_codemap *cm;
	struct inj_elf_info exe;
	struct inj_maps maps;
	enum inj_safety v;
	regs_t saved, r;
	uintptr_t in_malloc;
	char why[400], path[64];
	void *libc;
	int n, status;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The C library's own malloc: &malloc may be the executable's PLT entry. */
	libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	in_malloc = libc ? (uintptr_t)dlsym(libc, "malloc") : 0;
	if (!in_malloc)
		broken("dlsym(libc.so.6, malloc)");
	/* An instruction inside it, past its first (Thumb keeps bit 0). */
	in_malloc += 4;

	child = fork();
	if (child < 0)
		broken("fork");
	if (child == 0) {
		for (;;)
			pause();
	}
	/*
	 * Asleep in pause(), past its first call's lazy binding in the loader:
	 * waited for, however long a loaded machine takes (30 s, then broken).
	 */
	for (int i = 0; state_of(child) != 'S'; i++) {
		if (i == 30000)
			broken("the child did not get to pause()");
		usleep(1000);
	}
	if (ptrace(PTRACE_SEIZE, child, NULL, NULL) < 0 ||
	    ptrace(PTRACE_INTERRUPT, child, NULL, NULL) < 0 || waitpid(child, &status, __WALL) != child)
		broken("seizing the child");
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)child);
	if (inj_elf_info(path, &exe) < 0 || inj_maps_read(child, &maps) < 0)
		broken("inj_elf_info / inj_maps_read");
	cm = inj_codemap_new(child, &maps, exe.has_interp ? exe.interp : NULL);
	if (!cm)
		broken("inj_codemap_new");
	get_regs(&saved);

	/* As stopped: in pause(), which the program called. */
	v = judge(cm, f, &n, why, sizeof(why));
	CHECK(v == INJ_SAFE, "stopped in pause(): verdict %d (%s), %d frames", v, why, n);

	/* In malloc itself. */
	r = saved;
	REG_PC(&r) = in_malloc;
#ifdef __arm__
	REG_PC(&r) &= ~1u;
	if (in_malloc & 1)
		REG_CPSR(&r) |= CPSR_T;
	else
		REG_CPSR(&r) &= ~CPSR_T;
#endif
	set_regs(&r);
	v = judge(cm, f, &n, why, sizeof(why));
	CHECK(v == INJ_IN_ALLOCATOR && strstr(why, "malloc"),
	      "pc in malloc: verdict %d (%s), %d frames", v, why, n);

#ifdef __arm__
	/* In __kuser_cmpxchg, called from malloc: its caller is only in lr. */
	r = saved;
	REG_PC(&r) = 0xffff0fc0u;
	REG_CPSR(&r) &= ~CPSR_T;
	REG_LR(&r) = in_malloc;
	set_regs(&r);
	v = judge(cm, f, &n, why, sizeof(why));
	CHECK(v == INJ_IN_ALLOCATOR && strstr(why, "malloc"),
	      "pc in __kuser_cmpxchg called from malloc: verdict %d (%s), %d frames", v, why, n);
	CHECK(n >= 2 && f[0].helper && f[0].pc == 0xffff0fc0u && f[1].pc == in_malloc,
	      "the helper is frame 0 and its caller frame 1: %d frames, #0 %#llx%s, #1 %#llx", n,
	      n > 0 ? (unsigned long long)f[0].pc : 0ULL, n > 0 && f[0].helper ? " (helper)" : "",
	      n > 1 ? (unsigned long long)f[1].pc : 0ULL);
#else
	(void)REG_PC(&r);
#endif

	set_regs(&saved);
	inj_codemap_free(cm);
	inj_maps_free(&maps);
	kill(child, SIGKILL);
	waitpid(child, &status, __WALL);
	return check_done();
}
