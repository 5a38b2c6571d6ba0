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
 * The reply to request MSG (an object whose "v" was checked), of id ID and
 * command CMD. A decode request's report is moved from MSG into the reply
 * (MSG keeps the rest). Sets *END to 1 when the connection ends after the
 * reply (bye). Never NULL: a request that cannot be served gets an error
 * reply that says why. Caller deletes it.
 */
cJSON *srv_request_answer(struct srv_decoder *d, const struct srv_request_limits *lim, cJSON *msg, double id,
			  const char *cmd, int *end);

#endif
