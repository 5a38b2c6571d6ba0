/*
 * Containers: the target's PID numbers (NSpid) and sockets in its network
 * namespace.
 *
 * setns() changes the namespace of the calling thread only, and a socket
 * belongs for its whole life to the network namespace it was made in. So
 * memtrace does not enter the namespace itself (its link to memtrace-server
 * and every later socket must stay in its own, and a setns back can fail):
 * a forked helper enters it, makes the sockets and sends them back over a
 * socketpair (SCM_RIGHTS), then ends. A helper process rather than a
 * thread, because entering a user namespace (needed by a user without
 * CAP_SYS_ADMIN who attaches to his own rootless container) is refused to a
 * multi-threaded process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ns.h"

/* The helper makes a few system calls; this only bounds a wedged one. */
#define HELPER_TIMEOUT_MS 5000
#define MAX_NAMES 4

int inj_ns_other(int pid, const char *kind)
{
	char path[64];
	struct stat self, them;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", kind);
	if (stat(path, &self) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, kind);
	if (stat(path, &them) < 0)
		return -1;
	return self.st_dev != them.st_dev || self.st_ino != them.st_ino;
}

/* The last number of the NSpid line of FILE: the id in the innermost PID
 * namespace. 0 when the line is missing, -1 when FILE cannot be read. */
static int last_nspid(const char *file)
{
	char line[256];
	int found = 0;
	FILE *f = fopen(file, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 6, *end;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (;;) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			found = (int)v;
			p = end;
		}
		break;
	}
	fclose(f);
	return found;
}

int inj_ns_own_pid(int pid)
{
	char path[64];
	int own;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	own = last_nspid(path);
	if (own < 0) {
		errno = ESRCH;
		return -1;
	}
	if (own > 0)
		return own;
	/* No NSpid line: a kernel before 4.1. Only a target of our own PID
	 * namespace is numbered as we see it. */
	if (inj_ns_other(pid, "pid") == 1) {
		errno = ENOSYS;
		return -1;
	}
	return pid;
}

int inj_ns_host_tid(int pid, int nstid)
{
	char path[300];
	struct dirent *de;
	int own = inj_ns_own_pid(pid), found = -1;
	DIR *d;

	if (own < 0 || nstid <= 0) {
		errno = ESRCH;
		return -1;
	}
	if (own == pid)
		return nstid;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d) {
		errno = ESRCH;
		return -1;
	}
	while (found < 0 && (de = readdir(d))) {
		int tid = atoi(de->d_name);

		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
		if (last_nspid(path) == nstid)
			found = tid;
	}
	closedir(d);
	if (found < 0)
		errno = ESRCH;
	return found;
}

int inj_ns_host_child(int pid, int tid, int nspid)
{
	char path[96], list[4096];
	int own = inj_ns_own_pid(pid), found = -1;
	size_t n;
	char *p, *end;
	FILE *f;

	if (own < 0 || nspid <= 0) {
		errno = ESRCH;
		return -1;
	}
	if (own == pid)
		return nspid;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, tid);
	f = fopen(path, "re");
	if (!f) {
		errno = ESRCH;
		return -1;
	}
	n = fread(list, 1, sizeof(list) - 1, f);
	fclose(f);
	list[n] = '\0';
	for (p = list; found < 0; p = end) {
		long c = strtol(p, &end, 10);

		if (end == p)
			break;
		snprintf(path, sizeof(path), "/proc/%ld/status", c);
		if (c > 0 && last_nspid(path) == nspid)
			found = (int)c;
	}
	if (found < 0)
		errno = ESRCH;
	return found;
}

/* ---------------------------------------------------------------- connecting */

/* Connect a new unix stream socket to abstract NAME ("@..."): its fd, or -1
 * with errno. */
static int connect_name(const char *name)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t len = strlen(name + 1);
	int fd, e;

	if (len > sizeof(addr.sun_path) - 1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memcpy(addr.sun_path + 1, name + 1, len);
	if (connect(fd, (struct sockaddr *)&addr,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len)) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* What the helper reports: the step that failed (0: none) and its errno,
 * then per name 0 (its socket follows, in order) or connect's errno. */
enum step { STEP_OK, STEP_USERNS, STEP_NETNS, STEP_UID };

struct helper_reply {
	int step;
	int err;
	int entered_user;
	int errs[MAX_NAMES];
};

struct helper_job {
	int pid;
	int netfd;   /* the namespace to enter, or -1: ours */
	int userfd;  /* the process's user namespace, or -1: ours */
	int become;  /* take the process's uid there (ours has no mapping in it) */
	const char *const *names;
	int n;
};

/* In the helper, after entering the process's user namespace: take the
 * process's uid and gid there, so that its agent sees its own user. */
static int become_owner(int pid)
{
	char path[64], line[256];
	unsigned uid[3] = { 0 }, gid[3] = { 0 };
	int got = 0;
	FILE *f;

	/* Opened now, the file shows the ids as this user namespace numbers them. */
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		got += sscanf(line, "Uid: %u %u %u", &uid[0], &uid[1], &uid[2]) == 3;
		got += sscanf(line, "Gid: %u %u %u", &gid[0], &gid[1], &gid[2]) == 3;
	}
	fclose(f);
	if (got != 2) {
		errno = EPROTO;
		return -1;
	}
	/* A gid without a mapping cannot be taken; the agent looks at the uid only. */
	if (setresgid(gid[1], gid[1], gid[1]) < 0)
		errno = 0;
	return setresuid(uid[1], uid[1], uid[1]);
}

/* In the helper: enter, connect, send the sockets. Never returns. */
static void __attribute__((noreturn)) helper(int chan, const struct helper_job *j)
{
	struct helper_reply rep = { .step = STEP_OK };
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_NAMES)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { &rep, sizeof(rep) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[MAX_NAMES], nfds = 0;

	if (j->become) {
		if (setns(j->userfd, CLONE_NEWUSER) < 0)
			rep.step = STEP_USERNS;
		else
			rep.entered_user = 1;
	}
	if (rep.step == STEP_OK && j->netfd >= 0 && setns(j->netfd, CLONE_NEWNET) < 0) {
		rep.step = STEP_NETNS;
		/* Without CAP_SYS_ADMIN here, memtrace may still have it in the
		 * process's user namespace (its owner does): enter that first. */
		if (errno == EPERM && j->userfd >= 0 && !rep.entered_user) {
			if (setns(j->userfd, CLONE_NEWUSER) < 0) {
				rep.step = STEP_USERNS;
			} else {
				rep.entered_user = 1;
				if (setns(j->netfd, CLONE_NEWNET) == 0)
					rep.step = STEP_OK;
			}
		}
	}
	/* Last: a uid other than 0 there drops the capabilities setns needs. */
	if (rep.step == STEP_OK && j->become && become_owner(j->pid) < 0)
		rep.step = STEP_UID;
	if (rep.step != STEP_OK)
		rep.err = errno;
	for (int i = 0; rep.step == STEP_OK && i < j->n; i++) {
		int fd = connect_name(j->names[i]);

		rep.errs[i] = fd < 0 ? errno : 0;
		if (fd >= 0)
			fds[nfds++] = fd;
	}
	if (nfds) {
		struct cmsghdr *c;

		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	if (sendmsg(chan, &msg, MSG_NOSIGNAL) < 0)
		_exit(1);
	_exit(0);
}

/* Receive the helper's reply and its sockets into FDS (by name). 0, or -1
 * with errno. */
static int helper_receive(int chan, int n, int *fds, int *errs, struct helper_reply *rep)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_NAMES)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { rep, sizeof(*rep) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct pollfd pfd = { .fd = chan, .events = POLLIN };
	struct cmsghdr *c;
	int got[MAX_NAMES], ngot = 0, k = 0;
	ssize_t len;
	int r;

	while ((r = poll(&pfd, 1, HELPER_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	if (r == 0)
		errno = ETIMEDOUT;
	if (r <= 0)
		return -1;
	do
		len = recvmsg(chan, &msg, MSG_CMSG_CLOEXEC);
	while (len < 0 && errno == EINTR);
	if (len < 0)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
		ngot = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (ngot > MAX_NAMES)
			ngot = MAX_NAMES;
		memcpy(got, CMSG_DATA(c), sizeof(int) * (size_t)ngot);
	}
	if (len != (ssize_t)sizeof(*rep)) {
		while (ngot)
			close(got[--ngot]);
		errno = EPROTO;
		return -1;
	}
	for (int i = 0; i < n; i++) {
		errs[i] = rep->step == STEP_OK ? rep->errs[i] : rep->err;
		fds[i] = -1;
		if (rep->step == STEP_OK && !errs[i]) {
			if (k < ngot)
				fds[i] = got[k++];
			else
				errs[i] = EPROTO;
		}
	}
	while (k < ngot)
		close(got[k++]);
	return 0;
}

/* Why the helper could not do its job, into WHY. */
static void helper_failed(int pid, const struct helper_reply *rep, char *why, size_t size)
{
	int e = rep->err;

	if (rep->step == STEP_UID || (rep->step == STEP_USERNS && !rep->entered_user &&
				      (e == EPERM || e == EACCES) && inj_ns_uid_mapped(pid) == 0))
		snprintf(why, size, "process %d is in a user namespace (a rootless container?) where "
			 "memtrace's uid %u has no mapping, so its agent would not admit memtrace, and "
			 "memtrace may not take the process's own uid there (%s): run memtrace as the "
			 "user that owns the container", pid, (unsigned)geteuid(), strerror(e));
	else if (e == EPERM || e == EACCES)
		snprintf(why, size, "process %d is in another network namespace (a container?), where "
			 "its agent's socket is, and memtrace may not enter it (setns: %s; that needs "
			 "CAP_SYS_ADMIN over that namespace%s): run memtrace as root", pid, strerror(e),
			 rep->entered_user ? ", which memtrace's user has not in the process's user "
			 "namespace either" : "");
	else
		snprintf(why, size, "cannot enter the %s namespace of process %d: %s",
			 rep->step == STEP_NETNS ? "network" : "user", pid, strerror(e));
}

static int through_helper(const struct helper_job *j, int *fds, int *errs, char *why, size_t size)
{
	struct helper_reply rep = { 0 };
	int chan[2], st, ret, e;
	pid_t child;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan) < 0) {
		e = errno;
		snprintf(why, size, "socketpair: %s", strerror(e));
		errno = e;
		return -1;
	}
	child = fork();
	if (child < 0) {
		e = errno;
		snprintf(why, size, "fork: %s", strerror(e));
		close(chan[0]);
		close(chan[1]);
		errno = e;
		return -1;
	}
	if (child == 0) {
		close(chan[0]);
		helper(chan[1], j);
	}
	close(chan[1]);
	ret = helper_receive(chan[0], j->n, fds, errs, &rep);
	e = errno;
	close(chan[0]);
	if (ret < 0)
		kill(child, SIGKILL);
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (ret < 0) {
		snprintf(why, size, "the helper that enters the namespaces of process %d failed: %s",
			 j->pid, strerror(e));
		errno = e;
		return -1;
	}
	if (rep.step != STEP_OK) {
		helper_failed(j->pid, &rep, why, size);
		errno = rep.err;
		return -1;
	}
	return 0;
}

int inj_ns_connect(int pid, const char *const *names, int n, int *fds, int *errs, char *why,
		   size_t size)
{
	struct helper_job j = { pid, -1, -1, 0, names, n };
	char path[64];
	int other, mapped, ret, e;

	if (n < 0 || n > MAX_NAMES) {
		snprintf(why, size, "inj_ns_connect: %d names", n);
		errno = EINVAL;
		return -1;
	}
	/* Namespaces memtrace may not even look at (a child that became
	 * set-user-ID) are taken as its own: the connection tells the rest. */
	other = inj_ns_other(pid, "net") == 1;
	mapped = inj_ns_uid_mapped(pid);
	if (!other && mapped != 0) {
		for (int i = 0; i < n; i++) {
			fds[i] = connect_name(names[i]);
			errs[i] = fds[i] < 0 ? errno : 0;
		}
		return 0;
	}
	if (other) {
		snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
		j.netfd = open(path, O_RDONLY | O_CLOEXEC);
		if (j.netfd < 0) {
			e = errno;
			snprintf(why, size, "cannot open the network namespace of process %d (%s): %s",
				 pid, path, strerror(e));
			errno = e;
			return -1;
		}
	}
	if (inj_ns_other(pid, "user") == 1) {
		snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
		j.userfd = open(path, O_RDONLY | O_CLOEXEC);
		j.become = mapped == 0 && j.userfd >= 0;
	}
	ret = through_helper(&j, fds, errs, why, size);
	e = errno;
	if (j.netfd >= 0)
		close(j.netfd);
	if (j.userfd >= 0)
		close(j.userfd);
	errno = e;
	return ret;
}

int inj_ns_uid_mapped(int pid)
{
	unsigned long inside, outside, count, me = (unsigned long)geteuid();
	char path[64];
	int other = inj_ns_other(pid, "user"), mapped = 0;
	FILE *f;

	if (other <= 0)
		return other < 0 ? -1 : 1;
	/* Read from an ancestor namespace, the second field is in ours. */
	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3)
		if (me >= outside && me - outside < count)
			mapped = 1;
	fclose(f);
	return mapped;
}
