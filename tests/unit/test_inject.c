/*
 * Unit test for the injector (inject/injector/inject.c, ptrace.c, remote.c, regs.c, loader.c,
 * inject/injector/arch/<arch>/regs.c) on real processes.
 *
 * The victims are forks of this test: a main thread blocked in read() on a
 * pipe that answers pings through a function pointer, a thread sleeping in
 * 30 ms clock_nanosleep()s that checks each one lasted its full time and
 * never saw EINTR, two threads allocating without pause, and SIGUSR1 and
 * SIGRTMIN handlers (SA_RESTART) that count. A small library
 * (tests/unit/inject/testagent.c, built by the Makefile) stands in for the agent: its memtrace_agent_start(cfg) writes cfg, its
 * pid and its thread id to the file named first in cfg, and on request
 * raises SIGRTMIN, sleeps, fails, or crashes.
 *
 * Checked: the call happens once, in the victim, with the right string; the
 * victim goes on exactly as before (pings answered, its FP rounding mode
 * kept although the call changed it, no EINTR, no short
 * sleep, SIGUSR1 sent during the injection delivered exactly once, SIGRTMIN
 * sent before it and from inside the call each delivered exactly once (a
 * real-time signal, so two pending at once are not merged), clean exit at the
 * end); a stopped process stays
 * stopped; the failure kinds (no such process, static binary, agent missing
 * or of another machine, noexec mount, dlopen failing with dlerror's text,
 * the agent's start failing, already loaded, already traced with the
 * tracer's pid, permission refused to another user, seccomp, timeout, a
 * crashing call); and memtrace killed with SIGKILL at random moments
 * during injection never harms the victim. Prints the median latency of
 * 20 injections.
 *
 * Exit status: 0 pass, 1 fail (one "FAIL" line per failed check), 77 when
 * ptrace is not permitted here at all, 99 when the harness cannot run (no
 * compiler, no temp dir). Cases that need root, a static libc or a private
 * mount namespace are left out with a "note:" line when those are missing.
 */
#include "injector/inject.h"
#include "log.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fenv.h>
#include <grp.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---------------------------------------------------------------- victim */

/*
 * V_POLL: the main thread waits in poll() with a 200 ms timeout before each
 * read (poll continues through restart_syscall after an interruption, the
 * case where a remote call can spoil the thread's restart block); it
 * counts EINTR and waits that did not last 200 ms to 5 s. Only for cases
 * that send no signal: poll() returns EINTR for any handled signal.
 */
enum { V_SECCOMP = 1, V_LOCKER = 2, V_POLL = 4 };

#define POLL_MS 200
#define POLL_MAX_MS 5000

struct vstat {
	long calls, usr1, rt, read_eintr, sleeps, sleep_bad, allocs, poll_bad;
	int round; /* the main thread's FP rounding mode, -1 if unknown */
};

#define SLEEP_NS 30000000L

static volatile sig_atomic_t v_usr1, v_rt;
static volatile long v_sleeps, v_sleep_bad, v_allocs;

static long add_one(long x)
{
	return x + 1;
}

static long (*volatile v_op)(long) = add_one;

/* From libm through dlopen: the test itself does not link libm. */
static int (*v_fegetround)(void);

/*
 * The main thread rounds upwards: the injected call rounds towards zero, so
 * a rounding mode that is not upwards afterwards is FP state not restored.
 */
static void round_upwards(void)
{
	void *m = dlopen("libm.so.6", RTLD_NOW);
	int (*set)(int) = m ? (int (*)(int))dlsym(m, "fesetround") : NULL;

	v_fegetround = m ? (int (*)(void))dlsym(m, "fegetround") : NULL;
	/* Where the rounding mode does not stay (qemu's MIPS 5KEf: it reads back
	 * 0 at once), nothing can be told of it. */
	if (!set || !v_fegetround || set(FE_UPWARD) != 0 || v_fegetround() != FE_UPWARD)
		v_fegetround = NULL;
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		v_usr1++;
	else
		v_rt++;
}

/* Only the main thread takes the counted signals. */
static void block_usr1(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
}

static void *sleeper(void *arg)
{
	(void)arg;
	block_usr1();
	for (;;) {
		struct timespec req = { 0, SLEEP_NS }, t0, t1;
		int r;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (r != 0 || (t1.tv_sec - t0.tv_sec) * 1000000000L + t1.tv_nsec - t0.tv_nsec < SLEEP_NS)
			v_sleep_bad++;
		v_sleeps++;
	}
	return NULL;
}

static void *allocator(void *arg)
{
	(void)arg;
	block_usr1();
	for (unsigned i = 0;; i++) {
		char *p = malloc(16 + i % 4000);

		if (p) {
			p[0] = 1;
			free(p);
		}
		v_allocs++;
	}
	return NULL;
}

/* Holds stdout's lock nearly all the time, a lock the injected call may need. */
static void *locker(void *arg)
{
	(void)arg;
	block_usr1();
	for (;;) {
		flockfile(stdout);
		sleep_ms(5);
		funlockfile(stdout);
		usleep(100);
	}
	return NULL;
}

#ifdef __NR_open
#define NR_OPEN_OLD __NR_open
#else
#define NR_OPEN_OLD __NR_openat
#endif
/*
 * musl's libc (Debian's) names none of its internals and has no unwind
 * tables, and its dlclose unloads nothing; it opens files with open where
 * that exists.
 */
#ifdef __GLIBC__
#define OPAQUE_LIBC 0
#define DLOPEN_OPEN_NR __NR_openat
#else
#define OPAQUE_LIBC 1
#define DLOPEN_OPEN_NR NR_OPEN_OLD
#endif

static void deny_openat(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* and open where it exists: musl's dlopen opens with it */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_OPEN_OLD, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		_exit(98);
}

static __attribute__((noreturn)) void victim(int cmd, int rep, int flags)
{
	struct sigaction sa = { 0 };
	long calls = 0, read_eintr = 0, poll_bad = 0;
	pthread_t th;

	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGRTMIN, &sa, NULL);
	round_upwards();
	if (flags & V_SECCOMP)
		deny_openat();
	if (pthread_create(&th, NULL, sleeper, NULL) || pthread_create(&th, NULL, allocator, NULL) ||
	    pthread_create(&th, NULL, allocator, NULL) ||
	    ((flags & V_LOCKER) && pthread_create(&th, NULL, locker, NULL)))
		_exit(97);
	for (;;) {
		struct vstat s;
		ssize_t n;
		char c;

		if (flags & V_POLL) {
			struct pollfd p = { cmd, POLLIN, 0 };
			struct timespec t0;
			long ms;
			int r;

			clock_gettime(CLOCK_MONOTONIC, &t0);
			r = poll(&p, 1, POLL_MS);
			ms = ms_since(&t0);
			/* Early or failed is the fault; a long one was stopped for an
			 * injection (seconds on a slow emulated board), and only one
			 * far longer than that means a lost timeout. */
			if (r < 0 || (r == 0 && (ms < POLL_MS - 1 || ms > POLL_MAX_MS)))
				poll_bad++;
			if (r <= 0)
				continue;
		}
		n = read(cmd, &c, 1);
		if (n < 0 && errno == EINTR) {
			read_eintr++;
			continue;
		}
		if (n <= 0)
			_exit(0);
		calls = v_op(calls);
		s.calls = calls;
		s.usr1 = v_usr1;
		s.rt = v_rt;
		s.read_eintr = read_eintr;
		s.poll_bad = poll_bad;
		s.sleeps = v_sleeps;
		s.sleep_bad = v_sleep_bad;
		s.allocs = v_allocs;
		s.round = v_fegetround ? v_fegetround() : -1;
		if (write(rep, &s, sizeof(s)) != sizeof(s))
			_exit(96);
	}
}

struct vic {
	pid_t pid;
	int cmd, rep;
	struct vstat last;
};

static int vic_ping(struct vic *v, struct vstat *s, int timeout_ms)
{
	struct pollfd p = { v->rep, POLLIN, 0 };

	if (write(v->cmd, "p", 1) != 1 || poll(&p, 1, timeout_ms) != 1 ||
	    read(v->rep, s, sizeof(*s)) != sizeof(*s))
		return -1;
	return 0;
}

static void vic_start(struct vic *v, int flags)
{
	int c[2], r[2];

	memset(v, 0, sizeof(*v));
	if (pipe2(c, O_CLOEXEC) < 0 || pipe2(r, O_CLOEXEC) < 0)
		broken("pipe");
	v->pid = fork();
	if (v->pid < 0)
		broken("fork");
	if (v->pid == 0) {
		alarm(0);
		close(c[1]);
		close(r[0]);
		victim(c[0], r[1], flags);
	}
	close(c[0]);
	close(r[1]);
	v->cmd = c[1];
	v->rep = r[0];
	if (vic_ping(v, &v->last, 5000) < 0)
		broken("victim does not answer");
	/* Let the threads get going. */
	sleep_ms(40);
}

/*
 * The victim still works: answers, and its counters moved on with no harm
 * seen. The counters are asked for again until both threads have moved on:
 * on a loaded machine a thread can wait its turn for longer than two of its
 * sleeps (it once had not finished one after 100 ms); 10 s is far more than
 * any wait for a CPU, and a thread that really stopped is seen then.
 */
static void vic_check(struct vic *v, const char *when)
{
	struct vstat s;
	long allocs = v->last.allocs, sleeps = v->last.sleeps;
	long pings = 0;

	sleep_ms(2 * SLEEP_NS / 1000000 + 10);
	for (int waited = 0;; waited += 50) {
		if (vic_ping(v, &s, 3000) < 0) {
			CHECK(0, "%s: victim %d does not answer", when, (int)v->pid);
			return;
		}
		pings++;
		if ((s.sleeps > sleeps && s.allocs > allocs) || waited >= 10000)
			break;
		sleep_ms(50);
	}
	CHECK(s.calls == v->last.calls + pings, "%s: calls %ld after %ld and %ld questions", when,
	      s.calls, v->last.calls, pings);
	CHECK(s.read_eintr == 0, "%s: read() saw EINTR %ld times", when, s.read_eintr);
	CHECK(s.poll_bad == 0, "%s: %ld poll() waits failed or did not last %d ms to %d ms", when,
	      s.poll_bad, POLL_MS, POLL_MAX_MS);
	CHECK(s.sleep_bad == 0, "%s: %ld sleeps were cut short or failed", when, s.sleep_bad);
	CHECK(s.sleeps > sleeps, "%s: the sleeper thread stopped (%ld)", when, s.sleeps);
	CHECK(s.allocs > allocs, "%s: the allocating threads stopped (%ld)", when, s.allocs);
	CHECK(s.round == -1 || s.round == FE_UPWARD, "%s: rounding mode %#x, not upwards: FP "
	      "state not restored", when, s.round);
	v->last = s;
}

/* Ends the victim through EOF on its pipe: it must exit 0 by itself. */
static void vic_stop(struct vic *v, const char *when)
{
	struct timespec t0;
	int st = 0;
	pid_t r;

	close(v->cmd);
	close(v->rep);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((r = waitpid(v->pid, &st, WNOHANG)) == 0 && ms_since(&t0) < 3000)
		sleep_ms(5);
	if (r == 0) {
		kill(v->pid, SIGKILL);
		waitpid(v->pid, &st, 0);
		CHECK(0, "%s: victim did not exit on EOF", when);
		return;
	}
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: victim ended with status %#x", when, st);
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	char c = '?';

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return c;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		c = p[2];
	fclose(f);
	return c;
}

static int tracer_of(pid_t pid)
{
	char path[64], line[256];
	int t = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %d", &t) == 1)
			break;
	fclose(f);
	return t;
}

static int mapped(pid_t pid, const char *path)
{
	char fn[64], line[PATH_MAX + 128];
	int found = 0;
	FILE *f;

	snprintf(fn, sizeof(fn), "/proc/%d/maps", (int)pid);
	f = fopen(fn, "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, path) != NULL;
	fclose(f);
	return found;
}

/* ---------------------------------------------------------------- files */

static char dir[PATH_MAX], lib_ok[PATH_MAX + 32], lib_undef[PATH_MAX + 32],
	lib_foreign[PATH_MAX + 32], lib_text[PATH_MAX + 32], static_bin[PATH_MAX + 32],
	lib_noexec[PATH_MAX + 32], lib_nosh[PATH_MAX + 32];
static int have_static, have_noexec;

static void write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) < 0)
		broken(path);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4 * PATH_MAX];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Copy the prebuilt file NAME (the Makefile builds tests/unit/inject/ into
 * $BUILD/tests/unit/inject) into the test's directory as OUT. */
static int copy_prebuilt(const char *name, char *out, size_t size)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";

	snprintf(out, size, "%s/%s", dir, name);
	return sh("cp '%s/tests/unit/inject/%s' '%s'", build, name, out);
}

static void build_files(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char real[PATH_MAX];
	struct statvfs vfs;
	unsigned char hdr[20];
	int fd;

	snprintf(dir, sizeof(dir), "%s/test_inject.XXXXXX", tmp);
	if (statvfs(tmp, &vfs) == 0 && (vfs.f_flag & ST_NOEXEC))
		snprintf(dir, sizeof(dir), "./test_inject.XXXXXX");
	if (!mkdtemp(dir) || !realpath(dir, real))
		broken("mkdtemp");
	memcpy(dir, real, sizeof(dir));
	chmod(dir, 0755);

	if (copy_prebuilt("libtestagent.so", lib_ok, sizeof(lib_ok)) ||
	    copy_prebuilt("libundef.so", lib_undef, sizeof(lib_undef)))
		broken("the test libraries are not in $BUILD/tests/unit/inject (make test-bins)");

	/* The same library claiming another machine in its ELF header. */
	snprintf(lib_foreign, sizeof(lib_foreign), "%s/libforeign.so", dir);
	if (sh("cp '%s' '%s'", lib_ok, lib_foreign))
		broken("cp");
	fd = open(lib_foreign, O_RDWR);
	if (fd < 0 || pread(fd, hdr, sizeof(hdr), 0) != sizeof(hdr))
		broken(lib_foreign);
	/* e_machine at offset 18, in the file's byte order: a 16-bit value that is ours no more. */
	hdr[18] ^= 0x40;
	if (pwrite(fd, hdr, sizeof(hdr), 0) != sizeof(hdr) || close(fd) < 0)
		broken(lib_foreign);

	/* And without section headers, as sstrip leaves it: symbols through PT_DYNAMIC. */
	snprintf(lib_nosh, sizeof(lib_nosh), "%s/libnosh.so", dir);
	if (sh("cp '%s' '%s'", lib_ok, lib_nosh))
		broken("cp");
	fd = open(lib_nosh, O_RDWR);
	if (fd < 0 || pread(fd, hdr, sizeof(hdr), 0) != sizeof(hdr))
		broken(lib_nosh);
	{
		/* Zero e_shoff, and e_shnum with e_shstrndx. */
		static const unsigned char zero[8];
		int is64 = hdr[4] == 2;

		if (pwrite(fd, zero, is64 ? 8 : 4, is64 ? 0x28 : 0x20) < 0 ||
		    pwrite(fd, zero, 4, is64 ? 0x3c : 0x30) < 0 || close(fd) < 0)
			broken(lib_nosh);
	}

	snprintf(lib_text, sizeof(lib_text), "%s/libtext.so", dir);
	write_file(lib_text, "not a library\n", 14);

	have_static = copy_prebuilt("static_victim", static_bin, sizeof(static_bin)) == 0;
	if (!have_static)
		printf("note: static-binary case left out: no $BUILD/tests/unit/inject/static_victim\n");

	/* A noexec tmpfs, in a mount namespace of our own so nothing outlives the test. */
	snprintf(lib_noexec, sizeof(lib_noexec), "%s/nx", dir);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mkdir(lib_noexec, 0755) < 0 ||
	    mount("tmpfs", lib_noexec, "tmpfs", MS_NOEXEC, "size=4m") < 0) {
		printf("note: noexec case left out: no private mount namespace here (%s)\n",
		       strerror(errno));
	} else {
		strcat(lib_noexec, "/libtestagent.so");
		have_noexec = sh("cp '%s' '%s'", lib_ok, lib_noexec) == 0;
	}
}

static void remove_files(void)
{
	char nx[PATH_MAX + 8];

	snprintf(nx, sizeof(nx), "%s/nx", dir);
	umount2(nx, MNT_DETACH);
	sh("rm -rf '%s'", dir);
}

static int read_out(const char *path, char *cfg, size_t size, int *pid, long *tid)
{
	FILE *f = fopen(path, "re");
	int ok;

	if (!f)
		return -1;
	ok = fgets(cfg, (int)size, f) && fscanf(f, "%d %ld", pid, tid) == 2;
	fclose(f);
	cfg[strcspn(cfg, "\n")] = 0;
	return ok ? 0 : -1;
}

/* ---------------------------------------------------------------- cases */

static volatile int sender_go;
static pid_t sender_target;

/* SIGUSR1 at a random moment while the injection runs. */
static void *sender(void *arg)
{
	long us = (long)(intptr_t)arg;

	while (!sender_go)
		sched_yield();
	if (us)
		usleep((useconds_t)us);
	kill(sender_target, SIGUSR1);
	return NULL;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

#define RUNS 20

/* The normal case, RUNS times on fresh victims; the first also tries a second injection. */
static void case_inject(void)
{
	int64_t t[5][RUNS];

	for (int i = 0; i < RUNS; i++) {
		char out[PATH_MAX + 32], cfg[PATH_MAX + 64], got[PATH_MAX + 64];
		struct inj_result res;
		struct vic v;
		pthread_t th;
		long tid = 0;
		int pid = 0, rc;

		check_step("inject", 20);
		vic_start(&v, 0);
		snprintf(out, sizeof(out), "%s/out%d.txt", dir, i);
		snprintf(cfg, sizeof(cfg), "%s signal", out);
		/*
		 * SIGRTMIN (queued, never merged) once before and once from inside the
		 * call; SIGUSR1 once at a random moment during the injection.
		 */
		kill(v.pid, SIGRTMIN);
		sender_go = 0;
		sender_target = v.pid;
		if (pthread_create(&th, NULL, sender, (void *)(intptr_t)(random() % 3000)))
			broken("pthread_create");
		sender_go = 1;
		rc = inj_load_agent(v.pid, lib_ok, cfg, 5000, &res);
		pthread_join(th, NULL);
		CHECK(rc == 0 && res.kind == INJ_OK, "run %d: %s: %s", i, inj_kind_name(res.kind),
		      res.message);
		CHECK(read_out(out, got, sizeof(got), &pid, &tid) == 0, "run %d: the start function "
		      "did not run", i);
		CHECK(!strcmp(got, cfg), "run %d: config '%s', expected '%s'", i, got, cfg);
		CHECK(pid == v.pid && tid == res.tid, "run %d: called in %d/%ld, expected %d/%d", i,
		      pid, tid, (int)v.pid, res.tid);
		/* Under musl the main thread may be caught in libc's code between
		 * two reads, where nothing proves it safe: another one serves. */
		CHECK(res.tid == v.pid || OPAQUE_LIBC, "run %d: thread %d used, not the main thread (blocked in read)",
		      i, res.tid);
		CHECK(tracer_of(v.pid) == 0, "run %d: still traced by %d", i, tracer_of(v.pid));
		vic_check(&v, "after injecting");
		CHECK(v.last.usr1 == 1, "run %d: SIGUSR1 handled %ld times, sent once", i,
		      (long)v.last.usr1);
		CHECK(v.last.rt == 2, "run %d: SIGRTMIN handled %ld times, sent twice", i,
		      (long)v.last.rt);
		if (i == 0) {
			char out2[PATH_MAX + 32];

			check_step("already loaded", 10);
			snprintf(out2, sizeof(out2), "%s/again.txt", dir);
			rc = inj_load_agent(v.pid, lib_ok, out2, 5000, &res);
			CHECK(rc < 0 && res.kind == INJ_ALREADY_LOADED, "second injection: %s: %s",
			      inj_kind_name(res.kind), res.message);
			CHECK(access(out2, F_OK) < 0, "second injection called the start function again");
			vic_check(&v, "after the second injection");
		}
		vic_stop(&v, "after injecting");
		t[0][i] = res.seize_us;
		t[1][i] = res.dlopen_us;
		t[2][i] = res.start_us;
		t[3][i] = res.release_us;
		t[4][i] = res.total_us;
	}
	for (int k = 0; k < 5; k++)
		qsort(t[k], RUNS, sizeof(t[k][0]), cmp64);
	printf("latency, median of %d (us): seize %lld, dlopen %lld, start %lld, release %lld, "
	       "total %lld (4 threads each)\n", RUNS, (long long)t[0][RUNS / 2],
	       (long long)t[1][RUNS / 2], (long long)t[2][RUNS / 2], (long long)t[3][RUNS / 2],
	       (long long)t[4][RUNS / 2]);
}

/* Inject AGENT, whose start function writes to DIR/FILE: it must succeed and
 * the start function must have run in V. */
static void expect_loaded(struct vic *v, const char *agent, const char *file, const char *what)
{
	char out[PATH_MAX + 32], got[PATH_MAX + 64];
	struct inj_result res;
	long tid;
	int pid;

	snprintf(out, sizeof(out), "%s/%s", dir, file);
	CHECK(inj_load_agent(v->pid, agent, out, 5000, &res) == 0, "%s: %s: %s", what,
	      inj_kind_name(res.kind), res.message);
	CHECK(read_out(out, got, sizeof(got), &pid, &tid) == 0 && pid == v->pid,
	      "%s: the start function did not run", what);
}

/* Inject and expect KIND; the victim must be unharmed. Returns the result. */
static struct inj_result expect(struct vic *v, const char *agent, const char *cfg, int timeout_ms,
				enum inj_kind kind, const char *what)
{
	struct inj_result res;
	int rc;

	rc = inj_load_agent(v->pid, agent, cfg, timeout_ms, &res);
	CHECK(rc < 0 && res.kind == kind, "%s: %s (%s), expected %s", what,
	      inj_kind_name(res.kind), res.message, inj_kind_name(kind));
	CHECK(res.message[0], "%s: no message", what);
	CHECK(tracer_of(v->pid) == 0, "%s: still traced", what);
	vic_check(v, what);
	return res;
}

static void case_failures(void)
{
	char out[PATH_MAX + 32], cfg[PATH_MAX + 64], pidtext[16];
	struct inj_result res;
	struct vic v;
	pid_t p;
	int st;

	check_step("no such process", 10);
	p = fork();
	if (p == 0)
		_exit(0);
	waitpid(p, &st, 0);
	CHECK(inj_load_agent(p, lib_ok, "x", 1000, &res) < 0 && res.kind == INJ_NO_SUCH_PROCESS,
	      "ended pid: %s", inj_kind_name(res.kind));
	CHECK(inj_load_agent(0, lib_ok, "x", 1000, &res) < 0 && res.kind == INJ_NO_SUCH_PROCESS,
	      "pid 0: %s", inj_kind_name(res.kind));

	if (have_static) {
		int in[2];

		check_step("static", 10);
		if (pipe(in) < 0)
			broken("pipe");
		p = fork();
		if (p == 0) {
			dup2(in[0], 0);
			execl(static_bin, static_bin, (char *)NULL);
			_exit(127);
		}
		close(in[0]);
		sleep_ms(50);
		CHECK(inj_load_agent(p, lib_ok, "x", 1000, &res) < 0 && res.kind == INJ_STATIC,
		      "static: %s: %s", inj_kind_name(res.kind), res.message);
		CHECK(strstr(res.message, "statically linked") != NULL, "static: message '%s'",
		      res.message);
		CHECK(write(in[1], "x", 1) == 1, "static victim gone");
		close(in[1]);
		waitpid(p, &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "static victim ended with %#x", st);
	}

	check_step("agent checks", 20);
	vic_start(&v, 0);
	snprintf(out, sizeof(out), "%s/no-such-agent.so", dir);
	res = expect(&v, out, "x", 1000, INJ_AGENT_MISSING, "missing agent");
	CHECK(strstr(res.message, "--agent") != NULL, "missing agent: message '%s'", res.message);
	expect(&v, lib_foreign, "x", 1000, INJ_AGENT_WRONG_ARCH, "agent of another machine");
	expect(&v, lib_text, "x", 1000, INJ_AGENT_WRONG_ARCH, "agent not ELF");
	if (have_noexec) {
		res = expect(&v, lib_noexec, "x", 1000, INJ_NOEXEC, "agent on noexec");
		CHECK(strstr(res.message, "/nx") != NULL, "noexec: mount point not named: '%s'",
		      res.message);
	}

	check_step("dlopen fails", 20);
	res = expect(&v, lib_undef, "x", 5000, INJ_DLOPEN_FAILED, "undefined symbol");
	CHECK(strstr(res.message, "memtrace_test_no_such_function") != NULL,
	      "dlerror's text missing: '%s'", res.message);
	CHECK(!mapped(v.pid, "libundef.so"), "the failed library stayed mapped");

	check_step("start fails", 20);
	snprintf(out, sizeof(out), "%s/fail.txt", dir);
	snprintf(cfg, sizeof(cfg), "%s fail", out);
	res = expect(&v, lib_ok, cfg, 5000, INJ_AGENT_FAILED, "start returns 7");
	CHECK(res.agent_ret == 7 && strstr(res.message, "returned 7"), "agent_ret %d: '%s'",
	      res.agent_ret, res.message);
	CHECK(access(out, F_OK) == 0, "the failing start function did not run");
#ifdef __GLIBC__
	CHECK(!mapped(v.pid, lib_ok), "the agent was not unloaded after its start failed");
#else
	/* musl's dlclose unloads nothing: the agent stays, not started; a fresh victim for the crash. */
	CHECK(mapped(v.pid, lib_ok), "musl unloaded the agent after its start failed");
	vic_stop(&v, "after the failed start");
	vic_start(&v, 0);
#endif

	check_step("crash", 20);
	snprintf(cfg, sizeof(cfg), "%s crash", out);
	res = expect(&v, lib_ok, cfg, 5000, INJ_CALL_CRASHED, "crashing call");
	CHECK(strstr(res.message, "SIGSEGV") && strstr(res.message, "0x10"),
	      "crash: message '%s'", res.message);
	vic_stop(&v, "after the failures");

	check_step("timeout", 20);
	vic_start(&v, V_POLL);
	snprintf(cfg, sizeof(cfg), "%s sleep=3000", out);
	res = expect(&v, lib_ok, cfg, 400, INJ_TIMEOUT, "call over time");
	CHECK(strstr(res.message, "0.400 s") != NULL, "timeout: message '%s'", res.message);
	vic_stop(&v, "after the timeout");

	check_step("seccomp", 20);
	vic_start(&v, V_SECCOMP);
	res = expect(&v, lib_ok, "x", 5000, INJ_SECCOMP, "seccomp denying openat");
	snprintf(pidtext, sizeof(pidtext), "%d", DLOPEN_OPEN_NR);
	CHECK(strstr(res.message, pidtext) != NULL, "seccomp: syscall not named: '%s'", res.message);
	vic_stop(&v, "after seccomp");
}

static void case_traced(void)
{
	char pidtext[32];
	struct inj_result res;
	struct vic v;
	int ready[2], st;
	pid_t tracer;
	char c;

	check_step("already traced", 20);
	vic_start(&v, 0);
	if (pipe(ready) < 0)
		broken("pipe");
	tracer = fork();
	if (tracer == 0) {
		c = ptrace(PTRACE_SEIZE, v.pid, NULL, NULL) == 0 ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	CHECK(read(ready[0], &c, 1) == 1 && c == 'y', "the tracer could not seize the victim");
	close(ready[0]);
	close(ready[1]);
	CHECK(inj_load_agent(v.pid, lib_ok, "x", 1000, &res) < 0 && res.kind == INJ_ALREADY_TRACED,
	      "traced: %s: %s", inj_kind_name(res.kind), res.message);
	snprintf(pidtext, sizeof(pidtext), "process %d", (int)tracer);
	CHECK(strstr(res.message, pidtext) && res.tracer_pid == tracer,
	      "traced: tracer %d not named: '%s'", (int)tracer, res.message);
	kill(tracer, SIGKILL);
	waitpid(tracer, &st, 0);
	vic_check(&v, "after the other tracer");
	vic_stop(&v, "after the other tracer");
}

static void case_permission(void)
{
	struct inj_result res;
	struct vic v;
	int fds[2], st;
	pid_t p;

	if (geteuid() != 0) {
		printf("note: permission case left out: it needs root to drop to nobody\n");
		return;
	}
	check_step("permission", 20);
	vic_start(&v, 0);
	if (pipe(fds) < 0)
		broken("pipe");
	p = fork();
	if (p == 0) {
		close(fds[0]);
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(99);
		inj_load_agent(v.pid, lib_ok, "x", 1000, &res);
		_exit(write(fds[1], &res, sizeof(res)) == sizeof(res) ? 0 : 1);
	}
	close(fds[1]);
	memset(&res, 0, sizeof(res));
	CHECK(read(fds[0], &res, sizeof(res)) == sizeof(res), "no result from the nobody process");
	close(fds[0]);
	waitpid(p, &st, 0);
	CHECK(res.kind == INJ_PERMISSION, "as nobody: %s: %s", inj_kind_name(res.kind), res.message);
	CHECK(strstr(res.message, "run memtrace as root or as that user") != NULL,
	      "as nobody: message '%s'", res.message);
	vic_check(&v, "after the refused attach");
	vic_stop(&v, "after the refused attach");
}

/* An agent without section headers: memtrace_agent_start found through PT_DYNAMIC. */
static void case_sstrip(void)
{
	struct vic v;

	check_step("agent without section headers", 20);
	vic_start(&v, 0);
	expect_loaded(&v, lib_nosh, "nosh.txt", "no section headers");
	vic_check(&v, "after the agent without section headers");
	vic_stop(&v, "after the agent without section headers");
}

/* A stopped process (Ctrl-Z) gets the agent and stays stopped. */
static void case_stopped(void)
{
	struct vic v;

	check_step("stopped process", 20);
	vic_start(&v, 0);
	kill(v.pid, SIGSTOP);
	for (int i = 0; i < 200 && proc_state(v.pid) != 'T'; i++)
		sleep_ms(5);
#ifdef __GLIBC__
	expect_loaded(&v, lib_ok, "stopped.txt", "stopped");
#else
	/* musl's libc shows nothing of its allocator or loader: a stopped
	 * thread there may hold their locks, which the call would wait for
	 * for ever. Refused, saying what to do, unless every thread waits in
	 * a call no lock holder makes (the allocators of this victim do not). */
	{
		struct inj_result res;

		CHECK(inj_load_agent(v.pid, lib_ok, "x", 5000, &res) < 0 && strstr(res.message, "kill -CONT"),
		      "stopped: %s: %s, expected a refusal that says to continue it", inj_kind_name(res.kind),
		      res.message);
		CHECK(!mapped(v.pid, lib_ok), "stopped: the refused agent is mapped");
	}
#endif
	sleep_ms(50);
	CHECK(proc_state(v.pid) == 'T', "stopped: state '%c' after injecting, not T",
	      proc_state(v.pid));
	kill(v.pid, SIGCONT);
	vic_check(&v, "after SIGCONT");
	vic_stop(&v, "after SIGCONT");
}

/*
 * Another thread, stopped with the rest, holds a lock the call needs: the
 * call must still complete, once the other threads are let run.
 */
static void case_lock(void)
{
	char out[PATH_MAX + 32], cfg[PATH_MAX + 64];
	struct inj_result res;
	struct vic v;

	check_step("lock held by a stopped thread", 20);
	vic_start(&v, V_LOCKER);
	snprintf(out, sizeof(out), "%s/lock.txt", dir);
	snprintf(cfg, sizeof(cfg), "%s stdio", out);
	CHECK(inj_load_agent(v.pid, lib_ok, cfg, 5000, &res) == 0, "lock: %s: %s",
	      inj_kind_name(res.kind), res.message);
	CHECK(access(out, F_OK) == 0, "lock: the start function did not complete");
	printf("lock held by another thread: start call took %lld us\n", (long long)res.start_us);
	vic_check(&v, "after the lock case");
	vic_stop(&v, "after the lock case");
}

/* The helper a killed caller left behind, reparented to us (a subreaper). */
static pid_t orphan_helper(pid_t victim)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;

	while (d && !found && (de = readdir(d))) {
		pid_t p = atoi(de->d_name);
		char path[64], buf[512], *s;
		int ppid = 0;
		FILE *f;

		if (p <= 0 || p == victim)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)p);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (s = strrchr(buf, ')')) &&
		    sscanf(s + 2, "%*c %d", &ppid) == 1 && ppid == getpid())
			found = p;
		fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

/* memtrace killed with SIGKILL at random moments during injection. */
static void case_killed(void)
{
	int loaded_runs = 0;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		printf("note: SIGKILL case left out: PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
		return;
	}
	for (int i = 0; i < 20; i++) {
		char out[PATH_MAX + 32], cfg[PATH_MAX + 64];
		struct inj_result res;
		struct vic v;
		pid_t caller, helper;
		int st, loaded, started;

		check_step("SIGKILL during injection", 20);
		vic_start(&v, 0);
		snprintf(out, sizeof(out), "%s/killed%d.txt", dir, i);
		snprintf(cfg, sizeof(cfg), "%s sleep=%ld", out, random() % 4);
		caller = fork();
		if (caller == 0) {
			inj_load_agent(v.pid, lib_ok, cfg, 5000, &res);
			_exit(0);
		}
		usleep((useconds_t)(random() % 6000));
		kill(caller, SIGKILL);
		waitpid(caller, &st, 0);
		helper = orphan_helper(v.pid);
		if (helper > 0)
			waitpid(helper, &st, 0);
		CHECK(tracer_of(v.pid) == 0, "run %d: victim still traced after the helper", i);
		vic_check(&v, "after memtrace was killed");
		loaded = mapped(v.pid, lib_ok);
		started = access(out, F_OK) == 0;
		loaded_runs += loaded;
		/* musl's dlclose unloads nothing: an agent whose start never came stays mapped. */
		CHECK(loaded == started || (OPAQUE_LIBC && loaded), "run %d: agent %s but %s", i,
		      loaded ? "loaded" : "not loaded", started ? "started" : "not started");
		vic_stop(&v, "after memtrace was killed");
	}
	printf("SIGKILL during injection: agent in place after %d of 20 runs\n", loaded_runs);
}

int main(void)
{
	struct inj_result res;
	struct vic v;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	log_set_name("test_inject");
	if (getenv("INJ_DEBUG"))
		log_set_level(LOG_DEBUG);
	/* The moments of the SIGUSR1 and SIGKILL cases. */
	srandom((unsigned)check_seed(0));
	check_step("building", 120);
	build_files();

	/* Can this process trace at all? */
	check_step("probe", 20);
	vic_start(&v, 0);
	if (inj_load_agent(v.pid, lib_text, "x", 1000, &res) < 0 && res.kind == INJ_PERMISSION) {
		vic_stop(&v, "probe");
		remove_files();
		printf("SKIP: ptrace is not permitted here: %s\n", res.message);
		return 77;
	}
	vic_stop(&v, "probe");

	case_inject();
	case_failures();
	case_traced();
	case_permission();
	case_stopped();
	case_sstrip();
	case_lock();
	case_killed();
	alarm(0);

	printf("%d checks, %d failed\n", checks, failures);
	if (failures) {
		printf("kept %s\n", dir);
		return 1;
	}
	remove_files();
	return 0;
}
