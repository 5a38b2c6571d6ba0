/*
 * The output queue (outq.h). Each message keeps its header beside its body,
 * so a reply of hundreds of MiB is never copied to be framed.
 */
#include <stdint.h>
#include <stdlib.h>

#include "outq.h"
#include "proto.h"
#include "util.h"

struct srv_outmsg {
	struct srv_outmsg *next;
	unsigned char hdr[PROTO_HEADER_SIZE];
	char *body;
	size_t len; /* of the body */
	size_t off; /* bytes of header + body already written */
};

void srv_outq_init(struct srv_outq *q)
{
	q->head = q->tail = NULL;
	q->bytes = 0;
}

void srv_outq_clear(struct srv_outq *q)
{
	while (q->head) {
		struct srv_outmsg *m = q->head;

		q->head = m->next;
		free(m->body);
		free(m);
	}
	srv_outq_init(q);
}

void srv_outq_push(struct srv_outq *q, char *body, size_t len)
{
	struct srv_outmsg *m = xmalloc(sizeof(*m));

	m->next = NULL;
	proto_header_put(m->hdr, (uint32_t)len);
	m->body = body;
	m->len = len;
	m->off = 0;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->bytes += sizeof(m->hdr) + len;
}

size_t srv_outq_bytes(const struct srv_outq *q)
{
	return q->bytes;
}

int srv_outq_iov(const struct srv_outq *q, struct iovec *iov, int max)
{
	int n = 0;

	for (const struct srv_outmsg *m = q->head; m && n < max; m = m->next) {
		if (m->off < sizeof(m->hdr)) {
			iov[n].iov_base = (void *)(m->hdr + m->off);
			iov[n++].iov_len = sizeof(m->hdr) - m->off;
			if (n == max)
				break;
		}
		if (m->len) {
			size_t at = m->off > sizeof(m->hdr) ? m->off - sizeof(m->hdr) : 0;

			iov[n].iov_base = m->body + at;
			iov[n++].iov_len = m->len - at;
		}
	}
	return n;
}

void srv_outq_consume(struct srv_outq *q, size_t n)
{
	if (n > q->bytes)
		n = q->bytes;
	q->bytes -= n;
	while (n && q->head) {
		struct srv_outmsg *m = q->head;
		size_t left = sizeof(m->hdr) + m->len - m->off;

		if (n < left) {
			m->off += n;
			return;
		}
		n -= left;
		q->head = m->next;
		if (!q->head)
			q->tail = NULL;
		free(m->body);
		free(m);
	}
}
