/*
 * One framed JSON message read from a stream socket before a deadline, for
 * the programs that parse with cJSON: memtrace reads the agent's replies
 * (inject/session.c) and memtrace-server's (inject/link/srvlink.c) with it. The
 * agent has no cJSON and never allocates here, so this is apart from
 * proto.c.
 */
#ifndef MEMTRACE_PROTO_MSG_H
#define MEMTRACE_PROTO_MSG_H

#include <stdint.h>

#include <cjson/cJSON.h>

/* What became of a read; each caller words its own message from it. */
enum proto_msg_result {
	PROTO_MSG_OK,
	PROTO_MSG_IO,	   /* the socket failed: errno (ETIMEDOUT, ECONNRESET at EOF, ...) */
	PROTO_MSG_SIZE,	   /* a length of 0 or over the limit, in *LEN: the stream is lost */
	PROTO_MSG_NOMEM,   /* no memory for a body of *LEN bytes */
	PROTO_MSG_GARBLED, /* not a JSON object with "v": PROTO_VERSION */
};

/*
 * Read one message of at most MAX bytes from FD into *OUT (a JSON object
 * the caller deletes). Its header must come before DEADLINE (proto_now_ms()
 * time, -1: none); the body then has until DEADLINE or BODY_MS after the
 * header, whichever is later (BODY_MS < 0: no limit), so a peer that has
 * begun a long message is given time to finish it. *LEN is the header's
 * length once it has been read. On anything but PROTO_MSG_OK, *OUT is NULL
 * and the stream is not in step any more.
 */
enum proto_msg_result proto_read_msg(int fd, uint32_t max, int64_t deadline, int body_ms, cJSON **out,
				     uint32_t *len);

#endif
