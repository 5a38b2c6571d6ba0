/*
 * A peer's socket (peer.h). One read of at most a buffer per round of the
 * event loop, so a fast sender does not starve the others; writes go until
 * the socket is full. Nothing here blocks, and nothing raises SIGPIPE.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "peer.h"
#include "util.h"

#define IN_BUF (64u << 10)

struct srv_peer {
	int fd;
	struct srv_conn *conn;
	int64_t since;	  /* connected */
	int64_t last_in;  /* the last byte read, or the last time reading was not up to the peer */
	int64_t last_out; /* the last byte written, or the time a reply was queued */
	size_t in_off, in_len;
	unsigned char in[IN_BUF];
};

struct srv_peer *srv_peer_new(int fd, const struct srv_conn_config *cfg, const char *name, int64_t now)
{
	struct srv_peer *p = xmalloc(sizeof(*p));

	p->fd = fd;
	p->conn = srv_conn_new(cfg, name);
	p->since = p->last_in = p->last_out = now;
	p->in_off = p->in_len = 0;
	return p;
}

void srv_peer_free(struct srv_peer *p)
{
	if (!p)
		return;
	if (p->fd >= 0)
		close(p->fd);
	srv_conn_free(p->conn);
	free(p);
}

int srv_peer_fd(const struct srv_peer *p)
{
	return p->fd;
}

struct srv_conn *srv_peer_conn(struct srv_peer *p)
{
	return p->conn;
}

int srv_peer_take_fd(struct srv_peer *p)
{
	int fd = p->fd;

	p->fd = -1;
	return fd;
}

const char *srv_peer_name(const struct srv_peer *p)
{
	return srv_conn_name(p->conn);
}

int64_t srv_peer_since(const struct srv_peer *p)
{
	return p->since;
}

unsigned srv_peer_flags(const struct srv_peer *p)
{
	return srv_conn_flags(p->conn);
}

/* 1 when the socket should be read: the link takes input and none is left over. */
static int wants_read(const struct srv_peer *p)
{
	return srv_conn_wants_input(p->conn) && p->in_off == p->in_len;
}

short srv_peer_events(const struct srv_peer *p)
{
	if (srv_conn_pending(p->conn))
		return POLLOUT;
	return wants_read(p) ? POLLIN : 0;
}

/* Write what is queued until done or the socket is full. 0, or -1 (logged). */
static int flush(struct srv_peer *p, int64_t now)
{
	while (srv_conn_pending(p->conn)) {
		struct iovec iov[16];
		struct msghdr mh = { .msg_iov = iov };
		ssize_t n;

		mh.msg_iovlen = (size_t)srv_conn_iov(p->conn, iov, 16);
		n = sendmsg(p->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0) {
			if (errno == EPIPE || errno == ECONNRESET)
				log_info("%s: gone before its reply was written", srv_peer_name(p));
			else
				log_warn("%s: writing: %s", srv_peer_name(p), strerror(errno));
			return -1;
		}
		srv_conn_written(p->conn, (size_t)n);
		p->last_out = now;
	}
	return 0;
}

/* One read. 0 (data, or nothing yet), or -1 (logged) on an error. EOF is told to the link. */
static int read_some(struct srv_peer *p)
{
	ssize_t n;

	do
		n = recv(p->fd, p->in, sizeof(p->in), MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		p->in_off = 0;
		p->in_len = (size_t)n;
		return 0;
	}
	if (n == 0) {
		srv_conn_eof(p->conn);
		return 0;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	if (errno == ECONNRESET)
		log_info("%s: connection reset", srv_peer_name(p));
	else
		log_warn("%s: reading: %s", srv_peer_name(p), strerror(errno));
	return -1;
}

int srv_peer_run(struct srv_peer *p, short revents, int64_t now)
{
	if ((revents & (POLLIN | POLLHUP | POLLERR)) && wants_read(p)) {
		if (read_some(p) < 0)
			return -1;
		if (p->in_len)
			p->last_in = now;
	}
	for (;;) {
		size_t before = srv_conn_pending(p->conn), used;

		if (before) {
			if (flush(p, now) < 0)
				return -1;
			if (srv_conn_pending(p->conn))
				return 0;
		}
		if (srv_conn_flags(p->conn) & SRV_CONN_CLOSE)
			return -1;
		if (p->in_off == p->in_len && !(srv_conn_flags(p->conn) & SRV_CONN_HELD))
			return 0;
		/* Left-over input, or a message held for memory: give it to the link again. */
		used = srv_conn_input(p->conn, p->in + p->in_off, p->in_len - p->in_off);
		p->in_off += used;
		if (p->in_off == p->in_len)
			p->in_off = p->in_len = 0;
		if (srv_conn_pending(p->conn))
			p->last_out = now;
		else if (!used && (srv_conn_flags(p->conn) & SRV_CONN_HELD))
			return 0;
	}
}

/* Lower *NEXT to AT. */
static void sooner(int64_t *next, int64_t at)
{
	if (at < *next)
		*next = at;
}

int srv_peer_timers(struct srv_peer *p, const struct srv_timeouts *t, int64_t now, int64_t *next)
{
	unsigned flags = srv_conn_flags(p->conn);

	if (!(flags & SRV_CONN_HELLO_DONE)) {
		if (now - p->since >= t->hello_ms) {
			log_warn("%s: no hello within %g s: closing", srv_peer_name(p), t->hello_ms / 1000.0);
			return -1;
		}
		sooner(next, p->since + t->hello_ms);
	}
	/* The stall clock runs only while it is up to the peer to send. */
	if (!wants_read(p) || !(flags & SRV_CONN_PARTIAL)) {
		p->last_in = now;
	} else {
		if (now - p->last_in >= t->stall_ms) {
			log_warn("%s: a message stalled halfway for %g s: closing", srv_peer_name(p), t->stall_ms / 1000.0);
			return -1;
		}
		sooner(next, p->last_in + t->stall_ms);
	}
	if (srv_conn_pending(p->conn)) {
		if (now - p->last_out >= t->unread_ms) {
			log_warn("%s: a reply left unread for %g s: closing", srv_peer_name(p), t->unread_ms / 1000.0);
			return -1;
		}
		sooner(next, p->last_out + t->unread_ms);
	}
	return 0;
}
