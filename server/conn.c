/*
 * One link's protocol (conn.h): framing errors, the hello in both
 * directions, then requests handed to server/request.c. Every error the
 * peer causes gets an error reply where the stream allows one, and a
 * warning naming the peer.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "msgin.h"
#include "net.h"
#include "outq.h"
#include "request.h"
#include "util.h"

struct srv_conn {
	const struct srv_conn_config *cfg;
	char name[64];
	struct srv_msgin in;
	struct srv_outq out;
	unsigned flags;
	/* Bytes of the shared budget held: for the request being read and handled, for the replies queued. */
	size_t req_held, reply_held;
	char channel[NET_CHANNEL_MAX + 1]; /* SRV_CONN_CHANNEL: its key */
	char channel_link[NET_CHANNEL_MAX + 1]; /* SRV_CONN_CHANNEL: the link it names, or "" */
	char link[NET_CHANNEL_KEY + 1];	      /* listener, hello done: the id its peer was given */
	void *user;
	struct srv_request_job *job; /* with the offload, not back yet */
};

static size_t max_request(const struct srv_conn_config *cfg)
{
	return cfg->max_request ? cfg->max_request : PROTO_LINK_MAX_REQUEST;
}

/* Take COST bytes of the budget into *HELD for a message of SIZE bytes (small ones take none). 0 or -1. */
static int take(struct srv_conn *c, size_t size, size_t cost, int force, size_t *held)
{
	if (size <= (c->cfg->large ? c->cfg->large : SRV_LINK_LARGE) || !c->cfg->reserve)
		return 0;
	if (c->cfg->reserve(c->cfg->ctx, cost, force) < 0)
		return -1;
	*held += cost;
	return 0;
}

static void give(struct srv_conn *c, size_t *held)
{
	if (*held && c->cfg->release)
		c->cfg->release(c->cfg->ctx, *held);
	*held = 0;
}

/*
 * A request being read and handled is counted at SRV_LINK_COST times its
 * size: the decoded reply is about three times the request, and while it
 * is made the request's parse tree is alive too. The reply, once made,
 * holds its own size until written.
 */
static int take_request(struct srv_conn *c, uint32_t size)
{
	return take(c, size, (size_t)size * SRV_LINK_COST, 0, &c->req_held);
}

static void queue_text(struct srv_conn *c, char *text, size_t len, double id);

/* Queue MSG (deleted here). */
static void queue(struct srv_conn *c, cJSON *msg)
{
	const cJSON *jid = cJSON_GetObjectItemCaseSensitive(msg, "id");
	double id = cJSON_IsNumber(jid) ? jid->valuedouble : 0;
	char *text = cJSON_PrintUnformatted(msg);

	cJSON_Delete(msg);
	queue_text(c, text, text ? strlen(text) : 0, id);
}

/* Queue the reply TEXT (LEN bytes, malloc'ed, taken; NULL: out of memory) to request ID. */
static void queue_text(struct srv_conn *c, char *text, size_t len, double id)
{
	cJSON *msg;

	if (text && len > PROTO_LINK_MAX_REPLY) {
		free(text);
		log_warn("%s: a reply of %zu bytes, over the limit of %u MiB: not sent", c->name, len,
			 PROTO_LINK_MAX_REPLY >> 20);
		msg = srv_reply_error(id, "the reply would be larger than %u MiB, the most a message may hold",
				      PROTO_LINK_MAX_REPLY >> 20);
		text = cJSON_PrintUnformatted(msg);
		len = text ? strlen(text) : 0;
		cJSON_Delete(msg);
	}
	if (!text)
		log_oom();
	take(c, len, len, 1, &c->reply_held);
	srv_outq_push(&c->out, text, len);
}

/* Queue MSG (deleted here); an error reply is logged as a warning naming the peer. */
static void send_msg(struct srv_conn *c, cJSON *msg)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(msg, "error");
	char buf[600];

	if (cJSON_IsString(error))
		log_warn("%s: %s", c->name, srv_printable(error->valuestring, buf, sizeof(buf)));
	queue(c, msg);
}

struct srv_conn *srv_conn_new(const struct srv_conn_config *cfg, const char *name)
{
	struct srv_conn *c = xcalloc(1, sizeof(*c));

	c->cfg = cfg;
	snprintf(c->name, sizeof(c->name), "%s", name);
	srv_msgin_init(&c->in, PROTO_LINK_MAX_HELLO);
	srv_outq_init(&c->out);
	if (cfg->dialer) {
		cJSON *h = srv_reply_new(1, 1);

		/* A request, not a reply: the same members but "cmd" for "ok". */
		cJSON_DeleteItemFromObjectCaseSensitive(h, "ok");
		cJSON_AddStringToObject(h, "cmd", "hello");
		cJSON_AddStringToObject(h, "role", "server");
		cJSON_AddStringToObject(h, "version", MEMTRACE_VERSION);
		if (cfg->token)
			cJSON_AddStringToObject(h, "token", cfg->token);
		queue(c, h);
	}
	return c;
}

void srv_conn_free(struct srv_conn *c)
{
	if (!c)
		return;
	if (c->job)
		c->job->owner = NULL; /* the runner frees it when done */
	give(c, &c->req_held);
	give(c, &c->reply_held);
	srv_msgin_release(&c->in);
	srv_outq_clear(&c->out);
	free(c);
}

const char *srv_conn_name(const struct srv_conn *c)
{
	return c->name;
}

/* TEXT (LEN bytes, NUL after them) as one JSON object, or NULL with the error reply queued. */
static cJSON *parse(struct srv_conn *c, const char *text, size_t len)
{
	cJSON *error, *msg = srv_request_parse(text, len, &error);

	if (!msg)
		send_msg(c, error);
	return msg;
}

/* A number member as a reply id: the request's, or 0. */
static double id_of(const cJSON *msg)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");

	return cJSON_IsNumber(id) ? id->valuedouble : 0;
}

static const char *str_of(const cJSON *msg, const char *name)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(msg, name);

	return cJSON_IsString(s) ? s->valuestring : NULL;
}

static void hello_done(struct srv_conn *c)
{
	c->flags |= SRV_CONN_HELLO_DONE;
	srv_msgin_set_limit(&c->in, max_request(c->cfg));
}

/* A hello the server's ADMIT refuses (conn.h): the refusal is the reply, and the connection closes. */
static int refused(struct srv_conn *c, double id)
{
	const char *why = c->cfg->admit ? c->cfg->admit(c->cfg->ctx, c) : NULL;

	if (!why)
		return 0;
	log_warn("%s: %s: refused", c->name, why);
	c->flags |= SRV_CONN_CLOSE;
	queue(c, srv_reply_error(id, "%s", why));
	return 1;
}

/* Listener: the peer's hello, checked; an error reply closes. */
static void hello_from_peer(struct srv_conn *c, const cJSON *msg, double id)
{
	const char *role = str_of(msg, "role"), *token = str_of(msg, "token");
	char b1[80], b2[160], b3[80];
	const cJSON *pid;
	cJSON *r;

	c->flags |= SRV_CONN_CLOSE; /* unless accepted */
	if (!role || strcmp(role, "memtrace")) {
		log_info("%s: hello refused: role '%s'", c->name, srv_printable(role, b1, sizeof(b1)));
		queue(c, srv_reply_error(id, "role refused: this is memtrace-server, it serves memtrace, not '%s'",
					    srv_printable(role, b1, sizeof(b1))));
		return;
	}
	if (c->cfg->token && !net_token_equal(c->cfg->token, token, token ? strlen(token) : 0)) {
		log_info("%s: hello refused: %s", c->name, token ? "wrong token" : "no token");
		queue(c, srv_reply_error(id, token ? "token refused: not this server's token"
						      : "token refused: this server wants a token (--token or --token-file)"));
		return;
	}
	c->flags &= ~SRV_CONN_CLOSE;
	if (cJSON_HasObjectItem(msg, "channel")) {
		const char *key = str_of(msg, "channel");

		if (!net_channel_valid(key)) {
			c->flags |= SRV_CONN_CLOSE;
			queue(c, srv_reply_error(id, "channel refused: its key must be 16 to %d hex digits",
						    NET_CHANNEL_MAX));
			return;
		}
		if (cJSON_HasObjectItem(msg, "link") && !net_channel_valid(str_of(msg, "link"))) {
			c->flags |= SRV_CONN_CLOSE;
			queue(c, srv_reply_error(id, "channel refused: its link must be the id of the link's hello reply"));
			return;
		}
		snprintf(c->channel, sizeof(c->channel), "%s", key);
		snprintf(c->channel_link, sizeof(c->channel_link), "%s", str_of(msg, "link") ? str_of(msg, "link") : "");
		if (refused(c, id))
			return;
		c->flags |= SRV_CONN_CHANNEL | SRV_CONN_HELLO_DONE;
		log_debug("%s: channel %s", c->name, c->channel);
		queue(c, srv_reply_new(id, 1));
		return;
	}
	if (refused(c, id))
		return;
	if (net_channel_new(c->link, sizeof(c->link)) < 0) {
		c->flags |= SRV_CONN_CLOSE;
		log_warn("%s: no random id for the link: %s", c->name, strerror(errno));
		queue(c, srv_reply_error(id, "the server has no random numbers for the link's id: try again"));
		return;
	}
	hello_done(c);
	pid = cJSON_GetObjectItemCaseSensitive(msg, "pid");
	log_info("%s: hello accepted: memtrace %s, pid %.0f (%s) on %s", c->name,
		 srv_printable(str_of(msg, "version"), b1, sizeof(b1)), cJSON_IsNumber(pid) ? pid->valuedouble : 0,
		 srv_printable(str_of(msg, "program"), b2, sizeof(b2)), srv_printable(str_of(msg, "host"), b3, sizeof(b3)));
	r = srv_reply_new(id, 1);
	cJSON_AddStringToObject(r, "role", "server");
	cJSON_AddStringToObject(r, "version", MEMTRACE_VERSION);
	cJSON_AddStringToObject(r, "link", c->link);
	queue(c, r);
}

/* Dialer: the listener's answer to our hello. Nothing is sent back; a refusal closes. */
static void hello_reply(struct srv_conn *c, const cJSON *msg)
{
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(msg, "ok");
	const char *role = str_of(msg, "role");
	char b1[300], b2[160], b3[80];

	if (!cJSON_IsBool(ok)) {
		log_warn("%s: the answer to our hello is no reply: closing", c->name);
	} else if (!cJSON_IsTrue(ok)) {
		log_warn("%s: the hello was refused: %s%s", c->name,
			 srv_printable(str_of(msg, "error"), b1, sizeof(b1)),
			 !c->cfg->token && !strncmp(str_of(msg, "error") ? str_of(msg, "error") : "", "token", 5)
				 ? " (give memtrace-server the token: --token or --token-file)"
				 : "");
	} else if (!role || strcmp(role, "memtrace")) {
		log_warn("%s: the peer is no memtrace (its role is '%s'): closing", c->name,
			 srv_printable(role, b1, sizeof(b1)));
	} else {
		const cJSON *pid = cJSON_GetObjectItemCaseSensitive(msg, "pid");

		hello_done(c);
		log_info("%s: linked: memtrace %s, pid %.0f (%s) on %s", c->name,
			 srv_printable(str_of(msg, "version"), b3, sizeof(b3)), cJSON_IsNumber(pid) ? pid->valuedouble : 0,
			 srv_printable(str_of(msg, "program"), b2, sizeof(b2)),
			 srv_printable(str_of(msg, "host"), b1, sizeof(b1)));
		return;
	}
	c->flags |= SRV_CONN_CLOSE;
}

static struct srv_request_limits limits(const struct srv_conn *c)
{
	return (struct srv_request_limits){
		.max_contexts = c->cfg->max_contexts ? c->cfg->max_contexts : SRV_LINK_MAX_CONTEXTS,
		.max_frames = c->cfg->max_frames ? c->cfg->max_frames : SRV_LINK_MAX_FRAMES,
	};
}

/* Hand a job (its TEXT, or MSG) to the offload: the connection waits for it (SRV_CONN_BUSY). */
static void offload(struct srv_conn *c, char *text, size_t len, cJSON *msg)
{
	struct srv_request_job *j = xcalloc(1, sizeof(*j));

	j->text = text;
	j->len = len;
	j->msg = msg;
	j->lim = limits(c);
	j->owner = c;
	c->job = j;
	c->flags |= SRV_CONN_BUSY;
	c->cfg->offload(c->cfg->ctx, c, j);
}

/* A sample answered: to ON_SAMPLE, or dropped. */
static void took_sample(struct srv_conn *c, cJSON *sample)
{
	if (sample && c->cfg->on_sample)
		c->cfg->on_sample(c->cfg->ctx, c, sample);
	else
		cJSON_Delete(sample);
}

/* The message MSG (deleted here, or handed on). */
static void handle_msg(struct srv_conn *c, cJSON *msg)
{
	struct srv_request_limits lim = limits(c);
	cJSON *reply;
	const cJSON *v;
	const char *cmd;
	char b[80];
	double id;
	int end = 0;

	id = id_of(msg);
	if (c->cfg->dialer && !(c->flags & SRV_CONN_HELLO_DONE)) {
		hello_reply(c, msg);
		goto out;
	}
	if (cJSON_HasObjectItem(msg, "ok") && !cJSON_HasObjectItem(msg, "cmd")) {
		/* A reply, to nothing we sent: answering it could start an endless exchange of errors. */
		log_warn("%s: a reply (id %.0f) to no request of ours: ignored", c->name, id);
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(msg, "v");
	if (!cJSON_IsNumber(v) || v->valuedouble != 1) {
		if (cJSON_IsNumber(v))
			send_msg(c, srv_reply_error(id, "protocol version %g: this memtrace-server speaks version 1",
						    v->valuedouble));
		else
			send_msg(c, srv_reply_error(id, "no protocol version (\"v\": 1) in the message"));
		goto out;
	}
	cmd = str_of(msg, "cmd");
	if (!cmd) {
		send_msg(c, srv_reply_error(id, "no \"cmd\" in the request"));
		goto out;
	}
	if (!(c->flags & SRV_CONN_HELLO_DONE)) {
		if (!strcmp(cmd, "hello"))
			hello_from_peer(c, msg, id);
		else
			send_msg(c, srv_reply_error(id, "say hello first (got '%s')", srv_printable(cmd, b, sizeof(b))));
		goto out;
	}
	if (srv_request_is_work(cmd)) {
		if (!c->cfg->defer) {
			send_msg(c, srv_reply_error(id, "%s: this server does no gdb work", cmd));
			goto out;
		}
		reply = c->cfg->defer(c->cfg->ctx, c, msg, id, cmd);
		if (!reply) {
			c->flags |= SRV_CONN_BUSY;
			return; /* MSG was taken */
		}
		send_msg(c, reply);
		goto out;
	}
	if (c->cfg->offload && srv_request_offloads(cmd)) {
		offload(c, NULL, 0, msg);
		return; /* MSG was taken */
	}
	if (!strcmp(cmd, "sample")) {
		cJSON *sample;

		send_msg(c, srv_request_sample(c->cfg->decoder, &lim, msg, id, &sample));
		took_sample(c, sample);
		goto out;
	}
	reply = srv_request_answer(c->cfg->decoder, &lim, msg, id, cmd, &end);
	send_msg(c, reply);
	if (end) {
		log_info("%s: bye", c->name);
		c->flags |= SRV_CONN_CLOSE;
	}
out:
	cJSON_Delete(msg);
}

static void handle(struct srv_conn *c, const char *text, size_t len)
{
	cJSON *msg = parse(c, text, len);

	if (!msg) {
		if (c->cfg->dialer && !(c->flags & SRV_CONN_HELLO_DONE))
			c->flags |= SRV_CONN_CLOSE; /* the answer to our hello is garbage: no link */
		return;
	}
	handle_msg(c, msg);
}

/* 1 when the message just read, of LEN bytes, is parsed by the offload rather than here. */
static int offload_whole(const struct srv_conn *c, size_t len)
{
	return c->cfg->offload && len > SRV_LINK_INLINE && (c->flags & SRV_CONN_HELLO_DONE) &&
	       !(c->flags & SRV_CONN_CHANNEL);
}

void srv_conn_finish(struct srv_conn *c, struct srv_request_job *j)
{
	char buf[600];

	c->job = NULL;
	c->flags &= ~SRV_CONN_BUSY;
	if (j->msg) {
		/* Not a decode after all: answered here, as if it had been parsed here. */
		cJSON *msg = j->msg;

		j->msg = NULL;
		handle_msg(c, msg);
	} else {
		if (j->is_error)
			log_warn("%s: %s", c->name, srv_printable(j->why, buf, sizeof(buf)));
		queue_text(c, j->reply, j->reply_len, j->id);
		j->reply = NULL;
		took_sample(c, j->sample);
		j->sample = NULL;
	}
	srv_request_job_free(j);
	if (!(c->flags & SRV_CONN_BUSY))
		give(c, &c->req_held);
}

int srv_conn_wants_input(const struct srv_conn *c)
{
	return !(c->flags & (SRV_CONN_CLOSE | SRV_CONN_HELD | SRV_CONN_BUSY | SRV_CONN_CHANNEL)) &&
	       !srv_outq_bytes(&c->out);
}

void srv_conn_deliver(struct srv_conn *c, cJSON *reply)
{
	c->flags &= ~SRV_CONN_BUSY;
	send_msg(c, reply);
	give(c, &c->req_held);
}

const char *srv_conn_channel(const struct srv_conn *c)
{
	return c->channel;
}

const char *srv_conn_channel_link(const struct srv_conn *c)
{
	return c->channel_link;
}

const char *srv_conn_link(const struct srv_conn *c)
{
	return c->link;
}

void *srv_conn_user(const struct srv_conn *c)
{
	return c->user;
}

void srv_conn_set_user(struct srv_conn *c, void *user)
{
	c->user = user;
}

size_t srv_conn_input(struct srv_conn *c, const void *buf, size_t len)
{
	const char *p = buf;
	size_t used = 0;

	if (c->flags & SRV_CONN_HELD) {
		if (take_request(c, srv_msgin_length(&c->in)) < 0)
			return 0;
		c->flags &= ~SRV_CONN_HELD;
	}
	while (srv_conn_wants_input(c)) {
		enum srv_msgin_event ev;
		const char *body;
		size_t blen;

		used += srv_msgin_feed(&c->in, p + used, len - used, &ev);
		switch (ev) {
		case SRV_MSGIN_MORE:
			goto out;
		case SRV_MSGIN_HEADER:
			if (take_request(c, srv_msgin_length(&c->in)) < 0)
				c->flags |= SRV_CONN_HELD;
			break;
		case SRV_MSGIN_MESSAGE:
			if (offload_whole(c, srv_msgin_length(&c->in))) {
				char *text = srv_msgin_take_body(&c->in, &blen);

				offload(c, text, blen, NULL);
				break; /* its memory stays reserved until srv_conn_finish */
			}
			body = srv_msgin_body(&c->in, &blen);
			handle(c, body, blen);
			srv_msgin_next(&c->in);
			if (c->flags & SRV_CONN_BUSY)
				break; /* a decode is away: as above */
			if (c->req_held)
				/* Its parse trees were some 20 times its size, in small blocks: give them back. */
				malloc_trim(0);
			give(c, &c->req_held);
			break;
		case SRV_MSGIN_TOO_LARGE:
			if (!(c->flags & SRV_CONN_HELLO_DONE)) {
				/* Before the hello, nobody is known: a full request is not read for a stranger. */
				c->flags |= SRV_CONN_CLOSE;
				send_msg(c, srv_reply_error(0, "a message of %u bytes before the hello, which is at most %u: closing",
							    srv_msgin_length(&c->in), PROTO_LINK_MAX_HELLO));
			} else {
				send_msg(c, srv_reply_error(0, "a message of %u bytes, over the limit of %zu: skipped",
							    srv_msgin_length(&c->in), max_request(c->cfg)));
			}
			break;
		case SRV_MSGIN_NOMEM:
			give(c, &c->req_held);
			send_msg(c, srv_reply_error(0, "no memory for a message of %u bytes: skipped",
						    srv_msgin_length(&c->in)));
			break;
		case SRV_MSGIN_OUT_OF_STEP:
			c->flags |= SRV_CONN_CLOSE;
			send_msg(c, srv_reply_error(0, "a message of %u bytes: the stream is out of step (garbage?): closing",
						    srv_msgin_length(&c->in)));
			break;
		}
	}
out:
	return used;
}

void srv_conn_eof(struct srv_conn *c)
{
	if (srv_msgin_partial(&c->in))
		log_warn("%s: closed the connection in the middle of a message", c->name);
	else
		log_info("%s: closed the connection", c->name);
	c->flags |= SRV_CONN_CLOSE;
}

unsigned srv_conn_flags(const struct srv_conn *c)
{
	return c->flags | (srv_msgin_partial(&c->in) ? SRV_CONN_PARTIAL : 0);
}

size_t srv_conn_pending(const struct srv_conn *c)
{
	return srv_outq_bytes(&c->out);
}

int srv_conn_iov(const struct srv_conn *c, struct iovec *iov, int max)
{
	return srv_outq_iov(&c->out, iov, max);
}

void srv_conn_written(struct srv_conn *c, size_t n)
{
	srv_outq_consume(&c->out, n);
	if (!srv_outq_bytes(&c->out))
		give(c, &c->reply_held);
}
