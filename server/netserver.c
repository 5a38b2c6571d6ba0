/*
 * The event loop of the network mode (netserver.h). Each round: time
 * limits, one poll over every socket, then each ready peer does what it can
 * without blocking. A peer's trouble stays its own: it is read from only
 * when its last reply is written, at most a buffer a round, and its large
 * messages take their memory from a shared budget that no peer can exhaust
 * for the others for longer than its own time limits.
 *
 * Places are kept apart the same way. A connection that has not said
 * hello is nobody yet: such connections have a small pool of their own
 * (--max-pending), where the newest pushes out the oldest, and never take
 * one of the --max-clients places, which only a hello that passed the
 * token gets. A channel waits among its own link's (the link id of the
 * hello reply, conn.h), so no peer can push out another's.
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
#include "scrape.h"
#include "util.h"

#define ACCEPT_PER_ROUND 16
#define ACCEPT_PAUSE_MS 1000 /* out of descriptors: stop accepting for a while */
#define ROUND_MAX_MS 1000
#define MAX_PARKED 16	      /* channels of no link (memtrace before 0.3) waiting at once */
#define LINK_PARKED 4	      /* channels of one link waiting at once: a core and a gdb, and room */
#define PARKED_MS 10000	      /* how long one waits for its request */
#define WORK_DRAIN_MS 10000   /* stopping: gdb sessions detach meanwhile */

/* A channel's socket, from its hello until a request of its link names it. */
struct parked {
	int fd;
	int64_t since;
	char key[NET_CHANNEL_MAX + 1];
};

/* What the loop keeps for an accepted link (srv_conn_user): its gdb work and its waiting channels. */
struct link {
	struct srv_work *work; /* NULL until its first gdb request */
	struct parked parked[LINK_PARKED];
	size_t nparked;
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
	struct parked parked[MAX_PARKED]; /* channels of no link */
	size_t nparked;
	struct srv_pool *pool;
	char busy[160]; /* ADMIT's refusal */
	struct srv_metrics *metrics; /* --metrics: each link's latest sample; NULL: none */
	struct srv_scrape *scrape;
};

/* The key of C's sample among the metrics: its link id, or its name for a dialed link. */
static const char *metrics_key(struct srv_conn *c)
{
	return srv_conn_link(c)[0] ? srv_conn_link(c) : srv_conn_name(c);
}

/* conn.h's on_sample: the link's latest sample, for /metrics. */
static void on_sample(void *ctx, struct srv_conn *c, cJSON *sample)
{
	struct server *s = ctx;
	char peer[80];
	char *colon;

	if (!s->metrics) {
		cJSON_Delete(sample);
		return;
	}
	/* The address without its port: the device, not its connection. */
	snprintf(peer, sizeof(peer), "%s", srv_conn_name(c));
	colon = strrchr(peer, ':');
	if (colon && strchr(peer, '.'))
		*colon = '\0';
	else if (colon && peer[0] == '[' && colon > peer && colon[-1] == ']')
		*colon = '\0';
	if (srv_metrics_put(s->metrics, metrics_key(c), peer, sample) < 0)
		log_warn("%s: out of memory for its sample: not on /metrics", srv_conn_name(c));
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
		if (!s->peers)
			log_oom();
	}
	s->peers[s->npeers++] = p;
}

static struct link *link_of(struct srv_conn *c)
{
	struct link *l = srv_conn_user(c);

	if (!l) {
		l = xcalloc(1, sizeof(*l));
		srv_conn_set_user(c, l);
	}
	return l;
}

static struct srv_work *work_of(struct srv_peer *p)
{
	struct link *l = srv_conn_user(srv_peer_conn(p));

	return l ? l->work : NULL;
}

/* The peer whose link has id ID (conn.h, srv_conn_link), or NULL. */
static struct srv_peer *find_link(struct server *s, const char *id)
{
	for (size_t i = 0; *id && i < s->npeers; i++)
		if (!strcmp(srv_conn_link(srv_peer_conn(s->peers[i])), id))
			return s->peers[i];
	return NULL;
}

static void link_free(struct link *l)
{
	if (!l)
		return;
	srv_work_free(l->work);
	while (l->nparked)
		close(l->parked[--l->nparked].fd);
	free(l);
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
	srv_metrics_forget(s->metrics, metrics_key(srv_peer_conn(p)));
	link_free(srv_conn_user(srv_peer_conn(p)));
	srv_peer_free(p);
}

/* Take channel I out of the N waiting in SET (its order kept: the oldest first). */
static void unpark(struct parked *set, size_t *n, size_t i)
{
	memmove(set + i, set + i + 1, (--*n - i) * sizeof(*set));
}

/*
 * A channel's hello is answered and written: keep its socket for the
 * request that names it, among its link's channels (or those of no link).
 * A full set loses its oldest: only the peer that filled it loses.
 */
static void park_channel(struct server *s, struct srv_peer *p, int64_t now)
{
	const char *id = srv_conn_channel_link(srv_peer_conn(p));
	struct srv_peer *owner = find_link(s, id);
	struct parked *set = s->parked;
	size_t *n = &s->nparked, max = MAX_PARKED;
	int fd;

	if (*id && !owner) {
		log_warn("%s: the link of this channel is gone: closed", srv_peer_name(p));
		drop_peer(s, p, now);
		return;
	}
	if (owner) {
		struct link *l = link_of(srv_peer_conn(owner));

		set = l->parked;
		n = &l->nparked;
		max = LINK_PARKED;
	}
	if (*n == max) {
		log_warn("%s: %zu channels of %s wait already: the oldest is closed", srv_peer_name(p), max,
			 owner ? srv_peer_name(owner) : "no link (memtrace before 0.3)");
		close(set[0].fd);
		unpark(set, n, 0);
	}
	fd = srv_peer_take_fd(p);
	/* Blocking from now on: the gdb work and gdb's relay use it with plain reads and writes. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	set[*n].fd = fd;
	set[*n].since = now;
	snprintf(set[*n].key, sizeof(set[0].key), "%s", srv_conn_channel(srv_peer_conn(p)));
	++*n;
	drop_peer(s, p, now);
}

static void expire_set(struct parked *set, size_t *n, int64_t now, int64_t *next)
{
	for (size_t i = 0; i < *n;) {
		if (now - set[i].since >= PARKED_MS) {
			log_warn("a channel was never named by a request within %d s: closed", PARKED_MS / 1000);
			close(set[i].fd);
			unpark(set, n, i);
			continue;
		}
		if (set[i].since + PARKED_MS < *next)
			*next = set[i].since + PARKED_MS;
		i++;
	}
}

static void expire_parked(struct server *s, int64_t now, int64_t *next)
{
	expire_set(s->parked, &s->nparked, now, next);
	for (size_t i = 0; i < s->npeers; i++) {
		struct link *l = srv_conn_user(srv_peer_conn(s->peers[i]));

		if (l)
			expire_set(l->parked, &l->nparked, now, next);
	}
}

/* The socket of the channel KEY in SET, taken out of it; -1 when none. */
static int claim(struct parked *set, size_t *n, const char *key)
{
	for (size_t i = 0; i < *n; i++) {
		if (!strcmp(set[i].key, key)) {
			int fd = set[i].fd;

			unpark(set, n, i);
			return fd;
		}
	}
	return -1;
}

/* conn.h's defer: a gdb work request goes to the peer's work thread, with its channel. */
static cJSON *defer_work(void *ctx, struct srv_conn *c, cJSON *msg, double id, const char *cmd)
{
	struct server *s = ctx;
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(msg, "channel");
	struct link *l = link_of(c);
	int chan = -1;

	if (!s->o->work)
		return srv_reply_error(id, "%s: this memtrace-server does no gdb work", cmd);
	if (key) {
		/* Its own link's channels first, then those of no link. */
		if (cJSON_IsString(key))
			chan = claim(l->parked, &l->nparked, key->valuestring);
		if (cJSON_IsString(key) && chan < 0)
			chan = claim(s->parked, &s->nparked, key->valuestring);
		if (chan < 0)
			return srv_reply_error(id, "%s: no channel of that key has said hello (or it waited more than %d s)",
					       cmd, PARKED_MS / 1000);
	}
	if (!l->work)
		l->work = srv_work_new(s->o->work, srv_conn_name(c));
	srv_work_submit(l->work, msg, id, cmd, chan);
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

/* conn.h's admit: a place for a link among --max-clients; a channel's link must be there. */
static const char *admit(void *ctx, struct srv_conn *c)
{
	struct server *s = ctx;
	size_t links = 0;

	if (srv_conn_channel(c)[0])
		return *srv_conn_channel_link(c) && !find_link(s, srv_conn_channel_link(c))
			       ? "channel refused: no link of that id (it ended?)"
			       : NULL;
	for (size_t i = 0; i < s->npeers; i++)
		if (s->peers[i] != s->dialed && (srv_peer_flags(s->peers[i]) & SRV_CONN_HELLO_DONE) &&
		    !(srv_peer_flags(s->peers[i]) & SRV_CONN_CHANNEL))
			links++;
	if (links < (size_t)s->o->max_clients)
		return NULL;
	snprintf(s->busy, sizeof(s->busy), "server busy: %d clients already, the most --max-clients allows",
		 s->o->max_clients);
	return s->busy;
}

/*
 * A new connection, with --max-pending others that have not said hello:
 * the oldest of them goes. Whoever has the token says hello within a
 * round trip, so only a flood faster than that can keep it out.
 */
static void make_room(struct server *s, int64_t now)
{
	struct srv_peer *oldest = NULL;
	size_t pending = 0;

	for (size_t i = 0; i < s->npeers; i++) {
		struct srv_peer *p = s->peers[i];

		if (p == s->dialed || (srv_peer_flags(p) & SRV_CONN_HELLO_DONE))
			continue;
		pending++;
		if (!oldest || srv_peer_since(p) < srv_peer_since(oldest))
			oldest = p;
	}
	if (pending < (size_t)s->o->max_pending)
		return;
	log_warn("%s: %zu connections have not said hello, the most --max-pending allows: the oldest is closed",
		 srv_peer_name(oldest), pending);
	drop_peer(s, oldest, now);
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
		make_room(s, now);
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
	size_t nfds = 0, first_peer, first_work, npolled, mslot = 0, nscrape = 0;
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
	if (s->scrape) {
		mslot = nfds;
		nscrape = srv_scrape_fds(s->scrape, fds + nfds, now, &next);
		nfds += nscrape;
	}
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
		struct srv_work *w = work_of(s->peers[i]);

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

		if (!fds[i].revents || !(reply = srv_work_take(work_of(p))))
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
	if (nscrape)
		srv_scrape_run(s->scrape, fds + mslot, nscrape, now, s->metrics);
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
	struct pollfd *fds = NULL;
	struct srv_peer **slot = NULL;
	size_t room = 0;
	int rc = 1;

	s.cfg_in = (struct srv_conn_config){ .decoder = d, .token = o->token, .reserve = budget_reserve,
					     .release = budget_release, .ctx = &s, .defer = defer_work,
					     .offload = offload_job, .admit = admit, .on_sample = on_sample };
	s.cfg_out = s.cfg_in;
	s.cfg_out.dialer = 1;
	s.cfg_out.admit = NULL;
	/* The caller blocked the stop signals: the pool's threads inherit the
	 * mask, so the signals come to ppoll. */
	s.pool = srv_pool_new(o->sysroots, o->n_sysroots, o->decode_threads);
	if (!s.pool)
		goto out;
	log_info("decoding in %u threads", srv_pool_threads(s.pool));
	if (o->listen && setup_listen(&s) < 0)
		goto out;
	if (o->metrics) {
		char err[512], where[80];

		s.metrics = srv_metrics_new(o->metrics_top ? o->metrics_top : SRV_METRICS_TOP);
		if (!s.metrics)
			log_oom();
		s.scrape = srv_scrape_new(o->metrics, err, sizeof(err));
		if (!s.scrape) {
			log_err("--metrics: %s", err);
			goto out;
		}
		announce("metrics on http://%s/metrics", srv_scrape_where(s.scrape, where, sizeof(where)));
	}
	if (o->connect) {
		s.dialer = srv_dialer_new(o->connect);
		if (!s.dialer)
			goto out;
		announce("dialing %s (memtrace --listen there)", srv_dialer_name(s.dialer));
	}
	while (!*o->stop) {
		if (room < 2 * s.npeers + 5 + SRV_SCRAPERS) {
			room = 2 * s.npeers + 5 + SRV_SCRAPERS + 16;
			fds = realloc(fds, room * sizeof(*fds));
			slot = realloc(slot, room * sizeof(*slot));
			if (!fds || !slot)
				log_oom();
		}
		if (round_once(&s, fds, slot, o->wait_mask) < 0)
			goto out;
	}
	log_info("%s: stopping", *o->stop == SIGINT ? "SIGINT" : "SIGTERM");
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
	srv_scrape_free(s.scrape);
	srv_metrics_free(s.metrics);
	if (s.lfd >= 0)
		close(s.lfd);
	return rc;
}
