/*
 * Dialing out (dialer.h). One connect at a time, each in a detached thread
 * that owns a duplicate of the pipe's write end: when the dialer is freed
 * while a connect is under way, the thread's late write finds no reader
 * (EPIPE: SIGPIPE is ignored by the server) and it closes its socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dialer.h"
#include "log.h"
#include "util.h"

#define CONNECT_MS 5000
#define RETRY_MS 1000		/* after a failed connect, or a link that ended */
#define RETRY_REFUSED_MS 10000	/* after a link that ended before its hello went through */

struct result {
	int fd;
	char err[400];
};

struct attempt {
	struct net_hostport hp;
	int wfd;
};

struct srv_dialer {
	struct net_hostport hp;
	char name[300];
	int rfd, wfd;		/* the pipe the threads answer through */
	int busy;		/* a connect is under way */
	int64_t next_try;
	char last_err[400];	/* the last failure logged, so that a repeated one is not */
};

struct srv_dialer *srv_dialer_new(const struct net_hostport *hp)
{
	struct srv_dialer *d = xcalloc(1, sizeof(*d));
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0) {
		log_err("pipe: %s", strerror(errno));
		free(d);
		return NULL;
	}
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	d->rfd = fds[0];
	d->wfd = fds[1];
	d->hp = *hp;
	net_hostport_str(hp, d->name, sizeof(d->name));
	return d;
}

void srv_dialer_free(struct srv_dialer *d)
{
	if (!d)
		return;
	close(d->rfd);
	close(d->wfd);
	free(d);
}

const char *srv_dialer_name(const struct srv_dialer *d)
{
	return d->name;
}

int srv_dialer_fd(const struct srv_dialer *d)
{
	return d->busy ? d->rfd : -1;
}

static void *dial_thread(void *arg)
{
	struct attempt *a = arg;
	struct result r = { .fd = -1 };

	r.fd = net_connect(&a->hp, CONNECT_MS, r.err, sizeof(r.err));
	if (r.fd >= 0)
		fcntl(r.fd, F_SETFL, fcntl(r.fd, F_GETFL) | O_NONBLOCK);
	/* sizeof(r) < PIPE_BUF: written whole or not at all. */
	if (write(a->wfd, &r, sizeof(r)) != (ssize_t)sizeof(r) && r.fd >= 0)
		close(r.fd);
	close(a->wfd);
	free(a);
	return NULL;
}

void srv_dialer_tick(struct srv_dialer *d, int64_t now, int64_t *next)
{
	struct attempt *a;
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (d->busy)
		return;
	if (now < d->next_try) {
		if (d->next_try < *next)
			*next = d->next_try;
		return;
	}
	a = xmalloc(sizeof(*a));
	a->hp = d->hp;
	a->wfd = fcntl(d->wfd, F_DUPFD_CLOEXEC, 0);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = a->wfd < 0 ? errno : pthread_create(&t, &attr, dial_thread, a);
	pthread_attr_destroy(&attr);
	if (rc) {
		log_warn("%s: cannot start a connect: %s", d->name, strerror(rc));
		if (a->wfd >= 0)
			close(a->wfd);
		free(a);
		d->next_try = now + RETRY_MS;
		if (d->next_try < *next)
			*next = d->next_try;
		return;
	}
	log_debug("%s: connecting", d->name);
	d->busy = 1;
}

int srv_dialer_result(struct srv_dialer *d, int64_t now)
{
	struct result r;
	ssize_t n = read(d->rfd, &r, sizeof(r));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -1; /* not yet: still busy */
	d->busy = 0;
	d->next_try = now + RETRY_MS;
	if (n != (ssize_t)sizeof(r)) {
		log_warn("%s: the connect's answer was lost", d->name);
		return -1;
	}
	if (r.fd < 0) {
		r.err[sizeof(r.err) - 1] = '\0';
		if (strcmp(r.err, d->last_err)) {
			log_info("%s; trying again every %d s", r.err, RETRY_MS / 1000);
			snprintf(d->last_err, sizeof(d->last_err), "%s", r.err);
		}
		return -1;
	}
	d->last_err[0] = '\0';
	log_info("%s: connected, saying hello", d->name);
	return r.fd;
}

void srv_dialer_link_ended(struct srv_dialer *d, int64_t now, int refused)
{
	d->next_try = now + (refused ? RETRY_REFUSED_MS : RETRY_MS);
	log_info("%s: the link ended; dialing again in %d s", d->name, (refused ? RETRY_REFUSED_MS : RETRY_MS) / 1000);
}
