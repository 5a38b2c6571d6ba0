/*
 * One framed JSON message before a deadline (proto_msg.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "proto.h"
#include "proto_msg.h"

/* Milliseconds left until DEADLINE for proto_read_all: -1 none, at least 1
 * (what is already there is still read), at most INT_MAX. */
static int left_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - proto_now_ms();
	return left < 1 ? 1 : left > 0x7fffffff ? 0x7fffffff : (int)left;
}

static long version_of(const cJSON *msg)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, "v");

	return cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
}

enum proto_msg_result proto_read_msg(int fd, uint32_t max, int64_t deadline, int body_ms, cJSON **out,
				     uint32_t *len)
{
	unsigned char hdr[PROTO_HEADER_SIZE];
	int64_t body_deadline;
	char *buf;
	int err;

	*out = NULL;
	*len = 0;
	if (proto_read_all(fd, hdr, sizeof(hdr), left_ms(deadline)) < 0)
		return PROTO_MSG_IO;
	*len = proto_header_len(hdr);
	if (*len == 0 || *len > max)
		return PROTO_MSG_SIZE;
	buf = malloc((size_t)*len + 1);
	if (!buf)
		return PROTO_MSG_NOMEM;
	body_deadline = deadline;
	if (body_ms < 0)
		body_deadline = -1;
	else if (deadline >= 0 && proto_now_ms() + body_ms > deadline)
		body_deadline = proto_now_ms() + body_ms;
	if (proto_read_all(fd, buf, *len, left_ms(body_deadline)) < 0) {
		err = errno;
		free(buf);
		errno = err;
		return PROTO_MSG_IO;
	}
	*out = cJSON_ParseWithLength(buf, *len);
	free(buf);
	if (!cJSON_IsObject(*out) || version_of(*out) != PROTO_VERSION) {
		cJSON_Delete(*out);
		*out = NULL;
		return PROTO_MSG_GARBLED;
	}
	return PROTO_MSG_OK;
}
