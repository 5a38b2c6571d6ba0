/*
 * Console commands. Each parses its own options strictly (an unknown option
 * or a bad number is an error naming it) and talks to the agent through the
 * session; a failed command never ends the session.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "console/console.h"
#include "leaksdoc.h"
#include "log.h"
#include "pprof.h"
#include "proto.h"
#include "report.h"
#include "reportx.h"
#include "session.h"
#include "link/srvlink.h"
#include "util.h"

#define MAX_ARGS 32
#define REPORT_TIMEOUT_MS 60000

/* The defaults of proto.h in the help text (plain decimal numbers there). */
#define STR_(x) #x
#define STR(x) STR_(x)

/* Split LINE into ARGV (modified copy in BUF); "..." and '...' group words. */
static int split(char *buf, char **argv, int max)
{
	int argc = 0;
	char *p = buf;

	while (*p) {
		char *w;

		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (argc == max)
			return -1;
		w = argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
			if (*p == '"' || *p == '\'') {
				char q = *p++;

				while (*p && *p != q)
					*w++ = *p++;
				if (!*p)
					return -2;
				p++;
				continue;
			}
			*w++ = *p++;
		}
		if (*p)
			p++;
		*w = '\0';
	}
	return argc;
}

#define need_session inj_console_need_session
#define optval inj_console_optval
#define bad_option inj_console_bad_option

static int cmd_status(struct inj_console *con, int argc, char **argv)
{
	char link[600];
	cJSON *r;

	if (argc > 1)
		return bad_option("status", argv[1]);
	if (need_session(con, "status") < 0)
		return -1;
	r = inj_session_request(con->session, "status", NULL, con->timeout_ms);
	if (!r)
		return -1;
	inj_status_print_text(con->out, r);
	fprintf(con->out, "stacks: unwinder %s, depth %.0f (recording since %s)\n", inj_json_str(r, "unwinder", "?"),
		inj_json_num(r, "depth", 0), inj_json_str(r, "since", "start"));
	fprintf(con->out, "server: %s\n", inj_link_describe(con->link, link, sizeof(link)));
	fflush(con->out);
	cJSON_Delete(r);
	return 0;
}

static void print_report(FILE *out, const cJSON *rep)
{
	inj_report_print_text(out, rep, "memtrace report");
}

/* A report saved with report --json -o FILE, or NULL after saying what is wrong with it. */
static cJSON *saved_report(const char *file)
{
	FILE *f = fopen(file, "re");
	char *text = NULL;
	size_t len = 0;
	cJSON *doc;

	if (!f) {
		log_err("report --since %s: %s", file, strerror(errno));
		return NULL;
	}
	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		text = NULL;
	}
	fclose(f);
	doc = text ? cJSON_Parse(text) : NULL;
	free(text);
	if (!doc || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "contexts"))) {
		cJSON_Delete(doc);
		log_err("report --since %s: not a report (save one with report -c 0 --json -o FILE)", file);
		return NULL;
	}
	return doc;
}

/* The gzip'ed profile (binary: only to a file). */
static void print_pprof(FILE *out, const cJSON *rep)
{
	if (report_pprof_write(out, rep) < 0)
		log_err("report --pprof: the profile could not be compressed (out of memory?)");
}

static int cmd_report(struct inj_console *con, int argc, char **argv)
{
	struct inj_report_opts o = INJ_REPORT_OPTS;
	const char *since = NULL;
	int folded = 0, pprof = 0, count_given = 0;
	cJSON *rep, *before = NULL, *doc;
	int ret;

	for (int i = 1; i < argc; i++) {
		int r;

		if (!strcmp(argv[i], "--folded")) {
			folded = 1;
			continue;
		}
		if (!strcmp(argv[i], "--pprof")) {
			pprof = 1;
			continue;
		}
		if (!strcmp(argv[i], "--since")) {
			if (!(since = optval("report", argc, argv, &i)))
				return -1;
			continue;
		}
		count_given |= !strcmp(argv[i], "-c");
		r = inj_console_report_opt("report", argc, argv, &i, &o);
		if (r < 0)
			return -1;
		if (!r)
			return bad_option("report", argv[i]);
	}
	if ((folded || pprof) && (since || o.json || (folded && pprof)))
		return log_err("report: --folded and --pprof are forms of their own, with neither --json nor --since");
	if (pprof && !o.file)
		return log_err("report --pprof: the profile is binary; give the file: report --pprof -o FILE");
	if (need_session(con, "report") < 0)
		return -1;
	if (since && !(before = saved_report(since)))
		return -1;
	/* Matching against a saved report, or a flame graph: every context. */
	rep = inj_console_fetch_report(con, "report", since || ((folded || pprof) && !count_given) ? 0 : o.count, o.raw);
	if (!rep) {
		cJSON_Delete(before);
		return -1;
	}
	if (pprof) {
		ret = inj_console_output(con, "report", o.file, 0, rep, print_pprof);
	} else if (folded) {
		ret = inj_console_output(con, "report", o.file, 0, rep, report_folded_print);
	} else if (before) {
		doc = report_since(rep, before, o.count);
		ret = inj_console_output(con, "report", o.file, o.json, doc, report_since_print);
		cJSON_Delete(doc);
	} else {
		ret = inj_console_output(con, "report", o.file, o.json, rep, print_report);
	}
	cJSON_Delete(before);
	cJSON_Delete(rep);
	return ret;
}

static int cmd_clear(struct inj_console *con, int argc, char **argv)
{
	cJSON *r;

	if (argc > 1)
		return bad_option("clear", argv[1]);
	if (need_session(con, "clear") < 0)
		return -1;
	r = inj_session_request(con->session, "clear", NULL, REPORT_TIMEOUT_MS);
	if (!r)
		return -1;
	cJSON_Delete(r);
	fputs("cleared: blocks recorded so far are forgotten\n", con->out);
	fflush(con->out);
	return 0;
}

static int cmd_dump(struct inj_console *con, int argc, char **argv)
{
	long id = -1, n = PROTO_DUMP_BLOCKS, bytes = PROTO_DUMP_BYTES;
	int kind = -1;
	const cJSON *b;
	cJSON *args, *r;

	for (int i = 1; i < argc; i++) {
		const char *v;
		long *dst;
		long max;

		if (!strcmp(argv[i], "--lost")) {
			kind = LEAKS_KIND_LOST;
			continue;
		}
		if (!strcmp(argv[i], "--kind")) {
			if (!(v = optval("dump", argc, argv, &i)))
				return -1;
			if ((kind = leaks_kind_parse(v)) < 0)
				return log_err("dump: --kind is definite, indirect, possible or reachable, not '%s'", v);
			continue;
		}
		if (!strcmp(argv[i], "-c"))
			dst = &id, max = INJ_CONSOLE_CTX_ID_MAX;
		else if (!strcmp(argv[i], "-n"))
			dst = &n, max = PROTO_DUMP_MAX_BLOCKS;
		else if (!strcmp(argv[i], "-b"))
			dst = &bytes, max = PROTO_DUMP_MAX_BYTES;
		else
			return bad_option("dump", argv[i]);
		if (!(v = optval("dump", argc, argv, &i)))
			return -1;
		if (parse_long(v, dst == &id ? 0 : 1, max, dst) < 0)
			return log_err("dump: %s wants a number from %d to %ld, not '%s'", argv[i - 1],
				       dst == &id ? 0 : 1, max, v);
	}
	if (id < 0 && kind == -1)
		return log_err("dump: which context? dump -c ID (IDs are in the report)");
	if (id < 0)
		return log_err("dump: which context? dump -c ID --kind K (IDs are in leaks; 0: before the attach)");
	if (kind != -1)
		return inj_console_dump_kind(con, id, kind, n, bytes);
	if (id == 0)
		return log_err("dump: context 0 holds the blocks from before the attach, known only to leaks: "
			       "dump -c 0 --lost or --kind K");
	if (need_session(con, "dump") < 0)
		return -1;
	args = cJSON_CreateObject();
	cJSON_AddNumberToObject(args, "ctx", (double)id);
	cJSON_AddNumberToObject(args, "n", (double)n);
	cJSON_AddNumberToObject(args, "bytes", (double)bytes);
	r = inj_session_request(con->session, "dump", args, con->timeout_ms);
	cJSON_Delete(args);
	if (!r)
		return -1;
	fprintf(con->out, "context %ld: %.0f live blocks\n", id, inj_json_num(r, "live_blocks", 0));
	cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(r, "blocks")) {
		const char *hex = inj_json_str(b, "data", "");
		size_t len = strlen(hex) / 2;
		unsigned char *data = xmalloc(len + 1);

		for (size_t k = 0; k < len; k++) {
			char tmp[3] = { hex[2 * k], hex[2 * k + 1], 0 };

			data[k] = (unsigned char)strtoul(tmp, NULL, 16);
		}
		fprintf(con->out, "block %s, %.0f bytes, allocation #%.0f:\n", inj_json_str(b, "addr", "?"),
			inj_json_num(b, "size", 0), inj_json_num(b, "seq", 0));
		hexdump(con->out, data, len, "  ");
		free(data);
	}
	fflush(con->out);
	cJSON_Delete(r);
	return 0;
}

static int cmd_monitor(struct inj_console *con, int argc, char **argv)
{
	long ms = 3000;

	for (int i = 1; i < argc; i++) {
		const char *v;

		if (!strcmp(argv[i], "-s")) {
			con->monitor_ms = 0;
			fputs("monitor stopped\n", con->out);
			fflush(con->out);
			return 0;
		}
		if (strcmp(argv[i], "-i"))
			return bad_option("monitor", argv[i]);
		if (!(v = optval("monitor", argc, argv, &i)))
			return -1;
		if (parse_seconds_ms(v, 86400000L, &ms) < 0 || ms < 100)
			return log_err("monitor: -i wants seconds (at least 0.1), not '%s'", v);
	}
	if (need_session(con, "monitor") < 0)
		return -1;
	con->monitor_ms = ms;
	con->monitor_next = proto_now_ms();
	con->monitor_has_prev = 0;
	fprintf(con->out, "monitor: every %.1f s (monitor -s stops)\n", (double)ms / 1000);
	fflush(con->out);
	return 0;
}

long inj_console_monitor_due(const struct inj_console *con, int64_t now_ms)
{
	if (!con->monitor_ms)
		return -1;
	return now_ms < con->monitor_next ? (long)(con->monitor_next - now_ms) : 0;
}

void inj_console_monitor_tick(struct inj_console *con, int64_t now_ms)
{
	const cJSON *s;
	cJSON *r;
	double bytes;

	con->monitor_next = now_ms + con->monitor_ms;
	if (!con->session || inj_session_lost(con->session)) {
		con->monitor_ms = 0;
		return;
	}
	r = inj_session_request(con->session, "status", NULL, con->timeout_ms);
	if (!r)
		return;
	s = cJSON_GetObjectItemCaseSensitive(r, "summary");
	bytes = inj_json_num(s, "in_use_bytes", 0);
	fprintf(con->out, "monitor: in use %.0f bytes in %.0f blocks", bytes, inj_json_num(s, "in_use_blocks", 0));
	if (con->monitor_has_prev)
		fprintf(con->out, " (%+.0f)", bytes - con->monitor_prev_bytes);
	fprintf(con->out, ", %.0f allocations, %.0f frees\n", inj_json_num(s, "total_allocs", 0),
		inj_json_num(s, "total_frees", 0));
	fflush(con->out);
	con->monitor_prev_bytes = bytes;
	con->monitor_has_prev = 1;
	cJSON_Delete(r);
}

static int cmd_sleep(struct inj_console *con, int argc, char **argv)
{
	long ms;

	if (argc != 2 || parse_seconds_ms(argv[1], 86400000L, &ms) < 0)
		return log_err("sleep: give the seconds to wait, e.g. sleep 1.5");
	con->wait(con, ms);
	return 0;
}

static int signal_number(const char *s)
{
	static const struct { const char *name; int sig; } names[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ABRT", SIGABRT },
		{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "SEGV", SIGSEGV },
		{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM }, { "CONT", SIGCONT },
		{ "STOP", SIGSTOP },
	};
	long v;

	if (!parse_long(s, 1, 64, &v))
		return (int)v;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].sig;
	return -1;
}

static int cmd_kill(struct inj_console *con, int argc, char **argv)
{
	int sig = SIGTERM;

	if (argc > 2)
		return log_err("kill: one signal at most, e.g. kill TERM");
	if (argc == 2 && (sig = signal_number(argv[1])) < 0)
		return log_err("kill: unknown signal '%s' (a number, or a name like TERM or USR1)", argv[1]);
	if (kill(con->pid, sig) < 0)
		return log_err("kill: process %d: %s", con->pid, strerror(errno));
	fprintf(con->out, "signal %d sent to process %d\n", sig, con->pid);
	fflush(con->out);
	return 0;
}

/* ---------------------------------------------------------------- the table */

static int cmd_help(struct inj_console *con, int argc, char **argv);

static int cmd_quit(struct inj_console *con, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	con->quit = 1;
	return 0;
}

static int cmd_detach(struct inj_console *con, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (!con->attached)
		return log_err("detach: memtrace started this program, so there is nothing to detach "
			       "(quit leaves the console)");
	con->quit = 1;
	return 0;
}

/*
 * Every console command, in the order `help` lists them: the one place a
 * command is named, so dispatch, `help` and memtrace --help agree. USAGE
 * follows the name in the help; HELP's lines are split at '\n'.
 */
static const struct console_cmd {
	const char *name;
	const char *alias;	/* another name for it, not listed; NULL if none */
	int (*run)(struct inj_console *con, int argc, char **argv);
	const char *usage;
	const char *help;
} commands[] = {
	{ "help", "?", cmd_help, "", "this list" },
	{ "status", NULL, cmd_status, "",
	  "heap summary, the agent's own memory, the unwinder and depth,\nthe server link" },
	{ "monitor", NULL, cmd_monitor, "[-i SEC] [-s]",
	  "print the heap summary every SEC seconds (default 3); -s stops" },
	{ "report", NULL, cmd_report, "[-c N] [--json] [-o FILE] [--raw] [--since SAVED.json] [--folded] [--pprof -o FILE]",
	  "the N contexts with the most live bytes (default " STR(PROTO_REPORT_COUNT) ", 0: all);\n"
	  "decoded by memtrace-server when linked, unless --raw; --since: what\n"
	  "grew since a report saved with report -c 0 --json -o FILE, contexts\n"
	  "matched by callstack; --folded: one line a context, frames ';'-joined\n"
	  "and its live bytes (flamegraph.pl and inferno read it; all contexts);\n"
	  "--pprof -o FILE: a gzip'ed pprof profile (go tool pprof FILE)" },
	{ "trend", NULL, inj_console_trend, "[-c N] [--json] [-o FILE] [--raw]",
	  "the N contexts (default " STR(PROTO_REPORT_COUNT) ", 0: all) growing the most steadily,\n"
	  "from the samples taken every --sample seconds: growth per hour of\n"
	  "their low-water mark, live bytes now, how long they have grown" },
	{ "leaks", NULL, inj_console_leaks, "[-c N] [--json] [-o FILE] [--kind K] [--raw] [--core] [--no-fork]",
	  "stop the process, scan it for pointers and say what is lost:\n"
	  "definitely, indirectly, possibly lost, still reachable (valgrind's\n"
	  "verdicts); the N contexts (default " STR(PROTO_REPORT_COUNT) ", 0: all) with the most lost\n"
	  "bytes, or with blocks of kind K (definite, indirect, possible,\n"
	  "reachable, all); --core: (linked) memtrace-server judges the core\n"
	  "sent last by coredump instead, on the host. The process is stopped\n"
	  "only while a copy of it is forked, and the copy judged; --no-fork:\n"
	  "stopped for the whole scan" },
	{ "who-points", NULL, inj_console_who_points, "ADDR [LEN]",
	  "stop the process and list the registers, memory and blocks\n"
	  "holding a pointer to ADDR or into LEN bytes from it (default:\n"
	  "to the end of its block): why a block counts as reachable" },
	{ "clear", NULL, cmd_clear, "", "forget every block recorded so far; counts start again" },
	{ "dump", NULL, cmd_dump, "-c ID [-n N] [-b BYTES] [--lost|--kind K]",
	  "hex dump of the first BYTES (default " STR(PROTO_DUMP_BYTES) ") of up to N (default "
	  STR(PROTO_DUMP_BLOCKS) ")\nlive blocks of context ID, oldest first; with --lost or --kind,\n"
	  "those leaks judges so (context 0: from before the attach)" },
	{ "coredump", NULL, inj_console_coredump, "-n|-c ID [-t SEC] [-f PATH] [--gz]",
	  "write a core now (-n), or at the next allocation in context ID\n"
	  "with that thread first; default PATH core.memtrace.PID.N;\n"
	  "when linked, memtrace-server gets it too" },
	{ "frames", NULL, inj_console_frames, "ID",
	  "(linked) the frames of the thread allocating in context ID,\n"
	  "with arguments and locals, in the last core sent or under gdb" },
	{ "blocks", NULL, inj_console_frames, "ID", "(linked) the live blocks of context ID, read by gdb" },
	{ "inspect", NULL, inj_console_frames, "ADDR|-c ID --lost|--kind K [-n N] [--type T] [--bytes N]",
	  "(linked) the block at ADDR in hex and ASCII, or as type T; with -c ID\n"
	  "and --lost (definitely or indirectly) or --kind K: up to N (10) blocks\n"
	  "of context ID with that verdict in the core, judged on the host" },
	{ "gdb", NULL, inj_console_gdb, "[-c ID [-t SEC]]",
	  "(linked) gdb on the host, attached through gdbserver here: now,\n"
	  "or stopped just after the next allocation in context ID;\n"
	  "continue or detach comes back here" },
	{ "sleep", NULL, cmd_sleep, "SEC", "wait SEC seconds (for scripts)" },
	{ "kill", NULL, cmd_kill, "[SIG]", "send signal SIG (default TERM) to the traced process" },
	{ "detach", NULL, cmd_detach, "", "(attached with -p) unhook the process and leave it running" },
	{ "quit", "exit", cmd_quit, "",
	  "attached: detach and leave; started by memtrace: leave the\n"
	  "console and wait for the program to end" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))
/* The column the descriptions start in. */
#define HELP_COLUMN 32

static int cmd_help(struct inj_console *con, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("commands:\n", con->out);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const struct console_cmd *c = &commands[i];
		const char *h = c->help;
		int n = fprintf(con->out, "  %s%s%s", c->name, *c->usage ? " " : "", c->usage);

		/* A long synopsis has its description on the lines below. */
		if (n >= HELP_COLUMN - 1) {
			fputc('\n', con->out);
			n = 0;
		}
		for (;;) {
			const char *nl = strchr(h, '\n');
			int len = nl ? (int)(nl - h) : (int)strlen(h);

			fprintf(con->out, "%*s%.*s\n", HELP_COLUMN - n, "", len, h);
			if (!nl)
				break;
			h = nl + 1;
			n = 0;
		}
	}
	fflush(con->out);
	return 0;
}

void inj_console_list(FILE *f, size_t width)
{
	size_t col = 0;

	for (size_t i = 1; i < NCOMMANDS; i++) {
		size_t len = strlen(commands[i].name) + 1;	/* and its comma or period */

		if (col && col + 1 + len > width) {
			fputc('\n', f);
			col = 0;
		} else if (col) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%s%s", commands[i].name, i + 1 < NCOMMANDS ? "," : ".");
		col += len;
	}
	fputc('\n', f);
}

int inj_console_exec(struct inj_console *con, const char *line)
{
	char *argv[MAX_ARGS];
	char *buf = xstrdup(line);
	int argc = split(buf, argv, MAX_ARGS);
	int ret = 0;

	if (con->gdb) {
		free(buf);
		return inj_console_gdb_line(con, line);
	}
	if (argc < 0) {
		ret = log_err(argc == -2 ? "unbalanced quote in '%s'" : "too many words in '%s'", line);
	} else if (argc > 0 && argv[0][0] != '#') {
		size_t i;

		for (i = 0; i < NCOMMANDS; i++)
			if (!strcmp(argv[0], commands[i].name) ||
			    (commands[i].alias && !strcmp(argv[0], commands[i].alias)))
				break;
		ret = i < NCOMMANDS ? commands[i].run(con, argc, argv)
				    : log_err("unknown command '%s' (try: help)", argv[0]);
	}
	free(buf);
	return ret;
}
