/*
 * The agent connection. One request is in flight at a time; replies are
 * matched by id and anything else that arrives is an event, queued in
 * arrival order. A reply that is a protocol error (wrong version, garbage)
 * drops the connection: nothing good can follow on that stream.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "ns.h"
#include "proto.h"
#include "proto_msg.h"
#include "reach.h"
#include "session.h"
#include "util.h"

#define MAX_EVENTS 16
#define RETRY_MS 2

struct inj_session {
	int fd;
	int pid;
	int own_pid;	/* the pid in the process's own PID namespace */
	int lost;
	long next_id;
	cJSON *hello;
	cJSON *events[MAX_EVENTS];
	int nevents;
};

/* Read one message (blocking up to TIMEOUT_MS). NULL on error; errno set. */
static cJSON *read_message(struct inj_session *s, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : proto_now_ms() + timeout_ms;
	cJSON *msg;
	uint32_t len;

	/* Once the header has arrived, the body follows at the peer's pace. */
	switch (proto_read_msg(s->fd, PROTO_MAX_REPLY, deadline, timeout_ms < 0 ? -1 : timeout_ms + 60000, &msg,
			       &len)) {
	case PROTO_MSG_OK:
		return msg;
	case PROTO_MSG_IO:
		break;
	case PROTO_MSG_SIZE:
		log_err("the agent sent a message of %u bytes (limit %u): closing the connection",
			len, PROTO_MAX_REPLY);
		errno = EPROTO;
		break;
	case PROTO_MSG_NOMEM:
		log_err("no memory for a %u-byte message from the agent", len);
		errno = ENOMEM;
		break;
	case PROTO_MSG_GARBLED:
		log_err("the agent sent a message memtrace cannot read (not protocol version %d JSON)",
			PROTO_VERSION);
		errno = EPROTO;
		break;
	}
	s->lost = 1;
	return NULL;
}

long inj_json_num_int(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
}

static void queue_event(struct inj_session *s, cJSON *ev)
{
	if (s->nevents == MAX_EVENTS) {
		log_warn("too many unread events from the agent; dropping the oldest");
		cJSON_Delete(s->events[0]);
		memmove(s->events, s->events + 1, (MAX_EVENTS - 1) * sizeof(s->events[0]));
		s->nevents--;
	}
	s->events[s->nevents++] = ev;
}

cJSON *inj_session_next_event(struct inj_session *s)
{
	cJSON *ev;

	if (!s || !s->nevents)
		return NULL;
	ev = s->events[0];
	memmove(s->events, s->events + 1, (size_t)(s->nevents - 1) * sizeof(s->events[0]));
	s->nevents--;
	return ev;
}

int inj_session_pump(struct inj_session *s)
{
	for (;;) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		cJSON *msg;

		if (s->lost)
			return -1;
		if (poll(&pfd, 1, 0) <= 0)
			return 0;
		msg = read_message(s, 10000);
		if (!msg)
			return -1;
		if (cJSON_GetObjectItemCaseSensitive(msg, "event"))
			queue_event(s, msg);
		else
			cJSON_Delete(msg);	/* a late reply to a request that timed out */
	}
}

/* Send CMD with ARGS; its id, or -1 (logged; the session may be lost). */
static long send_request(struct inj_session *s, const char *cmd, const cJSON *args, int timeout_ms)
{
	cJSON *req = args ? cJSON_Duplicate(args, 1) : cJSON_CreateObject();
	long id = ++s->next_id;
	char *text;
	int ret;

	if (s->lost) {
		cJSON_Delete(req);
		errno = ECONNRESET;
		return log_err("%s: the connection to the agent is lost", cmd);
	}
	cJSON_AddNumberToObject(req, "v", PROTO_VERSION);
	cJSON_AddNumberToObject(req, "id", (double)id);
	cJSON_AddStringToObject(req, "cmd", cmd);
	text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!text)
		return log_err("%s: out of memory", cmd);
	ret = proto_send(s->fd, text, strlen(text), timeout_ms);
	free(text);
	if (ret < 0) {
		int e = errno;

		/* The agent may have sent its last words (the exit report) before it
		 * closed: they are still in the socket; keep them as events. */
		inj_session_pump(s);
		s->lost = 1;
		errno = e;
		return log_err("%s: cannot send to the agent: %s", cmd, strerror(e));
	}
	return id;
}

int inj_session_send(struct inj_session *s, const char *cmd, const cJSON *args, int timeout_ms)
{
	return send_request(s, cmd, args, timeout_ms) < 0 ? -1 : 0;
}

cJSON *inj_session_request(struct inj_session *s, const char *cmd, const cJSON *args, int timeout_ms)
{
	int64_t deadline = proto_now_ms() + timeout_ms;
	long id = send_request(s, cmd, args, timeout_ms);

	if (id < 0)
		return NULL;
	for (;;) {
		int64_t left = deadline - proto_now_ms();
		cJSON *msg;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return log_err_null("%s: the agent did not answer within %d s", cmd, timeout_ms / 1000);
		}
		msg = read_message(s, (int)left);
		if (!msg) {
			if (errno == ETIMEDOUT)
				return log_err_null("%s: the agent did not answer within %d s; "
						    "connection closed", cmd, timeout_ms / 1000);
			return log_err_null("%s: the connection to the agent is lost%s", cmd,
					    errno == ECONNRESET ? " (the process ended?)" : "");
		}
		if (cJSON_GetObjectItemCaseSensitive(msg, "event")) {
			queue_event(s, msg);
			continue;
		}
		if (inj_json_num_int(msg, "id") != id && inj_json_num_int(msg, "id") != 0) {
			cJSON_Delete(msg);	/* a late reply to an earlier request */
			continue;
		}
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "ok"))) {
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(msg, "error");

			const char *text = cJSON_IsString(e) ? e->valuestring : "the agent refused";
			int busy = !strncmp(text, "busy:", 5);

			if (!strcmp(cmd, "hello"))
				log_err("the agent in process %d refused the connection: %s%s", s->pid, text,
					!strncmp(text, "permission denied", 17) && inj_ns_uid_mapped(s->pid) == 0 ?
					" (memtrace's user has no uid in the process's user namespace, a "
					"rootless container?, where it counts as nobody: run memtrace as the "
					"container's owner)" : "");
			else
				log_err("%s: %s", cmd, text);
			cJSON_Delete(msg);
			errno = busy ? EBUSY : EINVAL;
			return NULL;
		}
		return msg;
	}
}

struct inj_session *inj_session_open(int pid, int timeout_ms, int (*alive)(void *), void *arg)
{
	int64_t deadline = proto_now_ms() + timeout_ms;
	struct inj_session *s;
	struct inj_reach reach;
	cJSON *args;
	int fd;

	if (inj_reach_init(&reach, pid) < 0)
		return NULL;
	for (;;) {
		fd = inj_reach_connect(&reach);
		if (fd >= 0)
			break;
		if (errno != ECONNREFUSED)
			return NULL;
		if (alive && !alive(arg)) {
			errno = ESRCH;
			return NULL;
		}
		if (proto_now_ms() >= deadline) {
			inj_reach_explain(&reach, timeout_ms);
			errno = ETIMEDOUT;
			return NULL;
		}
		nanosleep(&(struct timespec){ .tv_nsec = RETRY_MS * 1000000L }, NULL);
	}
	s = xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->pid = pid;
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "client", "memtrace");
	cJSON_AddNumberToObject(args, "pid", getpid());
	s->hello = inj_session_request(s, "hello", args, timeout_ms);
	cJSON_Delete(args);
	if (!s->hello) {
		int e = errno;

		inj_session_free(s);
		errno = e;
		return NULL;
	}
	/* The agent knows itself by the pid of its own PID namespace. */
	if (inj_json_num_int(s->hello, "pid") != reach.own_pid) {
		log_err("the agent answering for process %d (%d in its PID namespace) says it is in "
			"process %ld", pid, reach.own_pid, inj_json_num_int(s->hello, "pid"));
		inj_session_free(s);
		errno = EPROTO;
		return NULL;
	}
	s->own_pid = reach.own_pid;
	return s;
}

void inj_session_free(struct inj_session *s)
{
	if (!s)
		return;
	while (s->nevents)
		cJSON_Delete(inj_session_next_event(s));
	cJSON_Delete(s->hello);
	close(s->fd);
	free(s);
}

const cJSON *inj_session_hello(const struct inj_session *s)
{
	return s->hello;
}

int inj_session_fd(const struct inj_session *s)
{
	return s->fd;
}

int inj_session_own_pid(const struct inj_session *s)
{
	return s->own_pid;
}

int inj_session_lost(const struct inj_session *s)
{
	return s->lost;
}
