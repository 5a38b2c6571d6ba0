/*
 * The server link's requests after the hello (docs/protocol.md, "Server
 * link", "Requests"): decode, ping and bye, and the replies' shape. Pure
 * JSON in, JSON out: server/conn.c does the framing, the hello and the logs.
 */
#ifndef SRV_REQUEST_H
#define SRV_REQUEST_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "decode.h"

/* {"v": 1, "id": ID, "ok": OK}. Exits when memory runs out. */
cJSON *srv_reply_new(double id, int ok);
/* {"v": 1, "id": ID, "ok": false, "error": the formatted text}. */
cJSON *srv_reply_error(double id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * S (NULL: "?") as printable ASCII for a log line or an error text: other
 * bytes become '?', and at most LEN - 1 bytes are kept (LEN > 0). Returns BUF.
 */
const char *srv_printable(const char *s, char *buf, size_t len);

/*
 * 1 when CMD is gdb work (core, frames, blocks, inspect, gdb-*): served by
 * the peer's work thread (server/work.h), not by srv_request_answer.
 */
int srv_request_is_work(const char *cmd);

struct srv_request_limits {
	size_t max_contexts; /* in one decode request */
	size_t max_frames;   /* in all its contexts */
};

/*
 * TEXT (LEN bytes, a NUL after them) as one JSON object, or NULL with the
 * error reply (id 0) in *ERROR: more values than SRV_LINK_MAX_VALUES (checked
 * before parsing, without allocating), not JSON, something after the value,
 * not an object. Pure: callable from any thread.
 */
cJSON *srv_request_parse(const char *text, size_t len, cJSON **error);

/*
 * A request whose answer may take long (a decode, or a message so large
 * that parsing it does), made away from the event loop (server/pool.h):
 * everything it needs, nothing of the connection it came on.
 */
struct srv_request_job {
	/* In: the message's text (malloc'ed, a NUL after LEN bytes; taken), or NULL and MSG. */
	char *text;
	size_t len;
	/*
	 * In: the message parsed (taken), when TEXT is NULL. Out: a message
	 * handed back unanswered (not a version-1 decode: hello, ping, gdb
	 * work, errors in its envelope, for the connection to handle), or NULL.
	 */
	cJSON *msg;
	struct srv_request_limits lim;
	/* Out, when MSG is NULL: the reply's text (malloc'ed), its id, whether it is an error and why. */
	char *reply;
	size_t reply_len;
	double id;
	int is_error;
	char why[512];
	int large; /* its parse trees were large: the runner may give their memory back (malloc_trim) */
	/* Out: a sample request's sample, decoded (srv_request_sample), for the runner's metrics; or NULL. */
	cJSON *sample;
	/* The runner's: the connection waiting for the job (NULL: gone), and its queue. */
	void *owner;
	struct srv_request_job *next;
};

/*
 * Run job J with decoder D (the calling thread's own; NULL: decoding
 * fails with an error reply). Exits when memory runs out.
 */
void srv_request_run(struct srv_decoder *d, struct srv_request_job *j);
/* Free J and what it holds. NULL is a no-op. */
void srv_request_job_free(struct srv_request_job *j);

/* 1 when CMD is answered by srv_request_run (decode, sample): what conn.h's offload takes. */
int srv_request_offloads(const char *cmd);

/* The most contexts a sample request may hold (a device sends its --metrics top, at most 100). */
#define SRV_SAMPLE_MAX_CONTEXTS 1000

/*
 * The reply to a sample request MSG (its "sample" object: memtrace's trend
 * document, docs/protocol.md "Server link"): the sample's frames decoded
 * with D (at most 8 a context kept), and the sample detached from MSG into
 * *SAMPLE (NULL when the reply is an error). Never returns NULL.
 */
cJSON *srv_request_sample(struct srv_decoder *d, const struct srv_request_limits *lim, cJSON *msg, double id,
			  cJSON **sample);

/*
 * The reply to request MSG (an object whose "v" was checked), of id ID and
 * command CMD. A decode request's report is moved from MSG into the reply
 * (MSG keeps the rest). Sets *END to 1 when the connection ends after the
 * reply (bye). Never NULL: a request that cannot be served gets an error
 * reply that says why. Caller deletes it.
 */
cJSON *srv_request_answer(struct srv_decoder *d, const struct srv_request_limits *lim, cJSON *msg, double id,
			  const char *cmd, int *end);

#endif
