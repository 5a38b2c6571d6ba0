/*
 * Answering requests (request.h). Everything here is pure over JSON, so a
 * decode runs wherever its caller puts it: the network server's decode
 * pool (server/pool.c), each thread with a decoder of its own (decoders
 * are not thread-safe), or the caller's own thread (the fuzzer).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "annotate.h"
#include "conn.h"
#include "log.h"
#include "request.h"
#include "workcmd.h"
#include "util.h"

static cJSON *checked(cJSON *item)
{
	if (!item)
		log_oom();
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

/*
 * An upper bound of the number of JSON values in TEXT, in one pass and
 * without allocating: every value but the first follows a '[', '{' or ','
 * outside strings. Keeps a 64 MiB "[0,0,0,...]" from costing 2 GiB of parse
 * tree.
 */
static size_t json_values_bound(const char *text, size_t len)
{
	size_t n = 1;
	int in_str = 0, esc = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = text[i];

		if (in_str) {
			if (esc)
				esc = 0;
			else if (ch == '\\')
				esc = 1;
			else if (ch == '"')
				in_str = 0;
		} else if (ch == '"') {
			in_str = 1;
		} else if (ch == '[' || ch == '{' || ch == ',') {
			n++;
		}
	}
	return n;
}

cJSON *srv_request_parse(const char *text, size_t len, cJSON **error)
{
	const char *end = NULL;
	cJSON *msg;

	*error = NULL;
	if (json_values_bound(text, len) > SRV_LINK_MAX_VALUES) {
		*error = srv_reply_error(0, "a message of more than %u JSON values: refused (memory)", SRV_LINK_MAX_VALUES);
		return NULL;
	}
	msg = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (msg) {
		/* One value, then nothing but white space. */
		for (const char *p = end; p < text + len; p++) {
			if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
				cJSON_Delete(msg);
				msg = NULL;
				end = p;
				break;
			}
		}
	}
	if (!msg) {
		size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;

		if (len)
			*error = srv_reply_error(0, "a message that is not JSON (error near byte %zu of %zu)", at, len);
		else
			*error = srv_reply_error(0, "an empty message: not JSON");
		return NULL;
	}
	if (!cJSON_IsObject(msg)) {
		cJSON_Delete(msg);
		*error = srv_reply_error(0, "a message that is not a JSON object");
		return NULL;
	}
	return msg;
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

/* Frames of a sampled context that are decoded and kept: the metrics name a context by its first ones. */
#define SAMPLE_FRAMES 8

cJSON *srv_request_sample(struct srv_decoder *d, const struct srv_request_limits *lim, cJSON *msg, double id,
			  cJSON **out)
{
	cJSON *sample = cJSON_GetObjectItemCaseSensitive(msg, "sample");
	cJSON *c, *contexts;
	char err[256];

	*out = NULL;
	(void)lim;
	if (!cJSON_IsObject(sample))
		return srv_reply_error(id, "sample: no \"sample\" object in the request");
	contexts = cJSON_GetObjectItemCaseSensitive(sample, "contexts");
	if (cJSON_IsArray(contexts)) {
		if (cJSON_GetArraySize(contexts) > SRV_SAMPLE_MAX_CONTEXTS)
			return srv_reply_error(id, "sample: more than %d contexts, the most a sample may hold",
					       SRV_SAMPLE_MAX_CONTEXTS);
		cJSON_ArrayForEach(c, contexts) {
			cJSON *frames = cJSON_GetObjectItemCaseSensitive(c, "frames");

			while (cJSON_IsArray(frames) && cJSON_GetArraySize(frames) > SAMPLE_FRAMES)
				cJSON_DeleteItemFromArray(frames, cJSON_GetArraySize(frames) - 1);
		}
	}
	if (srv_report_decode(d, sample, err, sizeof(err)) != SRV_REPORT_OK)
		return srv_reply_error(id, "sample: %s", err);
	if (srv_decoder_entries(d) > SRV_DECODER_MAX_ENTRIES)
		srv_decoder_reset(d);
	*out = cJSON_DetachItemViaPointer(msg, sample);
	return srv_reply_new(id, 1);
}

int srv_request_is_work(const char *cmd)
{
#define WORK_NAME(name, whole, view, ctx) name,
	static const char *const work[] = { SRV_WORK_COMMANDS(WORK_NAME) };
#undef WORK_NAME

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
	if (!strcmp(cmd, "sample")) {
		cJSON *sample, *reply = srv_request_sample(d, lim, msg, id, &sample);

		cJSON_Delete(sample); /* no one keeps samples here */
		return reply;
	}
	if (!strcmp(cmd, "ping"))
		return srv_reply_new(id, 1);
	if (!strcmp(cmd, "bye")) {
		*end = 1;
		return srv_reply_new(id, 1);
	}
	if (!strcmp(cmd, "hello"))
		return srv_reply_error(id, "hello: this link has already said hello");
	return srv_reply_error(id, "unknown command '%s' (this memtrace-server %s knows decode, sample, ping, bye, core, frames, blocks, inspect and gdb-*)",
			       srv_printable(cmd, name, sizeof(name)), MEMTRACE_VERSION);
}

/* 1 when MSG is a version-1 request a job answers itself: decode or sample. */
static int is_decode(const cJSON *msg)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, "v");
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(msg, "cmd");

	return cJSON_IsNumber(v) && v->valuedouble == 1 && cJSON_IsString(cmd) && srv_request_offloads(cmd->valuestring);
}

int srv_request_offloads(const char *cmd)
{
	return !strcmp(cmd, "decode") || !strcmp(cmd, "sample");
}

void srv_request_run(struct srv_decoder *d, struct srv_request_job *j)
{
	const cJSON *jid, *err;
	cJSON *reply = NULL;
	size_t big = j->text ? j->len : 0;

	if (j->text) {
		j->msg = srv_request_parse(j->text, j->len, &reply);
		free(j->text);
		j->text = NULL;
	}
	if (j->msg && !is_decode(j->msg))
		return; /* handed back */
	if (j->msg) {
		jid = cJSON_GetObjectItemCaseSensitive(j->msg, "id");
		j->id = cJSON_IsNumber(jid) ? jid->valuedouble : 0;
		if (!d)
			reply = srv_reply_error(j->id, "decode: this server's decoder could not be set up");
		else if (!strcmp(cJSON_GetObjectItemCaseSensitive(j->msg, "cmd")->valuestring, "sample"))
			reply = srv_request_sample(d, &j->lim, j->msg, j->id, &j->sample);
		else
			reply = decode(d, &j->lim, j->msg, j->id);
		cJSON_Delete(j->msg);
		j->msg = NULL;
	}
	err = cJSON_GetObjectItemCaseSensitive(reply, "error");
	j->is_error = cJSON_IsString(err);
	if (j->is_error)
		snprintf(j->why, sizeof(j->why), "%s", err->valuestring);
	jid = cJSON_GetObjectItemCaseSensitive(reply, "id");
	j->id = cJSON_IsNumber(jid) ? jid->valuedouble : 0;
	j->reply = cJSON_PrintUnformatted(reply);
	cJSON_Delete(reply);
	if (!j->reply)
		log_oom();
	j->reply_len = strlen(j->reply);
	j->large = big > SRV_LINK_LARGE || j->reply_len > SRV_LINK_LARGE;
}

void srv_request_job_free(struct srv_request_job *j)
{
	if (!j)
		return;
	free(j->text);
	cJSON_Delete(j->msg);
	cJSON_Delete(j->sample);
	free(j->reply);
	free(j);
}
