/*
 * The event loop of the network mode (netserver.h). Each round: time
 * limits, one poll over every socket, then each ready peer does what it can
 * without blocking. A peer's trouble stays its own: it is read from only
 * when its last reply is written, at most a buffer a round, and its large
 * messages take their memory from a shared budget that no peer can exhaust
 * for the others for longer than its own time limits.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dialer.h"
#include "discovery.h"
#include "log.h"
#include "netserver.h"
#include "pool.h"
#include "proto.h"
#include "request.h"
#include "util.h"

#define ACCEPT_PER_ROUND 16
#define ACCEPT_PAUSE_MS 1000 /* out of descriptors: stop accepting for a while */
#define ROUND_MAX_MS 1000
#define MAX_PARKED 16	      /* channels said hello, not yet named by a request */
#define PARKED_MS 10000	      /* how long one waits for its request */
#define WORK_DRAIN_MS 10000   /* stopping: gdb sessions detach meanwhile */

/* A channel's socket, from its hello until a request of its link names it. */
struct parked {
	int fd;
	int64_t since;
	char key[NET_CHANNEL_MAX + 1];
};

struct server {
	const struct srv_net_options *o;
	struct srv_conn_config cfg_in, cfg_out; /* accepted peers; the dialed link */
	int lfd;
	int64_t accept_paused_until;
	struct srv_discovery *disc;
	struct srv_dialer *dialer;
	struct srv_peer **peers;
	size_t npeers, cap;
	struct srv_peer *dialed; /* among peers, or NULL */
	size_t budget_used;
	struct parked parked[MAX_PARKED];
	size_t nparked;
	struct srv_pool *pool;
};

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

/* Said whatever the log level: what a user (or a test) needs to reach the server. */
static void __attribute__((format(printf, 1, 2))) announce(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("memtrace-server: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	fflush(stderr);
	va_end(ap);
}

static int budget_reserve(void *ctx, size_t bytes, int force)
{
	struct server *s = ctx;

	/* With nothing reserved, any one message goes: a lone large one never waits for ever. */
	if (!force && s->budget_used && s->budget_used + bytes > SRV_BUDGET)
		return -1;
	s->budget_used += bytes;
	return 0;
}

static void budget_release(void *ctx, size_t bytes)
{
	struct server *s = ctx;

	s->budget_used -= bytes < s->budget_used ? bytes : s->budget_used;
}

static void add_peer(struct server *s, struct srv_peer *p)
{
	if (s->npeers == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->peers = realloc(s->peers, s->cap * sizeof(*s->peers));
		if (!s->peers) {
			log_err("out of memory");
			exit(125);
		}
	}
	s->peers[s->npeers++] = p;
}

static void drop_peer(struct server *s, struct srv_peer *p, int64_t now)
{
	for (size_t i = 0; i < s->npeers; i++) {
		if (s->peers[i] == p) {
			s->peers[i] = s->peers[--s->npeers];
			break;
		}
	}
	if (p == s->dialed) {
		srv_dialer_link_ended(s->dialer, now, !(srv_peer_flags(p) & SRV_CONN_HELLO_DONE));
		s->dialed = NULL;
	}
	log_debug("%s: connection closed", srv_peer_name(p));
	srv_work_free(srv_conn_user(srv_peer_conn(p)));
	srv_peer_free(p);
}

static void unpark(struct server *s, size_t i)
{
	s->parked[i] = s->parked[--s->nparked];
}

/* A channel's hello is answered and written: keep its socket for the request that names it. */
static void park_channel(struct server *s, struct srv_peer *p, int64_t now)
{
	int fd;

	if (s->nparked == MAX_PARKED) {
		log_warn("%s: %d channels wait already: the oldest is closed", srv_peer_name(p), MAX_PARKED);
		close(s->parked[0].fd);
		unpark(s, 0);
	}
	fd = srv_peer_take_fd(p);
	/* Blocking from now on: the gdb work and gdb's relay use it with plain reads and writes. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	s->parked[s->nparked].fd = fd;
	s->parked[s->nparked].since = now;
	snprintf(s->parked[s->nparked].key, sizeof(s->parked[0].key), "%s", srv_conn_channel(srv_peer_conn(p)));
	s->nparked++;
	drop_peer(s, p, now);
}

static void expire_parked(struct server *s, int64_t now, int64_t *next)
{
	for (size_t i = 0; i < s->nparked;) {
		if (now - s->parked[i].since >= PARKED_MS) {
			log_warn("a channel was never named by a request within %d s: closed", PARKED_MS / 1000);
			close(s->parked[i].fd);
			unpark(s, i);
			continue;
		}
		if (s->parked[i].since + PARKED_MS < *next)
			*next = s->parked[i].since + PARKED_MS;
		i++;
	}
}

/* conn.h's defer: a gdb work request goes to the peer's work thread, with its channel. */
static cJSON *defer_work(void *ctx, struct srv_conn *c, cJSON *msg, double id, const char *cmd)
{
	struct server *s = ctx;
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(msg, "channel");
	struct srv_work *w = srv_conn_user(c);
	int chan = -1;

	if (!s->o->work)
		return srv_reply_error(id, "%s: this memtrace-server does no gdb work", cmd);
	if (key) {
		for (size_t i = 0; cJSON_IsString(key) && i < s->nparked; i++) {
			if (!strcmp(s->parked[i].key, key->valuestring)) {
				chan = s->parked[i].fd;
				unpark(s, i);
				break;
			}
		}
		if (chan < 0)
			return srv_reply_error(id, "%s: no channel of that key has said hello (or it waited more than %d s)",
					       cmd, PARKED_MS / 1000);
	}
	if (!w) {
		w = srv_work_new(s->o->work, srv_conn_name(c));
		srv_conn_set_user(c, w);
	}
	srv_work_submit(w, msg, id, cmd, chan);
	return NULL;
}

/* conn.h's offload: a decode, or a message too large to parse here, goes to the decode pool. */
static void offload_job(void *ctx, struct srv_conn *c, struct srv_request_job *job)
{
	struct server *s = ctx;

	(void)c;
	srv_pool_submit(s->pool, job);
}

/* Jobs the pool finished: each back to its peer (if still there), whose reply is written now. */
static void pool_done(struct server *s, int64_t now)
{
	struct srv_request_job *j;

	while ((j = srv_pool_take(s->pool))) {
		struct srv_peer *p = NULL;

		for (size_t i = 0; j->owner && i < s->npeers && !p; i++)
			if (srv_peer_conn(s->peers[i]) == j->owner)
				p = s->peers[i];
		if (!p) {
			srv_request_job_free(j); /* its peer is gone */
			continue;
		}
		srv_conn_finish(srv_peer_conn(p), j);
		if (srv_peer_run(p, 0, now) < 0)
			drop_peer(s, p, now);
	}
}

/* The next peer over --max-clients: told so in one try, and closed. */
static void refuse_busy(struct server *s, int fd, const char *name)
{
	char body[200], msg[256], sink[4096];
	int n = snprintf(body, sizeof(body),
			 "{\"v\":1,\"id\":0,\"ok\":false,\"error\":\"server busy: %d clients already, the most "
			 "--max-clients allows\"}",
			 s->o->max_clients);

	log_warn("%s: server busy (%d clients): refused", name, s->o->max_clients);
	msg[0] = (char)(n >> 24);
	msg[1] = (char)(n >> 16);
	msg[2] = (char)(n >> 8);
	msg[3] = (char)n;
	memcpy(msg + 4, body, (size_t)n);
	if (send(fd, msg, (size_t)n + 4, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("%s: %s", name, strerror(errno));
	/* What it already sent would turn the close into a reset that can overtake the reply. */
	while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
	shutdown(fd, SHUT_WR);
	close(fd);
}

static void accept_some(struct server *s, int64_t now)
{
	for (int i = 0; i < ACCEPT_PER_ROUND; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char name[64];
		int fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				log_warn("accepting a connection: %s: not accepting for %d s", strerror(errno),
					 ACCEPT_PAUSE_MS / 1000);
				s->accept_paused_until = now + ACCEPT_PAUSE_MS;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				log_debug("accepting a connection: %s", strerror(errno)); /* ECONNABORTED and such */
				continue;
			}
			return;
		}
		net_sockaddr_str((struct sockaddr *)&ss, sl, name, sizeof(name));
		if (s->npeers - (s->dialed != NULL) >= (size_t)s->o->max_clients) {
			refuse_busy(s, fd, name);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		log_debug("%s: connected", name);
		add_peer(s, srv_peer_new(fd, &s->cfg_in, name, now));
	}
}

static void dial_result(struct server *s, int64_t now)
{
	int fd = srv_dialer_result(s->dialer, now), one = 1;

	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->dialed = srv_peer_new(fd, &s->cfg_out, srv_dialer_name(s->dialer), now);
	add_peer(s, s->dialed);
	/* Our hello is queued: send it now. */
	if (srv_peer_run(s->dialed, 0, now) < 0)
		drop_peer(s, s->dialed, now);
}

/* Listening socket and discovery, with their announcements. 0 or -1 (logged). */
static int setup_listen(struct server *s)
{
	const struct srv_net_options *o = s->o;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	in_addr_t only = htonl(INADDR_ANY);
	char err[512], where[64];

	s->lfd = net_listen(o->listen, err, sizeof(err));
	if (s->lfd < 0) {
		log_err("%s", err);
		if (strstr(err, "in use"))
			log_err("--listen %s:PORT with another port, or :0 for any free one (it is printed)",
				o->listen->host[0] ? o->listen->host : "0.0.0.0");
		return -1;
	}
	if (getsockname(s->lfd, (struct sockaddr *)&ss, &sl) < 0)
		return log_err("getsockname: %s", strerror(errno));
	announce("listening on %s", net_sockaddr_str((struct sockaddr *)&ss, sl, where, sizeof(where)));
	if (!o->group)
		return 0;
	if (ss.ss_family == AF_INET) {
		only = ((struct sockaddr_in *)&ss)->sin_addr.s_addr;
	} else {
		const struct in6_addr *a6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;

		if (!IN6_IS_ADDR_UNSPECIFIED(a6)) {
			log_warn("discovery is IPv4 only, and the server listens on IPv6 %s: no discovery", where);
			return 0;
		}
	}
	s->disc = srv_discovery_new(o->group, net_local_port(s->lfd), o->token != NULL, only, err, sizeof(err));
	if (!s->disc) {
		log_warn("%s: no discovery (--no-multicast turns it off)", err);
		return 0;
	}
	announce("discovery on %s", net_hostport_str(o->group, where, sizeof(where)));
	return 0;
}

/* One round of the loop. 0, or -1 on a fatal error (logged). */
static int round_once(struct server *s, struct pollfd *fds, struct srv_peer **slot, const sigset_t *mask)
{
	int64_t now = proto_now_ms(), next = now + ROUND_MAX_MS;
	size_t nfds = 0, first_peer, first_work, npolled;
	int lslot = -1, dslot = -1, cslot = -1, pslot, n;
	struct timespec ts;

	for (size_t i = 0; i < s->npeers;) {
		struct srv_peer *p = s->peers[i];

		if (srv_peer_timers(p, &s->o->timeouts, now, &next) < 0)
			drop_peer(s, p, now); /* the last one moved to I */
		else
			i++;
	}
	expire_parked(s, now, &next);
	if (s->dialer && !s->dialed)
		srv_dialer_tick(s->dialer, now, &next);
	if (s->lfd >= 0 && now >= s->accept_paused_until) {
		lslot = (int)nfds;
		fds[nfds++] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
	} else if (s->lfd >= 0 && s->accept_paused_until < next) {
		next = s->accept_paused_until;
	}
	if (s->disc) {
		dslot = (int)nfds;
		fds[nfds++] = (struct pollfd){ .fd = srv_discovery_fd(s->disc), .events = POLLIN };
	}
	if (s->dialer && srv_dialer_fd(s->dialer) >= 0) {
		cslot = (int)nfds;
		fds[nfds++] = (struct pollfd){ .fd = srv_dialer_fd(s->dialer), .events = POLLIN };
	}
	pslot = (int)nfds;
	fds[nfds++] = (struct pollfd){ .fd = srv_pool_fd(s->pool), .events = POLLIN };
	first_peer = nfds;
	for (size_t i = 0; i < s->npeers; i++) {
		short ev = srv_peer_events(s->peers[i]);

		/* A peer waiting on us (memory) is not polled: its hang-up would wake every round. */
		slot[nfds - first_peer] = s->peers[i];
		fds[nfds++] = (struct pollfd){ .fd = ev ? srv_peer_fd(s->peers[i]) : -1, .events = ev };
	}
	/* Then each peer's gdb work, for its replies. */
	first_work = nfds;
	for (size_t i = 0; i < s->npeers; i++) {
		struct srv_work *w = srv_conn_user(srv_peer_conn(s->peers[i]));

		slot[nfds - first_peer] = s->peers[i];
		fds[nfds++] = (struct pollfd){ .fd = w ? srv_work_fd(w) : -1, .events = POLLIN };
	}
	now = proto_now_ms();
	ts.tv_sec = next > now ? (next - now) / 1000 : 0;
	ts.tv_nsec = next > now ? (next - now) % 1000 * 1000000 : 0;
	n = ppoll(fds, nfds, &ts, mask);
	if (n < 0)
		return errno == EINTR ? 0 : log_err("poll: %s", strerror(errno));
	now = proto_now_ms();
	npolled = nfds;
	for (size_t i = first_work; i < npolled; i++) {
		struct srv_peer *p = slot[i - first_peer];
		cJSON *reply;

		if (!fds[i].revents || !(reply = srv_work_take(srv_conn_user(srv_peer_conn(p)))))
			continue;
		srv_conn_deliver(srv_peer_conn(p), reply);
		/* Written below, with the peer's own events. */
		fds[first_peer + (size_t)(i - first_work)].revents |= POLLOUT;
	}
	for (size_t i = first_peer; i < first_work; i++) {
		struct srv_peer *p = slot[i - first_peer];

		if (!fds[i].revents)
			continue;
		if (srv_peer_run(p, fds[i].revents, now) < 0)
			drop_peer(s, p, now);
		else if ((srv_peer_flags(p) & SRV_CONN_CHANNEL) && !srv_peer_events(p))
			park_channel(s, p, now);
	}
	/* Messages held for memory: some may have been given back this round. */
	for (size_t i = 0; i < s->npeers;) {
		struct srv_peer *p = s->peers[i];

		if ((srv_peer_flags(p) & SRV_CONN_HELD) && srv_peer_run(p, 0, now) < 0)
			drop_peer(s, p, now);
		else
			i++;
	}
	if (fds[pslot].revents)
		pool_done(s, now);
	if (cslot >= 0 && fds[cslot].revents)
		dial_result(s, now);
	if (dslot >= 0 && fds[dslot].revents)
		srv_discovery_run(s->disc, now);
	if (lslot >= 0 && fds[lslot].revents)
		accept_some(s, now);
	return 0;
}

int srv_net_run(const struct srv_net_options *o, struct srv_decoder *d)
{
	struct server s = { .o = o, .lfd = -1 };
	struct sigaction sa = { .sa_handler = on_stop };
	struct pollfd *fds = NULL;
	struct srv_peer **slot = NULL;
	sigset_t block, old;
	size_t room = 0;
	int rc = 1;

	s.cfg_in = (struct srv_conn_config){ .decoder = d, .token = o->token, .reserve = budget_reserve,
					     .release = budget_release, .ctx = &s, .defer = defer_work,
					     .offload = offload_job };
	s.cfg_out = s.cfg_in;
	s.cfg_out.dialer = 1;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	/* Blocked but in ppoll: a signal ends the wait, never a system call halfway. */
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* After the mask: the pool's threads inherit it, so the signals come to ppoll. */
	s.pool = srv_pool_new(o->sysroots, o->n_sysroots, o->decode_threads);
	if (!s.pool)
		goto out;
	log_info("decoding in %u threads", srv_pool_threads(s.pool));
	if (o->listen && setup_listen(&s) < 0)
		goto out;
	if (o->connect) {
		s.dialer = srv_dialer_new(o->connect);
		if (!s.dialer)
			goto out;
		announce("dialing %s (memtrace --listen there)", srv_dialer_name(s.dialer));
	}
	while (!stop_signal) {
		if (room < 2 * s.npeers + 4) {
			room = 2 * s.npeers + 4 + 16;
			fds = realloc(fds, room * sizeof(*fds));
			slot = realloc(slot, room * sizeof(*slot));
			if (!fds || !slot) {
				log_err("out of memory");
				exit(125);
			}
		}
		if (round_once(&s, fds, slot, &old) < 0)
			goto out;
	}
	log_info("%s: stopping", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
	rc = 0;
out:
	s.dialed = NULL; /* no dialing again */
	while (s.npeers)
		drop_peer(&s, s.peers[s.npeers - 1], proto_now_ms());
	while (s.nparked)
		close(s.parked[--s.nparked].fd);
	srv_work_drain(WORK_DRAIN_MS);
	srv_pool_free(s.pool);
	free(s.peers);
	free(fds);
	free(slot);
	srv_dialer_free(s.dialer);
	srv_discovery_free(s.disc);
	if (s.lfd >= 0)
		close(s.lfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
