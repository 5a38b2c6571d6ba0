/*
 * memtrace's link to memtrace-server (docs/protocol.md, "Server link").
 *
 * The linked socket is used synchronously, one request at a time, with a
 * deadline on every wait: memtrace has one server and nothing else to do
 * while it decodes. What must never block the event loop is --listen: the
 * listening socket and each dial-in whose hello has not fully arrived are
 * polled by the loop, and a hello is read a piece at a time as it comes.
 *
 * Every way a link breaks ends in link_lost(): one warning, the socket
 * closed, reports raw. With --connect/--multicast the next report tries
 * again (every 10 s at most, with short timeouts); with --listen the next
 * dial-in is taken.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "link/discover.h"
#include "log.h"
#include "proto.h"
#include "proto_msg.h"
#include "report.h"
#include "session.h"
#include "link/srvlink.h"
#include "util.h"

#define HELLO_TIMEOUT_MS 5000		/* first connect + hello */
#define DISCOVER_MS 1500		/* three queries, 500 ms apart */
#define RETRY_CONNECT_MS 2000		/* connect + hello when trying again */
#define RETRY_EVERY_MS 10000
#define DECODE_TIMEOUT_MS 60000		/* a closed socket is seen at once anyway */
#define DIALIN_HELLO_MS 10000		/* the contract's wait for a dialer's hello */
#define SMALL_REPLY_MS 2000		/* hello replies, bye */
#define MAX_DIALINS (INJ_LINK_MAX_FDS - 2)
#define REFUSAL_QUIET_MS 60000		/* the same refusal again: said at info level */

/* A server that dialed in (--listen) and has not finished its hello. */
struct dialin {
	int fd;
	int64_t deadline;
	unsigned char hdr[PROTO_HEADER_SIZE];
	uint32_t len;
	size_t got;		/* bytes read so far, header then body */
	char *body;
	char name[64];		/* ADDR:PORT */
};

struct inj_link {
	struct inj_link_opts opts;
	int pid;
	char *program;
	char host[256];
	char where[300];	/* opts.addr as text */
	int fd;			/* the linked server, or -1 */
	struct net_hostport server; /* where it was dialed (channels dial it too) */
	char peer[300];		/* its ADDR:PORT */
	char version[32];	/* its version */
	char link_id[NET_CHANNEL_MAX + 1]; /* its hello reply's "link", which our channels name; "" none */
	const char *how;	/* "", ", found by multicast", ", dialed in" */
	int ever_linked;
	long next_id;
	int64_t last_try;	/* --connect/--multicast: the last attempt */
	char why[512];		/* why there is no link (status) */
	int lfd;		/* --listen: the listening socket, or -1 */
	int64_t accept_paused_until; /* out of descriptors: lfd not polled until then */
	struct dialin dialins[MAX_DIALINS];
	int ndialins;
	char last_refusal[400];	/* host and reason of the last refused dial-in */
	int64_t last_refusal_ms;
};

static int left_ms(int64_t deadline)
{
	int64_t left = deadline - proto_now_ms();

	return left < 1 ? 1 : left > 0x7fffffff ? 0x7fffffff : (int)left;
}

/* Why a read or write on the link failed, from errno, into WHY. */
static void io_why(char *why, size_t len, int timeout_s)
{
	if (errno == ETIMEDOUT)
		snprintf(why, len, "no reply within %d s", timeout_s);
	else if (errno == ECONNRESET || errno == EPIPE)
		snprintf(why, len, "connection closed");
	else
		snprintf(why, len, "%s", strerror(errno));
}

/*
 * One message from FD before DEADLINE, at most MAX bytes: a protocol
 * version 1 object (caller deletes), or NULL with WHY filled.
 */
static cJSON *read_msg(int fd, int64_t deadline, uint32_t max, char *why, size_t wlen)
{
	int timeout_s = (left_ms(deadline) + 999) / 1000;
	uint32_t len;
	cJSON *msg;

	switch (proto_read_msg(fd, max, deadline, 0, &msg, &len)) {
	case PROTO_MSG_OK:
		return msg;
	case PROTO_MSG_IO:
		io_why(why, wlen, timeout_s);
		break;
	case PROTO_MSG_SIZE:
		snprintf(why, wlen, "a garbled reply: a message of %u bytes", len);
		break;
	case PROTO_MSG_NOMEM:
		snprintf(why, wlen, "no memory for a reply of %u bytes", len);
		break;
	case PROTO_MSG_GARBLED:
		snprintf(why, wlen, "a garbled reply: not protocol version %d JSON", PROTO_VERSION);
		break;
	}
	return NULL;
}

/* Send MSG (not consumed) on FD before DEADLINE. 0, or -1 with WHY filled. */
static int send_msg(int fd, const cJSON *msg, int64_t deadline, char *why, size_t wlen)
{
	int timeout_s = (left_ms(deadline) + 999) / 1000;
	char *text = cJSON_PrintUnformatted(msg);
	int ret;

	if (!text) {
		snprintf(why, wlen, "out of memory");
		return -1;
	}
	ret = proto_send(fd, text, strlen(text), left_ms(deadline));
	if (ret < 0)
		io_why(why, wlen, timeout_s);
	free(text);
	return ret;
}

static cJSON *new_msg(long id, const char *cmd)
{
	cJSON *m = cJSON_CreateObject();

	cJSON_AddNumberToObject(m, "v", PROTO_VERSION);
	cJSON_AddNumberToObject(m, "id", (double)id);
	if (cmd)
		cJSON_AddStringToObject(m, "cmd", cmd);
	return m;
}

/* Who memtrace is, in a hello or its reply. */
static void add_identity(const struct inj_link *l, cJSON *m)
{
	cJSON_AddStringToObject(m, "role", "memtrace");
	cJSON_AddStringToObject(m, "version", MEMTRACE_VERSION);
	cJSON_AddNumberToObject(m, "pid", l->pid);
	cJSON_AddStringToObject(m, "program", l->program);
	cJSON_AddStringToObject(m, "host", l->host);
}

struct inj_link *inj_link_new(const struct inj_link_opts *opts, int pid, const char *program)
{
	struct inj_link *l;

	if (opts->mode == INJ_LINK_NONE)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->opts = *opts;
	l->opts.token = opts->token ? xstrdup(opts->token) : NULL;
	l->pid = pid;
	l->program = xstrdup(program ? program : "?");
	if (gethostname(l->host, sizeof(l->host) - 1) < 0)
		snprintf(l->host, sizeof(l->host), "?");
	net_hostport_str(&opts->addr, l->where, sizeof(l->where));
	l->fd = -1;
	l->lfd = -1;
	l->how = "";
	l->next_id = 1;
	return l;
}

/*
 * --connect/--multicast: find the server, connect within CONNECT_MS (after
 * at most DISCOVER_MS of discovery) and say hello. 0 linked, or -1 with
 * l->why saying why not.
 */
static int dial(struct inj_link *l, int discover_ms, int connect_ms)
{
	struct inj_found found[INJ_FOUND_MAX];
	char err[400], first[400] = "", why[128];
	int64_t deadline;
	int nfound = 1, fd = -1;
	const char *text;
	cJSON *m;

	l->last_try = proto_now_ms();
	l->how = "";
	if (l->opts.mode == INJ_LINK_MULTICAST) {
		nfound = inj_discover(&l->opts.addr, discover_ms, found, err, sizeof(err));
		if (nfound < 0) {
			snprintf(l->why, sizeof(l->why), "%s", err);
			return -1;
		}
		l->how = ", found by multicast";
	}
	deadline = proto_now_ms() + connect_ms;
	/* Answers from one server on several networks: the first it listens on wins. */
	for (int i = 0; i < nfound && fd < 0; i++) {
		const struct net_hostport *hp = l->opts.mode == INJ_LINK_MULTICAST ? &found[i].server : &l->opts.addr;

		if (l->opts.mode == INJ_LINK_MULTICAST)
			log_info("memtrace-server %s answered the discovery from %s:%s%s", found[i].version, hp->host,
				 hp->port, found[i].token ? " (it wants a token)" : "");
		net_hostport_str(hp, l->peer, sizeof(l->peer));
		l->server = *hp;
		fd = net_connect(hp, left_ms(deadline), err, sizeof(err));
		if (fd < 0 && !first[0])
			snprintf(first, sizeof(first), "%s", err);
	}
	if (fd < 0) {
		snprintf(l->why, sizeof(l->why), "%s", first);
		return -1;
	}
	m = new_msg(1, "hello");
	add_identity(l, m);
	if (l->opts.token)
		cJSON_AddStringToObject(m, "token", l->opts.token);
	if (send_msg(fd, m, deadline, why, sizeof(why)) < 0) {
		cJSON_Delete(m);
		snprintf(l->why, sizeof(l->why), "hello to memtrace-server at %s: %s", l->peer, why);
		goto out_close;
	}
	cJSON_Delete(m);
	m = read_msg(fd, deadline, PROTO_LINK_MAX_HELLO, why, sizeof(why));
	if (!m) {
		snprintf(l->why, sizeof(l->why), "no proper answer to the hello from %s: %s%s", l->peer, why,
			 !strncmp(why, "a garbled", 9) ? " (is a memtrace-server there?)" : "");
		goto out_close;
	}
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "ok"))) {
		text = inj_json_str(m, "error", "no reason given");
		snprintf(l->why, sizeof(l->why), "memtrace-server at %s refused the link: %s%s", l->peer, text,
			 !strncmp(text, "token refused", 13) && !l->opts.token
				 ? " (give memtrace the server's token: --token or --token-file)"
				 : "");
		goto out_delete;
	}
	text = inj_json_str(m, "role", "");
	if (strcmp(text, "server")) {
		snprintf(l->why, sizeof(l->why), "the peer at %s is not a memtrace-server (its role is '%s')", l->peer,
			 text);
		goto out_delete;
	}
	snprintf(l->version, sizeof(l->version), "%s", inj_json_str(m, "version", "?"));
	/* A server before 0.3 gives none: its channels then wait among those of every link. */
	snprintf(l->link_id, sizeof(l->link_id), "%s",
		 net_channel_valid(inj_json_str(m, "link", NULL)) ? inj_json_str(m, "link", NULL) : "");
	cJSON_Delete(m);
	l->fd = fd;
	l->next_id = 2;
	l->ever_linked = 1;
	return 0;
out_delete:
	cJSON_Delete(m);
out_close:
	close(fd);
	return -1;
}

int inj_link_start(struct inj_link *l, int budget_ms)
{
	int discover_ms = DISCOVER_MS, connect_ms = HELLO_TIMEOUT_MS;
	char err[400];

	if (!l)
		return 0;
	if (l->opts.mode == INJ_LINK_LISTEN) {
		l->lfd = net_listen(&l->opts.addr, err, sizeof(err));
		if (l->lfd < 0) {
			snprintf(l->why, sizeof(l->why), "%s", err);
			log_warn("%s; reports are not decoded", err);
			return -1;
		}
		/* The real port, when :0 asked for any. */
		snprintf(l->opts.addr.port, sizeof(l->opts.addr.port), "%d", net_local_port(l->lfd));
		net_hostport_str(&l->opts.addr, l->where, sizeof(l->where));
		if (log_get_level() >= LOG_WARN) {
			fprintf(stderr, "memtrace: listening on %s for memtrace-server to dial in (memtrace-server -c)\n",
				l->where);
			fflush(stderr);
		}
		return 0;
	}
	if (budget_ms >= 0) {
		/* Start mode: the program waits in the agent meanwhile, for a limited time. */
		if (discover_ms > budget_ms / 3)
			discover_ms = budget_ms / 3;
		if (connect_ms > budget_ms - (l->opts.mode == INJ_LINK_MULTICAST ? discover_ms : 0))
			connect_ms = budget_ms - (l->opts.mode == INJ_LINK_MULTICAST ? discover_ms : 0);
	}
	if (dial(l, discover_ms, connect_ms) < 0) {
		log_warn("%s; reports are not decoded (memtrace tries again at the next report, every %d s at most)",
			 l->why, RETRY_EVERY_MS / 1000);
		return -1;
	}
	log_info("linked to memtrace-server %s at %s%s: reports are decoded", l->version, l->peer, l->how);
	return 0;
}

/* The link broke (WHY): say so once, close it, and go on raw. */
static void link_lost(struct inj_link *l, const char *why)
{
	close(l->fd);
	l->fd = -1;
	snprintf(l->why, sizeof(l->why), "memtrace-server at %s is gone (%s)", l->peer, why);
	if (l->opts.mode == INJ_LINK_LISTEN)
		log_warn("%s; reports are not decoded from now on, until a server dials in again", l->why);
	else
		log_warn("%s; reports are not decoded from now on (memtrace tries again at the next report, "
			 "every %d s at most)", l->why, RETRY_EVERY_MS / 1000);
}

/* --connect/--multicast, unlinked: try again when the last try is old enough. */
static void relink(struct inj_link *l)
{
	int before = l->ever_linked;

	if (l->fd >= 0 || l->opts.mode == INJ_LINK_LISTEN || proto_now_ms() - l->last_try < RETRY_EVERY_MS)
		return;
	if (dial(l, DISCOVER_MS, RETRY_CONNECT_MS) < 0) {
		log_info("still no memtrace-server: %s", l->why);
		return;
	}
	log_warn("%s memtrace-server %s at %s%s: reports are decoded from now on",
		 before ? "linked again to" : "linked to", l->version, l->peer, l->how);
}

cJSON *inj_link_decode(struct inj_link *l, const cJSON *report)
{
	int64_t deadline = proto_now_ms() + DECODE_TIMEOUT_MS;
	cJSON *req, *msg, *dec;
	char why[128];
	long id;
	char *text;
	size_t len;
	int ret;

	if (!l)
		return NULL;
	relink(l);
	if (l->fd < 0)
		return NULL;
	id = l->next_id++;
	req = new_msg(id, "decode");
	/* A reference: the report is not copied for the request. */
	cJSON_AddItemReferenceToObject(req, "report", (cJSON *)report);
	text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!text) {
		log_warn("no memory to send the report to memtrace-server: printed raw");
		return NULL;
	}
	len = strlen(text);
	if (len > PROTO_LINK_MAX_REQUEST) {
		free(text);
		log_warn("the report is too large for memtrace-server (%zu bytes, at most %u): printed raw "
			 "(report -c N sends fewer contexts)", len, PROTO_LINK_MAX_REQUEST);
		return NULL;
	}
	ret = proto_send(l->fd, text, len, left_ms(deadline));
	free(text);
	if (ret < 0) {
		io_why(why, sizeof(why), DECODE_TIMEOUT_MS / 1000);
		link_lost(l, why);
		return NULL;
	}
	for (;;) {
		msg = read_msg(l->fd, deadline, PROTO_LINK_MAX_REPLY, why, sizeof(why));
		if (!msg) {
			link_lost(l, why);
			return NULL;
		}
		if (inj_json_num_int(msg, "id") == id || inj_json_num_int(msg, "id") == 0)
			break;
		cJSON_Delete(msg); /* not ours: nothing else is asked, so the server's own business */
	}
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "ok"))) {
		log_warn("memtrace-server could not decode the report: %s; printed raw",
			 inj_json_str(msg, "error", "no reason given"));
		cJSON_Delete(msg);
		return NULL;
	}
	dec = cJSON_DetachItemFromObjectCaseSensitive(msg, "report");
	cJSON_Delete(msg);
	if (!cJSON_IsObject(dec) || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(dec, "contexts"))) {
		cJSON_Delete(dec);
		link_lost(l, "a garbled reply: no report in it");
		return NULL;
	}
	return dec;
}

int inj_link_linked(struct inj_link *l)
{
	if (!l)
		return 0;
	relink(l);
	return l->fd >= 0;
}

long inj_link_send(struct inj_link *l, const char *cmd, cJSON *args)
{
	cJSON *req = args ? args : cJSON_CreateObject();
	long id = l->next_id++;
	char why[128];
	int ret;

	if (l->fd < 0) {
		cJSON_Delete(req);
		return log_err("%s: not linked to memtrace-server (%s)", cmd, l->why);
	}
	cJSON_AddNumberToObject(req, "v", PROTO_VERSION);
	cJSON_AddNumberToObject(req, "id", (double)id);
	cJSON_AddStringToObject(req, "cmd", cmd);
	ret = send_msg(l->fd, req, proto_now_ms() + DECODE_TIMEOUT_MS, why, sizeof(why));
	cJSON_Delete(req);
	if (ret < 0) {
		link_lost(l, why);
		return log_err("%s: memtrace-server is gone", cmd);
	}
	return id;
}

cJSON *inj_link_wait(struct inj_link *l, long id, int timeout_ms)
{
	int64_t deadline = proto_now_ms() + timeout_ms;
	char why[128];
	cJSON *msg;

	if (l->fd < 0)
		return log_err_null("memtrace-server is gone (%s)", l->why);
	for (;;) {
		msg = read_msg(l->fd, deadline, PROTO_LINK_MAX_REPLY, why, sizeof(why));
		if (!msg) {
			link_lost(l, why);
			return log_err_null("memtrace-server did not answer: %s", why);
		}
		if (inj_json_num_int(msg, "id") == id || inj_json_num_int(msg, "id") == 0)
			return msg;
		cJSON_Delete(msg);
	}
}

int inj_link_channel(struct inj_link *l, char *key, size_t klen)
{
	int64_t deadline = proto_now_ms() + HELLO_TIMEOUT_MS;
	char err[400], why[128];
	cJSON *m;
	int fd;

	if (l->fd < 0)
		return log_err("not linked to memtrace-server (%s)", l->why);
	if (l->opts.mode == INJ_LINK_LISTEN)
		return log_err("cores and gdb need a link that memtrace dialed (--connect or --multicast); with "
			       "--listen, copy the core to the host and run memtrace-server --core there");
	if (net_channel_new(key, klen) < 0)
		return log_err("no random key for a channel: %s", strerror(errno));
	fd = net_connect(&l->server, HELLO_TIMEOUT_MS, err, sizeof(err));
	if (fd < 0)
		return log_err("a second connection to memtrace-server: %s", err);
	m = new_msg(1, "hello");
	add_identity(l, m);
	cJSON_AddStringToObject(m, "channel", key);
	if (l->link_id[0])
		cJSON_AddStringToObject(m, "link", l->link_id);
	if (l->opts.token)
		cJSON_AddStringToObject(m, "token", l->opts.token);
	if (send_msg(fd, m, deadline, why, sizeof(why)) < 0) {
		cJSON_Delete(m);
		goto fail;
	}
	cJSON_Delete(m);
	m = read_msg(fd, deadline, PROTO_LINK_MAX_HELLO, why, sizeof(why));
	if (!m)
		goto fail;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "ok"))) {
		snprintf(why, sizeof(why), "%s", inj_json_str(m, "error", "refused"));
		cJSON_Delete(m);
		goto fail;
	}
	cJSON_Delete(m);
	return fd;
fail:
	close(fd);
	return log_err("a channel to memtrace-server at %s: %s", l->peer, why);
}

const char *inj_link_describe(const struct inj_link *l, char *buf, size_t len)
{
	if (!l)
		snprintf(buf, len, "none (reports raw)");
	else if (l->fd >= 0)
		snprintf(buf, len, "memtrace-server %s at %s%s (reports decoded)", l->version, l->peer, l->how);
	else if (l->opts.mode == INJ_LINK_LISTEN && l->lfd >= 0)
		snprintf(buf, len, "waiting on %s for memtrace-server to dial in (reports raw)", l->where);
	else if (l->opts.mode == INJ_LINK_LISTEN)
		snprintf(buf, len, "none (reports raw): %s", l->why);
	else
		snprintf(buf, len, "none (reports raw): %s; memtrace tries again at the next report", l->why);
	return buf;
}

static void dialin_close(struct inj_link *l, int i)
{
	if (l->dialins[i].fd >= 0)
		close(l->dialins[i].fd);
	free(l->dialins[i].body);
	l->dialins[i] = l->dialins[--l->ndialins];
}

/*
 * Refuse dial-in D's hello (id ID) with an error reply saying TEXT. A
 * server started with -c dials again every second: the same refusal of the
 * same host is a warning once a minute, else an info line.
 */
static void refuse(struct inj_link *l, struct dialin *d, long id, const char *text)
{
	cJSON *m = new_msg(id, NULL);
	int64_t now = proto_now_ms();
	char why[128], what[400];
	const char *colon = strrchr(d->name, ':');

	cJSON_AddFalseToObject(m, "ok");
	cJSON_AddStringToObject(m, "error", text);
	send_msg(d->fd, m, now + SMALL_REPLY_MS, why, sizeof(why));
	cJSON_Delete(m);
	snprintf(what, sizeof(what), "%.*s %s", colon ? (int)(colon - d->name) : (int)strlen(d->name), d->name,
		 text);
	if (!strcmp(what, l->last_refusal) && now - l->last_refusal_ms < REFUSAL_QUIET_MS) {
		log_info("refused memtrace-server at %s: %s", d->name, text);
		return;
	}
	snprintf(l->last_refusal, sizeof(l->last_refusal), "%s", what);
	l->last_refusal_ms = now;
	log_warn("refused memtrace-server at %s: %s", d->name, text);
}

/* Dial-in I's hello has arrived: take its socket as the link, or refuse it. Dial-in I is gone after. */
static void dialin_hello(struct inj_link *l, int i)
{
	struct dialin *d = &l->dialins[i];
	cJSON *h = cJSON_ParseWithLength(d->body, d->len);
	const cJSON *token = cJSON_GetObjectItemCaseSensitive(h, "token");
	long id = cJSON_IsObject(h) ? inj_json_num_int(h, "id") : 0;
	char text[400], why[128];
	cJSON *m;

	if (id < 0)
		id = 0;
	if (!cJSON_IsObject(h) || inj_json_num_int(h, "v") != PROTO_VERSION) {
		refuse(l, d, id, "not a protocol version 1 hello");
	} else if (strcmp(inj_json_str(h, "cmd", ""), "hello")) {
		snprintf(text, sizeof(text), "say hello first (got '%s')", inj_json_str(h, "cmd", "?"));
		refuse(l, d, id, text);
	} else if (strcmp(inj_json_str(h, "role", ""), "server")) {
		snprintf(text, sizeof(text), "role refused: memtrace links with memtrace-server, not with '%s'",
			 inj_json_str(h, "role", "?"));
		refuse(l, d, id, text);
	} else if (l->opts.token &&
		   !net_token_equal(l->opts.token, cJSON_IsString(token) ? token->valuestring : NULL,
				    cJSON_IsString(token) ? strlen(token->valuestring) : 0)) {
		refuse(l, d, id, cJSON_IsString(token) ? "token refused: not this memtrace's token"
						    : "token refused: this memtrace wants a token (--token)");
	} else if (l->fd >= 0) {
		snprintf(text, sizeof(text), "busy: memtrace is already linked to memtrace-server at %s", l->peer);
		refuse(l, d, id, text);
	} else {
		m = new_msg(id, NULL);
		cJSON_AddTrueToObject(m, "ok");
		add_identity(l, m);
		if (send_msg(d->fd, m, proto_now_ms() + SMALL_REPLY_MS, why, sizeof(why)) < 0) {
			log_warn("memtrace-server at %s dialed in, but the reply to its hello failed: %s", d->name, why);
		} else {
			l->fd = d->fd;
			d->fd = -1; /* the link's now */
			snprintf(l->peer, sizeof(l->peer), "%s", d->name);
			snprintf(l->version, sizeof(l->version), "%s", inj_json_str(h, "version", "?"));
			l->how = ", dialed in";
			l->next_id = 1;
			l->ever_linked = 1;
			log_warn("memtrace-server %s at %s dialed in: reports are decoded from now on", l->version,
				 l->peer);
		}
		cJSON_Delete(m);
	}
	cJSON_Delete(h);
	dialin_close(l, i);
}

/* Read what dial-in I has sent. 1: its hello is whole; 0: more to come; -1: it is closed (dropped). */
static int dialin_read(struct inj_link *l, int i)
{
	struct dialin *d = &l->dialins[i];

	for (;;) {
		unsigned char *dst;
		size_t want;
		ssize_t n;

		if (d->got < PROTO_HEADER_SIZE) {
			dst = d->hdr + d->got;
			want = PROTO_HEADER_SIZE - d->got;
		} else {
			if (!d->body) {
				d->len = proto_header_len(d->hdr);
				if (d->len == 0 || d->len > PROTO_LINK_MAX_HELLO) {
					refuse(l, d, 0, "a hello of a size memtrace does not take");
					dialin_close(l, i);
					return -1;
				}
				d->body = xmalloc(d->len + 1);
			}
			want = d->len - (d->got - PROTO_HEADER_SIZE);
			if (!want)
				return 1;
			dst = (unsigned char *)d->body + (d->got - PROTO_HEADER_SIZE);
		}
		n = recv(d->fd, dst, want, MSG_DONTWAIT);
		if (n > 0) {
			d->got += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		log_info("a dial-in from %s closed before its hello", d->name);
		dialin_close(l, i);
		return -1;
	}
}

static void accept_dialins(struct inj_link *l)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int one = 1, fd = accept4(l->lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct dialin *d;
		char name[64];

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* The dial-in stays queued; polling lfd now would spin. */
				log_warn("accept on %s: %s: not accepting for 1 s", l->where, strerror(errno));
				l->accept_paused_until = proto_now_ms() + 1000;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				log_info("accept on %s: %s", l->where, strerror(errno));
			}
			return;
		}
		net_sockaddr_str((struct sockaddr *)&ss, sl, name, sizeof(name));
		if (l->ndialins == MAX_DIALINS) {
			log_warn("a dial-in from %s closed at once: %d others have not said hello yet", name,
				 MAX_DIALINS);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		d = &l->dialins[l->ndialins++];
		memset(d, 0, sizeof(*d));
		d->fd = fd;
		d->deadline = proto_now_ms() + DIALIN_HELLO_MS;
		snprintf(d->name, sizeof(d->name), "%s", name);
		log_info("dial-in from %s", name);
	}
}

/* The linked socket is readable with no request out: the server closed, or sent something unasked. */
static void link_readable(struct inj_link *l)
{
	char c, why[128];
	ssize_t n = recv(l->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	cJSON *m;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		if (n == 0)
			errno = ECONNRESET;
		io_why(why, sizeof(why), 0);
		link_lost(l, why);
		return;
	}
	m = read_msg(l->fd, proto_now_ms() + SMALL_REPLY_MS, PROTO_LINK_MAX_REPLY, why, sizeof(why));
	if (!m) {
		link_lost(l, why);
		return;
	}
	log_debug("memtrace-server sent a message nobody asked for; ignored");
	cJSON_Delete(m);
}

int inj_link_pollfds(struct inj_link *l, struct pollfd *pfd, int64_t now_ms, int *timeout_ms)
{
	int n = 0;

	if (!l)
		return 0;
	if (l->fd >= 0)
		pfd[n++] = (struct pollfd){ .fd = l->fd, .events = POLLIN };
	if (l->lfd >= 0 && now_ms >= l->accept_paused_until)
		pfd[n++] = (struct pollfd){ .fd = l->lfd, .events = POLLIN };
	else if (l->lfd >= 0 && (*timeout_ms < 0 || l->accept_paused_until - now_ms < *timeout_ms))
		*timeout_ms = (int)(l->accept_paused_until - now_ms);
	for (int i = 0; i < l->ndialins; i++) {
		int64_t left = l->dialins[i].deadline - now_ms;

		pfd[n++] = (struct pollfd){ .fd = l->dialins[i].fd, .events = POLLIN };
		if (left < 0)
			left = 0;
		if (*timeout_ms < 0 || left < *timeout_ms)
			*timeout_ms = (int)left;
	}
	return n;
}

void inj_link_serve(struct inj_link *l, const struct pollfd *pfd, int n)
{
	int64_t now = proto_now_ms();

	if (!l)
		return;
	for (int k = 0; k < n; k++) {
		if (!pfd[k].revents)
			continue;
		if (pfd[k].fd == l->fd) {
			link_readable(l);
		} else if (pfd[k].fd == l->lfd) {
			accept_dialins(l);
		} else {
			for (int i = 0; i < l->ndialins; i++) {
				if (l->dialins[i].fd == pfd[k].fd) {
					if (dialin_read(l, i) == 1)
						dialin_hello(l, i);
					break;
				}
			}
		}
	}
	for (int i = l->ndialins - 1; i >= 0; i--) {
		if (now >= l->dialins[i].deadline) {
			log_warn("a dial-in from %s said no hello within %d s: closed", l->dialins[i].name,
				 DIALIN_HELLO_MS / 1000);
			dialin_close(l, i);
		}
	}
}

void inj_link_free(struct inj_link *l)
{
	char why[128];

	if (!l)
		return;
	if (l->fd >= 0) {
		int64_t deadline = proto_now_ms() + SMALL_REPLY_MS;
		cJSON *m = new_msg(l->next_id++, "bye");

		/* The reply is only waited for so that the server reads the bye before the close. */
		if (send_msg(l->fd, m, deadline, why, sizeof(why)) == 0)
			cJSON_Delete(read_msg(l->fd, deadline, PROTO_LINK_MAX_REPLY, why, sizeof(why)));
		cJSON_Delete(m);
		close(l->fd);
	}
	while (l->ndialins)
		dialin_close(l, 0);
	if (l->lfd >= 0)
		close(l->lfd);
	free(l->opts.token);
	free(l->program);
	free(l);
}
