/*
 * Answering requests (request.h). Everything here is pure over JSON, so a
 * decode runs wherever its caller puts it: the network server's decode
 * pool (server/pool.c), each thread with a decoder of its own (decoders
 * are not thread-safe), or the caller's own thread (the fuzzer).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "annotate.h"
#include "b64.h"
#include "cfi_host.h"
#include "conn.h"
#include "log.h"
#include "modmap.h"
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

/* ---------------------------------------------------------------- unwind */

/*
 * REGS's member NAME, an integer in [MIN, MAX], into *V. NULL, or the
 * error reply naming the member (ID the request's).
 */
static cJSON *reg_member(const cJSON *regs, const char *name, long min, long max, long *v, double id)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(regs, name);
	double x;

	if (!m)
		return srv_reply_error(id, "unwind: no \"regs\".\"%s\" in the request", name);
	x = cJSON_IsNumber(m) ? m->valuedouble : -1.5;
	/* NaN fails the first test; the range is checked before the cast. */
	if (!(x >= (double)min && x <= (double)max) || x != (double)(long)x)
		return srv_reply_error(id, "unwind: \"regs\".\"%s\" must be an integer from %ld to %ld", name, min, max);
	*v = (long)x;
	return NULL;
}

/* The device's registers (docs/protocol.md, the agent's unwind_modules reply) into *T. NULL, or the error reply. */
static cJSON *unwind_target(const cJSON *msg, struct srv_cfi_target *t, double id)
{
	const cJSON *regs = cJSON_GetObjectItemCaseSensitive(msg, "regs"), *in_reg;
	long word, sp, fp, ra;
	cJSON *err;

	if (!cJSON_IsObject(regs))
		return srv_reply_error(id, "unwind: no \"regs\" object in the request");
	if ((err = reg_member(regs, "word", 4, 8, &word, id)))
		return err;
	if (word != 4 && word != 8)
		return srv_reply_error(id, "unwind: \"regs\".\"word\" must be 4 or 8");
	if ((err = reg_member(regs, "sp", 0, SRV_CFI_MAX_REG, &sp, id)) ||
	    (err = reg_member(regs, "fp", 0, SRV_CFI_MAX_REG, &fp, id)) ||
	    (err = reg_member(regs, "ra", 0, SRV_CFI_MAX_REG, &ra, id)))
		return err;
	/* Absent: 0, the cautious reading (a return address left in its register falls back). */
	in_reg = cJSON_GetObjectItemCaseSensitive(regs, "ra_in_reg");
	if (in_reg && !cJSON_IsBool(in_reg) &&
	    !(cJSON_IsNumber(in_reg) && (in_reg->valuedouble == 0 || in_reg->valuedouble == 1)))
		return srv_reply_error(id, "unwind: \"regs\".\"ra_in_reg\" must be true or false");
	*t = (struct srv_cfi_target){
		.word = (unsigned)word,
		.sp = (unsigned)sp,
		.fp = (unsigned)fp,
		.ra = (unsigned)ra,
		.ra_in_reg = in_reg && (cJSON_IsTrue(in_reg) || (cJSON_IsNumber(in_reg) && in_reg->valuedouble == 1)),
	};
	return NULL;
}

/*
 * Compile host file F (found by the decoder) for T into *ROWS. The file is
 * read through a dup of the decoder's descriptor while it still holds one
 * (no second walk of the path), else opened by its resolved path, as the
 * gdb work opens it. 0, or -1 with errno (cfi_host.h's) and WHY.
 */
static int compile_file(const struct srv_modfile *f, const struct srv_cfi_target *t, struct srv_cfi_rows *rows,
			char *why, size_t len)
{
	/* HOST_FILE has its links resolved: one there now was put there since (O_NOFOLLOW). */
	int fd = f->fd >= 0 ? fcntl(f->fd, F_DUPFD_CLOEXEC, 0) : open(f->host_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	Elf *elf;
	int ret, e;

	if (fd < 0) {
		e = errno;
		snprintf(why, len, "%s: %s", f->host_file, strerror(e));
		errno = e;
		return -1;
	}
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf) {
		snprintf(why, len, "%s: libelf cannot read it: %s", f->host_file, elf_errmsg(-1));
		close(fd);
		errno = EINVAL;
		return -1;
	}
	ret = srv_cfi_compile(elf, t, rows, why, len);
	e = errno;
	elf_end(elf);
	close(fd);
	errno = e;
	return ret;
}

/* The ok reply carrying ROWS, compiled from SOURCE ("HOSTFILE SECTIONS"). */
static cJSON *rows_reply(double id, const struct srv_cfi_rows *rows, const char *source)
{
	size_t nbytes = (size_t)rows->n * 8, nchars = b64_encoded_len(nbytes);
	uint8_t *bytes = xmalloc(nbytes ? nbytes : 1);
	char *text = xmalloc(nchars + 1);
	cJSON *reply = srv_reply_new(id, 1);

	/* Little-endian (vaddr, rule) pairs, whatever the host's order. */
	for (uint32_t i = 0; i < rows->n; i++) {
		for (int k = 0; k < 4; k++) {
			bytes[8 * i + k] = (uint8_t)(rows->rows[i].vaddr >> (8 * k));
			bytes[8 * i + 4 + k] = (uint8_t)(rows->rows[i].rule >> (8 * k));
		}
	}
	b64_encode(bytes, nbytes, text);
	text[nchars] = '\0';
	free(bytes);
	checked(cJSON_AddStringToObject(reply, "rows", text));
	free(text);
	checked(cJSON_AddNumberToObject(reply, "count", rows->n));
	checked(cJSON_AddNumberToObject(reply, "fdes", rows->fdes));
	checked(cJSON_AddNumberToObject(reply, "fallback_fdes", rows->fallback_fdes));
	checked(cJSON_AddStringToObject(reply, "source", source));
	return reply;
}

/*
 * The reply to an unwind request: the module found as decode finds it
 * (build-id checked), its host file's CFI compiled into the agent's rows
 * for the device's registers (cfi_host.h), as base64 of little-endian
 * (u32 link-time address, u32 rule) pairs. The decoder takes the first
 * file with DWARF (.debug_info), which may have lost its CFI (stripped of
 * .debug_frame and .eh_frame but not of the rest): then the debug file of
 * its build-id (the device's, else its own) is tried too. Rows are kept in
 * the decoder's cache.
 */
static cJSON *unwind(struct srv_decoder *d, cJSON *msg, double id)
{
	const cJSON *jmod = cJSON_GetObjectItemCaseSensitive(msg, "module");
	const cJSON *jbid = cJSON_GetObjectItemCaseSensitive(msg, "build_id");
	struct srv_cfi_cache *cache = srv_decoder_cfi_cache(d);
	struct srv_cfi_rows fresh = { 0 };
	const struct srv_cfi_rows *rows;
	const char *module, *bid = NULL, *source = NULL;
	struct srv_cfi_target t;
	struct srv_modfile *f;
	char pm[256], why[400], text[PATH_MAX + 64];
	cJSON *reply;

	if (!cJSON_IsString(jmod) || !jmod->valuestring[0])
		return srv_reply_error(id, "unwind: no \"module\" string in the request");
	module = jmod->valuestring;
	if (strlen(module) >= PATH_MAX)
		return srv_reply_error(id, "unwind: \"module\" is longer than %d bytes", PATH_MAX - 1);
	srv_printable(module, pm, sizeof(pm));
	if (jbid && !cJSON_IsNull(jbid)) {
		if (!cJSON_IsString(jbid) || !srv_build_id_valid(jbid->valuestring))
			return srv_reply_error(id, "unwind: \"build_id\" is not 4 to %d lowercase hex digits",
					       SRV_BUILD_ID_MAX);
		bid = jbid->valuestring;
	}
	if ((reply = unwind_target(msg, &t, id)))
		return reply;
	f = srv_decoder_modfile(d, module, bid);
	if (f->status != SRV_OK)
		return srv_reply_error(id, "unwind: no unwind tables for %s on the host: %s", pm,
				       f->message ? f->message : srv_status_name(f->status));
	rows = srv_cfi_cache_get(cache, f->host_file, f->build_id, &t, &source);
	if (!rows) {
		const struct srv_modfile *from = f;
		const char *want = bid ? bid : f->build_id[0] ? f->build_id : NULL;

		if (compile_file(f, &t, &fresh, why, sizeof(why)) < 0) {
			char dbg[PATH_MAX], why2[sizeof(why)];
			struct srv_modfile *g = NULL;

			/* No CFI in the file: its build-id debug file may have .debug_frame. */
			if (errno == ENOENT && want) {
				snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%.2s/%s.debug", want, want + 2);
				g = srv_decoder_modfile(d, dbg, want);
			}
			if (!g || g->status != SRV_OK || !strcmp(g->host_file, f->host_file) ||
			    compile_file(g, &t, &fresh, why2, sizeof(why2)) < 0)
				return srv_reply_error(id, "unwind: no unwind tables for %s on the host: %s%s%s", pm,
						       strncmp(why, f->host_file, strlen(f->host_file)) ? f->host_file : "",
						       strncmp(why, f->host_file, strlen(f->host_file)) ? ": " : "", why);
			from = g;
		}
		snprintf(text, sizeof(text), "%s %s", from->host_file, fresh.sections);
		source = text;
		rows = &fresh;
	}
	reply = rows_reply(id, rows, source);
	log_debug("unwind: %s: %u rows, %u FDEs (%u with a fallback row) from %s", pm, rows->n, rows->fdes,
		  rows->fallback_fdes, source);
	if (rows == &fresh)
		srv_cfi_cache_put(cache, f->host_file, f->build_id, &t, text, &fresh);
	/* The modules looked up are the decoder's to bound, as a decode's. */
	if (srv_decoder_entries(d) > SRV_DECODER_MAX_ENTRIES)
		srv_decoder_reset(d);
	return reply;
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
	if (!strcmp(cmd, "unwind"))
		return unwind(d, msg, id);
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
	return srv_reply_error(id, "unknown command '%s' (this memtrace-server %s knows decode, sample, unwind, ping, bye, core, frames, blocks, inspect and gdb-*)",
			       srv_printable(cmd, name, sizeof(name)), MEMTRACE_VERSION);
}

/* 1 when MSG is a version-1 request a job answers itself: decode, sample or unwind. */
static int is_decode(const cJSON *msg)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(msg, "v");
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(msg, "cmd");

	return cJSON_IsNumber(v) && v->valuedouble == 1 && cJSON_IsString(cmd) && srv_request_offloads(cmd->valuestring);
}

int srv_request_offloads(const char *cmd)
{
	/* unwind reads and compiles a host file's CFI: a C library takes milliseconds, a big library more. */
	return !strcmp(cmd, "decode") || !strcmp(cmd, "sample") || !strcmp(cmd, "unwind");
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
		else if (!strcmp(cJSON_GetObjectItemCaseSensitive(j->msg, "cmd")->valuestring, "unwind"))
			reply = unwind(d, j->msg, j->id);
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
