/*
 * epoll_loop: a thread that goes back into epoll_wait every couple of
 * milliseconds, the shape of most event loops, and counts every EINTR it
 * sees (tests/integration/t-attach-epoll.sh).  epoll_wait is never
 * restarted by the kernel: a ptrace stop that lands while the thread waits
 * ends the wait with EINTR, which this program would see.
 *
 *     epoll_loop DIR solo|pair
 *
 * The loop waits on a timerfd that fires every millisecond, with a timeout
 * of 5 ms, and then does about 50 us of work of its own, so it is in user
 * code, entering the wait, or in the wait, at any moment.  "pair" adds a
 * thread sleeping in nanosleep(), so the attach has a thread to call in
 * that is not the loop; "solo" has the loop alone, so the loop's own
 * thread must be stopped for the call.
 *
 * DIR/ready gets the pid once the loop runs.  SIGTERM ends the loop; the
 * program then prints the checks (nothing of timing or counts: the output
 * of a traced run is that of an untraced one), writes the number of EINTRs
 * to DIR/eintr if there were any, and exits 0 if the loop never saw one.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include "victim.h"

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void *sleeper(void *arg)
{
	(void)arg;
	while (!stop) {
		struct timespec ts = { 0, 20 * 1000000L };

		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* About 50 us of work that makes no system call. */
NOINLINE static uint64_t work(uint64_t x)
{
	for (int i = 0; i < 20000; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return x;
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[320];
	int fd;

	vt_format(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		vt_die(path);
	vt_write_all(fd, text, strlen(text));
	close(fd);
}

int main(int argc, char **argv)
{
	struct itimerspec its = { { 0, 1000000L }, { 0, 1000000L } };
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned long eintr = 0, other = 0, waits = 0;
	struct vt_thread th;
	struct sigaction sa;
	uint64_t x = 1;
	char text[32];
	int ep, tfd, pair;

	if (argc != 3 || (strcmp(argv[2], "solo") && strcmp(argv[2], "pair"))) {
		vt_dprintf(2, "usage: epoll_loop DIR solo|pair\n");
		return 2;
	}
	pair = !strcmp(argv[2], "pair");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	ep = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ep < 0 || tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) < 0)
		vt_die("epoll/timerfd");
	if (pair)
		vt_thread_start(&th, sleeper, NULL);
	vt_printf("epoll_loop: %s\n", argv[2]);
	vt_format(text, sizeof(text), "%d\n", (int)getpid());
	put(argv[1], "ready", text);
	while (!stop) {
		struct epoll_event got;
		int n = epoll_wait(ep, &got, 1, 5);

		if (n < 0 && errno == EINTR && !stop)
			eintr++;
		else if (n < 0 && errno != EINTR)
			other++;
		if (n > 0) {
			uint64_t ticks;

			if (read(tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				other++;
		}
		waits++;
		x = work(x);
	}
	if (pair)
		vt_thread_join(&th);
	vt_touch(&x);
	if (eintr) {
		vt_format(text, sizeof(text), "%lu\n", eintr);
		put(argv[1], "eintr", text);
	}
	vt_check(waits > 0, "the loop ran");
	vt_check(eintr == 0, "epoll_wait never failed with EINTR");
	vt_check(other == 0, "epoll_wait and read never failed otherwise");
	return vt_exit_status();
}
