/*
 * Control thread. It never runs application code and blocks every signal,
 * so process-directed signals keep going to the application's threads. It
 * allocates only from the agent's mappings, and its guard is set for good,
 * so whatever libc allocates on its behalf is passed through untracked.
 *
 * Up to MAX_CLIENTS connections are served; the first that says hello as
 * memtrace owns the session, a second memtrace is told who holds it. A
 * request larger than the limit is skipped and answered with an error, a
 * garbled one gets an error reply; the connection goes on either way.
 *
 * Requests are read without blocking, each connection keeping its own
 * partial frame, so a client that stops in the middle of one holds up
 * nobody else: the thread reads what has come and goes back to poll. A
 * frame begun must be complete within READ_TIMEOUT_MS, and a connection
 * must say hello within it, or it is hung up on (idle connections would
 * otherwise fill the MAX_CLIENTS places).
 *
 * This file is the socket part: the listening socket, the thread, accepting,
 * reading frames and the deadlines. A complete request goes to the command
 * table (agent/commands.c) through the ops agent_control_start was given
 * (so this file calls nothing of the lifecycle or the reports); what is
 * sent, replies and events, and each connection's output queue are
 * agent/replies.c's.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "arena.h"
#include "control.h"
#include "hold.h"
#include "jsonw.h"
#include "monotime.h"
#include "proto.h"
#include "quiesce.h"
#include "replies.h"
#include "snapshot.h"
#include "state.h"

#define MAX_CLIENTS 4
#define READ_TIMEOUT_MS 5000

struct client {
	struct agent_outq q;	/* its fd, and what waits to go out to it */
	int session;		/* the memtrace that owns the session */
	int peer_pid;
	int64_t hello_by;	/* a connection says hello by then, or is hung up on */
	int64_t deadline;	/* hello or the frame begun due by then; -1 none */
	unsigned char hdr[PROTO_HEADER_SIZE];
	uint32_t hdr_got;	/* header bytes in */
	uint32_t len;		/* the frame's length, once its header is in */
	uint32_t got;		/* its bytes in (or dropped, when skipping) */
	int skipping;		/* over PROTO_MAX_REQUEST: dropped as it comes */
	char *buf;		/* PROTO_MAX_REQUEST + 1 bytes, from the first body on */
};

static int listen_fd = -1;
/* fd -1 from the start: agent_forked() (agent_control_forget) may run
 * before agent_control_start, in a child forked by a constructor run
 * before the agent's. */
static struct client clients[MAX_CLIENTS] = { [0 ... MAX_CLIENTS - 1] = { .q.fd = -1 } };
static sem_t resume_sem;
static int exit_reported;
static int64_t orphan_deadline = -1;	/* see agent_control_expect_session */
static const struct agent_control_ops *ops;	/* the commands, from agent_control_start */

/*
 * The exit hold (memtrace --leaks): the session asks that the thread ending
 * the process normally wait after the exit event, so that memtrace can judge
 * the heap as it is at the end. One word, moved by compare-and-swap: the
 * control thread arms and disarms, the exiting thread takes it, the control
 * thread (or the waiter's own deadline) ends it. Once taken it never goes
 * back to none: the process is ending.
 */
enum { EXIT_HOLD_NONE, EXIT_HOLD_ARMED, EXIT_HOLD_HELD, EXIT_HOLD_DONE };
static int exit_hold;
static int exit_hold_fd = -1;	/* eventfd: the control thread wakes the waiter */

/* ---------------------------------------------------------------- connections */

static void client_close(struct client *cl)
{
	/* memtrace gone without a word (killed): leave the process as it was,
	 * and let a thread held at exit go on at once. */
	if (cl->session) {
		agent_control_exit_hold(0);
		ops->session_lost();
	}
	agent_outq_close(&cl->q);
	close(cl->q.fd);
	cl->q.fd = -1;
	cl->session = 0;
	/* Its request buffer goes back too (a detached agent with nobody
	 * connected keeps no memory). */
	if (cl->buf)
		agent_unmap(cl->buf, PROTO_MAX_REQUEST + 1, AGENT_MEM_OTHER);
	cl->buf = NULL;
}

/*
 * The one gate of the socket: a peer gets in only if it could ptrace the
 * process, since what the agent serves (heap contents, holding threads) is
 * what ptrace gives. So, as the kernel's ptrace check has it: root, or a
 * peer whose uid is each of the process's real, effective and saved uids,
 * while the process is dumpable. Read at each accept: the ids may have
 * changed since the agent started. The gids are not compared: a change of
 * gid clears the dumpable flag as a change of uid does (a setgid program
 * starts not dumpable), and memtrace's helper that connects inside a
 * rootless container cannot always take the process's gid there (ns.c).
 * Left out: a non-root peer with CAP_SYS_PTRACE (it runs memtrace as root).
 */
static int peer_may_trace(const struct ucred *cred)
{
	uid_t ru, eu, su;

	if (cred->uid == 0)
		return 1;
	if (getresuid(&ru, &eu, &su) < 0 || cred->uid != ru || cred->uid != eu || cred->uid != su)
		return 0;
	return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1;
}

static void client_accept(void)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct agent_outq door = { .fd = fd, .direct = 1 };

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || !peer_may_trace(&cred)) {
		agent_reply_error(&door, 0, "permission denied: only root, or the user whose uid is this process's "
				   "real, effective and saved uid while it is dumpable "
				   "(the users that may ptrace it), may connect");
		close(fd);
		return;
	}
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i].q.fd < 0) {
			memset(&clients[i], 0, sizeof(clients[i]));
			clients[i].q.fd = fd;
			clients[i].peer_pid = cred.pid;
			clients[i].hello_by = proto_now_ms() + READ_TIMEOUT_MS;
			clients[i].deadline = clients[i].hello_by;
			return;
		}
	}
	agent_reply_error(&door, 0, "too many connections to the agent");
	close(fd);
}

/* The next frame starts: nothing of it in yet. */
static void frame_reset(struct client *cl)
{
	cl->hdr_got = 0;
	cl->len = 0;
	cl->got = 0;
	cl->skipping = 0;
	cl->deadline = cl->session ? -1 : cl->hello_by;
}

/*
 * Take what the socket has into the frame under way (at most to its end).
 * 1 the frame is complete, 0 not yet, -1 hang up (closed, error).
 */
static int frame_read(struct client *cl)
{
	char drop[4096];
	char *to;
	size_t want;
	ssize_t n;

	if (cl->hdr_got < PROTO_HEADER_SIZE) {
		to = (char *)cl->hdr + cl->hdr_got;
		want = PROTO_HEADER_SIZE - cl->hdr_got;
	} else if (cl->skipping) {
		to = drop;
		want = cl->len - cl->got < sizeof(drop) ? cl->len - cl->got : sizeof(drop);
	} else {
		to = cl->buf + cl->got;
		want = cl->len - cl->got;
	}
	n = recv(cl->q.fd, to, want, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	if (cl->hdr_got == 0) {
		cl->deadline = proto_now_ms() + READ_TIMEOUT_MS;
		if (!cl->session && cl->hello_by < cl->deadline)
			cl->deadline = cl->hello_by;
	}
	if (cl->hdr_got < PROTO_HEADER_SIZE) {
		cl->hdr_got += (uint32_t)n;
		if (cl->hdr_got < PROTO_HEADER_SIZE)
			return 0;
		cl->len = proto_header_len(cl->hdr);
		return cl->len == 0 ? 1 : 0;
	}
	cl->got += (uint32_t)n;
	return cl->got == cl->len;
}

static void client_readable(struct client *cl)
{
	struct agent_request req = {
		.out = &cl->q,
		.peer_pid = cl->peer_pid,
		.session = &cl->session,
		.orphan_deadline = &orphan_deadline,
		.resume = &resume_sem,
	};
	char msg[120];
	int r = frame_read(cl);

	if (r < 0) {
		client_close(cl);
		return;
	}
	/* The header just completed: size the frame up. */
	if (r == 0 && cl->hdr_got == PROTO_HEADER_SIZE && cl->got == 0 && !cl->skipping) {
		if (cl->len > PROTO_MAX_REQUEST) {
			snprintf(msg, sizeof(msg), "message too large: %u bytes, the limit is %u",
				 cl->len, PROTO_MAX_REQUEST);
			agent_reply_error(&cl->q, 0, msg);
			if (cl->len > PROTO_MAX_IN_STEP)
				client_close(cl);
			else
				cl->skipping = 1;
			return;
		}
		if (!cl->buf)
			cl->buf = agent_map(PROTO_MAX_REQUEST + 1, AGENT_MEM_OTHER);
		if (!cl->buf) {
			agent_reply_error(&cl->q, 0, "the agent is out of memory");
			client_close(cl);
		}
		return;
	}
	if (r == 0)
		return;
	if (cl->len == 0) {
		frame_reset(cl);
		agent_reply_error(&cl->q, 0, "bad message: empty");
		return;
	}
	if (cl->skipping) {
		frame_reset(cl);
		return;
	}
	if (ops->handle(&req, cl->buf, cl->len) < 0) {
		client_close(cl);
		return;
	}
	frame_reset(cl);
}

/* The socket takes more of what waits for CL. */
static void client_writable(struct client *cl)
{
	int r;

	r = agent_outq_send_now(&cl->q);
	if (r < 0)
		client_close(cl);
}

/* Hang up on the clients past their deadline; the time to the next one
 * (-1 none). */
static int client_deadlines(void)
{
	int64_t now = proto_now_ms();
	int next = -1;

	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *cl = &clients[i];
		int64_t left;

		if (cl->q.fd < 0)
			continue;
		if (cl->q.hangup || (cl->q.nout > 0 && cl->q.out_by <= now)) {
			/* It does not read what it is sent: nothing more can reach it. */
			client_close(cl);
			continue;
		}
		if (cl->q.nout > 0) {
			left = cl->q.out_by - now;
			if (next < 0 || left < next)
				next = (int)left;
		}
		if (cl->deadline < 0)
			continue;
		left = cl->deadline - now;
		if (left <= 0) {
			agent_reply_error(&cl->q, 0, cl->hdr_got ? "the request was not sent whole in time: hanging up"
							   : "no hello in time: hanging up");
			client_close(cl);
			continue;
		}
		if (next < 0 || left < next)
			next = (int)left;
	}
	return next;
}

/*
 * Attached, and no memtrace has said hello since: the one that injected us
 * died before connecting. Detach once the deadline passes, as if it had
 * connected and gone.
 */
void agent_control_expect_session(int timeout_ms)
{
	__atomic_store_n(&orphan_deadline, proto_now_ms() + timeout_ms, __ATOMIC_RELEASE);
}

static int orphan_timeout(void)
{
	int64_t d = __atomic_load_n(&orphan_deadline, __ATOMIC_ACQUIRE);
	int64_t left;

	if (d < 0)
		return -1;
	left = d - proto_now_ms();
	if (left > 0)
		return left > 60000 ? 60000 : (int)left;
	__atomic_store_n(&orphan_deadline, -1, __ATOMIC_RELEASE);
	ops->orphaned();
	return -1;
}

static void *control_main(void *arg)
{
	(void)arg;
	agent_guard = 1;
	prctl(PR_SET_NAME, "memtrace-agent", 0, 0, 0);
	/* The leak scan leaves this thread's registers and stack out (arena.h). */
	agent_mem_own_thread((int)syscall(SYS_gettid), &arg);
	for (;;) {
		struct pollfd pfd[MAX_CLIENTS + 3];
		struct client *who[MAX_CLIENTS + 3];
		struct agent_hold_info h;
		int n = 0, i_hold = -1, i_snap = -1, timeout, snap_ms;
		int wait_ms = client_deadlines();

		if (agent_hold_notify_fd() >= 0) {
			i_hold = n;
			pfd[n].fd = agent_hold_notify_fd();
			pfd[n].events = POLLIN;
			who[n++] = NULL;
		}
		if (agent_snapshot_fd() >= 0) {
			i_snap = n;
			pfd[n].fd = agent_snapshot_fd();
			pfd[n].events = POLLIN;
			who[n++] = NULL;
		}
		pfd[n].fd = listen_fd;
		pfd[n].events = POLLIN;
		who[n++] = NULL;
		for (int i = 0; i < MAX_CLIENTS; i++) {
			if (clients[i].q.fd < 0)
				continue;
			pfd[n].fd = clients[i].q.fd;
			/* Its next request waits until what it was sent is out. */
			pfd[n].events = clients[i].q.nout > 0 ? POLLOUT : POLLIN;
			who[n++] = &clients[i];
		}
		timeout = orphan_timeout();
		if (wait_ms >= 0 && (timeout < 0 || wait_ms < timeout))
			timeout = wait_ms;
		/* Copies for the leak scan to reap (snapshot.h): looked at on every wake. */
		snap_ms = agent_snapshot_tick();
		if (snap_ms >= 0 && (timeout < 0 || snap_ms < timeout))
			timeout = snap_ms;
		if (poll(pfd, (nfds_t)n, timeout) < 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (!pfd[i].revents || i == i_snap)
				continue;
			if (i == i_hold) {
				if (agent_hold_collect(&h))
					ops->held(&h);
			} else if (!who[i])
				client_accept();
			else if (who[i]->q.fd >= 0 && pfd[i].events == POLLOUT)
				client_writable(who[i]);
			else if (who[i]->q.fd >= 0)
				client_readable(who[i]);
		}
	}
	return NULL;
}

int agent_control_start(const struct agent_control_ops *with)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t th;
	socklen_t alen;
	int name_len;
	int err;

	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i].q.fd = -1;
	ops = with;
	sem_init(&resume_sem, 0, 0);
	/* Without its eventfds the agent works on; `hold` says it cannot, the leak scan judges stopped. */
	agent_hold_init();
	agent_snapshot_init();
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (listen_fd < 0)
		return -1;
	name_len = proto_agent_name(addr.sun_path + 1, sizeof(addr.sun_path) - 1, getpid());
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)name_len);
	if (bind(listen_fd, (struct sockaddr *)&addr, alen) < 0) {
		struct stat ns;

		/* Taken: a process of another PID namespace with our pid shares our
		 * network namespace (containers on the host's network), or a
		 * squatter. The second name is ours alone; memtrace tries both. */
		if (errno != EADDRINUSE || stat("/proc/self/ns/pid", &ns) < 0)
			goto fail;
		name_len = proto_agent_name_ns(addr.sun_path + 1, sizeof(addr.sun_path) - 1, getpid(),
					       (unsigned long long)ns.st_ino);
		alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)name_len);
		if (bind(listen_fd, (struct sockaddr *)&addr, alen) < 0)
			goto fail;
	}
	if (listen(listen_fd, 4) < 0)
		goto fail;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	err = pthread_create(&th, &attr, control_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		errno = err;
		goto fail;
	}
	return 0;
fail:
	err = errno;
	close(listen_fd);
	listen_fd = -1;
	errno = err;
	return -1;
}

int agent_control_wait_resume(int timeout_ms)
{
	struct timespec ts = wall_deadline(timeout_ms);

	while (sem_timedwait(&resume_sem, &ts) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

void agent_control_forget(void)
{
	/* No locks: this runs in a fresh fork child, where only this thread exists. */
	agent_hold_forget();
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i].q.fd >= 0)
			close(clients[i].q.fd);
		clients[i].q.fd = -1;
		agent_outq_forget(&clients[i].q);
	}
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	agent_outq_forget(NULL);
	exit_reported = 1;
}

int agent_control_exit_hold(int on)
{
	int was = __atomic_load_n(&exit_hold, __ATOMIC_ACQUIRE);
	uint64_t one = 1;

	if (on) {
		if (exit_hold_fd < 0)
			exit_hold_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (exit_hold_fd < 0)
			return -1;
		/* Armed already, or the process is ending (taken): nothing to do. */
		if (was == EXIT_HOLD_NONE)
			__atomic_compare_exchange_n(&exit_hold, &was, EXIT_HOLD_ARMED, 0, __ATOMIC_ACQ_REL,
						    __ATOMIC_ACQUIRE);
		return 0;
	}
	/* Disarm; or let the held thread go, the eventfd waking its poll. A
	 * thread taking the hold meanwhile fails its swap and does not wait. */
	while (was == EXIT_HOLD_ARMED || was == EXIT_HOLD_HELD) {
		int to = was == EXIT_HOLD_ARMED ? EXIT_HOLD_NONE : EXIT_HOLD_DONE;

		if (__atomic_compare_exchange_n(&exit_hold, &was, to, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			if (to == EXIT_HOLD_DONE && write(exit_hold_fd, &one, sizeof(one)) < 0) {
				/* A full counter wakes it as well. */
			}
			return to == EXIT_HOLD_DONE;
		}
	}
	return 0;
}

int agent_control_exit_held(void)
{
	return __atomic_load_n(&exit_hold, __ATOMIC_ACQUIRE) == EXIT_HOLD_HELD;
}

/*
 * The held exiting thread waits until the control thread lets it go, at
 * most AGENT_EXIT_HOLD_MAX_MS: system calls only (poll, clock_gettime),
 * no lock, no allocation, every signal let in. A signal handler runs and
 * the wait goes on; a deadly signal kills as it would have.
 */
static void exit_hold_wait(void)
{
	int64_t until = monotime_ms() + AGENT_EXIT_HOLD_MAX_MS;
	int held = EXIT_HOLD_HELD;
	int saved = errno;

	while (__atomic_load_n(&exit_hold, __ATOMIC_ACQUIRE) == EXIT_HOLD_HELD) {
		struct pollfd pfd = { .fd = exit_hold_fd, .events = POLLIN };
		int64_t left = until - monotime_ms();
		int r;

		if (left <= 0)
			break;
		r = poll(&pfd, 1, (int)left);
		if ((r < 0 && errno != EINTR) || (r > 0 && (pfd.revents & (POLLNVAL | POLLERR))))
			break;
	}
	/* Timed out (memtrace alive but silent): the process ends without it. */
	__atomic_compare_exchange_n(&exit_hold, &held, EXIT_HOLD_DONE, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
	errno = saved;
}

void agent_control_exit_report(int sig)
{
	struct agent_inside *in;
	int armed = EXIT_HOLD_ARMED;
	int hold = 0;
	struct jsonw w;

	if (__atomic_exchange_n(&exit_reported, 1, __ATOMIC_ACQ_REL))
		return;
	if (!agent_session())
		return;
	/* Detached meanwhile (its tables given back): nothing to report. A
	 * shared counter: this may run in a signal handler, where claiming a
	 * slot (pthread_setspecific) has no place. */
	in = agent_enter_in(agent_inside_any_shared(), &agent_state.tables_open);
	if (!in)
		return;
	if (agent_event_begin(&w, "exit") < 0)
		goto out;
	/* A normal end only: never in the handler of a deadly signal. Taken
	 * before the event, which says so: memtrace answers only a held exit. */
	if (!sig && __atomic_load_n(&exit_hold, __ATOMIC_ACQUIRE) == EXIT_HOLD_ARMED)
		hold = __atomic_compare_exchange_n(&exit_hold, &armed, EXIT_HOLD_HELD, 0, __ATOMIC_ACQ_REL,
						   __ATOMIC_ACQUIRE);
	ops->exit_members(&w, sig);
	if (hold)
		jsonw_kv_bool(&w, "held", 1);
	jsonw_obj_end(&w);
	/* No event (out of memory): nobody would let it go. */
	if (hold && w.failed) {
		agent_control_exit_hold(0);
		hold = 0;
	}
	agent_event_send(&w, 0);
out:
	/* Out of the tables before waiting: a detach must not wait for us. */
	agent_leave(in);
	if (hold)
		exit_hold_wait();
}
