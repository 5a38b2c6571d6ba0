/*
 * The control commands, as one table (see commands.h). Each handler checks
 * its members, does its work and sends its reply (agent/replies.h); an
 * error is a reply, and -1 only means the connection is to be hung up on.
 */
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

#include "agent.h"
#include "arena.h"
#include "blocks.h"
#include "commands.h"
#include "control.h"
#include "contexts.h"
#include "hold.h"
#include "jsonr.h"
#include "jsonw.h"
#include "exit.h"
#include "lifecycle.h"
#include "modules.h"
#include "proto.h"
#include "replies.h"
#include "report.h"
#include "state.h"
#include "tables.h"
#include "unwind_cmds.h"

#define MAX_MEMBERS 32

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

static int cmd_dump(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n)
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
		return agent_reply_error(r->out, id, "\"ctx\" must be a context id");
	if (!agent_ctx_by_id((uint32_t)ctx->num)) {
		snprintf(msg, sizeof(msg), "no context %lld (the ids are in the report)", (long long)ctx->num);
		return agent_reply_error(r->out, id, msg);
	}
	memset(&d, 0, sizeof(d));
	d.ctx = (uint32_t)ctx->num;
	d.max = cnt && cnt->type == JSONR_INT ? (int)cnt->num : PROTO_DUMP_BLOCKS;
	if (d.max < 1 || d.max > PROTO_DUMP_MAX_BLOCKS) {
		snprintf(msg, sizeof(msg), "\"n\" must be 1..%d", PROTO_DUMP_MAX_BLOCKS);
		return agent_reply_error(r->out, id, msg);
	}
	struct dump_copy c = { .out = data, .want = PROTO_DUMP_BYTES };
	if (bytes && bytes->type == JSONR_INT) {
		if (bytes->num < 1 || bytes->num > PROTO_DUMP_MAX_BYTES) {
			snprintf(msg, sizeof(msg), "\"bytes\" must be 1..%d", PROTO_DUMP_MAX_BYTES);
			return agent_reply_error(r->out, id, msg);
		}
		c.want = (size_t)bytes->num;
	}
	agent_blocks_foreach(dump_collect, &d);
	if (agent_reply_begin(&w, id, 1) < 0)
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
	return agent_reply_send(r->out, &w);
}

static int cmd_clear(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n)
{
	(void)m;
	(void)n;
	agent_tables_clear();
	return agent_reply_ok(r->out, id);
}

static int attached_mode(void)
{
	return agent_state.since && !strcmp(agent_state.since, "attach");
}

static int cmd_detach(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n)
{
	const char *why = NULL;
	struct jsonw w;
	int released;

	(void)m;
	(void)n;
	if (!attached_mode())
		return agent_reply_error(r->out, id, "this program was started by memtrace: its calls are bound to "
					   "the agent for good, there is nothing to detach (quit instead)");
	agent_hold_cancel(NULL);
	released = agent_detach(&why) == 0;
	if (agent_reply_begin(&w, id, 1) < 0)
		return -1;
	jsonw_key(&w, "released");
	jsonw_bool(&w, released);
	jsonw_key(&w, "memory_bytes");
	jsonw_u64(&w, agent_mem_total());
	if (why) {
		jsonw_key(&w, "note");
		jsonw_str(&w, why);
	}
	return agent_reply_send(r->out, &w);
}

/*
 * A new memtrace attaching to an agent left idle by an earlier one, with
 * its own settings. A member left out keeps the agent's current value (a
 * memtrace older than the members).
 */
static int cmd_attach(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n)
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
		return agent_reply_error(r->out, id, "this program was started by memtrace: it is attached already");
	if (unwind) {
		if (unwind->type != JSONR_STRING)
			return agent_reply_error(r->out, id, "\"unwind\" must be \"auto\", \"fp\", \"libunwind\" or \"tables\"");
		set.unwind = unwind->str;
	}
	if (depth) {
		if (depth->type != JSONR_INT || depth->num < 1 || depth->num > AGENT_MAX_DEPTH)
			return agent_reply_error(r->out, id, "\"depth\" must be 1..64");
		set.depth = (int)depth->num;
	}
	if (signals) {
		if (signals->type != JSONR_BOOL)
			return agent_reply_error(r->out, id, "\"signals\" must be true or false");
		set.signals = signals->num != 0;
	}
	if (agent_reattach(&set, msg, sizeof(msg)) < 0)
		return agent_reply_error(r->out, id, msg);
	if (agent_reply_begin(&w, id, 1) < 0)
		return -1;
	agent_status_write(&w);
	return agent_reply_send(r->out, &w);
}

static int cmd_report(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n)
{
	const struct jsonr_member *cnt = jsonr_get(m, n, "count");
	struct jsonw w;
	int count = PROTO_REPORT_COUNT;
	char msg[80];

	if (cnt) {
		if (cnt->type != JSONR_INT || cnt->num < 0 || cnt->num > PROTO_REPORT_MAX_COUNT) {
			snprintf(msg, sizeof(msg), "\"count\" must be 0..%d (0: all)", PROTO_REPORT_MAX_COUNT);
			return agent_reply_error(r->out, id, msg);
		}
		count = (int)cnt->num;
	}
	if (agent_reply_begin(&w, id, 1) < 0)
		return -1;
	jsonw_key(&w, "report");
	jsonw_obj(&w);
	if (agent_report_write(&w, count) < 0) {
		jsonw_release(&w);
		return agent_reply_error(r->out, id, "the agent is out of memory");
	}
	jsonw_obj_end(&w);
	return agent_reply_send(r->out, &w);
}

static int cmd_sample(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n)
{
	struct jsonw w;

	(void)m;
	(void)n;
	if (agent_reply_begin(&w, id, 1) < 0)
		return -1;
	jsonw_key(&w, "sample");
	jsonw_obj(&w);
	if (agent_sample_write(&w) < 0) {
		jsonw_release(&w);
		return agent_reply_error(r->out, id, "the agent is out of memory");
	}
	jsonw_obj_end(&w);
	return agent_reply_send(r->out, &w);
}

/* "hold": {"state", "ctx", and when held "tid", "addr", "size"}. */
static void hold_write(struct jsonw *w, const struct agent_hold_info *h)
{
	static const char *const names[] = { "none", "armed", "held", "none" };

	jsonw_key(w, "hold");
	jsonw_obj(w);
	jsonw_kv_str(w, "state", names[h->state]);
	if (h->state == AGENT_HOLD_ARMED || h->state == AGENT_HOLD_HELD) {
		jsonw_kv_u64(w, "ctx", h->ctx);
	}
	if (h->state == AGENT_HOLD_HELD) {
		jsonw_kv_i64(w, "tid", h->tid);
		jsonw_key(w, "addr");
		jsonw_hex(w, h->addr);
		jsonw_kv_u64(w, "size", h->size);
	}
	jsonw_obj_end(w);
}

static int cmd_status(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n)
{
	struct agent_hold_info h;
	struct jsonw w;

	(void)m;
	(void)n;
	if (agent_reply_begin(&w, id, 1) < 0)
		return -1;
	agent_status_write(&w);
	agent_hold_get(&h);
	hold_write(&w, &h);
	return agent_reply_send(r->out, &w);
}

/*
 * A thread inside the loader (a constructor that dlopen runs) holds the
 * loader's lock: holding it would stall every other dlopen, dlsym and
 * unwind. Its contexts have a loader frame in their stack.
 */
static int ctx_in_loader(const struct agent_ctx *c)
{
#ifndef __GLIBC__
	/* musl's loader is its C library (AT_BASE), and runs constructors
	 * after it let go of its lock. */
	(void)c;
	return 0;
#endif
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

static int reply_hold(struct agent_outq *out, int64_t id, const struct agent_hold_info *h)
{
	struct jsonw w;

	if (agent_reply_begin(&w, id, 1) < 0)
		return -1;
	hold_write(&w, h);
	return agent_reply_send(out, &w);
}

static int cmd_hold(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n)
{
	const struct jsonr_member *ctx = jsonr_get(m, n, "ctx");
	struct agent_hold_info h;
	struct agent_ctx *c;
	char msg[200];

	if (!ctx || ctx->type != JSONR_INT || ctx->num < 1 || ctx->num > PROTO_CTX_ID_MAX)
		return agent_reply_error(r->out, id, "\"ctx\" must be a context id (1 or more)");
	c = agent_ctx_by_id((uint32_t)ctx->num);
	if (!c) {
		snprintf(msg, sizeof(msg), "no context %lld (the ids are in the report)", (long long)ctx->num);
		return agent_reply_error(r->out, id, msg);
	}
	if (!__atomic_load_n(&agent_state.recording, __ATOMIC_ACQUIRE))
		return agent_reply_error(r->out, id, "the agent is not recording: no allocation would be seen");
	if (agent_hold_notify_fd() < 0)
		return agent_reply_error(r->out, id, "holds are not available: the agent could not create its eventfds");
	if (ctx_in_loader(c)) {
		snprintf(msg, sizeof(msg), "context %lld allocates inside the dynamic loader (a constructor "
			 "run by dlopen), which holds the loader's lock: it cannot be held", (long long)ctx->num);
		return agent_reply_error(r->out, id, msg);
	}
	if (agent_hold_arm((uint32_t)ctx->num, &h) < 0) {
		if (h.state == AGENT_HOLD_HELD)
			snprintf(msg, sizeof(msg), "thread %d is held at context %u: release it first", h.tid, h.ctx);
		else if (h.state == AGENT_HOLD_ARMED)
			snprintf(msg, sizeof(msg), "a hold is already armed for context %u (unhold cancels it)", h.ctx);
		else
			snprintf(msg, sizeof(msg), "the previous hold is still finishing: try again");
		return agent_reply_error(r->out, id, msg);
	}
	agent_hold_get(&h);
	return reply_hold(r->out, id, &h);
}

/* UNHOLD: cancel whatever there is; otherwise (release) a thread must be held. */
static int hold_release(struct agent_request *r, int64_t id, int unhold)
{
	struct agent_hold_info h;

	agent_hold_get(&h);
	if (!unhold && h.state != AGENT_HOLD_HELD)
		return agent_reply_error(r->out, id, h.state == AGENT_HOLD_ARMED ?
				   "no thread is held yet (unhold cancels the armed hold)" :
				   "no thread is held");
	agent_hold_cancel(&h);
	return reply_hold(r->out, id, &h);
}

/* A thread took the hold: tell memtrace. */
void agent_event_held(const struct agent_hold_info *h)
{
	struct jsonw w;

	if (agent_event_begin(&w, "held") < 0)
		return;
	jsonw_key(&w, "ctx");
	jsonw_u64(&w, h->ctx);
	jsonw_key(&w, "tid");
	jsonw_i64(&w, h->tid);
	jsonw_key(&w, "addr");
	jsonw_hex(&w, h->addr);
	jsonw_key(&w, "size");
	jsonw_u64(&w, h->size);
	jsonw_obj_end(&w);
	agent_event_send(&w, 1);
}

static int cmd_hello(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n)
{
	const struct jsonr_member *pid = jsonr_get(m, n, "pid");
	struct agent_outq *session = agent_session();
	char msg[160];
	struct jsonw w;

	if (session && session != r->out) {
		snprintf(msg, sizeof(msg),
			 "busy: memtrace (pid %d) is already connected to this process", agent_session_pid());
		agent_reply_error(r->out, id, msg);
		return -1;	/* hang up */
	}
	*r->session = 1;
	__atomic_store_n(r->orphan_deadline, -1, __ATOMIC_RELEASE);
	agent_session_claim(r->out, pid && pid->type == JSONR_INT ? (int)pid->num : r->peer_pid);
	if (agent_reply_begin(&w, id, 1) < 0)
		return -1;
	jsonw_key(&w, "protocol");
	jsonw_i64(&w, PROTO_VERSION);
	jsonw_key(&w, "agent_version");
	jsonw_str(&w, MEMTRACE_VERSION);
	agent_status_write(&w);
	return agent_reply_send(r->out, &w);
}

static int cmd_resume(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n)
{
	/* Reply first: once resumed, the program may exit at once and
	 * take this thread with it before the reply is out. */
	int ret = agent_reply_ok(r->out, id);

	(void)m;
	(void)n;
	sem_post(r->resume);
	return ret;
}

static int cmd_unhold(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n)
{
	(void)m;
	(void)n;
	return hold_release(r, id, 1);
}

static int cmd_release(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n)
{
	(void)m;
	(void)n;
	return hold_release(r, id, 0);
}

/*
 * exit_hold {"on": true}: hold the thread that ends the process normally
 * after the exit event (memtrace --leaks); {"on": false}: disarm, and let
 * a thread held there go, after the reply (once let go, the process may be
 * gone before a reply sent later leaves). "held": a thread was held.
 */
static int cmd_exit_hold(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n)
{
	const struct jsonr_member *on = jsonr_get(m, n, "on");
	int held = agent_control_exit_held();
	struct jsonw w;
	int ret;

	if (!on || on->type != JSONR_BOOL)
		return agent_reply_error(r->out, id, "\"on\" must be true or false");
	if (on->num && agent_control_exit_hold(1) < 0)
		return agent_reply_error(r->out, id, "the agent cannot hold at exit: it could not create an eventfd");
	if (agent_reply_begin(&w, id, 1) < 0)
		return -1;
	jsonw_kv_bool(&w, "held", held);
	ret = agent_reply_send(r->out, &w);
	if (!on->num)
		agent_control_exit_hold(0);
	return ret;
}

static int cmd_bye(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n)
{
	(void)m;
	(void)n;
	agent_reply_ok(r->out, id);
	return -1;
}

/* The commands. All but hello want the connection to have said hello. */
static const struct {
	const char *name;
	int (*fn)(struct agent_request *r, int64_t id, const struct jsonr_member *m, int n);
	int needs_hello;
} commands[] = {
	{ "hello", cmd_hello, 0 },
	{ "resume", cmd_resume, 1 },
	{ "status", cmd_status, 1 },
	{ "report", cmd_report, 1 },
	{ "sample", cmd_sample, 1 },
	{ "clear", cmd_clear, 1 },
	{ "dump", cmd_dump, 1 },
	{ "detach", cmd_detach, 1 },
	{ "attach", cmd_attach, 1 },
	{ "hold", cmd_hold, 1 },
	{ "unhold", cmd_unhold, 1 },
	{ "release", cmd_release, 1 },
	{ "exit_hold", cmd_exit_hold, 1 },
	{ "unwind_modules", agent_cmd_unwind_modules, 1 },
	{ "unwind_rows", agent_cmd_unwind_rows, 1 },
	{ "bye", cmd_bye, 1 },
};

int agent_commands_handle(struct agent_request *r, char *buf, size_t len)
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
		return agent_reply_error(r->out, 0, msg);
	}
	idm = jsonr_get(m, n, "id");
	if (idm && idm->type == JSONR_INT)
		id = idm->num;
	idm = jsonr_get(m, n, "v");
	if (!idm || idm->type != JSONR_INT || idm->num != PROTO_VERSION) {
		snprintf(msg, sizeof(msg), "bad message: \"v\" must be %d (protocol version)", PROTO_VERSION);
		return agent_reply_error(r->out, id, msg);
	}
	cmd = jsonr_get(m, n, "cmd");
	if (!cmd || cmd->type != JSONR_STRING)
		return agent_reply_error(r->out, id, "bad message: \"cmd\" (a string) is missing");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(cmd->str, commands[i].name))
			continue;
		if (commands[i].needs_hello && !*r->session)
			return agent_reply_error(r->out, id, "say hello first");
		return commands[i].fn(r, id, m, n);
	}
	/* Before hello, an unknown command is told to say hello first. */
	if (!*r->session)
		return agent_reply_error(r->out, id, "say hello first");
	snprintf(msg, sizeof(msg), "unknown command \"%.64s\"", cmd->str);
	return agent_reply_error(r->out, id, msg);
}

void agent_commands_session_lost(void)
{
	agent_hold_cancel(NULL);
	agent_unwind_rows_forget();
	if (attached_mode() && __atomic_load_n(&agent_state.recording, __ATOMIC_ACQUIRE))
		agent_detach(NULL);
}

/* Attached, and no memtrace said hello in time: detach as if it had come and gone. */
static void orphaned(void)
{
	if (!agent_session() && __atomic_load_n(&agent_state.recording, __ATOMIC_ACQUIRE))
		agent_detach(NULL);
}

/* The exit event: "signal", the exit "code" when known, the full "report". */
static void exit_members(struct jsonw *w, int sig)
{
	int code;

	jsonw_kv_i64(w, "signal", sig);
	code = agent_exit_code();
	if (!sig && code >= 0) {
		jsonw_kv_i64(w, "code", code);
	}
	jsonw_key(w, "report");
	jsonw_obj(w);
	agent_report_write(w, 0);
	jsonw_obj_end(w);
}

const struct agent_control_ops agent_commands = {
	.handle = agent_commands_handle,
	.held = agent_event_held,
	.session_lost = agent_commands_session_lost,
	.orphaned = orphaned,
	.exit_members = exit_members,
};
