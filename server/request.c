/*
 * Answering requests (request.h). Decoding is synchronous: the decoder is
 * shared by every peer and not thread-safe, and a report that comes again
 * costs hash lookups (docs/server.md).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "annotate.h"
#include "log.h"
#include "request.h"
#include "util.h"

static cJSON *checked(cJSON *item)
{
	if (!item) {
		log_err("out of memory");
		exit(125);
	}
	return item;
}

cJSON *srv_reply_new(double id, int ok)
{
	cJSON *r = checked(cJSON_CreateObject());

	checked(cJSON_AddNumberToObject(r, "v", 1));
	checked(cJSON_AddNumberToObject(r, "id", id));
	checked(cJSON_AddBoolToObject(r, "ok", ok));
	return r;
}

cJSON *srv_reply_error(double id, const char *fmt, ...)
{
	cJSON *r = srv_reply_new(id, 0);
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	checked(cJSON_AddStringToObject(r, "error", text));
	return r;
}

const char *srv_printable(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	if (!s)
		s = "?";
	for (; *s && n + 1 < len; s++)
		buf[n++] = *s >= ' ' && *s < 0x7f ? *s : '?';
	buf[n] = '\0';
	return buf;
}

/* The decode request's size, checked before anything is decoded. NULL, or the error reply. */
static cJSON *over_limits(const cJSON *report, const struct srv_request_limits *lim, double id)
{
	const cJSON *contexts = cJSON_GetObjectItemCaseSensitive(report, "contexts");
	const cJSON *c;
	size_t nc = 0, nf = 0;

	if (!cJSON_IsArray(contexts))
		return NULL; /* srv_report_decode says what is wrong */
	cJSON_ArrayForEach(c, contexts) {
		const cJSON *frames = cJSON_GetObjectItemCaseSensitive(c, "frames");
		const cJSON *f;

		if (++nc > lim->max_contexts)
			return srv_reply_error(id, "decode: the report has more than %zu contexts, the most a request may hold",
					       lim->max_contexts);
		if (!cJSON_IsArray(frames))
			continue;
		cJSON_ArrayForEach(f, frames) {
			if (++nf > lim->max_frames)
				return srv_reply_error(id,
						       "decode: the report has more than %zu frames in all, the most a request may hold",
						       lim->max_frames);
		}
	}
	return NULL;
}

static cJSON *decode(struct srv_decoder *d, const struct srv_request_limits *lim, cJSON *msg, double id)
{
	cJSON *report = cJSON_GetObjectItemCaseSensitive(msg, "report");
	cJSON *reply;
	char err[256];

	if (!cJSON_IsObject(report))
		return srv_reply_error(id, "decode: no \"report\" object in the request");
	reply = over_limits(report, lim, id);
	if (reply)
		return reply;
	if (srv_report_decode(d, report, err, sizeof(err)) != SRV_REPORT_OK)
		return srv_reply_error(id, "decode: %s", err);
	reply = srv_reply_new(id, 1);
	cJSON_AddItemToObject(reply, "report", cJSON_DetachItemViaPointer(msg, report));
	/* The reply holds copies: the caches may go. Peers cannot grow them without bound. */
	if (srv_decoder_entries(d) > SRV_DECODER_MAX_ENTRIES) {
		log_info("the decoder keeps %zu modules and addresses, more than %u: forgetting them",
			 srv_decoder_entries(d), SRV_DECODER_MAX_ENTRIES);
		srv_decoder_reset(d);
	}
	return reply;
}

int srv_request_is_work(const char *cmd)
{
	static const char *const work[] = { "core",	"frames",   "blocks",	"inspect",  "gdb-open",
					    "gdb-site", "gdb-exec", "gdb-wait", "gdb-close" };

	for (size_t i = 0; i < sizeof(work) / sizeof(work[0]); i++)
		if (!strcmp(cmd, work[i]))
			return 1;
	return 0;
}

cJSON *srv_request_answer(struct srv_decoder *d, const struct srv_request_limits *lim, cJSON *msg, double id,
			  const char *cmd, int *end)
{
	char name[65];

	*end = 0;
	if (!strcmp(cmd, "decode"))
		return decode(d, lim, msg, id);
	if (!strcmp(cmd, "ping"))
		return srv_reply_new(id, 1);
	if (!strcmp(cmd, "bye")) {
		*end = 1;
		return srv_reply_new(id, 1);
	}
	if (!strcmp(cmd, "hello"))
		return srv_reply_error(id, "hello: this link has already said hello");
	return srv_reply_error(id, "unknown command '%s' (this memtrace-server %s knows decode, ping, bye, core, frames, blocks, inspect and gdb-*)",
			       srv_printable(cmd, name, sizeof(name)), MEMTRACE_VERSION);
}
