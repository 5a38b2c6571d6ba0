/*
 * memtrace-server: decodes memtrace's reports on the host with the debug
 * symbols of the build tree. Offline (--report FILE: a report saved on the
 * device), or as a network server that memtrace sends its reports to
 * (server/netserver.c; docs/server.md). With --core, it opens a core of
 * memtrace's coredump in gdb and answers in memtrace's terms (server/core.c).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "annotate.h"
#include "plot.h"
#include "leaksdoc.h"
#include "core.h"
#include "decode.h"
#include "log.h"
#include "net.h"
#include "metrics.h"
#include "pprof.h"
#include "reportx.h"
#include "netserver.h"
#include "proto.h"
#include "relay.h"
#include "report.h"
#include "util.h"

#define EXIT_FAIL 1
/* The contract's time limits; MEMTRACE_SERVER_TIMEOUTS_MS=HELLO,STALL,UNREAD changes them (tests). */
#define HELLO_MS 5000 /* short: a connection without a hello holds a --max-pending place */
#define STALL_MS 30000
#define UNREAD_MS 30000

static const char usage_text[] =
	"usage: memtrace-server [OPTIONS] [SYSROOT...]                 serve memtrace over the network\n"
	"       memtrace-server --report FILE [--json | --folded | --pprof -o OUT] [SYSROOT...]\n"
	"                                                     decode a saved report or a record\n"
	"       memtrace-server --plot RECORD -o OUT.html [--top N] [SYSROOT...]\n"
	"                                                     a record as charts (one HTML file)\n"
	"       memtrace-server --core CORE --exe PROG [--gdb PATH] [SYSROOT...] COMMAND...\n"
	"                                                     read a core of memtrace coredump\n"
	"Decode memtrace reports with the debug symbols of a build tree: every frame gets\n"
	"its function, file:line and inlined calls. Each SYSROOT is a directory that mirrors\n"
	"the device's files (buildroot's output/staging, a yocto sysroot, a folder of\n"
	"unstripped binaries), searched in order: the module's path under it, then its name\n"
	"anywhere in it, then usr/lib/debug/.build-id, then the module's .gnu_debuglink. A\n"
	"file whose build-id differs from the device's module is never used, and no file\n"
	"outside the sysroots is ever opened (docs/server.md).\n"
	"\n"
	"Without --report, serve: memtrace --connect HOST or --multicast sends its reports\n"
	"here and gets them back decoded. Runs until SIGINT or SIGTERM.\n"
	"      --listen ADDR[:PORT]  listen there (default: every IPv4 address, port 3002;\n"
	"                        :0 picks a free port; the port is printed)\n"
	"  -c, --connect HOST[:PORT]  dial a memtrace started with --listen (port 3002 by\n"
	"                        default), again every second until it answers and after\n"
	"                        each link; with -c the server listens only if --listen is given\n"
	"      --multicast-group GROUP[:PORT]  answer discovery on this IPv4 group (default\n"
	"                        239.255.42.3:3002), joined on every interface that is up\n"
	"      --no-multicast    do not answer discovery\n"
	"      --token TOKEN     a memtrace must give TOKEN in its hello (sent in clear: a\n"
	"                        shared secret, not encryption); with -c, sent in ours\n"
	"      --token-file FILE  the token is FILE's first line (not visible in ps)\n"
	"      --max-clients N   at most N memtraces at once (default 64): a place is\n"
	"                        taken by a hello that passed the token check\n"
	"      --max-pending N   at most N connections that have not said hello yet\n"
	"                        (default 64; the oldest is closed for a new one): they\n"
	"                        never take a --max-clients place, and get 5 s for it\n"
	"      --peer-core-budget SIZE  the largest core one memtrace may send (default 2G;\n"
	"                        K, M, G, T are 1024s); refused before it is read\n"
	"      --core-budget SIZE  the disk every memtrace's cores may take at once\n"
	"                        (default 8G); a core is also refused when the disk\n"
	"                        ($TMPDIR, or --cores DIR) has no room for it\n"
	"      --metrics ADDR:PORT  serve the latest sample of every linked memtrace that\n"
	"                        samples, at http://ADDR:PORT/metrics in Prometheus'\n"
	"                        text format: heap, RSS, and the fastest-growing contexts,\n"
	"                        labelled with their decoded function and file:line (:0 for\n"
	"                        any free port; it is printed)\n"
	"      --metrics-top N   contexts a device on /metrics (1-100, default 10)\n"
	"      --cores DIR       keep the cores linked memtraces send (coredump) in DIR,\n"
	"                        as core.PROGRAM.PID.N[.gz], for gdb later (default: each\n"
	"                        is removed once the next one comes or the link ends)\n"
	"\n"
	"Offline:\n"
	"      --report FILE     decode FILE ('-': standard input) and print it\n"
	"      --json            print the decoded report as JSON (default: text)\n"
	"      --folded          print it as a flame graph's input (flamegraph.pl, inferno):\n"
	"                        one line a context, 'frame;frame;... BYTES', outermost first\n"
	"      --pprof           write it as a gzip'ed pprof profile to -o OUT (go tool pprof)\n"
	"                        FILE may also be a record of memtrace --record: its contexts\n"
	"                        as they were at its last sample\n"
	"      --plot RECORD     a record of memtrace --record as one self-contained HTML page:\n"
	"                        the heap and RSS over time and the contexts that grow the most\n"
	"                        steadily, labelled with their decoded function and file:line\n"
	"  -o, --output OUT.html  where --plot writes the page (whole or not at all)\n"
	"      --top N           how many growers --plot draws (1-12, default 8)\n"
	"\n"
	"Cores (docs/server.md, \"Cores\"), read with gdb, which must be installed:\n"
	"      --core CORE       a core written by memtrace's `coredump` (gzip'ed or not)\n"
	"      --exe PROG        the program it was taken of (an unstripped build of it)\n"
	"      --gdb PATH        the gdb to run (default: gdb from PATH), here and for the\n"
	"                        cores and gdb consoles of linked memtraces; it gets the\n"
	"                        libraries the server finds in the SYSROOTs, nothing else\n"
	"  COMMAND, one or more, run in order, each answer under a line starting with ==:\n"
	"      --frames ID       the thread allocating in context ID (the core's first thread\n"
	"                        with `coredump -c ID`): its frames from the allocation site\n"
	"                        down, gdb's numbers, with arguments and locals\n"
	"      --all-frames      --frames shows the allocator's and the agent's frames too\n"
	"      --blocks ID       every live block of context ID: address, size, allocation #\n"
	"      --inspect ADDR    the block holding ADDR (a number, or a symbol: items, &global)\n"
	"                        in hex and ASCII, from its start\n"
	"        --bytes N       at most N bytes (default 64, at most 4096)\n"
	"        --type TYPE     gdb's value of *(TYPE *)ADDR instead (a C type: 'struct foo *')\n"
	"      --leaks           valgrind's verdicts on the core's heap, as the console's leaks:\n"
	"                        what is definitely, indirectly, possibly lost or still reachable,\n"
	"                        blocks from before the attach included (context 0); the\n"
	"                        contexts holding lost blocks, their callstacks decoded\n"
	"        --kind K        the contexts holding blocks of kind K instead: definite,\n"
	"                        indirect, possible, reachable, or all\n"
	"        --count N       the first N contexts only\n"
	"        --json          the leaks document as JSON (docs/protocol.md, \"Leaks\")\n"
	"\n"
	"  -v, --verbose         more messages (repeat for debug); -v logs every link\n"
	"  -q, --quiet           errors only (and the listening address)\n"
	"  -h, --help            this text\n"
	"  -V, --version         memtrace-server's version\n"
	"\n"
	"Exit status: --report: 0 decoded (frames that could not be decoded say why in the\n"
	"report), 1 the report or a sysroot cannot be read; serving: 0 stopped by a signal,\n"
	"1 cannot listen or a sysroot cannot be read; --core: 0 every command answered, 1 not\n"
	"(each failure says why); 2 bad usage.\n";

#define MAX_CORE_CMDS 64

/* One COMMAND of --core, in the order given. */
struct core_cmd {
	enum { CMD_FRAMES, CMD_BLOCKS, CMD_INSPECT, CMD_LEAKS } kind;
	unsigned long id;
	const char *addr, *type;
	long bytes;
	long count;	/* --leaks: contexts shown (0: all) */
	int leak_kind;	/* --leaks: leaksdoc.h's kinds, -1 the lost ones */
};

struct options {
	const char *report;
	const char *plot, *plot_out;	/* --plot RECORD -o OUT.html; --report --pprof -o OUT */
	long plot_top;
	int json, folded, pprof;
	char **sysroots;
	size_t n_sysroots;
	/* serving */
	struct net_hostport listen, connect, group, metrics;
	int listen_given, connect_given, no_multicast, metrics_given;
	long metrics_top;
	char *token; /* from --token or --token-file (malloc'ed) */
	long max_clients, max_pending;
	uint64_t core_budget, peer_core_budget; /* bytes */
	const char *cores_dir;
	const char *net_option; /* one network option given, for the usage error with --report */
	/* --core */
	struct srv_core_options core;
	struct core_cmd cmd[MAX_CORE_CMDS];
	size_t n_cmd;
	const char *core_option; /* one --core option given, for the usage errors */
};


/* "SIZE[K|M|G|T]" (powers of 1024) from 1 byte to 1 TiB into *OUT. 0 or -1. */
static int parse_bytes(const char *arg, uint64_t *out)
{
	static const char units[] = "KMGT";
	char *end;
	unsigned long long n;
	const char *u;

	errno = 0;
	n = strtoull(arg, &end, 10);
	if (errno || end == arg || arg[0] == '-' || n < 1)
		return -1;
	if (*end) {
		if (end[1] || !(u = strchr(units, end[0] & ~0x20)))
			return -1;
		for (long i = 0; i <= u - units; i++) {
			if (n > (1ull << 40) / 1024)
				return -1;
			n *= 1024;
		}
	}
	if (n > 1ull << 40)
		return -1;
	*out = n;
	return 0;
}

/* Add a --core COMMAND; 0, or the exit status of a usage error. */
static int add_cmd(struct options *o, int kind, const char *opt, const char *arg)
{
	struct core_cmd *c = &o->cmd[o->n_cmd];
	long id;

	if (o->n_cmd == MAX_CORE_CMDS)
		return log_usage("more than %d commands", MAX_CORE_CMDS);
	*c = (struct core_cmd){ .kind = kind, .addr = arg, .bytes = 64, .leak_kind = -1 };
	if (kind == CMD_LEAKS) {
		/* no argument */
	} else if (kind != CMD_INSPECT) {
		if (parse_long(arg, 1, 0x7fffffffL, &id) < 0)
			return log_usage("%s '%s': a context ID from memtrace's report (a number from 1)", opt, arg);
		c->id = (unsigned long)id;
	} else if (!*arg) {
		return log_usage("--inspect: which address?");
	}
	o->n_cmd++;
	o->core_option = opt;
	return 0;
}

static int has_leaks(const struct options *o)
{
	for (size_t i = 0; i < o->n_cmd; i++)
		if (o->cmd[i].kind == CMD_LEAKS)
			return 1;
	return 0;
}

/* 0 to go on, -1 when done (help, version), or the exit status of a usage error. */
static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_REPORT = 256, OPT_JSON, OPT_LISTEN, OPT_GROUP, OPT_NO_MULTICAST, OPT_TOKEN, OPT_TOKEN_FILE,
	       OPT_MAX_CLIENTS, OPT_CORE, OPT_EXE, OPT_GDB, OPT_FRAMES, OPT_ALL_FRAMES, OPT_BLOCKS, OPT_INSPECT,
	       OPT_TYPE, OPT_BYTES, OPT_CORES, OPT_MAX_PENDING, OPT_CORE_BUDGET, OPT_PEER_CORE_BUDGET, OPT_LEAKS,
	       OPT_KIND, OPT_COUNT, OPT_PLOT, OPT_TOP, OPT_METRICS, OPT_METRICS_TOP,
	       OPT_FOLDED, OPT_PPROF };
	static const struct option longopts[] = {
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "plot", required_argument, NULL, OPT_PLOT },
		{ "folded", no_argument, NULL, OPT_FOLDED },
		{ "pprof", no_argument, NULL, OPT_PPROF },
		{ "output", required_argument, NULL, 'o' },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "connect", required_argument, NULL, 'c' },
		{ "multicast-group", required_argument, NULL, OPT_GROUP },
		{ "no-multicast", no_argument, NULL, OPT_NO_MULTICAST },
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
		{ "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
		{ "cores", required_argument, NULL, OPT_CORES },
		{ "max-pending", required_argument, NULL, OPT_MAX_PENDING },
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "metrics-top", required_argument, NULL, OPT_METRICS_TOP },
		{ "core-budget", required_argument, NULL, OPT_CORE_BUDGET },
		{ "peer-core-budget", required_argument, NULL, OPT_PEER_CORE_BUDGET },
		{ "core", required_argument, NULL, OPT_CORE },
		{ "exe", required_argument, NULL, OPT_EXE },
		{ "gdb", required_argument, NULL, OPT_GDB },
		{ "frames", required_argument, NULL, OPT_FRAMES },
		{ "all-frames", no_argument, NULL, OPT_ALL_FRAMES },
		{ "blocks", required_argument, NULL, OPT_BLOCKS },
		{ "inspect", required_argument, NULL, OPT_INSPECT },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "bytes", required_argument, NULL, OPT_BYTES },
		{ "leaks", no_argument, NULL, OPT_LEAKS },
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *token_file = NULL, *token_arg = NULL;
	int c, rc, level = LOG_WARN;
	char err[512];
	long n;

	o->max_clients = SRV_MAX_CLIENTS;
	o->max_pending = SRV_MAX_PENDING;
	o->metrics_top = SRV_METRICS_TOP;
	o->core_budget = SRV_CORE_BUDGET;
	o->peer_core_budget = SRV_CORE_PEER_BUDGET;
	while ((c = getopt_long(argc, argv, "+c:o:vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_REPORT:
			o->report = optarg;
			break;
		case OPT_PLOT:
			o->plot = optarg;
			break;
		case 'o':
			o->plot_out = optarg;
			break;
		case OPT_TOP:
			if (parse_long(optarg, 1, 12, &o->plot_top) < 0)
				return log_usage("--top: how many growers to plot, 1 to 12, not '%s'", optarg);
			break;
		case OPT_JSON:
			o->json = 1;
			break;
		case OPT_FOLDED:
			o->folded = 1;
			break;
		case OPT_PPROF:
			o->pprof = 1;
			break;
		case OPT_LISTEN:
			o->net_option = "--listen";
			if (net_parse_listen(optarg, "--listen", &o->listen, err, sizeof(err)) < 0)
				return log_usage("%s", err);
			o->listen_given = 1;
			break;
		case 'c':
			o->net_option = "--connect";
			if (net_parse_hostport(optarg, "--connect", &o->connect, err, sizeof(err)) < 0)
				return log_usage("%s", err);
			if (!o->connect.host[0])
				return log_usage("--connect '%s': which host?", optarg);
			o->connect_given = 1;
			break;
		case OPT_GROUP:
			o->net_option = "--multicast-group";
			if (net_parse_hostport(optarg, "--multicast-group", &o->group, err, sizeof(err)) < 0)
				return log_usage("%s", err);
			break;
		case OPT_NO_MULTICAST:
			o->net_option = "--no-multicast";
			o->no_multicast = 1;
			break;
		case OPT_TOKEN:
			o->net_option = "--token";
			token_arg = optarg;
			break;
		case OPT_TOKEN_FILE:
			o->net_option = "--token-file";
			token_file = optarg;
			break;
		case OPT_MAX_CLIENTS:
			o->net_option = "--max-clients";
			if (parse_long(optarg, 1, 10000, &o->max_clients) < 0)
				return log_usage("--max-clients '%s': a number from 1 to 10000", optarg);
			break;
		case OPT_METRICS:
			o->net_option = "--metrics";
			/* No default port: a scraper must be told one, so the user chooses it. */
			if (!strrchr(optarg, ':') || (strrchr(optarg, ']') && strrchr(optarg, ':') < strrchr(optarg, ']')))
				return log_usage("--metrics '%s': which port? (ADDR:PORT, :0 for any free one)", optarg);
			if (net_parse_listen(optarg, "--metrics", &o->metrics, err, sizeof(err)) < 0)
				return log_usage("%s", err);
			o->metrics_given = 1;
			break;
		case OPT_METRICS_TOP:
			o->net_option = "--metrics-top";
			if (parse_long(optarg, 1, SRV_METRICS_TOP_MAX, &o->metrics_top) < 0)
				return log_usage("--metrics-top '%s': a number from 1 to %d", optarg, SRV_METRICS_TOP_MAX);
			break;
		case OPT_MAX_PENDING:
			o->net_option = "--max-pending";
			if (parse_long(optarg, 1, 10000, &o->max_pending) < 0)
				return log_usage("--max-pending '%s': a number from 1 to 10000", optarg);
			break;
		case OPT_CORE_BUDGET:
		case OPT_PEER_CORE_BUDGET:
			o->net_option = c == OPT_CORE_BUDGET ? "--core-budget" : "--peer-core-budget";
			if (parse_bytes(optarg, c == OPT_CORE_BUDGET ? &o->core_budget : &o->peer_core_budget) < 0)
				return log_usage("%s '%s': a size in bytes, with K, M, G or T (1024s) if wanted, "
						   "from 1 to 1T (e.g. 512M)", o->net_option, optarg);
			break;
		case OPT_CORES:
			o->net_option = "--cores";
			o->cores_dir = optarg;
			break;
		case OPT_CORE:
			o->core.core = optarg;
			break;
		case OPT_EXE:
			o->core.exe = optarg;
			o->core_option = "--exe";
			break;
		case OPT_GDB:
			o->core.gdb = optarg; /* for --core, and for the cores and gdb sessions served */
			break;
		case OPT_ALL_FRAMES:
			o->core.all_frames = 1;
			o->core_option = "--all-frames";
			break;
		case OPT_FRAMES:
		case OPT_BLOCKS:
		case OPT_INSPECT:
			rc = add_cmd(o, c == OPT_FRAMES ? CMD_FRAMES : c == OPT_BLOCKS ? CMD_BLOCKS : CMD_INSPECT,
				     c == OPT_FRAMES ? "--frames" : c == OPT_BLOCKS ? "--blocks" : "--inspect", optarg);
			if (rc)
				return rc;
			break;
		case OPT_LEAKS:
			rc = add_cmd(o, CMD_LEAKS, "--leaks", "");
			if (rc)
				return rc;
			break;
		case OPT_KIND:
		case OPT_COUNT:
			if (!o->n_cmd || o->cmd[o->n_cmd - 1].kind != CMD_LEAKS)
				return log_usage("%s goes after the --leaks it is for", c == OPT_KIND ? "--kind" : "--count");
			if (c == OPT_KIND && (o->cmd[o->n_cmd - 1].leak_kind = leaks_kind_parse(optarg)) == -2)
				return log_usage("--kind '%s': definite, indirect, possible, reachable or all", optarg);
			if (c == OPT_COUNT && parse_long(optarg, 1, 0x7fffffffL, &o->cmd[o->n_cmd - 1].count) < 0)
				return log_usage("--count '%s': a number of contexts from 1", optarg);
			break;
		case OPT_TYPE:
		case OPT_BYTES:
			if (!o->n_cmd || o->cmd[o->n_cmd - 1].kind != CMD_INSPECT)
				return log_usage("%s goes after the --inspect ADDR it is for",
						   c == OPT_TYPE ? "--type" : "--bytes");
			if (c == OPT_TYPE) {
				if (!*optarg)
					return log_usage("--type: which type?");
				o->cmd[o->n_cmd - 1].type = optarg;
			} else if (parse_long(optarg, 1, 4096, &n) < 0) {
				return log_usage("--bytes '%s': a number from 1 to 4096", optarg);
			} else {
				o->cmd[o->n_cmd - 1].bytes = n;
			}
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
			return log_usage("unknown option");
		}
	}
	log_set_level(level);
	o->sysroots = argv + optind;
	o->n_sysroots = (size_t)(argc - optind);
	if (o->report && o->net_option)
		return log_usage("%s is for serving, not with --report", o->net_option);
	if (o->plot && (o->report || o->core.core || o->net_option || o->json))
		return log_usage("--plot RECORD -o OUT.html [--top N] [SYSROOT...]: nothing else with it");
	if (o->plot && !o->plot_out)
		return log_usage("--plot %s: where to write the page? -o OUT.html", o->plot);
	if (o->json + o->folded + o->pprof > 1)
		return log_usage("--json, --folded and --pprof: give one");
	if ((o->folded || o->pprof) && !o->report)
		return log_usage("--folded and --pprof go with --report FILE (a report or a record)");
	if (o->pprof && !o->plot_out)
		return log_usage("--pprof: where to write the profile? -o OUT.pb.gz");
	if (!o->plot && !o->pprof && o->plot_out)
		return log_usage("-o goes with --plot RECORD or --report FILE --pprof");
	if (!o->plot && o->plot_top)
		return log_usage("--top goes with --plot RECORD");
	if (o->core.core) {
		if (o->report)
			return log_usage("--core and --report: give one");
		if (o->net_option)
			return log_usage("%s is for serving, not with --core", o->net_option);
		if (o->json && !has_leaks(o))
			return log_usage("--json goes with --report FILE, or with --core's --leaks");
		if (!o->core.exe)
			return log_usage("--core: give the program the core was taken of with --exe PROG");
		if (!o->n_cmd)
			return log_usage("--core: what to show? --frames ID, --blocks ID, --inspect ADDR or --leaks");
		o->core.sysroots = o->sysroots;
		o->core.n_sysroots = o->n_sysroots;
	} else if (o->core_option) {
		return log_usage("%s goes with --core CORE", o->core_option);
	}
	if (!o->report && !o->core.core && o->json)
		return log_usage("--json goes with --report FILE, or with --core's --leaks");
	if (token_arg && token_file)
		return log_usage("--token and --token-file: give one");
	if (token_arg) {
		if (net_token_check(token_arg, err, sizeof(err)) < 0)
			return log_usage("--token: %s", err);
		o->token = xstrdup(token_arg);
	} else if (token_file && net_token_load(token_file, &o->token, err, sizeof(err)) < 0) {
		return log_usage("%s", err);
	}
	if (!o->group.host[0])
		net_parse_hostport(NET_MCAST_GROUP, "--multicast-group", &o->group, err, sizeof(err));
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
			/* The largest report is the agent's largest message. */
			if (cap >= PROTO_MAX_REPLY) {
				log_err("%s: larger than %u MiB: not a memtrace report", file, PROTO_MAX_REPLY >> 20);
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

/* TEXT's first line is a record's header ({"type": "record", ...}). */
static int is_record(const char *text, size_t len)
{
	const char *nl = memchr(text, '\n', len);
	cJSON *first = nl ? cJSON_ParseWithLength(text, (size_t)(nl - text)) : NULL;
	int yes = !strcmp(inj_json_str(first, "type", ""), "record");

	cJSON_Delete(first);
	return yes;
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
	/* A record of memtrace --record (JSON lines, the first its header): its last state as a report. */
	if (is_record(text, len)) {
		FILE *f = fmemopen(text, len, "r");

		rep = f ? srv_record_report(f, file) : log_err_null("%s: %s", file, strerror(errno));
		if (f)
			fclose(f);
		free(text);
		return rep;
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

/* MEMTRACE_SERVER_TIMEOUTS_MS=HELLO,STALL,UNREAD (ms), for tests that cannot wait 30 s. */
static void timeouts_from_env(struct srv_timeouts *t)
{
	const char *env = getenv("MEMTRACE_SERVER_TIMEOUTS_MS");
	long h, s, u;

	*t = (struct srv_timeouts){ HELLO_MS, STALL_MS, UNREAD_MS };
	if (!env)
		return;
	if (sscanf(env, "%ld,%ld,%ld", &h, &s, &u) != 3 || h < 1 || s < 1 || u < 1 || h > 3600000 || s > 3600000 ||
	    u > 3600000) {
		log_warn("MEMTRACE_SERVER_TIMEOUTS_MS='%s' is not HELLO,STALL,UNREAD in ms: ignored", env);
		return;
	}
	*t = (struct srv_timeouts){ (int)h, (int)s, (int)u };
}

/* The network mode's stop: the signal that ended it (srv_net_options.stop). */
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

/*
 * The network mode's signal dispositions, set here and not in netserver.c:
 * only the program's main() touches them. SIGPIPE ignored (a peer that hung
 * up is seen as an error of send), SIGINT and SIGTERM blocked for the whole
 * run and caught only inside the loop's ppoll, which waits with the mask
 * they were taken from (*OLD, put back by the caller afterwards).
 */
static void net_signals(sigset_t *old)
{
	struct sigaction sa = { .sa_handler = on_stop };
	sigset_t block;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	/* Blocked but in ppoll: a signal ends the wait, never a system call halfway. */
	sigprocmask(SIG_BLOCK, &block, old);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static int serve(struct options *o, struct srv_decoder *d)
{
	static char self[4096], cores[PATH_MAX];
	static struct srv_corebudget budget = SRV_COREBUDGET_INIT(0, 0, NULL);
	const char *tmp = getenv("TMPDIR");
	struct srv_work_config work = {
		.sysroots = o->sysroots,
		.n_sysroots = o->n_sysroots,
		.gdb = o->core.gdb,
		.self = self,
		.cores_dir = o->cores_dir,
		.budget = &budget,
	};
	struct srv_net_options no = {
		.listen = o->listen_given || !o->connect_given ? &o->listen : NULL,
		.connect = o->connect_given ? &o->connect : NULL,
		.token = o->token,
		.max_clients = (int)o->max_clients,
		.max_pending = (int)o->max_pending,
		.metrics = o->metrics_given ? &o->metrics : NULL,
		.metrics_top = (int)o->metrics_top,
		.work = &work,
		.sysroots = o->sysroots,
		.n_sysroots = o->n_sysroots,
	};
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	sigset_t old;
	int rc;

	if (n <= 0) {
		log_warn("/proc/self/exe: %s: no gdb sessions (their relay runs this program)", strerror(errno));
		no.work = NULL;
	} else {
		self[n] = '\0';
	}

	if (o->cores_dir) {
		struct stat st;
		const char *why = NULL;

		if (stat(o->cores_dir, &st) != 0)
			why = strerror(errno);
		else if (!S_ISDIR(st.st_mode))
			why = "not a directory";
		else if (access(o->cores_dir, W_OK | X_OK) != 0)
			why = strerror(errno);
		if (why) {
			log_err("--cores %s: %s (give a directory this user can write)", o->cores_dir, why);
			return EXIT_FAIL;
		}
		if (!realpath(o->cores_dir, cores)) {
			log_err("--cores %s: %s", o->cores_dir, strerror(errno));
			return EXIT_FAIL;
		}
		work.cores_dir = cores;
	}
	budget.total = o->core_budget;
	budget.per_peer = o->peer_core_budget;
	budget.dir = work.cores_dir ? work.cores_dir : tmp && *tmp ? tmp : "/tmp"; /* as work.c writes them */
	if (!o->listen_given) /* every IPv4 address */
		snprintf(o->listen.port, sizeof(o->listen.port), "%d", NET_DEFAULT_PORT);
	if (no.listen && !o->no_multicast)
		no.group = &o->group;
	timeouts_from_env(&no.timeouts);
	/* Before the run: the decode pool's threads inherit the mask. */
	net_signals(&old);
	no.stop = &stop_signal;
	no.wait_mask = &old;
	rc = srv_net_run(&no, d);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* REP as a gzip'ed pprof profile in OUT, whole or not at all (a temporary file renamed). 0 or -1 (said). */
static int write_pprof(const char *out, const cJSON *rep)
{
	char tmp[4096];
	FILE *f;
	int ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp%d", out, (int)getpid()) >= (int)sizeof(tmp))
		return log_err("--pprof: -o %s: the name is too long", out);
	f = fopen(tmp, "we");
	if (!f)
		return log_err("--pprof: cannot write %s: %s", out, strerror(errno));
	ret = report_pprof_write(f, rep);
	if (ret < 0)
		log_err("--pprof: the profile could not be compressed (out of memory?)");
	if (ferror(f) | (fclose(f) != 0) || (ret == 0 && rename(tmp, out) != 0)) {
		log_err("--pprof: writing %s failed: %s (nothing was written there)", out, strerror(errno));
		ret = -1;
	}
	if (ret < 0)
		unlink(tmp);
	return ret;
}

/* Decode the report REP (deleted here) of --report. The exit status. */
static int decode_file(const struct options *o, cJSON *rep, struct srv_decoder *d)
{
	char err[256];
	int rc;

	if (srv_report_decode(d, rep, err, sizeof(err)) != SRV_REPORT_OK) {
		log_err("%s: %s", o->report, err);
		rc = EXIT_FAIL;
	} else if (o->json) {
		rc = inj_report_print_json(stdout, rep) < 0 ? EXIT_FAIL : 0;
	} else if (o->folded) {
		report_folded_print(stdout, rep);
		rc = ferror(stdout) ? EXIT_FAIL : 0;
	} else if (o->pprof) {
		rc = write_pprof(o->plot_out, rep) < 0 ? EXIT_FAIL : 0;
	} else {
		print_text(stdout, rep);
		rc = ferror(stdout) ? EXIT_FAIL : 0;
	}
	if (fflush(stdout) != 0 && !rc) {
		log_err("writing the report: %s", strerror(errno));
		rc = EXIT_FAIL;
	}
	cJSON_Delete(rep);
	return rc;
}

/*
 * --core's private directory under $TMPDIR and the file a gzip'ed core is
 * gunzipped into there: removed on SIGINT, SIGTERM and SIGHUP too, then the
 * signal ends the program as it would have. The one-shot --core mode owns
 * the process, so these handlers live here and not in server/core.c, whose
 * sessions also run in the network server's threads.
 */
static char unpack_dir[PATH_MAX], unpack_to[PATH_MAX + 8];

static void remove_unpacked_and_die(int sig)
{
	unlink(unpack_to);
	rmdir(unpack_dir);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* The directory and its handlers; without a directory, core.c picks a name in $TMPDIR (no handler). */
static void unpack_setup(struct srv_core_options *co)
{
	const char *t = getenv("TMPDIR");
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

	snprintf(unpack_dir, sizeof(unpack_dir), "%s/memtrace-server.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(unpack_dir)) {
		log_debug("%s: %s", unpack_dir, strerror(errno));
		unpack_dir[0] = '\0';
		return;
	}
	snprintf(unpack_to, sizeof(unpack_to), "%s/core", unpack_dir);
	co->unpack_to = unpack_to;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], remove_unpacked_and_die);
}

static void unpack_cleanup(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

	if (!unpack_dir[0])
		return;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	unlink(unpack_to);
	rmdir(unpack_dir);
}

/* --leaks: the verdicts, decoded with the SYSROOTs. */
static int core_leaks(const struct options *o, struct srv_core *c, const struct core_cmd *k)
{
	struct srv_core_leaks_options lo = { .sysroots = o->sysroots, .n_sysroots = o->n_sysroots,
					     .count = k->count, .kind = k->leak_kind, .json = o->json };

	return srv_core_leaks(c, stdout, &lo);
}

/* --core: open the core, run the commands in order. The exit status. */
static int read_core(struct options *o)
{
	struct srv_core *c;
	int rc = 0;

	unpack_setup(&o->core);
	c = srv_core_open(&o->core);
	if (!c) {
		unpack_cleanup();
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < o->n_cmd; i++) {
		const struct core_cmd *k = &o->cmd[i];
		int r;

		if (k->kind == CMD_FRAMES)
			r = srv_core_frames(c, stdout, k->id);
		else if (k->kind == CMD_BLOCKS)
			r = srv_core_blocks(c, stdout, k->id);
		else if (k->kind == CMD_LEAKS)
			r = core_leaks(o, c, k);
		else
			r = srv_core_inspect(c, stdout, k->addr, k->type, (size_t)k->bytes);
		if (r < 0)
			rc = EXIT_FAIL;
		fflush(stdout);
	}
	srv_core_close(c);
	unpack_cleanup();
	if (ferror(stdout) || fflush(stdout) != 0) {
		log_err("writing the answers: %s", strerror(errno));
		rc = EXIT_FAIL;
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct srv_decoder *d = NULL;
	cJSON *rep = NULL;
	int rc;

	log_set_name("memtrace-server");
	/* Not an option for users: what gdb runs to reach gdbserver (server/relay.h). */
	if (argc == 3 && !strcmp(argv[1], "--rsp-relay")) {
		log_set_name("memtrace-server relay");
		return srv_relay_main(argv[2]);
	}
	rc = parse_options(argc, argv, &o);
	if (rc) {
		rc = rc < 0 ? 0 : rc;
		goto out;
	}
	if (o.core.core) {
		rc = read_core(&o);
		goto out;
	}
	if (!o.n_sysroots)
		log_warn("no SYSROOT given: frames cannot be decoded (give / to use this machine's own files)");
	rc = EXIT_FAIL;
	if (o.report && !(rep = parse_report(o.report)))
		goto out;
	d = srv_decoder_new((const char *const *)o.sysroots, o.n_sysroots);
	if (!d)
		goto out_delete;
	if (o.plot) {
		rc = srv_plot(o.plot, d, o.plot_out, (int)o.plot_top) == 0 ? 0 : EXIT_FAIL;
		if (!rc)
			log_info("%s written", o.plot_out);
	} else if (rep) {
		rc = decode_file(&o, rep, d);
		rep = NULL; /* deleted there */
	} else {
		rc = serve(&o, d);
	}
	srv_decoder_free(d);
out_delete:
	cJSON_Delete(rep);
out:
	free(o.token);
	return rc;
}
