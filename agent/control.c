/*
 * Control thread. It never runs application code and blocks every signal,
 * so process-directed signals keep going to the application's threads. It
 * allocates only from the agent's mappings, and its guard is set for good,
 * so whatever libc allocates on its behalf is passed through untracked.
 *
 * Up to MAX_CLIENTS connections are served; the first that says hello as
 * memtrace owns the session, a second memtrace is told who holds it. A
 * request larger than the limit is skipped and answered with an error, a
 * garbled one gets an error reply; the connection goes on either way.
 *
 * Requests are read without blocking, each connection keeping its own
 * partial frame, so a client that stops in the middle of one holds up
 * nobody else: the thread reads what has come and goes back to poll. A
 * frame begun must be complete within READ_TIMEOUT_MS, and a connection
 * must say hello within it, or it is hung up on (idle connections would
 * otherwise fill the MAX_CLIENTS places).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "arena.h"
#include "blocks.h"
#include "contexts.h"
#include "control.h"
#include "hold.h"
#include "jsonr.h"
#include "jsonw.h"
#include "lifecycle.h"
#include "lock.h"
#include "modules.h"
#include "monotime.h"
#include "proto.h"
#include "quiesce.h"
#include "report.h"
#include "state.h"
#include "tables.h"

#define MAX_CLIENTS 4
#define MAX_MEMBERS 32
#define READ_TIMEOUT_MS 5000
/* A client that takes none of what it is sent for this long is hung up on. */
#define SEND_TIMEOUT_MS 60000
/* Frames waiting for a client that reads slowly: a reply and the events
 * behind it. A client that lets more pile up is hung up on. */
#define OUT_MAX 8

struct client {
	int fd;
	int session;		/* the memtrace that owns the session */
	int peer_pid;
	int64_t hello_by;	/* a connection says hello by then, or is hung up on */
	int64_t deadline;	/* hello or the frame begun due by then; -1 none */
	unsigned char hdr[PROTO_HEADER_SIZE];
	uint32_t hdr_got;	/* header bytes in */
	uint32_t len;		/* the frame's length, once its header is in */
	uint32_t got;		/* its bytes in (or dropped, when skipping) */
	int skipping;		/* over PROTO_MAX_REQUEST: dropped as it comes */
	char *buf;		/* PROTO_MAX_REQUEST + 1 bytes, from the first body on */
	/* Frames not yet taken by the socket (under send_lock): out[0] from
	 * out_off on, then the others whole. While any wait, the client's
	 * requests wait too, and it must take them by out_by or be hung up on. */
	struct jsonw out[OUT_MAX];
	int nout;
	size_t out_off;
	int64_t out_by;
	int hangup;		/* an event could not be queued: hang up at once */
};

static int listen_fd = -1;
/* fd -1 from the start: agent_fail() (agent_control_forget) may run before
 * agent_control_start, in start mode's first allocations. */
static struct client clients[MAX_CLIENTS] = { [0 ... MAX_CLIENTS - 1] = { .fd = -1 } };
static agent_lock_t send_lock;
static int session_fd = -1;	/* under send_lock */
static int session_pid;
static sem_t resume_sem;
static int exit_reported;
static int64_t orphan_deadline = -1;	/* see agent_control_expect_session */

/* ---------------------------------------------------------------- replies */

static int reply_begin(struct jsonw *w, int64_t id, int ok)
{
	if (jsonw_init(w, PROTO_HEADER_SIZE) < 0)
		return -1;
	jsonw_obj(w);
	jsonw_key(w, "v");
	jsonw_i64(w, PROTO_VERSION);
	jsonw_key(w, "id");
	jsonw_i64(w, id);
	jsonw_key(w, "ok");
	jsonw_bool(w, ok);
	return 0;
}

/* Fill the length header reserved in front of W's text. */
static void frame_header(struct jsonw *w)
{
	size_t len = w->len - PROTO_HEADER_SIZE;

	proto_header_put((unsigned char *)w->buf, (uint32_t)len);
}

/*
 * Output never blocks the control thread: what the socket does not take at
 * once waits in the client's queue and goes out as the client reads
 * (control_main polls for it), so one client that reads slowly, or not at
 * all, holds up nobody else (it is hung up on after SEND_TIMEOUT_MS).
 */

static struct client *client_of(int fd)
{
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd == fd && fd >= 0)
			return &clients[i];
	return NULL;
}

/*
 * Send what waits in CL's queue, for at most WAIT_MS (0: what the socket
 * takes now). Under send_lock. 1 all out, 0 some still waits, -1 the
 * connection failed (its queue is dropped).
 */
static int out_flush(struct client *cl, int wait_ms)
{
	int64_t deadline = proto_now_ms() + wait_ms;

	while (cl->nout > 0) {
		struct jsonw *w = &cl->out[0];
		ssize_t n = send(cl->fd, w->buf + cl->out_off, w->len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = cl->fd, .events = POLLOUT };
			int64_t left = deadline - proto_now_ms();

			if (left <= 0 || poll(&p, 1, (int)left) < 0)
				return 0;
			continue;
		}
		if (n <= 0) {
			while (cl->nout > 0)
				jsonw_release(&cl->out[--cl->nout]);
			cl->out_off = 0;
			return -1;
		}
		/* It reads: its time runs from now. */
		cl->out_by = proto_now_ms() + SEND_TIMEOUT_MS;
		cl->out_off += (size_t)n;
		if (cl->out_off < w->len)
			continue;
		jsonw_release(w);
		memmove(&cl->out[0], &cl->out[1], (size_t)(cl->nout - 1) * sizeof(cl->out[0]));
		cl->nout--;
		cl->out_off = 0;
	}
	return 1;
}

/*
 * Queue the framed W behind what waits for CL and send what the socket
 * takes now. Under send_lock. Takes W. 0, or -1 when the client let more
 * than OUT_MAX frames pile up or its connection failed (hang up on it).
 */
static int out_queue(struct client *cl, struct jsonw *w)
{
	if (cl->nout == OUT_MAX) {
		jsonw_release(w);
		return -1;
	}
	if (cl->nout == 0)
		cl->out_by = proto_now_ms() + SEND_TIMEOUT_MS;
	cl->out[cl->nout++] = *w;
	return out_flush(cl, 0) < 0 ? -1 : 0;
}

/* Close W's object, frame it and send it to FD. Releases W. */
static int reply_send(int fd, struct jsonw *w)
{
	struct client *cl = client_of(fd);
	int ret;

	jsonw_obj_end(w);
	if (w->failed) {
		jsonw_release(w);
		return -1;
	}
	frame_header(w);
	agent_lock(&send_lock);
	if (cl) {
		ret = out_queue(cl, w);
	} else {
		/* Not a client (refused at the door): what a fresh socket takes. */
		ret = proto_write_all(fd, w->buf, w->len, 0);
		jsonw_release(w);
	}
	agent_unlock(&send_lock);
	return ret;
}

/*
 * Frame the finished event in W and send it to the session, if there is one
 * (under send_lock: replies and events never interleave). Releases W.
 * From the control thread it waits in the session's queue like a reply;
 * from another thread (the exit report) it goes out now, behind what
 * waits, within SEND_TIMEOUT_MS.
 */
static void event_send(struct jsonw *w, int queue)
{
	struct client *cl;

	if (w->failed) {
		jsonw_release(w);
		return;
	}
	frame_header(w);
	agent_lock(&send_lock);
	cl = client_of(session_fd);
	if (!cl) {
		jsonw_release(w);
	} else if (queue) {
		/* A session that lets events pile up is hung up on at its deadline. */
		if (out_queue(cl, w) < 0)
			cl->hangup = 1;
	} else {
		if (out_flush(cl, SEND_TIMEOUT_MS) == 1)
			proto_write_all(cl->fd, w->buf, w->len, SEND_TIMEOUT_MS);
		jsonw_release(w);
	}
	agent_unlock(&send_lock);
}

static int reply_error(int fd, int64_t id, const char *msg)
{
	struct jsonw w;

	if (reply_begin(&w, id, 0) < 0)
		return -1;
	jsonw_key(&w, "error");
	jsonw_str(&w, msg);
	return reply_send(fd, &w);
}

static int reply_ok(int fd, int64_t id)
{
	struct jsonw w;

	if (reply_begin(&w, id, 1) < 0)
		return -1;
	return reply_send(fd, &w);
}

/* ---------------------------------------------------------------- commands */

struct dump_pick {
	uint32_t ctx;
	int n, max;
	uint64_t live;
	struct agent_block picked[PROTO_DUMP_MAX_BLOCKS];
};

/* Keep the MAX oldest blocks of the context, sorted by sequence number. */
static int dump_collect(struct agent_block *b, void *arg)
{
	struct dump_pick *d = arg;
	int i;

	if (agent_block_ctx(b) != d->ctx)
		return 0;
	d->live++;
	if (d->n == d->max && b->seq >= d->picked[d->n - 1].seq)
		return 0;
	if (d->n < d->max)
		d->n++;
	for (i = d->n - 1; i > 0 && d->picked[i - 1].seq > b->seq; i--)
		d->picked[i] = d->picked[i - 1];
	d->picked[i] = *b;
	return 0;
}

struct dump_copy {
	unsigned char *out;
	size_t want;
	size_t got;
};

static int dump_read(struct agent_block *b, void *arg)
{
	struct dump_copy *c = arg;
	size_t n = agent_block_size(b) < c->want ? (size_t)agent_block_size(b) : c->want;

	/* The shard lock is held: the block cannot be freed under us. */
	memcpy(c->out, (const void *)(uintptr_t)b->ptr, n);
	c->got = n;
	return 0;
}

static int cmd_dump(int fd, int64_t id, const struct jsonr_member *m, int n)
{
	const struct jsonr_member *ctx = jsonr_get(m, n, "ctx");
	const struct jsonr_member *cnt = jsonr_get(m, n, "n");
	const struct jsonr_member *bytes = jsonr_get(m, n, "bytes");
	static struct dump_pick d;
	unsigned char data[PROTO_DUMP_MAX_BYTES];
	char hex[2 * PROTO_DUMP_MAX_BYTES + 1];
	struct jsonw w;

	char msg[80];

	if (!ctx || ctx->type != JSONR_INT || ctx->num < 1 || ctx->num > PROTO_CTX_ID_MAX)
		return reply_error(fd, id, "\"ctx\" must be a context id");
	if (!agent_ctx_by_id((uint32_t)ctx->num)) {
		snprintf(msg, sizeof(msg), "no context %lld (the ids are in the report)", (long long)ctx->num);
		return reply_error(fd, id, msg);
	}
	memset(&d, 0, sizeof(d));
	d.ctx = (uint32_t)ctx->num;
	d.max = cnt && cnt->type == JSONR_INT ? (int)cnt->num : PROTO_DUMP_BLOCKS;
	if (d.max < 1 || d.max > PROTO_DUMP_MAX_BLOCKS) {
		snprintf(msg, sizeof(msg), "\"n\" must be 1..%d", PROTO_DUMP_MAX_BLOCKS);
		return reply_error(fd, id, msg);
	}
	struct dump_copy c = { .out = data, .want = PROTO_DUMP_BYTES };
	if (bytes && bytes->type == JSONR_INT) {
		if (bytes->num < 1 || bytes->num > PROTO_DUMP_MAX_BYTES) {
			snprintf(msg, sizeof(msg), "\"bytes\" must be 1..%d", PROTO_DUMP_MAX_BYTES);
			return reply_error(fd, id, msg);
		}
		c.want = (size_t)bytes->num;
	}
	agent_blocks_foreach(dump_collect, &d);
	if (reply_begin(&w, id, 1) < 0)
		return -1;
	jsonw_key(&w, "ctx");
	jsonw_u64(&w, d.ctx);
	jsonw_key(&w, "live_blocks");
	jsonw_u64(&w, d.live);
	jsonw_key(&w, "blocks");
	jsonw_arr(&w);
	for (int i = 0; i < d.n; i++) {
		c.got = 0;
		if (!agent_blocks_with((uintptr_t)d.picked[i].ptr, dump_read, &c))
			continue;	/* freed since we looked */
		for (size_t k = 0; k < c.got; k++) {
			hex[2 * k] = "0123456789abcdef"[data[k] >> 4];
			hex[2 * k + 1] = "0123456789abcdef"[data[k] & 15];
		}
		jsonw_obj(&w);
		jsonw_key(&w, "addr");
		jsonw_hex(&w, d.picked[i].ptr);
		jsonw_key(&w, "size");
		jsonw_u64(&w, agent_block_size(&d.picked[i]));
		jsonw_key(&w, "seq");
		jsonw_u64(&w, d.picked[i].seq);
		jsonw_key(&w, "data");
		jsonw_strn(&w, hex, 2 * c.got);
		jsonw_obj_end(&w);
	}
	jsonw_arr_end(&w);
	return reply_send(fd, &w);
}

static int cmd_clear(int fd, int64_t id)
{
	agent_tables_clear();
	return reply_ok(fd, id);
}

static int attached_mode(void)
{
	return agent_state.since && !strcmp(agent_state.since, "attach");
}

static int cmd_detach(int fd, int64_t id)
{
	const char *why = NULL;
	struct jsonw w;
	int released;

	if (!attached_mode())
		return reply_error(fd, id, "this program was started by memtrace: its calls are bound to "
					   "the agent for good, there is nothing to detach (quit instead)");
	agent_hold_cancel(NULL);
	released = agent_detach(&why) == 0;
	if (reply_begin(&w, id, 1) < 0)
		return -1;
	jsonw_key(&w, "released");
	jsonw_bool(&w, released);
	jsonw_key(&w, "memory_bytes");
	jsonw_u64(&w, agent_mem_total());
	if (why) {
		jsonw_key(&w, "note");
		jsonw_str(&w, why);
	}
	return reply_send(fd, &w);
}

/*
 * A new memtrace attaching to an agent left idle by an earlier one, with
 * its own settings. A member left out keeps the agent's current value (a
 * memtrace older than the members).
 */
static int cmd_attach(int fd, int64_t id, const struct jsonr_member *m, int n)
{
	const struct jsonr_member *unwind = jsonr_get(m, n, "unwind");
	const struct jsonr_member *depth = jsonr_get(m, n, "depth");
	const struct jsonr_member *signals = jsonr_get(m, n, "signals");
	struct agent_settings set = {
		.unwind = agent_state.unwinder ? agent_state.unwinder->name : "libunwind",
		.depth = agent_state.depth,
	};
	char msg[160];
	struct jsonw w;

	if (!attached_mode())
		return reply_error(fd, id, "this program was started by memtrace: it is attached already");
	if (unwind) {
		if (unwind->type != JSONR_STRING)
			return reply_error(fd, id, "\"unwind\" must be \"fp\" or \"libunwind\"");
		set.unwind = unwind->str;
	}
	if (depth) {
		if (depth->type != JSONR_INT || depth->num < 1 || depth->num > AGENT_MAX_DEPTH)
			return reply_error(fd, id, "\"depth\" must be 1..64");
		set.depth = (int)depth->num;
	}
	if (signals) {
		if (signals->type != JSONR_BOOL)
			return reply_error(fd, id, "\"signals\" must be true or false");
		set.signals = signals->num != 0;
	}
	if (agent_reattach(&set, msg, sizeof(msg)) < 0)
		return reply_error(fd, id, msg);
	if (reply_begin(&w, id, 1) < 0)
		return -1;
	agent_status_write(&w);
	return reply_send(fd, &w);
}

static int cmd_report(int fd, int64_t id, const struct jsonr_member *m, int n)
{
	const struct jsonr_member *cnt = jsonr_get(m, n, "count");
	struct jsonw w;
	int count = PROTO_REPORT_COUNT;
	char msg[80];

	if (cnt) {
		if (cnt->type != JSONR_INT || cnt->num < 0 || cnt->num > PROTO_REPORT_MAX_COUNT) {
			snprintf(msg, sizeof(msg), "\"count\" must be 0..%d (0: all)", PROTO_REPORT_MAX_COUNT);
			return reply_error(fd, id, msg);
		}
		count = (int)cnt->num;
	}
	if (reply_begin(&w, id, 1) < 0)
		return -1;
	jsonw_key(&w, "report");
	jsonw_obj(&w);
	if (agent_report_write(&w, count) < 0) {
		jsonw_release(&w);
		return reply_error(fd, id, "the agent is out of memory");
	}
	jsonw_obj_end(&w);
	return reply_send(fd, &w);
}

/* "hold": {"state", "ctx", and when held "tid", "addr", "size"}. */
static void hold_write(struct jsonw *w, const struct agent_hold_info *h)
{
	static const char *const names[] = { "none", "armed", "held", "none" };

	jsonw_key(w, "hold");
	jsonw_obj(w);
	jsonw_key(w, "state");
	jsonw_str(w, names[h->state]);
	if (h->state == AGENT_HOLD_ARMED || h->state == AGENT_HOLD_HELD) {
		jsonw_key(w, "ctx");
		jsonw_u64(w, h->ctx);
	}
	if (h->state == AGENT_HOLD_HELD) {
		jsonw_key(w, "tid");
		jsonw_i64(w, h->tid);
		jsonw_key(w, "addr");
		jsonw_hex(w, h->addr);
		jsonw_key(w, "size");
		jsonw_u64(w, h->size);
	}
	jsonw_obj_end(w);
}

static int cmd_status(int fd, int64_t id)
{
	struct agent_hold_info h;
	struct jsonw w;

	if (reply_begin(&w, id, 1) < 0)
		return -1;
	agent_status_write(&w);
	agent_hold_get(&h);
	hold_write(&w, &h);
	return reply_send(fd, &w);
}

/*
 * A thread inside the loader (a constructor that dlopen runs) holds the
 * loader's lock: holding it would stall every other dlopen, dlsym and
 * unwind. Its contexts have a loader frame in their stack.
 */
static int ctx_in_loader(const struct agent_ctx *c)
{
	uintptr_t base = (uintptr_t)getauxval(AT_BASE);
	struct agent_modules mods;
	int k, ret = 0;

	if (!base || agent_modules_snapshot(&mods) < 0)
		return 0;
	k = agent_modules_find(&mods, base);
	for (int i = 0; k >= 0 && i < c->depth; i++)
		if (c->pcs[i] >= mods.mods[k].lo && c->pcs[i] < mods.mods[k].hi)
			ret = 1;
	agent_modules_release(&mods);
	return ret;
}

static int reply_hold(int fd, int64_t id, const struct agent_hold_info *h)
{
	struct jsonw w;

	if (reply_begin(&w, id, 1) < 0)
		return -1;
	hold_write(&w, h);
	return reply_send(fd, &w);
}

static int cmd_hold(int fd, int64_t id, const struct jsonr_member *m, int n)
{
	const struct jsonr_member *ctx = jsonr_get(m, n, "ctx");
	struct agent_hold_info h;
	struct agent_ctx *c;
	char msg[200];

	if (!ctx || ctx->type != JSONR_INT || ctx->num < 1 || ctx->num > PROTO_CTX_ID_MAX)
		return reply_error(fd, id, "\"ctx\" must be a context id (1 or more)");
	c = agent_ctx_by_id((uint32_t)ctx->num);
	if (!c) {
		snprintf(msg, sizeof(msg), "no context %lld (the ids are in the report)", (long long)ctx->num);
		return reply_error(fd, id, msg);
	}
	if (!__atomic_load_n(&agent_state.recording, __ATOMIC_ACQUIRE))
		return reply_error(fd, id, "the agent is not recording: no allocation would be seen");
	if (agent_hold_notify_fd() < 0)
		return reply_error(fd, id, "holds are not available: the agent could not create its eventfds");
	if (ctx_in_loader(c)) {
		snprintf(msg, sizeof(msg), "context %lld allocates inside the dynamic loader (a constructor "
			 "run by dlopen), which holds the loader's lock: it cannot be held", (long long)ctx->num);
		return reply_error(fd, id, msg);
	}
	if (agent_hold_arm((uint32_t)ctx->num, &h) < 0) {
		if (h.state == AGENT_HOLD_HELD)
			snprintf(msg, sizeof(msg), "thread %d is held at context %u: release it first", h.tid, h.ctx);
		else if (h.state == AGENT_HOLD_ARMED)
			snprintf(msg, sizeof(msg), "a hold is already armed for context %u (unhold cancels it)", h.ctx);
		else
			snprintf(msg, sizeof(msg), "the previous hold is still finishing: try again");
		return reply_error(fd, id, msg);
	}
	agent_hold_get(&h);
	return reply_hold(fd, id, &h);
}

/* UNHOLD: cancel whatever there is; otherwise (release) a thread must be held. */
static int cmd_release(int fd, int64_t id, int unhold)
{
	struct agent_hold_info h;

	agent_hold_get(&h);
	if (!unhold && h.state != AGENT_HOLD_HELD)
		return reply_error(fd, id, h.state == AGENT_HOLD_ARMED ?
				   "no thread is held yet (unhold cancels the armed hold)" :
				   "no thread is held");
	agent_hold_cancel(&h);
	return reply_hold(fd, id, &h);
}

/* A thread took the hold: tell memtrace. */
static void send_held(const struct agent_hold_info *h)
{
	struct jsonw w;

	if (jsonw_init(&w, PROTO_HEADER_SIZE) < 0)
		return;
	jsonw_obj(&w);
	jsonw_key(&w, "v");
	jsonw_i64(&w, PROTO_VERSION);
	jsonw_key(&w, "event");
	jsonw_str(&w, "held");
	jsonw_key(&w, "ctx");
	jsonw_u64(&w, h->ctx);
	jsonw_key(&w, "tid");
	jsonw_i64(&w, h->tid);
	jsonw_key(&w, "addr");
	jsonw_hex(&w, h->addr);
	jsonw_key(&w, "size");
	jsonw_u64(&w, h->size);
	jsonw_obj_end(&w);
	event_send(&w, 1);
}

static int cmd_hello(struct client *cl, int64_t id, const struct jsonr_member *m, int n)
{
	const struct jsonr_member *pid = jsonr_get(m, n, "pid");
	char msg[160];
	struct jsonw w;

	if (session_fd >= 0 && session_fd != cl->fd) {
		snprintf(msg, sizeof(msg),
			 "busy: memtrace (pid %d) is already connected to this process", session_pid);
		reply_error(cl->fd, id, msg);
		return -1;	/* hang up */
	}
	cl->session = 1;
	__atomic_store_n(&orphan_deadline, -1, __ATOMIC_RELEASE);
	agent_lock(&send_lock);
	session_fd = cl->fd;
	session_pid = pid && pid->type == JSONR_INT ? (int)pid->num : cl->peer_pid;
	agent_unlock(&send_lock);
	if (reply_begin(&w, id, 1) < 0)
		return -1;
	jsonw_key(&w, "protocol");
	jsonw_i64(&w, PROTO_VERSION);
	jsonw_key(&w, "agent_version");
	jsonw_str(&w, MEMTRACE_VERSION);
	agent_status_write(&w);
	return reply_send(cl->fd, &w);
}

/* Handle one request. -1 means hang up on this client. */
static int handle(struct client *cl, char *buf, size_t len)
{
	struct jsonr_member m[MAX_MEMBERS];
	const struct jsonr_member *cmd, *idm;
	const char *err;
	size_t err_at;
	int64_t id = 0;
	char msg[200];
	int n;

	if (jsonr_parse(buf, len, m, MAX_MEMBERS, &n, &err, &err_at) != JSONR_OK) {
		snprintf(msg, sizeof(msg), "bad message: %s at byte %zu", err, err_at);
		return reply_error(cl->fd, 0, msg);
	}
	idm = jsonr_get(m, n, "id");
	if (idm && idm->type == JSONR_INT)
		id = idm->num;
	idm = jsonr_get(m, n, "v");
	if (!idm || idm->type != JSONR_INT || idm->num != PROTO_VERSION) {
		snprintf(msg, sizeof(msg), "bad message: \"v\" must be %d (protocol version)", PROTO_VERSION);
		return reply_error(cl->fd, id, msg);
	}
	cmd = jsonr_get(m, n, "cmd");
	if (!cmd || cmd->type != JSONR_STRING)
		return reply_error(cl->fd, id, "bad message: \"cmd\" (a string) is missing");
	if (!strcmp(cmd->str, "hello"))
		return cmd_hello(cl, id, m, n);
	if (!cl->session)
		return reply_error(cl->fd, id, "say hello first");
	if (!strcmp(cmd->str, "resume")) {
		/* Reply first: once resumed, the program may exit at once and
		 * take this thread with it before the reply is out. */
		int ret = reply_ok(cl->fd, id);

		sem_post(&resume_sem);
		return ret;
	}
	if (!strcmp(cmd->str, "status"))
		return cmd_status(cl->fd, id);
	if (!strcmp(cmd->str, "report"))
		return cmd_report(cl->fd, id, m, n);
	if (!strcmp(cmd->str, "clear"))
		return cmd_clear(cl->fd, id);
	if (!strcmp(cmd->str, "dump"))
		return cmd_dump(cl->fd, id, m, n);
	if (!strcmp(cmd->str, "detach"))
		return cmd_detach(cl->fd, id);
	if (!strcmp(cmd->str, "attach"))
		return cmd_attach(cl->fd, id, m, n);
	if (!strcmp(cmd->str, "hold"))
		return cmd_hold(cl->fd, id, m, n);
	if (!strcmp(cmd->str, "unhold"))
		return cmd_release(cl->fd, id, 1);
	if (!strcmp(cmd->str, "release"))
		return cmd_release(cl->fd, id, 0);
	if (!strcmp(cmd->str, "bye")) {
		reply_ok(cl->fd, id);
		return -1;
	}
	snprintf(msg, sizeof(msg), "unknown command \"%.64s\"", cmd->str);
	return reply_error(cl->fd, id, msg);
}

/* ---------------------------------------------------------------- connections */

static void client_close(struct client *cl)
{
	/* memtrace gone without a word (killed): leave the process as it was. */
	if (cl->session)
		agent_hold_cancel(NULL);
	if (cl->session && attached_mode() && __atomic_load_n(&agent_state.recording, __ATOMIC_ACQUIRE))
		agent_detach(NULL);
	agent_lock(&send_lock);
	/* A last word (an error before hanging up, bye's reply) if the
	 * socket takes it now; the rest is dropped. */
	out_flush(cl, 0);
	while (cl->nout > 0)
		jsonw_release(&cl->out[--cl->nout]);
	cl->out_off = 0;
	cl->hangup = 0;
	if (cl->session) {
		session_fd = -1;
		session_pid = 0;
	}
	agent_unlock(&send_lock);
	close(cl->fd);
	cl->fd = -1;
	cl->session = 0;
	/* Its request buffer goes back too (a detached agent with nobody
	 * connected keeps no memory). */
	if (cl->buf)
		agent_unmap(cl->buf, PROTO_MAX_REQUEST + 1, AGENT_MEM_OTHER);
	cl->buf = NULL;
}

/*
 * The one gate of the socket: a peer gets in only if it could ptrace the
 * process, since what the agent serves (heap contents, holding threads) is
 * what ptrace gives. So, as the kernel's ptrace check has it: root, or a
 * peer whose uid is each of the process's real, effective and saved uids,
 * while the process is dumpable. Read at each accept: the ids may have
 * changed since the agent started. The gids are not compared: a change of
 * gid clears the dumpable flag as a change of uid does (a setgid program
 * starts not dumpable), and memtrace's helper that connects inside a
 * rootless container cannot always take the process's gid there (ns.c).
 * Left out: a non-root peer with CAP_SYS_PTRACE (it runs memtrace as root).
 */
static int peer_may_trace(const struct ucred *cred)
{
	uid_t ru, eu, su;

	if (cred->uid == 0)
		return 1;
	if (getresuid(&ru, &eu, &su) < 0 || cred->uid != ru || cred->uid != eu || cred->uid != su)
		return 0;
	return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1;
}

static void client_accept(void)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || !peer_may_trace(&cred)) {
		reply_error(fd, 0, "permission denied: only root, or the user whose uid is this process's "
				   "real, effective and saved uid while it is dumpable "
				   "(the users that may ptrace it), may connect");
		close(fd);
		return;
	}
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i].fd < 0) {
			memset(&clients[i], 0, sizeof(clients[i]));
			clients[i].fd = fd;
			clients[i].peer_pid = cred.pid;
			clients[i].hello_by = proto_now_ms() + READ_TIMEOUT_MS;
			clients[i].deadline = clients[i].hello_by;
			return;
		}
	}
	reply_error(fd, 0, "too many connections to the agent");
	close(fd);
}

/* The next frame starts: nothing of it in yet. */
static void frame_reset(struct client *cl)
{
	cl->hdr_got = 0;
	cl->len = 0;
	cl->got = 0;
	cl->skipping = 0;
	cl->deadline = cl->session ? -1 : cl->hello_by;
}

/*
 * Take what the socket has into the frame under way (at most to its end).
 * 1 the frame is complete, 0 not yet, -1 hang up (closed, error).
 */
static int frame_read(struct client *cl)
{
	char drop[4096];
	char *to;
	size_t want;
	ssize_t n;

	if (cl->hdr_got < PROTO_HEADER_SIZE) {
		to = (char *)cl->hdr + cl->hdr_got;
		want = PROTO_HEADER_SIZE - cl->hdr_got;
	} else if (cl->skipping) {
		to = drop;
		want = cl->len - cl->got < sizeof(drop) ? cl->len - cl->got : sizeof(drop);
	} else {
		to = cl->buf + cl->got;
		want = cl->len - cl->got;
	}
	n = recv(cl->fd, to, want, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	if (cl->hdr_got == 0) {
		cl->deadline = proto_now_ms() + READ_TIMEOUT_MS;
		if (!cl->session && cl->hello_by < cl->deadline)
			cl->deadline = cl->hello_by;
	}
	if (cl->hdr_got < PROTO_HEADER_SIZE) {
		cl->hdr_got += (uint32_t)n;
		if (cl->hdr_got < PROTO_HEADER_SIZE)
			return 0;
		cl->len = proto_header_len(cl->hdr);
		return cl->len == 0 ? 1 : 0;
	}
	cl->got += (uint32_t)n;
	return cl->got == cl->len;
}

static void client_readable(struct client *cl)
{
	char msg[120];
	int r = frame_read(cl);

	if (r < 0) {
		client_close(cl);
		return;
	}
	/* The header just completed: size the frame up. */
	if (r == 0 && cl->hdr_got == PROTO_HEADER_SIZE && cl->got == 0 && !cl->skipping) {
		if (cl->len > PROTO_MAX_REQUEST) {
			snprintf(msg, sizeof(msg), "message too large: %u bytes, the limit is %u",
				 cl->len, PROTO_MAX_REQUEST);
			reply_error(cl->fd, 0, msg);
			if (cl->len > PROTO_MAX_IN_STEP)
				client_close(cl);
			else
				cl->skipping = 1;
			return;
		}
		if (!cl->buf)
			cl->buf = agent_map(PROTO_MAX_REQUEST + 1, AGENT_MEM_OTHER);
		if (!cl->buf) {
			reply_error(cl->fd, 0, "the agent is out of memory");
			client_close(cl);
		}
		return;
	}
	if (r == 0)
		return;
	if (cl->len == 0) {
		frame_reset(cl);
		reply_error(cl->fd, 0, "bad message: empty");
		return;
	}
	if (cl->skipping) {
		frame_reset(cl);
		return;
	}
	if (handle(cl, cl->buf, cl->len) < 0) {
		client_close(cl);
		return;
	}
	frame_reset(cl);
}

/* The socket takes more of what waits for CL. */
static void client_writable(struct client *cl)
{
	int r;

	agent_lock(&send_lock);
	r = out_flush(cl, 0);
	agent_unlock(&send_lock);
	if (r < 0)
		client_close(cl);
}

/* Hang up on the clients past their deadline; the time to the next one
 * (-1 none). */
static int client_deadlines(void)
{
	int64_t now = proto_now_ms();
	int next = -1;

	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *cl = &clients[i];
		int64_t left;

		if (cl->fd < 0)
			continue;
		if (cl->hangup || (cl->nout > 0 && cl->out_by <= now)) {
			/* It does not read what it is sent: nothing more can reach it. */
			client_close(cl);
			continue;
		}
		if (cl->nout > 0) {
			left = cl->out_by - now;
			if (next < 0 || left < next)
				next = (int)left;
		}
		if (cl->deadline < 0)
			continue;
		left = cl->deadline - now;
		if (left <= 0) {
			reply_error(cl->fd, 0, cl->hdr_got ? "the request was not sent whole in time: hanging up"
							   : "no hello in time: hanging up");
			client_close(cl);
			continue;
		}
		if (next < 0 || left < next)
			next = (int)left;
	}
	return next;
}

/*
 * Attached, and no memtrace has said hello since: the one that injected us
 * died before connecting. Detach once the deadline passes, as if it had
 * connected and gone.
 */
void agent_control_expect_session(int timeout_ms)
{
	__atomic_store_n(&orphan_deadline, proto_now_ms() + timeout_ms, __ATOMIC_RELEASE);
}

static int orphan_timeout(void)
{
	int64_t d = __atomic_load_n(&orphan_deadline, __ATOMIC_ACQUIRE);
	int64_t left;

	if (d < 0)
		return -1;
	left = d - proto_now_ms();
	if (left > 0)
		return left > 60000 ? 60000 : (int)left;
	__atomic_store_n(&orphan_deadline, -1, __ATOMIC_RELEASE);
	if (session_fd < 0 && __atomic_load_n(&agent_state.recording, __ATOMIC_ACQUIRE))
		agent_detach(NULL);
	return -1;
}

static void *control_main(void *arg)
{
	(void)arg;
	agent_guard = 1;
	prctl(PR_SET_NAME, "memtrace-agent", 0, 0, 0);
	for (;;) {
		struct pollfd pfd[MAX_CLIENTS + 2];
		struct client *who[MAX_CLIENTS + 2];
		struct agent_hold_info h;
		int n = 0, i_hold = -1, timeout;
		int wait_ms = client_deadlines();

		if (agent_hold_notify_fd() >= 0) {
			i_hold = n;
			pfd[n].fd = agent_hold_notify_fd();
			pfd[n].events = POLLIN;
			who[n++] = NULL;
		}
		pfd[n].fd = listen_fd;
		pfd[n].events = POLLIN;
		who[n++] = NULL;
		for (int i = 0; i < MAX_CLIENTS; i++) {
			if (clients[i].fd < 0)
				continue;
			pfd[n].fd = clients[i].fd;
			/* Its next request waits until what it was sent is out. */
			pfd[n].events = clients[i].nout > 0 ? POLLOUT : POLLIN;
			who[n++] = &clients[i];
		}
		timeout = orphan_timeout();
		if (wait_ms >= 0 && (timeout < 0 || wait_ms < timeout))
			timeout = wait_ms;
		if (poll(pfd, (nfds_t)n, timeout) < 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (i == i_hold) {
				if (agent_hold_collect(&h))
					send_held(&h);
			} else if (!who[i])
				client_accept();
			else if (who[i]->fd >= 0 && pfd[i].events == POLLOUT)
				client_writable(who[i]);
			else if (who[i]->fd >= 0)
				client_readable(who[i]);
		}
	}
	return NULL;
}

int agent_control_start(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t th;
	socklen_t alen;
	int name_len;
	int err;

	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	sem_init(&resume_sem, 0, 0);
	/* Without its eventfds the agent works on; `hold` says it cannot. */
	agent_hold_init();
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (listen_fd < 0)
		return -1;
	name_len = proto_agent_name(addr.sun_path + 1, sizeof(addr.sun_path) - 1, getpid());
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)name_len);
	if (bind(listen_fd, (struct sockaddr *)&addr, alen) < 0) {
		struct stat ns;

		/* Taken: a process of another PID namespace with our pid shares our
		 * network namespace (containers on the host's network), or a
		 * squatter. The second name is ours alone; memtrace tries both. */
		if (errno != EADDRINUSE || stat("/proc/self/ns/pid", &ns) < 0)
			goto fail;
		name_len = proto_agent_name_ns(addr.sun_path + 1, sizeof(addr.sun_path) - 1, getpid(),
					       (unsigned long long)ns.st_ino);
		alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)name_len);
		if (bind(listen_fd, (struct sockaddr *)&addr, alen) < 0)
			goto fail;
	}
	if (listen(listen_fd, 4) < 0)
		goto fail;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	err = pthread_create(&th, &attr, control_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		errno = err;
		goto fail;
	}
	return 0;
fail:
	err = errno;
	close(listen_fd);
	listen_fd = -1;
	errno = err;
	return -1;
}

int agent_control_wait_resume(int timeout_ms)
{
	struct timespec ts = wall_deadline(timeout_ms);

	while (sem_timedwait(&resume_sem, &ts) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

void agent_control_forget(void)
{
	/* No locks: this runs in a fresh fork child, where only this thread exists. */
	agent_hold_forget();
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i].fd >= 0)
			close(clients[i].fd);
		clients[i].fd = -1;
		while (clients[i].nout > 0)
			jsonw_release(&clients[i].out[--clients[i].nout]);
	}
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	session_fd = -1;
	exit_reported = 1;
}

void agent_control_exit_report(int sig)
{
	struct agent_inside *in;
	struct jsonw w;
	int code;

	if (__atomic_exchange_n(&exit_reported, 1, __ATOMIC_ACQ_REL))
		return;
	if (__atomic_load_n(&session_fd, __ATOMIC_ACQUIRE) < 0)
		return;
	/* Detached meanwhile (its tables given back): nothing to report. A
	 * shared counter: this may run in a signal handler, where claiming a
	 * slot (pthread_setspecific) has no place. */
	in = agent_enter_in(agent_inside_any_shared(), &agent_state.tables_open);
	if (!in)
		return;
	if (jsonw_init(&w, PROTO_HEADER_SIZE) < 0)
		goto out;
	jsonw_obj(&w);
	jsonw_key(&w, "v");
	jsonw_i64(&w, PROTO_VERSION);
	jsonw_key(&w, "event");
	jsonw_str(&w, "exit");
	jsonw_key(&w, "signal");
	jsonw_i64(&w, sig);
	code = agent_exit_code();
	if (!sig && code >= 0) {
		jsonw_key(&w, "code");
		jsonw_i64(&w, code);
	}
	jsonw_key(&w, "report");
	jsonw_obj(&w);
	agent_report_write(&w, 0);
	jsonw_obj_end(&w);
	jsonw_obj_end(&w);
	event_send(&w, 0);
out:
	agent_leave(in);
}
