/*
 * memtrace: options, then start mode (start.c) or attach (attach.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "console/console.h"
#include "elfsym.h"
#include "cfi_arch.h"
#include "fp_frame.h"
#include "leaksdoc.h"
#include "log.h"
#include "run.h"
#include "session.h"
#include "spawn.h"
#include "util.h"

static const char usage_text[] =
	"usage: memtrace [OPTIONS] PROG [ARGS...]\n"
	"       memtrace -p PID [OPTIONS]\n"
	"Start PROG with memtrace's agent, which records every live allocation with its\n"
	"callstack; offer a console; print what is still allocated when PROG ends.\n"
	"With -p, load the agent into running process PID instead (or find it there and\n"
	"give it this memtrace's options), record from then on, and detach when the\n"
	"console ends, leaving the process as it was and the agent's memory given back;\n"
	"if the process ends first, print its exit report as for PROG.\n"
	"\n"
	"  -p, --pid PID         attach to a running process\n"
	"  -o, --output FILE     write the exit report to FILE (default: standard output);\n"
	"                        with -p, that of a process that ends while attached\n"
	"      --json            write the exit report as JSON\n"
	"      --leaks[=KIND]    at PROG's normal end (exit, return from main, _exit), judge\n"
	"                        every live block as the console's leaks does (valgrind's\n"
	"                        verdicts) and print the verdicts after the exit report\n"
	"                        (with --json: its \"leaks\" member); KIND as leaks --kind\n"
	"                        (default: the contexts holding lost blocks)\n"
	"  -x, --exec CMD        run console command CMD (repeatable); with no --console they\n"
	"                        are the whole console (-p detaches after the last)\n"
	"      --console FILE    read console commands from FILE (a terminal, a FIFO, a file),\n"
	"                        or from standard input with -. Default: standard input when\n"
	"                        it is a terminal or with -p; else it is PROG's, untouched,\n"
	"                        and there is no console. none: no console, also with -p,\n"
	"                        which then runs until the process ends or memtrace gets a\n"
	"                        signal (unattended, e.g. with --record)\n"
	"  -L, --agent PATH      the agent library (default: beside memtrace, then its lib dir)\n"
	"      --unwind METHOD   auto (default): tables where they can start, else libunwind;\n"
	"                        tables: true stacks wherever unwind tables exist, from the\n"
	"                        module's .eh_frame (.ARM.exidx on 32-bit ARM) compiled to\n"
	"                        compact rows (glibc 2.35), libunwind walking what they cannot\n"
	"                        say; libunwind: the same stacks, slower (libgcc's walk on\n"
	"                        32-bit ARM); fp: frame pointers, for code built with them\n"
	"                        (not on 32-bit ARM or MIPS; MIPS has no tables yet: auto\n"
	"                        is libunwind there)\n"
	"  -d, --depth N         frames per callstack, 1-64 (default 32)\n"
	"      --sample SEC      every context's live bytes sampled every SEC seconds (default\n"
	"                        60, at least 0.1), for the console's trend and, when linked,\n"
	"                        for memtrace-server's /metrics\n"
	"      --record FILE     every sample appended to FILE as it is taken (JSON lines,\n"
	"                        flushed), with each context's callstack; a FILE of the same\n"
	"                        process is taken up and continued\n"
	"  -t, --timeout SEC     how long to wait for the agent (default 10)\n"
	"      --no-signal-report  no exit report when PROG dies of a signal (leaves its\n"
	"                        signal dispositions untouched, also while attached)\n"
	"      --connect HOST[:PORT]  have reports decoded (function, file:line, inlined\n"
	"                        calls) by the memtrace-server at HOST (port 3002)\n"
	"      --multicast[=GROUP[:PORT]]  the same with a memtrace-server found on the\n"
	"                        local network (default 239.255.42.3:3002)\n"
	"      --listen ADDR[:PORT]  the same with a memtrace-server that dials in\n"
	"                        (memtrace-server -c; port 3002; 0: any, printed on stderr)\n"
	"      --token TOKEN     the link's shared secret (--listen: servers must give it)\n"
	"      --token-file FILE the token is the first line of FILE\n"
	"      --gdbserver PATH  the gdbserver the console's gdb command starts (default:\n"
	"                        gdbserver from PATH)\n"
	"  -v, --verbose         more messages (repeat for debug)\n"
	"  -q, --quiet           errors only\n"
	"  -h, --help            this text\n"
	"  -V, --version         memtrace's version\n"
	"\n"
	"Without a server, or when it goes away, reports are raw (ELF symbols only).\n"
	"Console commands (type help in the console):\n";

static const char usage_status[] =
	"Exit status: PROG's own (128+N when it died of signal N); 127 PROG not found, 126 not\n"
	"executable or static, 125 memtrace failed, 2 bad usage. With -p: 0 detached, 1 the\n"
	"process ended while attached (its exit report printed), 3 no such process, 4 permission\n"
	"refused, 5 already traced, 6 unsupported target, 7 agent unusable, 8 seccomp, 9 dlopen\n"
	"failed, 10 no safe point in time or remote call failed, 11 another memtrace attached,\n"
	"128+N detached and ended by signal N (docs/user-guide.md).\n";

static const char *const link_option[] = {
	[INJ_LINK_CONNECT] = "--connect", [INJ_LINK_MULTICAST] = "--multicast", [INJ_LINK_LISTEN] = "--listen",
};

/* --connect, --multicast or --listen ARG (NULL: none given) into O. 0, or -(exit code). */
static int parse_link(struct options *o, enum inj_link_mode mode, const char *arg)
{
	const char *name = link_option[mode];
	struct in_addr group;
	char err[400];

	if (o->link.mode == mode)
		return -log_usage("%s given twice", name);
	if (o->link.mode != INJ_LINK_NONE)
		return -log_usage("%s and %s: give one of --connect, --multicast and --listen",
				    link_option[o->link.mode], name);
	o->link.mode = mode;
	if (mode == INJ_LINK_MULTICAST && !arg)
		arg = NET_MCAST_GROUP;
	if ((mode == INJ_LINK_LISTEN ? net_parse_listen : net_parse_hostport)(arg, name, &o->link.addr, err,
									    sizeof(err)) < 0)
		return -log_usage("%s", err);
	if (mode == INJ_LINK_CONNECT && !o->link.addr.host[0])
		return -log_usage("--connect '%s': which host? give HOST or HOST:PORT", arg);
	if (mode == INJ_LINK_MULTICAST && (inet_pton(AF_INET, o->link.addr.host, &group) != 1 ||
					   !IN_MULTICAST(ntohl(group.s_addr))))
		return -log_usage("--multicast=%s: GROUP must be an IPv4 multicast address (224.0.0.0 to "
				    "239.255.255.255), like the default %s", arg, NET_MCAST_GROUP);
	return 0;
}

/* --token TOKEN (FILE NULL) or --token-file FILE into O. 0, or -(exit code). */
static int parse_token(struct options *o, const char *token, const char *file)
{
	char err[400];

	if (o->link.token)
		return -log_usage("%s", "one token: --token or --token-file, once");
	if (file) {
		if (net_token_load(file, &o->link.token, err, sizeof(err)) < 0)
			return -log_usage("%s", err);
		return 0;
	}
	if (net_token_check(token, err, sizeof(err)) < 0)
		return -log_usage("--token: %s", err);
	o->link.token = xstrdup(token);
	return 0;
}

/*
 * Open --console's file into O->console_fd. Non-blocking for the open only:
 * a FIFO without a writer yet must not stop memtrace here (poll waits for
 * one later). A terminal is opened for writing too: the console answers
 * there. 0, or -1 with the usage error printed.
 */
static int open_console(struct options *o)
{
	struct stat st;
	int fd, e;

	if (!strcmp(o->console, "-")) {
		o->console_fd = STDIN_FILENO;
		return 0;
	}
	if (!strcmp(o->console, "none")) {
		o->console_fd = -1;
		return 0;
	}
	fd = open(o->console, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0 && isatty(fd)) {
		close(fd);
		fd = open(o->console, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	}
	if (fd < 0) {
		e = errno;
		log_usage("--console %s: %s", o->console, strerror(e));
		return -1;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		log_usage("--console %s: is a directory; give a file, a FIFO or a terminal", o->console);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	o->console_fd = fd;
	return 0;
}

/* Returns the index of PROG in argv, or -(exit code) to stop. */
static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_JSON = 256, OPT_UNWIND, OPT_NOSIG, OPT_CONNECT, OPT_MULTICAST, OPT_LISTEN, OPT_TOKEN,
	       OPT_TOKEN_FILE, OPT_GDBSERVER, OPT_CONSOLE, OPT_LEAKS, OPT_SAMPLE, OPT_RECORD };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "leaks", optional_argument, NULL, OPT_LEAKS },
		{ "exec", required_argument, NULL, 'x' },
		{ "console", required_argument, NULL, OPT_CONSOLE },
		{ "agent", required_argument, NULL, 'L' },
		{ "unwind", required_argument, NULL, OPT_UNWIND },
		{ "depth", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "no-signal-report", no_argument, NULL, OPT_NOSIG },
		{ "connect", required_argument, NULL, OPT_CONNECT },
		{ "multicast", optional_argument, NULL, OPT_MULTICAST },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
		{ "gdbserver", required_argument, NULL, OPT_GDBSERVER },
		{ "sample", required_argument, NULL, OPT_SAMPLE },
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int verbose = 0, ret;
	long v;
	int c;

	o->unwind = AGENT_CFI_SUPPORTED ? AGENT_UNWIND_AUTO : "libunwind";
	o->depth = AGENT_DEFAULT_DEPTH;
	o->sample_ms = 60000;
	o->timeout_s = 10;
	o->signals = 1;
	o->cmds = xcalloc((size_t)argc, sizeof(*o->cmds));
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+p:o:x:L:d:t:vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_long(optarg, 1, 0x7fffffffL, &v) < 0)
				return -log_usage("-p takes a process id, not '%s'", optarg);
			o->attach_pid = (int)v;
			break;
		case 'o':
			o->output = optarg;
			break;
		case OPT_JSON:
			o->json = 1;
			break;
		case OPT_LEAKS:
			o->leaks = 1;
			o->leaks_kind = optarg ? leaks_kind_parse(optarg) : -1;
			if (o->leaks_kind == -2)
				return -log_usage("--leaks=KIND: KIND is definite, indirect, possible, reachable or "
						    "all, not '%s'", optarg);
			break;
		case 'x':
			o->cmds[o->ncmds++] = optarg;
			break;
		case OPT_CONSOLE:
			if (o->console)
				return -log_usage("--console given twice");
			if (!*optarg)
				return -log_usage("--console wants a file to read commands from, or - for "
						    "standard input");
			o->console = optarg;
			break;
		case 'L':
			o->agent = optarg;
			break;
		case OPT_UNWIND:
			if (strcmp(optarg, "fp") && strcmp(optarg, "libunwind") && strcmp(optarg, "tables") &&
			    strcmp(optarg, AGENT_UNWIND_AUTO))
				return -log_usage("--unwind takes tables, libunwind, fp or auto, not '%s'", optarg);
			if (!AGENT_FP_SUPPORTED && !strcmp(optarg, "fp"))
				return -log_usage("--unwind fp is not available here (%s); use --unwind "
						    "libunwind", AGENT_FP_WHY_NOT);
			if (!AGENT_CFI_SUPPORTED && !strcmp(optarg, "tables"))
				return -log_usage("--unwind tables is not available here: %s", AGENT_CFI_WHY_NOT);
			o->unwind = optarg;
			o->unwind_given = 1;
			break;
		case 'd':
			if (parse_long(optarg, 1, AGENT_MAX_DEPTH, &v) < 0)
				return -log_usage("--depth takes a number from 1 to 64, not '%s'", optarg);
			o->depth = (int)v;
			break;
		case 't':
			if (parse_long(optarg, 1, 3600, &v) < 0)
				return -log_usage("--timeout takes seconds from 1 to 3600, not '%s'", optarg);
			o->timeout_s = (int)v;
			break;
		case OPT_NOSIG:
			o->signals = 0;
			break;
		case OPT_CONNECT:
		case OPT_MULTICAST:
		case OPT_LISTEN:
			ret = parse_link(o, c == OPT_CONNECT ? INJ_LINK_CONNECT
					   : c == OPT_MULTICAST ? INJ_LINK_MULTICAST : INJ_LINK_LISTEN, optarg);
			if (ret < 0)
				return ret;
			break;
		case OPT_TOKEN:
		case OPT_TOKEN_FILE:
			ret = parse_token(o, c == OPT_TOKEN ? optarg : NULL, c == OPT_TOKEN_FILE ? optarg : NULL);
			if (ret < 0)
				return ret;
			break;
		case OPT_SAMPLE:
			if (parse_seconds_ms(optarg, 86400000L, &o->sample_ms) < 0 || o->sample_ms < 100)
				return -log_usage("--sample wants seconds between samples (0.1 to 86400), not '%s'",
						  optarg);
			break;
		case OPT_RECORD:
			if (!*optarg)
				return -log_usage("--record wants the file to append the samples to");
			o->record = optarg;
			break;
		case OPT_GDBSERVER:
			if (!*optarg)
				return -log_usage("--gdbserver wants the path of gdbserver on this device");
			o->gdbserver = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'q':
			verbose = -1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			inj_console_list(stdout, 80);
			fputs(usage_status, stdout);
			return -256;
		case 'V':
			printf("memtrace %s\n", MEMTRACE_VERSION);
			return -256;
		case '?':
		default:
			if (optopt >= 256) /* a long option without its value, or with one it takes not */
				return -log_usage(strchr(argv[optind - 1], '=') ? "option '%s' takes no value"
										  : "option '%s' needs a value",
						    argv[optind - 1]);
			if (optopt && optopt != '?')
				return -log_usage("option -%c needs a value or is unknown", optopt);
			return -log_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	log_set_level(verbose < 0 ? LOG_ERR : verbose == 0 ? LOG_WARN : verbose == 1 ? LOG_INFO : LOG_DEBUG);
	if (o->link.token && o->link.mode == INJ_LINK_NONE)
		return -log_usage("%s", "a token is for the link to memtrace-server: give --connect, --multicast "
				    "or --listen too");
	if (o->console && open_console(o) < 0)
		return -EXIT_USAGE;
	if (o->attach_pid) {
		if (optind < argc)
			return -log_usage("-p %d and a program to start: give one or the other", o->attach_pid);
		return optind;
	}
	if (optind >= argc)
		return -log_usage("%s", "no program given: memtrace [OPTIONS] PROG [ARGS...], or memtrace -p PID");
	return optind;
}

int main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct run r = { .opt = &opt, .sfd = -1, .con_fd = -1 };
	sigset_t mask, old;
	char *agent = NULL;
	int idx, ret = EXIT_FAILURE_MT;

	log_set_name("memtrace");
	idx = parse_options(argc, argv, &opt);
	if (idx < 0) {
		free(opt.link.token);
		free(opt.cmds);
		return idx == -256 ? 0 : -idx;
	}
#if defined(__mips__) && _MIPS_SIM == _ABI64
	/*
	 * MIPS n64 builds and runs most of the suite in its VM, but a block
	 * allocated inside glibc got a wrong caller there: a report must not
	 * say that. (test_unwind's crash there was a stack overflow, now
	 * guarded: agent/unwind_libunwind.c.)
	 * MEMTRACE_ALLOW_N64=1 runs it anyway, for the work on it.
	 */
	if (!getenv("MEMTRACE_ALLOW_N64")) {
		log_err("MIPS n64 is not supported yet (docs/architecture.md, \"MIPS\"): its stacks "
			"were wrong in memtrace's tests; build memtrace for o32 (mipsel-linux-gnu) instead");
		ret = EXIT_USAGE;
		goto out;
	}
#endif
	agent = inj_find_agent(opt.agent);
	if (!agent) {
		/* With -p, an unusable agent has its own status (docs/user-guide.md). */
		if (opt.attach_pid)
			ret = EXIT_AGENT;
		goto out;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigprocmask(SIG_BLOCK, &mask, &old);
	r.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r.sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);

	if (opt.attach_pid)
		ret = inj_run_attach(&r, agent);
	else
		ret = inj_run_start(&r, argv + idx, agent, &old);
out:
	inj_link_free(r.link);
	cJSON_Delete(r.exit_event);
	inj_exit_leaks_free(&r);
	inj_session_free(r.session);
	inj_symcache_free(r.con.syms);
	inj_sampler_free(r.con.sampler);
	if (r.sfd >= 0)
		close(r.sfd);
	if (r.con_file)
		fclose(r.con_file);
	if (opt.console && opt.console_fd > STDIN_FILENO)
		close(opt.console_fd);
	free(agent);
	free(opt.link.token);
	free(opt.cmds);
	return ret;
}
