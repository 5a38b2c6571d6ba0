/*
 * A peer's output queue: framed messages (4-byte big-endian length, then
 * the body) waiting to be written, in order. Pure memory: the caller writes
 * what srv_outq_iov() hands out and says how much went with
 * srv_outq_consume(), so the queue can be driven without sockets.
 */
#ifndef SRV_OUTQ_H
#define SRV_OUTQ_H

#include <stddef.h>
#include <sys/uio.h>

struct srv_outmsg;

struct srv_outq {
	struct srv_outmsg *head, *tail;
	size_t bytes; /* not yet written, headers included */
};

void srv_outq_init(struct srv_outq *q);
/* Drop everything queued. The queue stays usable. */
void srv_outq_clear(struct srv_outq *q);

/*
 * Queue one message whose body is BODY (LEN bytes, malloc'ed): the queue
 * owns it from now on, and frees it once written or dropped.
 */
void srv_outq_push(struct srv_outq *q, char *body, size_t len);

/* Bytes waiting, headers included; 0 when everything was written. */
size_t srv_outq_bytes(const struct srv_outq *q);

/* Up to MAX pieces of what is waiting, in order, into IOV. Returns how many. */
int srv_outq_iov(const struct srv_outq *q, struct iovec *iov, int max);

/* N bytes (at most srv_outq_bytes()) of the front of the queue were written. */
void srv_outq_consume(struct srv_outq *q, size_t n);

#endif
