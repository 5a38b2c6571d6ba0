/*
 * attach_server: a long-running victim that works on request, for the
 * tests that attach to it again and again, kill memtrace under it, or make
 * memtrace fail on it.
 *
 *     attach_server DIR [seccomp|no-membarrier|no-mincore|no-mincore-msync|no-fork]
 *
 * Before ready it makes its pre-attach blocks (attach.h), a FIFO DIR/cmd and
 * a thread that allocates and frees tagged blocks without pause and writes
 * "COUNT DAMAGED" to DIR/heartbeat every 20 ms.  The main thread sits in
 * read() on DIR/cmd; each command is a line "NAME SEQ [ARG]", answered by
 * writing "SEQ ..." to DIR/ack (as a whole):
 *   ping SEQ     "SEQ pong"
 *   leak SEQ N   N blocks of 40 bytes leaked from leak_on_request; prints
 *                "server: leaked N"; "SEQ leaked N"
 *   hold SEQ N   N blocks of 32 bytes made by hold_blocks and kept (an agent's
 *                tables grow with them); prints "server: held N"; "SEQ held N"
 *   drop SEQ     the held blocks freed, and the heap trimmed (malloc_trim):
 *                prints "server: dropped N"; "SEQ dropped N"
 *   got SEQ      "SEQ <GOT census>" (attach.h, at_got_state)
 *   dl SEQ       a new thread calls dlopen(NULL) and dlclose: "SEQ dl ok", or
 *                "SEQ dl hung" if it has not returned within 5 s (the
 *                loader's lock left held); the victim then ends with _exit(1)
 *                at quit, since exit() would hang on that lock too
 *   fork SEQ S   a child is forked that sleeps S seconds and exits 0 without
 *                exec, keeping every descriptor it inherited: "SEQ forked PID"
 *   uids SEQ R E S D   setresuid(R, E, S) for every thread, then the
 *                dumpable flag set to D (a change of uid clears it):
 *                "SEQ uids ok", or "SEQ uids failed: WHY"
 *   gids SEQ R E S D   the same with setresgid
 *   quit SEQ     "SEQ bye"; the churn thread stops, every block is checked
 *                and freed, and the victim exits 0 (1 if a check failed).
 * With "seccomp", before ready it installs a seccomp filter that raises
 * SIGSYS (SECCOMP_RET_TRAP) for mmap and mprotect asking for PROT_EXEC, which
 * it never does itself afterwards but a dlopen must (t-attach-err-seccomp).
 * With "no-membarrier", a filter that raises SIGSYS for membarrier(2) and
 * allows everything else: the agent must see the filter and never make
 * that call (t-attach-release). The command "sandbox SEQ" installs the same
 * filter later, while memtrace may be attached ("SEQ sandboxed"). With
 * "no-mincore", a filter that raises SIGSYS for mincore(2), which libunwind
 * tries when it starts and checks addresses with; with "no-mincore-msync"
 * for msync(2) too, its fallback (t-attach-seccomp-unwind). With "no-fork",
 * a filter that raises SIGSYS for clone(2) without CLONE_VM: threads may be
 * made, processes not (t-leaks-snapshot: the leak scan must not fork it).
 * Its output depends only on the commands it got.  A read() on the FIFO that
 * fails (EINTR: an injection that let it through) is a FAIL line.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "attach.h"

#if defined(__x86_64__)
#define AUDIT_ARCH_HERE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define AUDIT_ARCH_HERE AUDIT_ARCH_AARCH64
#elif defined(__arm__)
#define AUDIT_ARCH_HERE AUDIT_ARCH_ARM
#elif defined(__i386__)
#define AUDIT_ARCH_HERE AUDIT_ARCH_I386
#elif defined(__mips__) && _MIPS_SIM == _ABIO32
#define AUDIT_ARCH_HERE AUDIT_ARCH_MIPSEL
#elif defined(__mips__)
#define AUDIT_ARCH_HERE AUDIT_ARCH_MIPSEL64
#endif

/* Put this process under the seccomp filter F (N instructions); dies if it cannot. */
static void install_filter(struct sock_filter *f, size_t n)
{
	struct sock_fprog prog = { (unsigned short)n, f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		vt_die("PR_SET_NO_NEW_PRIVS");
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		vt_die("seccomp");
}

/* mmap (and mmap2) and mprotect with PROT_EXEC in their prot argument: trap. */
static void no_exec_mappings(void)
{
#if defined(__NR_mmap) && defined(__NR_mmap2)
#define NR_MMAP_A __NR_mmap
#define NR_MMAP_B __NR_mmap2
#elif defined(__NR_mmap)
#define NR_MMAP_A __NR_mmap
#define NR_MMAP_B __NR_mmap
#else
#define NR_MMAP_A __NR_mmap2
#define NR_MMAP_B __NR_mmap2
#endif
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_HERE, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_MMAP_A, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_MMAP_B, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mprotect, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* prot is args[2]; its low 32 bits on every ABI here */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	install_filter(f, sizeof(f) / sizeof(f[0]));
}

/* membarrier: trap (SIGSYS, which kills: the victim sets no handler). */
static void no_membarrier(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_membarrier, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	install_filter(f, sizeof(f) / sizeof(f[0]));
}

/* mincore, and with ALSO msync: trap (SIGSYS, which kills), as a sandbox that never expected them would. */
static void no_addr_checks(int also)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mincore, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, also ? __NR_msync : __NR_mincore, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	install_filter(f, sizeof(f) / sizeof(f[0]));
}

/* clone without CLONE_VM (a new process, not a thread): trap. clone3 passes (its flags are in memory). */
static void no_fork(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4),
		/* flags are args[0]; CLONE_VM is in their low 32 bits on every ABI here */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_VM, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	install_filter(f, sizeof(f) / sizeof(f[0]));
}

#define LEAK_SIZE 40

static atomic_int churning = 1;
static atomic_ulong damaged;
static void *leaked_list;
static unsigned long leaked_total;

NOINLINE static void leak_on_request(int n)
{
	for (int i = 0; i < n; i++) {
		char *p = malloc(LEAK_SIZE);

		if (!p)
			vt_die("leak");
		memset(p, 'L', LEAK_SIZE);
		memcpy(p, &leaked_list, sizeof(void *));
		leaked_list = p;
		leaked_total++;
	}
}

NOINLINE static void *churn(void *arg)
{
	unsigned char *win[16] = { NULL };
	size_t sz[16] = { 0 };
	uint64_t rng = 0x5eed;
	unsigned long count = 0;
	long last = vt_now_ms();

	(void)arg;
	while (atomic_load(&churning)) {
		for (int op = 0; op < 200; op++) {
			uint64_t r = vt_rand(&rng);
			int k = (int)(r % 16);
			size_t size = 1 + (size_t)((r >> 8) % 1500);

			if (win[k] && (win[k][0] != (unsigned char)k || win[k][sz[k] - 1] != (unsigned char)k))
				atomic_fetch_add(&damaged, 1);
			if ((r >> 32) % 3 == 0) {
				win[k] = realloc(win[k], size);
			} else {
				free(win[k]);
				win[k] = (r >> 32) % 3 == 1 ? malloc(size) : calloc(1, size);
			}
			if (!win[k])
				vt_die("churn");
			sz[k] = size;
			win[k][0] = (unsigned char)k;
			win[k][size - 1] = (unsigned char)k;
			count++;
		}
		vt_sleep_ms(1);
		if (vt_now_ms() - last >= 20) {
			char text[64];

			vt_format(text, sizeof(text), "%lu %lu\n", count, atomic_load(&damaged));
			at_put("heartbeat", text);
			last = vt_now_ms();
		}
	}
	for (int k = 0; k < 16; k++)
		free(win[k]);
	return NULL;
}

static void **held;
static long nheld;

NOINLINE static void hold_blocks(long n)
{
	void **more = realloc(held, (size_t)(nheld + n) * sizeof(*held));

	if (!more)
		vt_die("hold");
	held = more;
	for (long i = 0; i < n; i++) {
		if (!(held[nheld] = malloc(32)))
			vt_die("hold");
		memset(held[nheld], 'h', 32);
		nheld++;
	}
}

NOINLINE static long drop_blocks(void)
{
	long n = nheld;

	while (nheld > 0)
		free(held[--nheld]);
	free(held);
	held = NULL;
	malloc_trim(0);
	return n;
}

static atomic_int dl_done;
static int dl_hung;

static void *dl_thread(void *arg)
{
	void *h = dlopen(NULL, RTLD_NOW);

	(void)arg;
	if (h)
		dlclose(h);
	atomic_store(&dl_done, 1);
	return NULL;
}

/* Does the loader still work for a thread that is not the main one? */
static int loader_works(void)
{
	struct vt_thread t;
	long end = vt_now_ms() + 5000;

	atomic_store(&dl_done, 0);
	vt_thread_start(&t, dl_thread, NULL);
	while (!atomic_load(&dl_done) && vt_now_ms() < end)
		vt_sleep_ms(2);
	if (!atomic_load(&dl_done))
		return 0;
	vt_thread_join(&t);
	return 1;
}

static void ack(const char *seq, const char *text)
{
	char line[256];

	vt_format(line, sizeof(line), "%s %s\n", seq, text);
	at_put("ack", line);
}

/* One command line; 0 when it was quit. */
static int command(char *line)
{
	char *name = line, *seq, *arg;
	char text[200];

	seq = strchr(name, ' ');
	if (!seq) {
		vt_printf("FAIL: bad command '%s'\n", line);
		vt_failures++;
		return 1;
	}
	*seq++ = '\0';
	arg = strchr(seq, ' ');
	if (arg)
		*arg++ = '\0';
	if (!strcmp(name, "ping")) {
		ack(seq, "pong");
	} else if (!strcmp(name, "leak")) {
		int n = arg ? atoi(arg) : 0;

		leak_on_request(n);
		vt_printf("server: leaked %d\n", n);
		vt_format(text, sizeof(text), "leaked %d", n);
		ack(seq, text);
	} else if (!strcmp(name, "hold")) {
		long n = arg ? atol(arg) : 0;

		hold_blocks(n);
		vt_printf("server: held %ld\n", n);
		vt_format(text, sizeof(text), "held %ld", n);
		ack(seq, text);
	} else if (!strcmp(name, "drop")) {
		long n = drop_blocks();

		vt_printf("server: dropped %ld\n", n);
		vt_format(text, sizeof(text), "dropped %ld", n);
		ack(seq, text);
	} else if (!strcmp(name, "sandbox")) {
		no_membarrier();
		ack(seq, "sandboxed");
	} else if (!strcmp(name, "got")) {
		at_got_state(text, sizeof(text));
		ack(seq, text);
	} else if (!strcmp(name, "dl")) {
		if (!dl_hung && loader_works()) {
			ack(seq, "dl ok");
		} else {
			dl_hung = 1;
			ack(seq, "dl hung");
		}
	} else if (!strcmp(name, "fork")) {
		int secs = arg ? atoi(arg) : 0;
		pid_t child = fork();

		if (child == 0) {
			vt_sleep_ms(secs * 1000L);
			_exit(0);
		}
		vt_format(text, sizeof(text), "forked %d", (int)child);
		ack(seq, child < 0 ? "fork failed" : text);
	} else if (!strcmp(name, "uids") || !strcmp(name, "gids")) {
		unsigned r = 0, e = 0, s = 0;
		int d = 0, u = name[0] == 'u';

		if (!arg || sscanf(arg, "%u %u %u %d", &r, &e, &s, &d) != 4) {
			ack(seq, "ids failed: want R E S D");
		} else if ((u ? setresuid(r, e, s) : setresgid(r, e, s)) < 0 ||
			   prctl(PR_SET_DUMPABLE, d, 0, 0, 0) < 0) {
			vt_format(text, sizeof(text), "%s failed: %s", name, strerror(errno));
			ack(seq, text);
		} else {
			vt_format(text, sizeof(text), "%s ok", name);
			ack(seq, text);
		}
	} else if (!strcmp(name, "quit")) {
		ack(seq, "bye");
		return 0;
	} else {
		vt_printf("FAIL: unknown command '%s'\n", name);
		vt_failures++;
		ack(seq, "unknown");
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct vt_thread t;
	char buf[512];
	size_t len = 0;
	unsigned long commands = 0, bad = 0;
	int fd, going = 1;

	at_start(argc, argv);
	if (argc > 2 && !strcmp(argv[2], "seccomp"))
		no_exec_mappings();
	if (argc > 2 && !strcmp(argv[2], "no-membarrier"))
		no_membarrier();
	if (argc > 2 && !strcmp(argv[2], "no-mincore"))
		no_addr_checks(0);
	if (argc > 2 && !strcmp(argv[2], "no-mincore-msync"))
		no_addr_checks(1);
	if (argc > 2 && !strcmp(argv[2], "no-fork"))
		no_fork();
	fd = at_fifo("cmd");
	vt_thread_start(&t, churn, NULL);
	vt_printf("server: started\n");
	at_ready();

	while (going) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		char *nl;

		if (n < 0) {
			vt_printf("FAIL: read on the command pipe: %s\n", strerror(errno));
			vt_failures++;
			if (errno == EINTR)
				continue;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		while (going && (nl = strchr(buf, '\n'))) {
			*nl = '\0';
			going = command(buf);
			commands++;
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len + 1);
		}
		if (len == sizeof(buf) - 1)
			len = 0; /* a line too long: dropped */
	}

	if (dl_hung) {
		vt_printf("FAIL: a thread's dlopen hung: the loader's lock is held\n");
		_exit(1);
	}
	atomic_store(&churning, 0);
	vt_thread_join(&t);
	vt_check(atomic_load(&damaged) == 0, "churn blocks kept their tags");
	while (leaked_list) {
		char *p = leaked_list;

		memcpy(&leaked_list, p, sizeof(void *));
		bad += p[sizeof(void *)] != 'L' || p[LEAK_SIZE - 1] != 'L';
		free(p);
	}
	vt_check(bad == 0, "leaked blocks intact at the end");
	drop_blocks();
	vt_printf("server: %lu blocks leaked on request\n", leaked_total);
	pre_attach_release();
	pre_attach_end();
	return vt_exit_status();
}
