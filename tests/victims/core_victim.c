/*
 * core_victim: a long-running, multi-threaded victim for the coredump tests.
 *     core_victim [-s SECONDS] [-f STOPFILE] [-i MS] [-p] [-e]
 * The main thread leaks one struct core_item from core_leak_item every MS
 * milliseconds (100), each filled in so a debugger can check it: tag
 * "ITEM-<serial>", serial, weight serial * 1.5, magic CORE_MAGIC. Three
 * threads wait meanwhile, each in its own function and system call, and
 * would notice a system call ending with EINTR (as a ptrace stop done
 * wrong causes): core_sleeper (nanosleep), core_reader (read on a pipe) and
 * core_poller (epoll_wait). core_global holds "MEMTRACE-CORE-GLOBAL".
 * With -e an epoll_wait ended by EINTR is said and retried: a stop by
 * PTRACE_ATTACH (gdb's, gdbserver's) does that to epoll_wait, unlike
 * memtrace's PTRACE_SEIZE; the other two waits still count.
 * With -p it prints each item once filled in, "core_item ADDR tag ITEM-N
 * serial N magic M", for a test to compare with what a core shows.
 * core_leak_once leaks 64 bytes once at the start (a context that never
 * allocates again: a hold on it waits in vain).
 * It writes its pid to "core_victim.started" once everything runs, and stops
 * when STOPFILE exists or SECONDS (20) have passed. Exit status 1 if a wait
 * saw EINTR. The count of items depends on timing: the EXPECT line comes at
 * the end.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "victim.h"

#define CORE_MAGIC 0x4d454d43u /* "MEMC" */

struct core_item {
	char tag[16];
	unsigned serial;
	unsigned magic;
	double weight;
	struct core_item *next;
};

char core_global[] = "MEMTRACE-CORE-GLOBAL";

static volatile int stopping;
/* -e: a debugger's PTRACE_ATTACH (gdbserver's) ends epoll_wait with EINTR, as signal(7) says. */
static int epoll_eintr_ok;
static int pipe_fds[2], epfd, ev_fd[2];
static struct core_item *items;
static int print_items;

NOINLINE static struct core_item *core_leak_item(unsigned serial)
{
	struct core_item *it = malloc(sizeof(*it));

	vt_format(it->tag, sizeof(it->tag), "ITEM-%u", serial);
	it->serial = serial;
	it->magic = CORE_MAGIC;
	it->weight = serial * 1.5;
	it->next = items;
	if (print_items)
		vt_printf("core_item 0x%lx tag %s serial %u magic %u\n", (unsigned long)(uintptr_t)it, it->tag,
			  it->serial, it->magic);
	return it;
}

NOINLINE static void *core_leak_once(void)
{
	char *p = malloc(64);

	memset(p, 'O', 64);
	return p;
}

NOINLINE static void *core_sleeper(void *arg)
{
	(void)arg;
	while (!stopping) {
		struct timespec ts = { 1, 0 };

		if (nanosleep(&ts, NULL) < 0) {
			vt_printf("core_sleeper: nanosleep: %s\n", strerror(errno));
			vt_failures++;
			return NULL;
		}
	}
	return NULL;
}

NOINLINE static void *core_reader(void *arg)
{
	char c;
	ssize_t n;

	(void)arg;
	n = read(pipe_fds[0], &c, 1);
	if (n != 1) {
		vt_printf("core_reader: read: %s\n", n < 0 ? strerror(errno) : "end of file");
		vt_failures++;
	}
	return NULL;
}

NOINLINE static void *core_poller(void *arg)
{
	struct epoll_event ev;
	int n;

	(void)arg;
	while ((n = epoll_wait(epfd, &ev, 1, -1)) < 0 && errno == EINTR && epoll_eintr_ok)
		vt_printf("core_poller: epoll_wait: EINTR, tolerated (-e)\n");
	if (n != 1) {
		vt_printf("core_poller: epoll_wait: %s\n", n < 0 ? strerror(errno) : "no event");
		vt_failures++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct vt_run run = { .seconds = 20, .interval_ms = 100 };
	struct vt_thread th[3];
	void *once;
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned serial = 0;
	int opt;

	while ((opt = getopt(argc, argv, "s:f:i:pe")) != -1) {
		if (vt_run_option(&run, opt, optarg))
			continue;
		switch (opt) {
		case 'p':
			print_items = 1;
			break;
		case 'e':
			epoll_eintr_ok = 1;
			break;
		default:
			vt_dprintf(2, "usage: core_victim [-s SECONDS] [-f STOPFILE] [-i MS] [-p]\n");
			return 2;
		}
	}
	if (pipe(pipe_fds) < 0 || pipe(ev_fd) < 0 || (epfd = epoll_create1(0)) < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, ev_fd[0], &ev) < 0)
		vt_die("pipe/epoll");
	once = core_leak_once();
	vt_thread_start(&th[0], core_sleeper, NULL);
	vt_thread_start(&th[1], core_reader, NULL);
	vt_thread_start(&th[2], core_poller, NULL);
	vt_printf("core_victim: started\n");
	vt_sleep_ms(50); /* the threads reach their waits */
	vt_started("core_victim.started");
	vt_run_start(&run);
	while (vt_run_on(&run)) {
		items = core_leak_item(++serial);
		vt_sleep_ms(run.interval_ms);
	}
	stopping = 1;
	if (write(pipe_fds[1], "x", 1) != 1 || write(ev_fd[1], "x", 1) != 1)
		vt_die("write");
	for (int i = 0; i < 3; i++)
		vt_thread_join(&th[i]);
	vt_touch(items);
	vt_touch(once);
	vt_touch(core_global);
	vt_printf("core_victim: stopped\n");
	vt_expect("core_leak_once", 1, 64);
	vt_expect("core_leak_item", serial, serial * sizeof(struct core_item));
	return vt_exit_status();
}
