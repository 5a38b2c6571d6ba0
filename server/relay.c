/*
 * The gdb relay (relay.h): descriptor passing and the copy loop.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "relay.h"
#include "util.h"

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return log_err("%s: too long for a unix socket path (TMPDIR shorter?)", path);
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

int srv_relay_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	if (unix_addr(path, &sa) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_err("unix socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		log_err("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int srv_relay_pass(int lfd, int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, one = 'R';
	struct iovec iov = { .iov_base = &one, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int r, c;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r <= 0 || !(pfd.revents & POLLIN))
		return log_err("gdb did not start its relay to the device within %d s", timeout_ms / 1000);
	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return log_err("the relay: accept: %s", strerror(errno));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	r = (int)sendmsg(c, &mh, MSG_NOSIGNAL);
	close(c);
	return r == 1 ? 0 : log_err("the relay: sendmsg: %s", strerror(errno));
}

/* Receive the channel from the server at PATH; the fd, or -1 (logged). */
static int receive(const char *path)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, one;
	struct iovec iov = { .iov_base = &one, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct sockaddr_un sa;
	struct cmsghdr *cm;
	int s, fd = -1;

	if (unix_addr(path, &sa) < 0)
		return -1;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_err("%s: %s", path, strerror(errno));
		goto out;
	}
	if (recvmsg(s, &mh, MSG_CMSG_CLOEXEC) != 1) {
		log_err("%s: no channel received", path);
		goto out;
	}
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	else
		log_err("%s: no channel received", path);
out:
	if (s >= 0)
		close(s);
	return fd;
}

/* Copy what FROM has to TO. 1 copied, 0 end of FROM, -1 error. */
static int copy(int from, int to)
{
	char buf[65536];
	ssize_t n;

	do
		n = read(from, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : -1;
	return write_all(to, buf, (size_t)n) < 0 ? -1 : 1;
}

int srv_relay_main(const char *path)
{
	int fd = receive(path);
	struct pollfd pfd[2] = { { .fd = STDIN_FILENO, .events = POLLIN }, { .events = POLLIN } };

	if (fd < 0)
		return 1;
	pfd[1].fd = fd;
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents && copy(STDIN_FILENO, fd) <= 0)
			break;
		if (pfd[1].revents && copy(fd, STDOUT_FILENO) <= 0)
			break;
	}
	close(fd);
	return 0;
}
