/*
 * What the console's commands share (console.h, "for the commands'
 * files"): the session check, option values, the report's options, the
 * agent's report in its public form, output to the console or a file.
 */
#include <errno.h>
#include <string.h>

#include "console/console.h"
#include "log.h"
#include "outfile.h"
#include "report.h"
#include "session.h"
#include "link/srvlink.h"
#include "util.h"

#define REPORT_TIMEOUT_MS 60000

int inj_console_need_session(struct inj_console *con, const char *cmd)
{
	if (con->session && !inj_session_lost(con->session))
		return 0;
	return log_err("%s: no agent to ask: %s", cmd, con->gone ? con->gone : "not connected");
}

const char *inj_console_optval(const char *cmd, int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		log_err("%s: option %s needs a value", cmd, argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

int inj_console_bad_option(const char *cmd, const char *opt)
{
	return log_err("%s: unknown option '%s' (try: help)", cmd, opt);
}

int inj_console_report_opt(const char *cmd, int argc, char **argv, int *i, struct inj_report_opts *o)
{
	const char *v;

	if (!strcmp(argv[*i], "--json")) {
		o->json = 1;
	} else if (!strcmp(argv[*i], "--raw")) {
		o->raw = 1;
	} else if (!strcmp(argv[*i], "-c")) {
		if (!(v = inj_console_optval(cmd, argc, argv, i)))
			return -1;
		if (parse_long(v, 0, PROTO_REPORT_MAX_COUNT, &o->count) < 0)
			return log_err("%s: -c wants a number of contexts (0 for all), not '%s'", cmd, v);
	} else if (!strcmp(argv[*i], "-o")) {
		if (!(o->file = inj_console_optval(cmd, argc, argv, i)))
			return -1;
	} else {
		return 0;
	}
	return 1;
}

cJSON *inj_console_fetch_report(struct inj_console *con, const char *cmd, long count, int raw)
{
	cJSON *args = cJSON_CreateObject(), *r, *rep, *dec;

	cJSON_AddNumberToObject(args, "count", (double)count);
	r = inj_session_request(con->session, "report", args, REPORT_TIMEOUT_MS);
	cJSON_Delete(args);
	if (!r)
		return NULL;
	rep = inj_report_from_wire(cJSON_GetObjectItemCaseSensitive(r, "report"), con->syms);
	cJSON_Delete(r);
	if (!rep) {
		log_err("%s: the agent's answer holds no report", cmd);
		return NULL;
	}
	inj_report_host_pid(rep, con->pid);
	dec = raw ? NULL : inj_link_decode(con->link, rep);
	if (dec) {
		cJSON_Delete(rep);
		rep = dec;
	}
	return rep;
}

int inj_console_output(struct inj_console *con, const char *cmd, const char *file, int json, const cJSON *doc,
		       void (*print_text)(FILE *out, const cJSON *doc))
{
	struct inj_outfile of;
	FILE *out = con->out;
	int ret;

	if (file) {
		if (inj_outfile_open(&of, file) < 0)
			return log_err("%s: cannot write %s: %s", cmd, file, strerror(errno));
		out = of.f;
	}
	if (json) {
		ret = inj_report_print_json(out, doc);
	} else {
		print_text(out, doc);
		ret = ferror(out) ? -1 : 0;
	}
	if (file) {
		/* Whole or none: a failure leaves no part of it (outfile.h). */
		if (ret < 0) {
			inj_outfile_abort(&of);
			log_err("%s: %s: out of memory", cmd, file);
		} else if (inj_outfile_close(&of) < 0) {
			ret = -1;
			log_err("%s: writing %s failed: %s; the file was left as it was", cmd, file, strerror(errno));
		} else {
			fprintf(con->out, "%s written to %s\n", cmd, file);
		}
	}
	fflush(con->out);
	return ret;
}
