/*
 * The input side of the server link's framing (docs/protocol.md, "Server
 * link"): a byte stream cut into messages, each a 4-byte big-endian length
 * then that many bytes. A pure state machine over byte buffers (no sockets,
 * no clock), so it can be fuzzed and fed in pieces of any size.
 *
 * A length over the limit is reported at its header and its body is then
 * consumed and dropped, so the stream stays in step; a length over
 * SRV_MSGIN_MAX_LENGTH (1 GiB) means the stream is lost and nothing more may be fed.
 */
#ifndef SRV_MSGIN_H
#define SRV_MSGIN_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* A length above this is no message of ours: the stream is out of step. */
#define SRV_MSGIN_MAX_LENGTH (1u << 30)

enum srv_msgin_event {
	SRV_MSGIN_MORE,	       /* every byte given was consumed; feed more */
	SRV_MSGIN_HEADER,      /* a header within the limit: srv_msgin_length() says how long */
	SRV_MSGIN_MESSAGE,     /* a whole message: srv_msgin_body(), then srv_msgin_next() */
	SRV_MSGIN_TOO_LARGE,   /* a length over the limit: its body will be dropped */
	SRV_MSGIN_OUT_OF_STEP, /* a length over SRV_MSGIN_MAX_LENGTH: feed nothing more */
	SRV_MSGIN_NOMEM,       /* no memory for the body: it is dropped like a TOO_LARGE one */
};

struct srv_msgin {
	size_t limit; /* largest body accepted */
	enum { MSGIN_HEADER, MSGIN_BODY, MSGIN_SKIP, MSGIN_READY, MSGIN_LOST } state;
	unsigned char hdr[PROTO_HEADER_SIZE];
	size_t hdr_have;
	uint32_t length;  /* of the message being read or skipped */
	size_t have;	  /* body bytes read (or skipped) so far */
	char *body;	  /* LENGTH + 1 bytes once the body starts, NUL-terminated when READY */
	size_t body_cap;  /* allocated */
};

/* Start with nothing read; bodies over LIMIT bytes (at most SRV_MSGIN_MAX_LENGTH) are dropped. */
void srv_msgin_init(struct srv_msgin *m, size_t limit);
/* From the next header on, bodies over LIMIT bytes are dropped. */
void srv_msgin_set_limit(struct srv_msgin *m, size_t limit);
/* Free the body buffer. The machine may be initialised again. */
void srv_msgin_release(struct srv_msgin *m);

/*
 * Consume bytes of BUF (LEN bytes) until an event: returns how many were
 * consumed, and the event in *EV. After SRV_MSGIN_MESSAGE nothing more is
 * consumed until srv_msgin_next(); after SRV_MSGIN_OUT_OF_STEP, never again.
 * The other events are reported once, at the point they happen, and
 * feeding then goes on. Never fails: memory for a body is taken as its bytes
 * arrive, and when it cannot be had the body is dropped (SRV_MSGIN_NOMEM).
 */
size_t srv_msgin_feed(struct srv_msgin *m, const void *buf, size_t len, enum srv_msgin_event *ev);

/* After SRV_MSGIN_MESSAGE: the body (NUL-terminated after its LEN bytes), owned by M. */
const char *srv_msgin_body(const struct srv_msgin *m, size_t *len);
/*
 * After SRV_MSGIN_MESSAGE, instead of srv_msgin_body and srv_msgin_next:
 * the body itself (malloc'ed, NUL-terminated after its *LEN bytes), now the
 * caller's to free, and the next message may be read.
 */
char *srv_msgin_take_body(struct srv_msgin *m, size_t *len);
/* Done with the message: the next one may be read. The body buffer is freed. */
void srv_msgin_next(struct srv_msgin *m);

/* The length of the message being read or skipped (after a header event). */
uint32_t srv_msgin_length(const struct srv_msgin *m);
/* 1 while part of a message (header or body) has been consumed and not all of it. */
int srv_msgin_partial(const struct srv_msgin *m);

#endif
