/*
 * Walking a public report and decoding its frames. The report's own fields
 * are kept as they are; the decoded ones are added after them (and replaced
 * when a report is decoded again).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "annotate.h"

static enum srv_report_result __attribute__((format(printf, 3, 4)))
bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return SRV_REPORT_BAD_INPUT;
}

/* "0x1a2b": at most 16 hex digits after "0x". 0 or -1. */
static int parse_hex(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	if (strncmp(s, "0x", 2))
		return -1;
	for (s += 2; *s; s++, n++) {
		int c = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 :
			*s >= 'A' && *s <= 'F' ? *s - 'A' + 10 : -1;

		if (c < 0 || n == 16)
			return -1;
		v = v << 4 | (uint64_t)c;
	}
	if (!n)
		return -1;
	*out = v;
	return 0;
}

static void set(cJSON *obj, const char *name, cJSON *item)
{
	cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
	cJSON_AddItemToObject(obj, name, item);
}

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *loc_object(const struct srv_loc *l)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "function", str_or_null(l->function));
	cJSON_AddItemToObject(o, "file", str_or_null(l->file));
	cJSON_AddItemToObject(o, "line", l->line ? cJSON_CreateNumber(l->line) : cJSON_CreateNull());
	return o;
}

static void add_decoded(cJSON *f, const struct srv_frame_info *info)
{
	static const struct srv_loc unknown;
	const struct srv_loc *l = info->status == SRV_OK ? &info->loc : &unknown;
	cJSON *inl = cJSON_CreateArray();

	set(f, "function", str_or_null(l->function));
	set(f, "file", str_or_null(l->file));
	set(f, "line", l->line ? cJSON_CreateNumber(l->line) : cJSON_CreateNull());
	for (size_t i = 0; i < info->n_inlined; i++)
		cJSON_AddItemToArray(inl, loc_object(&info->inlined[i]));
	set(f, "inlined", inl);
	set(f, "host_file", str_or_null(info->status == SRV_OK ? info->host_file : NULL));
	set(f, "decode", cJSON_CreateString(srv_status_name(info->status)));
	set(f, "decode_error", str_or_null(info->message));
}

static enum srv_report_result decode_frame(struct srv_decoder *d, cJSON *f, int ci, int fi,
					   char *err, size_t errlen)
{
	const cJSON *mod = cJSON_GetObjectItemCaseSensitive(f, "module");
	const cJSON *off = cJSON_GetObjectItemCaseSensitive(f, "offset");
	const cJSON *bid = cJSON_GetObjectItemCaseSensitive(f, "build_id");
	uint64_t offset = 0;

	if (!cJSON_IsObject(f))
		return bad(err, errlen, "contexts[%d].frames[%d] is not an object", ci, fi);
	if (!cJSON_IsString(mod) && !cJSON_IsNull(mod))
		return bad(err, errlen, "contexts[%d].frames[%d].module is not a string or null", ci, fi);
	if (!cJSON_IsString(off) || parse_hex(off->valuestring, &offset) < 0)
		return bad(err, errlen, "contexts[%d].frames[%d].offset is not a hex string", ci, fi);
	if (bid && !cJSON_IsString(bid))
		return bad(err, errlen, "contexts[%d].frames[%d].build_id is not a string", ci, fi);
	/* A return address: the call is the byte before it. */
	add_decoded(f, srv_decode(d, cJSON_IsString(mod) ? mod->valuestring : NULL,
				  bid ? bid->valuestring : NULL, offset ? offset - 1 : 0));
	return SRV_REPORT_OK;
}

enum srv_report_result srv_report_decode(struct srv_decoder *d, cJSON *report, char *err, size_t errlen)
{
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(report, "version");
	const cJSON *contexts = cJSON_GetObjectItemCaseSensitive(report, "contexts");
	const cJSON *exit_ = cJSON_GetObjectItemCaseSensitive(report, "exit");
	cJSON *c;
	int ci = 0;

	if (!cJSON_IsObject(report))
		return bad(err, errlen, "not a JSON object");
	if (!cJSON_IsNumber(version))
		return bad(err, errlen, "no \"version\": not a memtrace report");
	if (version->valuedouble != 1)
		return bad(err, errlen, "report version %g: this memtrace-server reads version 1",
			   version->valuedouble);
	/* A program killed by SIGKILL leaves a report without contexts. */
	if (!contexts && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(exit_, "report")))
		return SRV_REPORT_OK;
	if (!cJSON_IsArray(contexts))
		return bad(err, errlen, "\"contexts\" is not an array");
	cJSON_ArrayForEach(c, contexts) {
		cJSON *frames = cJSON_GetObjectItemCaseSensitive(c, "frames");
		cJSON *f;
		int fi = 0;

		if (!cJSON_IsObject(c) || !cJSON_IsArray(frames))
			return bad(err, errlen, "contexts[%d] has no \"frames\" array", ci);
		cJSON_ArrayForEach(f, frames) {
			if (decode_frame(d, f, ci, fi, err, errlen) != SRV_REPORT_OK)
				return SRV_REPORT_BAD_INPUT;
			fi++;
		}
		ci++;
	}
	return SRV_REPORT_OK;
}
