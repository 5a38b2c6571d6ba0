/*
 * Cutting the link's byte stream into messages (msgin.h). A body's memory
 * is taken as its bytes arrive, doubling, rather than all at once at its
 * header: a peer that announces 64 MiB and sends ten bytes costs ten bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "msgin.h"

/* The first buffer of a body, unless the body is smaller. */
#define BODY_FIRST_CAP 4096

void srv_msgin_init(struct srv_msgin *m, size_t limit)
{
	memset(m, 0, sizeof(*m));
	srv_msgin_set_limit(m, limit);
	m->state = MSGIN_HEADER;
}

void srv_msgin_set_limit(struct srv_msgin *m, size_t limit)
{
	m->limit = limit < SRV_MSGIN_MAX_LENGTH ? limit : SRV_MSGIN_MAX_LENGTH;
}

void srv_msgin_release(struct srv_msgin *m)
{
	free(m->body);
	m->body = NULL;
	m->body_cap = 0;
}

/* Room for NEED bytes (NEED <= length + 1) in the body buffer. 0 or -1. */
static int body_room(struct srv_msgin *m, size_t need)
{
	size_t full = (size_t)m->length + 1, cap;
	char *p;

	if (need <= m->body_cap)
		return 0;
	cap = m->body_cap ? m->body_cap * 2 : BODY_FIRST_CAP;
	if (cap < need)
		cap = need;
	if (cap > full)
		cap = full;
	p = realloc(m->body, cap);
	if (!p)
		return -1;
	m->body = p;
	m->body_cap = cap;
	return 0;
}

size_t srv_msgin_feed(struct srv_msgin *m, const void *buf, size_t len, enum srv_msgin_event *ev)
{
	const unsigned char *p = buf;
	size_t used = 0, take;

	for (;;) {
		switch (m->state) {
		case MSGIN_READY:
			*ev = SRV_MSGIN_MESSAGE;
			return used;
		case MSGIN_LOST:
			*ev = SRV_MSGIN_OUT_OF_STEP;
			return used;
		case MSGIN_HEADER:
			if (used == len) {
				*ev = SRV_MSGIN_MORE;
				return used;
			}
			take = sizeof(m->hdr) - m->hdr_have;
			if (take > len - used)
				take = len - used;
			memcpy(m->hdr + m->hdr_have, p + used, take);
			m->hdr_have += take;
			used += take;
			if (m->hdr_have < sizeof(m->hdr))
				continue;
			m->length = proto_header_len(m->hdr);
			m->hdr_have = 0;
			m->have = 0;
			if (m->length > SRV_MSGIN_MAX_LENGTH) {
				m->state = MSGIN_LOST;
				*ev = SRV_MSGIN_OUT_OF_STEP;
			} else if (m->length > m->limit) {
				m->state = MSGIN_SKIP;
				*ev = SRV_MSGIN_TOO_LARGE;
			} else {
				m->state = MSGIN_BODY;
				*ev = SRV_MSGIN_HEADER;
			}
			return used;
		case MSGIN_BODY:
		case MSGIN_SKIP:
			/* A body is read in or skipped the same way; only BODY keeps the bytes. */
			if (m->have == m->length && m->state == MSGIN_SKIP) {
				m->state = MSGIN_HEADER;
				continue;
			}
			if (m->have == m->length) {
				if (body_room(m, m->have + 1) < 0)
					goto nomem;
				m->body[m->have] = '\0';
				m->state = MSGIN_READY;
				continue;
			}
			if (used == len) {
				*ev = SRV_MSGIN_MORE;
				return used;
			}
			take = m->length - m->have;
			if (take > len - used)
				take = len - used;
			if (m->state == MSGIN_BODY) {
				if (body_room(m, m->have + take + 1) < 0)
					goto nomem;
				memcpy(m->body + m->have, p + used, take);
			}
			m->have += take;
			used += take;
			continue;
		}
	}
nomem:
	srv_msgin_release(m);
	m->state = MSGIN_SKIP;
	*ev = SRV_MSGIN_NOMEM;
	return used;
}

const char *srv_msgin_body(const struct srv_msgin *m, size_t *len)
{
	*len = m->state == MSGIN_READY ? m->length : 0;
	return m->state == MSGIN_READY ? m->body : "";
}

char *srv_msgin_take_body(struct srv_msgin *m, size_t *len)
{
	char *body;

	if (m->state != MSGIN_READY) {
		*len = 0;
		return NULL;
	}
	body = m->body;
	*len = m->length;
	m->body = NULL;
	m->body_cap = 0;
	m->state = MSGIN_HEADER;
	return body;
}

void srv_msgin_next(struct srv_msgin *m)
{
	if (m->state != MSGIN_READY)
		return;
	srv_msgin_release(m);
	m->state = MSGIN_HEADER;
}

uint32_t srv_msgin_length(const struct srv_msgin *m)
{
	return m->length;
}

int srv_msgin_partial(const struct srv_msgin *m)
{
	return (m->state == MSGIN_HEADER && m->hdr_have > 0) || m->state == MSGIN_BODY || m->state == MSGIN_SKIP;
}
