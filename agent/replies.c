/*
 * Replies and events of the control connections, and each connection's
 * output queue.
 *
 * Output never blocks the control thread: what the socket does not take at
 * once waits in the client's queue and goes out as the client reads (the
 * control thread polls for it), so one client that reads slowly, or not at
 * all, holds up nobody else (it is hung up on after AGENT_SEND_TIMEOUT_MS).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "lock.h"
#include "proto.h"
#include "replies.h"

static agent_lock_t send_lock;
static struct agent_outq *session;	/* under send_lock */
static int session_pid;

/* Every message begins {"v": the protocol version, behind its header's room. */
static int message_begin(struct jsonw *w)
{
	if (jsonw_init(w, PROTO_HEADER_SIZE) < 0)
		return -1;
	jsonw_obj(w);
	jsonw_kv_i64(w, "v", PROTO_VERSION);
	return 0;
}

int agent_reply_begin(struct jsonw *w, int64_t id, int ok)
{
	if (message_begin(w) < 0)
		return -1;
	jsonw_kv_i64(w, "id", id);
	jsonw_kv_bool(w, "ok", ok);
	return 0;
}

int agent_event_begin(struct jsonw *w, const char *name)
{
	if (message_begin(w) < 0)
		return -1;
	jsonw_kv_str(w, "event", name);
	return 0;
}

/* Fill the length header reserved in front of W's text. */
static void frame_header(struct jsonw *w)
{
	size_t len = w->len - PROTO_HEADER_SIZE;

	proto_header_put((unsigned char *)w->buf, (uint32_t)len);
}

static void out_drop(struct agent_outq *q)
{
	while (q->nout > 0)
		jsonw_release(&q->out[--q->nout]);
	q->out_off = 0;
}

/*
 * Send what waits in Q, for at most WAIT_MS (0: what the socket takes
 * now). Under send_lock. 1 all out, 0 some still waits, -1 the connection
 * failed (its queue is dropped).
 */
static int out_flush(struct agent_outq *q, int wait_ms)
{
	int64_t deadline = proto_now_ms() + wait_ms;

	while (q->nout > 0) {
		struct jsonw *w = &q->out[0];
		ssize_t n = send(q->fd, w->buf + q->out_off, w->len - q->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = q->fd, .events = POLLOUT };
			int64_t left = deadline - proto_now_ms();

			if (left <= 0 || poll(&p, 1, (int)left) < 0)
				return 0;
			continue;
		}
		if (n <= 0) {
			out_drop(q);
			return -1;
		}
		/* It reads: its time runs from now. */
		q->out_by = proto_now_ms() + AGENT_SEND_TIMEOUT_MS;
		q->out_off += (size_t)n;
		if (q->out_off < w->len)
			continue;
		jsonw_release(w);
		memmove(&q->out[0], &q->out[1], (size_t)(q->nout - 1) * sizeof(q->out[0]));
		q->nout--;
		q->out_off = 0;
	}
	return 1;
}

/*
 * Queue the framed W behind what waits for Q and send what the socket
 * takes now. Under send_lock. Takes W. 0, or -1 when the client let more
 * than AGENT_OUT_MAX frames pile up or its connection failed (hang up on it).
 */
static int out_queue(struct agent_outq *q, struct jsonw *w)
{
	if (q->nout == AGENT_OUT_MAX) {
		jsonw_release(w);
		return -1;
	}
	if (q->nout == 0)
		q->out_by = proto_now_ms() + AGENT_SEND_TIMEOUT_MS;
	q->out[q->nout++] = *w;
	return out_flush(q, 0) < 0 ? -1 : 0;
}

int agent_reply_send(struct agent_outq *q, struct jsonw *w)
{
	int ret;

	jsonw_obj_end(w);
	if (w->failed) {
		jsonw_release(w);
		return -1;
	}
	frame_header(w);
	agent_lock(&send_lock);
	if (!q->direct) {
		ret = out_queue(q, w);
	} else {
		ret = proto_write_all(q->fd, w->buf, w->len, 0);
		jsonw_release(w);
	}
	agent_unlock(&send_lock);
	return ret;
}

void agent_event_send(struct jsonw *w, int queue)
{
	struct agent_outq *q;

	if (w->failed) {
		jsonw_release(w);
		return;
	}
	frame_header(w);
	agent_lock(&send_lock);
	q = session;
	if (!q) {
		jsonw_release(w);
	} else if (queue) {
		/* A session that lets events pile up is hung up on at its deadline. */
		if (out_queue(q, w) < 0)
			q->hangup = 1;
	} else {
		if (out_flush(q, AGENT_SEND_TIMEOUT_MS) == 1)
			proto_write_all(q->fd, w->buf, w->len, AGENT_SEND_TIMEOUT_MS);
		jsonw_release(w);
	}
	agent_unlock(&send_lock);
}

int agent_reply_error(struct agent_outq *q, int64_t id, const char *msg)
{
	struct jsonw w;

	if (agent_reply_begin(&w, id, 0) < 0)
		return -1;
	jsonw_key(&w, "error");
	jsonw_str(&w, msg);
	return agent_reply_send(q, &w);
}

int agent_reply_ok(struct agent_outq *q, int64_t id)
{
	struct jsonw w;

	if (agent_reply_begin(&w, id, 1) < 0)
		return -1;
	return agent_reply_send(q, &w);
}

int agent_outq_send_now(struct agent_outq *q)
{
	int r;

	agent_lock(&send_lock);
	r = out_flush(q, 0);
	agent_unlock(&send_lock);
	return r;
}

void agent_outq_close(struct agent_outq *q)
{
	agent_lock(&send_lock);
	/* A last word (an error before hanging up, bye's reply) if the
	 * socket takes it now; the rest is dropped. */
	out_flush(q, 0);
	out_drop(q);
	q->hangup = 0;
	if (session == q) {
		__atomic_store_n(&session, NULL, __ATOMIC_RELEASE);
		session_pid = 0;
	}
	agent_unlock(&send_lock);
}

void agent_session_claim(struct agent_outq *q, int pid)
{
	agent_lock(&send_lock);
	__atomic_store_n(&session, q, __ATOMIC_RELEASE);
	session_pid = pid;
	agent_unlock(&send_lock);
}

struct agent_outq *agent_session(void)
{
	return __atomic_load_n(&session, __ATOMIC_ACQUIRE);
}

int agent_session_pid(void)
{
	return session_pid;
}

void agent_outq_forget(struct agent_outq *q)
{
	if (q)
		out_drop(q);
	else
		session = NULL;
}
