/*
 * memtrace-server: decodes memtrace's reports on the host with the debug
 * symbols of the build tree. For now the offline path only: a raw report
 * saved on the device (memtrace --json -o FILE) is decoded and printed.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "annotate.h"
#include "decode.h"
#include "log.h"
#include "report.h"
#include "util.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
/* The largest report read: the agent's own message limit (docs/protocol.md). */
#define MAX_REPORT (512u << 20)

static const char usage_text[] =
	"usage: memtrace-server --report FILE [OPTIONS] [SYSROOT...]\n"
	"Decode a memtrace report with the debug symbols of a build tree: every frame gets\n"
	"its function, file:line and inlined calls. FILE is a report memtrace saved on the\n"
	"device (memtrace --json -o FILE); each SYSROOT is a directory that mirrors the\n"
	"device's files (buildroot's output/staging, a yocto sysroot, a folder of unstripped\n"
	"binaries), searched in order: the module's path under it, then its name anywhere in\n"
	"it, then usr/lib/debug/.build-id, then the module's .gnu_debuglink. A file whose\n"
	"build-id differs from the device's module is never used (docs/server.md).\n"
	"\n"
	"      --report FILE     decode FILE ('-': standard input) and print it\n"
	"      --json            print the decoded report as JSON (default: text)\n"
	"  -v, --verbose         more messages (repeat for debug)\n"
	"  -q, --quiet           errors only\n"
	"  -h, --help            this text\n"
	"  -V, --version         memtrace-server's version\n"
	"\n"
	"Exit status: 0 decoded (frames that could not be decoded say why in the report),\n"
	"1 the report or a sysroot cannot be read, 2 bad usage.\n";

struct options {
	const char *report;
	int json;
	char **sysroots;
	size_t n_sysroots;
};

static int __attribute__((format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "memtrace-server: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'memtrace-server --help'.\n");
	va_end(ap);
	return EXIT_USAGE;
}

/* 0 to go on, -1 when done (help, version), or the exit status of a usage error. */
static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_REPORT = 256, OPT_JSON };
	static const struct option longopts[] = {
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, level = LOG_WARN;

	while ((c = getopt_long(argc, argv, "+vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_REPORT:
			o->report = optarg;
			break;
		case OPT_JSON:
			o->json = 1;
			break;
		case 'v':
			if (level < LOG_DEBUG)
				level++;
			break;
		case 'q':
			level = LOG_ERR;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		case 'V':
			printf("memtrace-server %s\n", MEMTRACE_VERSION);
			return -1;
		default:
			return usage_error("unknown option");
		}
	}
	log_set_level(level);
	if (!o->report)
		return usage_error("--report FILE is required (the network modes come later)");
	o->sysroots = argv + optind;
	o->n_sysroots = (size_t)(argc - optind);
	return 0;
}

/* The whole of FILE ('-': standard input), NUL-terminated, or NULL (logged). */
static char *read_all(const char *file, size_t *len)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "rb") : stdin;
	size_t cap = 65536, n = 0;
	char *buf;

	if (!f)
		return log_err_null("%s: %s", file, strerror(errno));
	buf = xmalloc(cap);
	for (;;) {
		size_t got;

		if (n + 1 == cap) {
			if (cap >= MAX_REPORT) {
				log_err("%s: larger than %u MiB: not a memtrace report", file, MAX_REPORT >> 20);
				goto fail;
			}
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf) {
				log_err("out of memory");
				exit(EXIT_FAIL);
			}
		}
		got = fread(buf + n, 1, cap - 1 - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		log_err("%s: %s", file, strerror(errno));
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	if (f != stdin)
		fclose(f);
	free(buf);
	return NULL;
}

static cJSON *parse_report(const char *file)
{
	const char *end = NULL;
	size_t len = 0;
	char *text = read_all(file, &len);
	cJSON *rep;

	if (!text)
		return NULL;
	if (!len) {
		free(text);
		return log_err_null("%s: empty file, not a memtrace report", file);
	}
	rep = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
	if (!rep) {
		size_t at = end ? (size_t)(end - text) : 0, line = 1;

		for (size_t i = 0; i < at && i < len; i++)
			line += text[i] == '\n';
		log_err("%s: not JSON (error near byte %zu, line %zu): not a memtrace report", file, at, line);
	}
	free(text);
	return rep;
}

static void print_text(FILE *out, const cJSON *rep)
{
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(rep, "exit");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(ex, "code");
	const cJSON *sig = cJSON_GetObjectItemCaseSensitive(ex, "signal");
	char title[256], how[128] = "";

	if (cJSON_IsNumber(code))
		snprintf(how, sizeof(how), "exited with code %d", code->valueint);
	else if (cJSON_IsNumber(sig))
		snprintf(how, sizeof(how), "was killed by signal %d (%s)", sig->valueint, strsignal(sig->valueint));
	if (!cJSON_GetObjectItemCaseSensitive(rep, "contexts")) {
		fprintf(out, "== memtrace: pid %.0f %s; no exit report\n", inj_json_num(rep, "pid", 0),
			how[0] ? how : "ended");
		return;
	}
	if (how[0])
		snprintf(title, sizeof(title), "memtrace exit report (the program %s)", how);
	else
		snprintf(title, sizeof(title), "memtrace report");
	inj_report_print_text(out, rep, title);
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct srv_decoder *d;
	char err[256];
	cJSON *rep;
	int rc;

	log_set_name("memtrace-server");
	rc = parse_options(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (!o.n_sysroots)
		log_warn("no SYSROOT given: frames cannot be decoded (give / to use this machine's own files)");
	rep = parse_report(o.report);
	if (!rep)
		return EXIT_FAIL;
	d = srv_decoder_new((const char *const *)o.sysroots, o.n_sysroots);
	if (!d) {
		cJSON_Delete(rep);
		return EXIT_FAIL;
	}
	if (srv_report_decode(d, rep, err, sizeof(err)) != SRV_REPORT_OK) {
		log_err("%s: %s", o.report, err);
		rc = EXIT_FAIL;
	} else if (o.json) {
		rc = inj_report_print_json(stdout, rep) < 0 ? EXIT_FAIL : 0;
	} else {
		print_text(stdout, rep);
		rc = ferror(stdout) ? EXIT_FAIL : 0;
	}
	if (fflush(stdout) != 0 && !rc) {
		log_err("writing the report: %s", strerror(errno));
		rc = EXIT_FAIL;
	}
	srv_decoder_free(d);
	cJSON_Delete(rep);
	return rc;
}
