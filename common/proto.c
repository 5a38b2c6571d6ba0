/*
 * Length-prefixed framing over a stream socket, with deadlines. Written for
 * both sides: no allocation, no stdio, MSG_NOSIGNAL on every send so a dead
 * peer is an EPIPE and never a SIGPIPE in the target.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "monotime.h"
#include "proto.h"

int proto_agent_name(char *buf, size_t size, int pid)
{
	return snprintf(buf, size, "memtrace-agent.%d", pid);
}

int proto_agent_name_ns(char *buf, size_t size, int pid, unsigned long long pidns)
{
	return snprintf(buf, size, "memtrace-agent.%d.%llu", pid, pidns);
}

int64_t proto_now_ms(void)
{
	return monotime_ms();
}

/* Wait for EVENTS on FD until DEADLINE (ms, -1 none). 0 ready, -1 errno. */
static int proto_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		int timeout = -1;
		int n;

		if (deadline >= 0) {
			int64_t left = deadline - proto_now_ms();

			if (left <= 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			timeout = left > 1000000 ? 1000000 : (int)left;
		}
		n = poll(&pfd, 1, timeout);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static int64_t proto_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : proto_now_ms() + timeout_ms;
}

int proto_write_all(int fd, const void *buf, size_t len, int timeout_ms)
{
	const char *p = buf;
	int64_t deadline = proto_deadline(timeout_ms);

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (proto_wait(fd, POLLOUT, deadline) < 0)
			return -1;
	}
	return 0;
}

int proto_send(int fd, const void *payload, size_t len, int timeout_ms)
{
	unsigned char hdr[PROTO_HEADER_SIZE];
	int64_t deadline = proto_deadline(timeout_ms);
	int left;

	if (len > UINT32_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	proto_header_put(hdr, (uint32_t)len);
	if (proto_write_all(fd, hdr, sizeof(hdr), timeout_ms) < 0)
		return -1;
	left = deadline < 0 ? -1 : (int)(deadline - proto_now_ms());
	if (deadline >= 0 && left <= 0)
		left = 1;
	return proto_write_all(fd, payload, len, left);
}

int proto_read_all(int fd, void *buf, size_t len, int timeout_ms)
{
	char *p = buf;
	int64_t deadline = proto_deadline(timeout_ms);

	while (len > 0) {
		ssize_t n = recv(fd, p, len, MSG_DONTWAIT);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (proto_wait(fd, POLLIN, deadline) < 0)
			return -1;
	}
	return 0;
}

int proto_skip(int fd, size_t len, int timeout_ms)
{
	char sink[4096];
	int64_t deadline = proto_deadline(timeout_ms);

	while (len > 0) {
		size_t chunk = len < sizeof(sink) ? len : sizeof(sink);
		int left = deadline < 0 ? -1 : (int)(deadline - proto_now_ms());

		if (deadline >= 0 && left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (proto_read_all(fd, sink, chunk, left) < 0)
			return -1;
		len -= chunk;
	}
	return 0;
}
