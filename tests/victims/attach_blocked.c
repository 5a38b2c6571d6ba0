/*
 * attach_blocked: four threads sit in blocking calls across the attach, and
 * each checks that its one call returns as if nothing had happened.
 *
 *     attach_blocked DIR
 *
 * Protocol in attach.h, plus two FIFOs the victim makes before ready:
 *   DIR/pipe.read   a thread is in read() on it: the test writes
 *                   "read-after-attach\n" once attached, and the one read()
 *                   must return exactly those 18 bytes (no EINTR, no retry);
 *   DIR/pipe.epoll  a thread is in epoll_wait(-1) on it: the test writes
 *                   "epoll-after-attach\n"; epoll_wait must return 1 event,
 *                   EPOLLIN with the victim's cookie;
 * a thread is in nanosleep() for SLEEP_MS, which must return 0 after at
 * least that long; a thread is in pthread_cond_wait(), which the main thread
 * signals once on go: it must return exactly once (no lost or extra wakeup).
 * None of these calls is retried on EINTR, so an EINTR the injection let
 * through shows as a FAIL line.  Ready is written only when every thread is
 * asleep in its system call (/proc/self/task/TID/syscall).  After go each
 * thread leaks one block from its own function.
 */
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/syscall.h>

#include "attach.h"

#define SLEEP_MS 2500
#define READ_MSG "read-after-attach\n"
#define EPOLL_MSG "epoll-after-attach\n"
#define COOKIE 0xfeedULL

enum { T_READ, T_EPOLL, T_SLEEP, T_COND, NT };

static const char *const tname[NT] = { "read", "epoll_wait", "nanosleep", "pthread_cond_wait" };

struct blocked {
	struct vt_thread thread;
	atomic_int tid;
	atomic_int done;
	long ret;	/* what the call returned */
	int err;	/* errno if it failed */
	int ok;		/* the result was the expected one */
	void *leak;
};

static struct blocked th[NT];
static atomic_int go_seen;
static int fd_read, fd_epoll;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int signalled, cond_returns;

static void wait_go_flag(void)
{
	while (!atomic_load(&go_seen))
		vt_sleep_ms(2);
}

NOINLINE static void *leak_reader(void) { return malloc(101); }
NOINLINE static void *leak_epoller(void) { return malloc(102); }
NOINLINE static void *leak_sleeper(void) { return malloc(103); }
NOINLINE static void *leak_condwaiter(void) { return malloc(104); }

static void *reader(void *arg)
{
	struct blocked *b = arg;
	char buf[64];

	atomic_store(&b->tid, (int)syscall(SYS_gettid));
	b->ret = read(fd_read, buf, sizeof(buf));
	b->err = b->ret < 0 ? errno : 0;
	b->ok = b->ret == (long)strlen(READ_MSG) && !memcmp(buf, READ_MSG, strlen(READ_MSG));
	wait_go_flag();
	b->leak = leak_reader();
	atomic_store(&b->done, 1);
	return NULL;
}

static void *epoller(void *arg)
{
	struct blocked *b = arg;
	struct epoll_event ev, got[4];
	char buf[64];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		vt_die("epoll_create1");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = COOKIE;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd_epoll, &ev) < 0)
		vt_die("epoll_ctl");
	memset(got, 0, sizeof(got));
	atomic_store(&b->tid, (int)syscall(SYS_gettid));
	b->ret = epoll_wait(ep, got, 4, -1);
	b->err = b->ret < 0 ? errno : 0;
	b->ok = b->ret == 1 && (got[0].events & EPOLLIN) && got[0].data.u64 == COOKIE;
	if (b->ok) {
		ssize_t n = read(fd_epoll, buf, sizeof(buf));

		b->ok = n == (ssize_t)strlen(EPOLL_MSG) && !memcmp(buf, EPOLL_MSG, strlen(EPOLL_MSG));
	}
	close(ep);
	wait_go_flag();
	b->leak = leak_epoller();
	atomic_store(&b->done, 1);
	return NULL;
}

static void *sleeper(void *arg)
{
	struct blocked *b = arg;
	struct timespec ts = { SLEEP_MS / 1000, (SLEEP_MS % 1000) * 1000000L };
	long start = vt_now_ms(), took;

	atomic_store(&b->tid, (int)syscall(SYS_gettid));
	b->ret = nanosleep(&ts, &ts);
	b->err = b->ret < 0 ? errno : 0;
	took = vt_now_ms() - start;
	b->ok = b->ret == 0 && took >= SLEEP_MS && took < SLEEP_MS + 30000;
	wait_go_flag();
	b->leak = leak_sleeper();
	atomic_store(&b->done, 1);
	return NULL;
}

static void *condwaiter(void *arg)
{
	struct blocked *b = arg;
	int rc = 0;

	pthread_mutex_lock(&lock);
	atomic_store(&b->tid, (int)syscall(SYS_gettid));
	while (!signalled && rc == 0) {
		rc = pthread_cond_wait(&cond, &lock);
		cond_returns++;
	}
	pthread_mutex_unlock(&lock);
	b->ret = rc;
	b->err = rc;
	b->ok = rc == 0 && cond_returns == 1;
	wait_go_flag();
	b->leak = leak_condwaiter();
	atomic_store(&b->done, 1);
	return NULL;
}

/* The system call thread TID sleeps in, or -1 while it runs. */
static long in_syscall(int tid)
{
	char path[64], buf[256];
	ssize_t n;
	int fd;

	vt_format(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	{
		const char *paren = strrchr(buf, ')');

		if (!paren || paren[1] != ' ' || paren[2] != 'S')
			return -1;
	}
	vt_format(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || buf[0] < '0' || buf[0] > '9')
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static int is_expected_syscall(int t, long nr)
{
	switch (t) {
	case T_READ:
		return nr == SYS_read;
	case T_EPOLL:
#ifdef SYS_epoll_wait
		if (nr == SYS_epoll_wait)
			return 1;
#endif
#ifdef SYS_epoll_pwait2
		if (nr == SYS_epoll_pwait2)
			return 1;
#endif
		return nr == SYS_epoll_pwait;
	case T_SLEEP:
#ifdef SYS_nanosleep
		if (nr == SYS_nanosleep)
			return 1;
#endif
		return nr == SYS_clock_nanosleep;
	default:
		return nr == SYS_futex;
	}
}

int main(int argc, char **argv)
{
	static void *(*const fn[NT])(void *) = { reader, epoller, sleeper, condwaiter };
	static const char *const leak_name[NT] = { "leak_reader", "leak_epoller", "leak_sleeper",
						   "leak_condwaiter" };
	long deadline;
	int all;

	at_start(argc, argv);
	fd_read = at_fifo("pipe.read");
	fd_epoll = at_fifo("pipe.epoll");
	for (int t = 0; t < NT; t++)
		vt_thread_start(&th[t].thread, fn[t], &th[t]);
	deadline = vt_now_ms() + 10000;
	do {
		all = 1;
		for (int t = 0; t < NT; t++) {
			int tid = atomic_load(&th[t].tid);

			all &= tid > 0 && is_expected_syscall(t, in_syscall(tid));
		}
		if (!all)
			vt_sleep_ms(2);
	} while (!all && vt_now_ms() < deadline);
	if (!all) {
		vt_dprintf(2, "victim: the threads did not all block in time\n");
		return 99;
	}
	vt_printf("blocked: %d threads asleep in read, epoll_wait, nanosleep, pthread_cond_wait\n", NT);
	at_ready();

	at_wait_go();
	pthread_mutex_lock(&lock);
	signalled = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	atomic_store(&go_seen, 1);
	pre_attach_release();

	/* A call that never returns is a FAIL line, not a hang. */
	deadline = vt_now_ms() + 20000;
	for (int t = 0; t < NT; t++) {
		while (!atomic_load(&th[t].done) && vt_now_ms() < deadline)
			vt_sleep_ms(5);
		if (!atomic_load(&th[t].done)) {
			vt_printf("FAIL: %s did not return within 20 s of go\n", tname[t]);
			vt_failures++;
		}
	}
	if (vt_failures)
		_exit(vt_exit_status());
	for (int t = 0; t < NT; t++) {
		char what[128];

		vt_thread_join(&th[t].thread);
		if (th[t].ret < 0)
			vt_printf("%s: returned -1, %s\n", tname[t], strerror(th[t].err));
		vt_format(what, sizeof(what), "%s returned once with the expected result", tname[t]);
		vt_check(th[t].ok, what);
	}
	for (int t = 0; t < NT; t++)
		vt_expect(leak_name[t], 1, 101 + (unsigned long)t);
	at_leaked_then_wait_stop();

	for (int t = 0; t < NT; t++)
		free(th[t].leak);
	pre_attach_end();
	return vt_exit_status();
}
