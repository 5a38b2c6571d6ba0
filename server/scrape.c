/*
 * The --metrics endpoint (scrape.h): one request and one answer a
 * connection, never a blocking call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "scrape.h"

struct scraper {
	int fd;		/* -1: a free place */
	int64_t since;
	char in[SRV_HTTP_MAX_HEAD + 1];
	size_t inlen;
	char *out;	/* the answer, once the request is whole */
	size_t outlen, sent;
};

struct srv_scrape {
	int lfd;
	struct scraper c[SRV_SCRAPERS];
};

static void drop(struct scraper *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	c->inlen = c->outlen = c->sent = 0;
}

struct srv_scrape *srv_scrape_new(const struct net_hostport *where, char *err, size_t len)
{
	struct srv_scrape *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, len, "--metrics: out of memory");
		return NULL;
	}
	s->lfd = net_listen(where, err, len);
	if (s->lfd < 0) {
		free(s);
		return NULL;
	}
	for (size_t i = 0; i < SRV_SCRAPERS; i++)
		s->c[i].fd = -1;
	return s;
}

void srv_scrape_free(struct srv_scrape *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < SRV_SCRAPERS; i++)
		drop(&s->c[i]);
	close(s->lfd);
	free(s);
}

const char *srv_scrape_where(const struct srv_scrape *s, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(s->lfd, (struct sockaddr *)&ss, &sl) < 0) {
		snprintf(buf, len, "?");
		return buf;
	}
	return net_sockaddr_str((struct sockaddr *)&ss, sl, buf, len);
}

size_t srv_scrape_fds(struct srv_scrape *s, struct pollfd *fds, int64_t now, int64_t *next)
{
	size_t n = 0;

	fds[n++] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
	for (size_t i = 0; i < SRV_SCRAPERS; i++) {
		struct scraper *c = &s->c[i];

		if (c->fd >= 0 && now >= c->since + SRV_SCRAPE_MS) {
			log_debug("metrics: a scraper took over %d ms: closed", SRV_SCRAPE_MS);
			drop(c);
		}
		if (c->fd >= 0 && c->since + SRV_SCRAPE_MS < *next)
			*next = c->since + SRV_SCRAPE_MS;
		fds[n++] = (struct pollfd){ .fd = c->fd, .events = c->out ? POLLOUT : POLLIN };
	}
	return n;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	default: return "Bad Request";
	}
}

/* The answer to a request of STATUS: the exposition text for 200, a line saying why otherwise. */
static int answer(struct scraper *c, int status, int head, const struct srv_metrics *m)
{
	const char *type = "text/plain; charset=utf-8";
	char *body = NULL, *text = NULL;
	size_t blen = 0, tlen = 0;
	FILE *out;

	if (status == 200) {
		body = srv_metrics_text(m, &blen);
		if (!body)
			return -1;
		type = "text/plain; version=0.0.4; charset=utf-8";
	} else {
		const char *why = status == 404 ? "memtrace-server serves /metrics only\n"
				  : status == 405 ? "GET or HEAD /metrics\n"
						  : "not an HTTP/1 request\n";

		body = strdup(why);
		if (!body)
			return -1;
		blen = strlen(body);
	}
	out = open_memstream(&text, &tlen);
	if (!out) {
		free(body);
		return -1;
	}
	fprintf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		status, reason(status), type, blen);
	if (!head)
		fwrite(body, 1, blen, out);
	free(body);
	if (fclose(out) != 0) {
		free(text);
		return -1;
	}
	c->out = text;
	c->outlen = tlen;
	c->sent = 0;
	return 0;
}

static void accept_one(struct srv_scrape *s, int64_t now)
{
	struct scraper *c = NULL, *oldest = &s->c[0];
	int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
			log_warn("metrics: accept: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < SRV_SCRAPERS && !c; i++) {
		if (s->c[i].fd < 0)
			c = &s->c[i];
		else if (s->c[i].since < oldest->since)
			oldest = &s->c[i];
	}
	if (!c) {
		log_debug("metrics: %d scrapers at once: the oldest is closed", SRV_SCRAPERS);
		drop(oldest);
		c = oldest;
	}
	c->fd = fd;
	c->since = now;
}

static void serve(struct scraper *c, short revents, const struct srv_metrics *m)
{
	ssize_t r;

	if (!c->out) {
		int status, head;

		r = read(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			drop(c); /* gone before its request was whole */
			return;
		}
		c->inlen += (size_t)r;
		status = srv_http_parse(c->in, c->inlen, &head);
		if (!status && c->inlen == sizeof(c->in) - 1)
			status = 431;
		if (!status)
			return;
		if (answer(c, status, head, m) < 0) {
			log_warn("metrics: out of memory for an answer");
			drop(c);
			return;
		}
		revents |= POLLOUT; /* try at once */
	}
	if (!(revents & (POLLOUT | POLLHUP | POLLERR)))
		return;
	r = send(c->fd, c->out + c->sent, c->outlen - c->sent, MSG_NOSIGNAL);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		drop(c);
		return;
	}
	c->sent += (size_t)r;
	if (c->sent == c->outlen)
		drop(c);
}

void srv_scrape_run(struct srv_scrape *s, const struct pollfd *fds, size_t n, int64_t now,
		    const struct srv_metrics *m)
{
	for (size_t i = 1; i < n && i <= SRV_SCRAPERS; i++)
		if (fds[i].revents && s->c[i - 1].fd >= 0 && s->c[i - 1].fd == fds[i].fd)
			serve(&s->c[i - 1], fds[i].revents, m);
	if (n && (fds[0].revents & POLLIN))
		for (int k = 0; k < SRV_SCRAPERS; k++)
			accept_one(s, now);
}
