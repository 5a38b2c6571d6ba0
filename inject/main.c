/*
 * memtrace: start a program with the agent (start mode), offer the console,
 * and print the exit report when the program ends.
 *
 * One event loop serves everything: the agent connection (events such as
 * the exit report), standard input (the console), a signalfd (the child's
 * end, and signals to forward to it) and the monitor timer. Console commands
 * are synchronous requests; the loop runs again between them and during
 * `sleep`.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "console.h"
#include "elfsym.h"
#include "lineedit.h"
#include "log.h"
#include "proto.h"
#include "report.h"
#include "session.h"
#include "spawn.h"
#include "util.h"

#define EXIT_USAGE 2
#define EXIT_FAILURE_MT 125
#define EXIT_NOEXEC 126
#define EXIT_NOTFOUND 127
#define DRAIN_TIMEOUT_MS 10000

struct options {
	const char *output;
	int json;
	const char **cmds;
	int ncmds;
	const char *agent;
	const char *unwind;
	int depth;
	int timeout_s;
	int signals;
};

struct run {
	struct options *opt;
	pid_t pid;
	int exited;		/* the child has been reaped */
	int status;
	int sfd;		/* signalfd */
	struct inj_session *session;
	struct inj_console con;
	struct inj_le *le;	/* console on stdin, NULL when closed */
	cJSON *exit_event;
};

static const char usage_text[] =
	"usage: memtrace [OPTIONS] PROG [ARGS...]\n"
	"Start PROG with memtrace's agent, which records every live allocation with its\n"
	"callstack; offer a console; print what is still allocated when PROG ends.\n"
	"\n"
	"  -o, --output FILE     write the exit report to FILE (default: standard output)\n"
	"      --json            write the exit report as JSON\n"
	"  -x, --exec CMD        run console command CMD (repeatable); standard input is then\n"
	"                        left to PROG\n"
	"  -L, --agent PATH      the agent library (default: beside memtrace, then its lib dir)\n"
	"      --unwind METHOD   libunwind (default: true stacks wherever unwind tables exist)\n"
	"                        or fp (frame pointers: fastest, for code built with them)\n"
	"  -d, --depth N         frames per callstack, 1-64 (default 32)\n"
	"  -t, --timeout SEC     how long to wait for the agent (default 10)\n"
	"      --no-signal-report  no exit report when PROG dies of a signal (leaves its\n"
	"                        signal dispositions untouched)\n"
	"  -v, --verbose         more messages (repeat for debug)\n"
	"  -q, --quiet           errors only\n"
	"  -h, --help            this text\n"
	"  -V, --version         memtrace's version\n"
	"\n"
	"Console commands (type help in the console): status, monitor, report, clear, dump,\n"
	"sleep, kill, quit. Exit status: PROG's own (128+N when it died of signal N); 127 PROG\n"
	"not found, 126 not executable, 125 memtrace failed, 2 bad usage.\n";

static int __attribute__((format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "memtrace: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'memtrace --help'.\n");
	va_end(ap);
	return EXIT_USAGE;
}

/* Returns the index of PROG in argv, or -(exit code) to stop. */
static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_JSON = 256, OPT_UNWIND, OPT_NOSIG };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "exec", required_argument, NULL, 'x' },
		{ "agent", required_argument, NULL, 'L' },
		{ "unwind", required_argument, NULL, OPT_UNWIND },
		{ "depth", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "no-signal-report", no_argument, NULL, OPT_NOSIG },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int verbose = 0;
	long v;
	int c;

	o->unwind = "libunwind";
	o->depth = AGENT_DEFAULT_DEPTH;
	o->timeout_s = 10;
	o->signals = 1;
	o->cmds = xcalloc((size_t)argc, sizeof(*o->cmds));
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:x:L:d:t:vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->output = optarg;
			break;
		case OPT_JSON:
			o->json = 1;
			break;
		case 'x':
			o->cmds[o->ncmds++] = optarg;
			break;
		case 'L':
			o->agent = optarg;
			break;
		case OPT_UNWIND:
			if (strcmp(optarg, "fp") && strcmp(optarg, "libunwind"))
				return -usage_error("--unwind takes fp or libunwind, not '%s'", optarg);
			o->unwind = optarg;
			break;
		case 'd':
			if (parse_long(optarg, 1, AGENT_MAX_DEPTH, &v) < 0)
				return -usage_error("--depth takes a number from 1 to 64, not '%s'", optarg);
			o->depth = (int)v;
			break;
		case 't':
			if (parse_long(optarg, 1, 3600, &v) < 0)
				return -usage_error("--timeout takes seconds from 1 to 3600, not '%s'", optarg);
			o->timeout_s = (int)v;
			break;
		case OPT_NOSIG:
			o->signals = 0;
			break;
		case 'v':
			verbose++;
			break;
		case 'q':
			verbose = -1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return -256;
		case 'V':
			printf("memtrace %s\n", MEMTRACE_VERSION);
			return -256;
		case '?':
		default:
			if (optopt && optopt != '?')
				return -usage_error("option -%c needs a value or is unknown", optopt);
			return -usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	log_set_level(verbose < 0 ? LOG_ERR : verbose == 0 ? LOG_WARN : verbose == 1 ? LOG_INFO : LOG_DEBUG);
	if (optind >= argc)
		return -usage_error("%s", "no program given: memtrace [OPTIONS] PROG [ARGS...]");
	return optind;
}

/* ---------------------------------------------------------------- child */

static void reap(struct run *r)
{
	int st;

	if (r->exited)
		return;
	if (waitpid(r->pid, &st, WNOHANG) == r->pid && (WIFEXITED(st) || WIFSIGNALED(st))) {
		r->exited = 1;
		r->status = st;
	}
}

static int child_alive(void *arg)
{
	struct run *r = arg;

	reap(r);
	return !r->exited;
}

static void handle_signals(struct run *r)
{
	struct signalfd_siginfo si;

	while (read(r->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap(r);
			continue;
		}
		/* A terminal's Ctrl-C reaches the program by itself (same process
		 * group); a signal sent to memtrace is passed on. */
		if (!r->exited && si.ssi_code != SI_KERNEL) {
			log_info("passing signal %u on to process %d", si.ssi_signo, (int)r->pid);
			kill(r->pid, (int)si.ssi_signo);
		}
	}
}

static void take_events(struct run *r)
{
	cJSON *ev;

	while ((ev = inj_session_next_event(r->session))) {
		const char *name = inj_json_str(ev, "event", "");

		if (!strcmp(name, "exit") && !r->exit_event) {
			r->exit_event = ev;
			continue;
		}
		log_debug("agent event '%s' ignored", name);
		cJSON_Delete(ev);
	}
}

/* ---------------------------------------------------------------- loop */

static void console_close(struct run *r, const char *why)
{
	if (!r->le)
		return;
	inj_le_free(r->le);
	r->le = NULL;
	if (why)
		log_info("%s", why);
}

static void console_line(struct run *r)
{
	const char *line;
	int ret;

	do {
		ret = inj_le_read(r->le, &line);
		if (ret == INJ_LE_LINE) {
			if (*line)
				inj_le_history_add(r->le, line);
			inj_console_exec(&r->con, line);
			take_events(r);
			inj_le_show(r->le);
			if (r->con.quit) {
				console_close(r, "console closed; waiting for the program to end");
				return;
			}
		} else if (ret == INJ_LE_INTR) {
			if (!r->exited)
				kill(r->pid, SIGINT);
		} else if (ret == INJ_LE_EOF || ret == INJ_LE_ERROR) {
			console_close(r, "end of console input; waiting for the program to end");
			return;
		}
	} while (r->le && inj_le_pending(r->le));
}

/*
 * Serve events for up to MS milliseconds (-1: until the child has ended).
 * With STDIN set the console is read too.
 */
static void loop(struct run *r, long ms, int with_stdin)
{
	int64_t deadline = ms < 0 ? -1 : proto_now_ms() + ms;

	while (!r->exited) {
		struct pollfd pfd[3];
		int n = 0, i_sess = -1, i_in = -1, timeout = -1;
		long mon;

		pfd[n].fd = r->sfd;
		pfd[n++].events = POLLIN;
		if (r->session && !inj_session_lost(r->session)) {
			i_sess = n;
			pfd[n].fd = inj_session_fd(r->session);
			pfd[n++].events = POLLIN;
		}
		if (with_stdin && r->le) {
			i_in = n;
			pfd[n].fd = STDIN_FILENO;
			pfd[n++].events = POLLIN;
		}
		mon = inj_console_monitor_due(&r->con, proto_now_ms());
		if (mon == 0) {
			/* Keep a half-typed command intact around the line. */
			inj_le_hide(r->le);
			inj_console_monitor_tick(&r->con, proto_now_ms());
			inj_le_show(r->le);
			take_events(r);
			continue;
		}
		if (mon > 0)
			timeout = (int)mon;
		if (deadline >= 0) {
			int64_t left = deadline - proto_now_ms();

			if (left <= 0)
				return;
			if (timeout < 0 || left < timeout)
				timeout = (int)left;
		}
		if (poll(pfd, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			return;
		}
		if (pfd[0].revents)
			handle_signals(r);
		if (i_sess >= 0 && pfd[i_sess].revents) {
			if (inj_session_pump(r->session) < 0)
				r->con.gone = "the connection to the agent is lost";
			take_events(r);
		}
		if (i_in >= 0 && pfd[i_in].revents && r->le)
			console_line(r);
	}
}

static void console_wait(struct inj_console *con, long ms)
{
	loop(con->owner, ms, 0);
}

/* After the child ended: read what the agent sent before it went. */
static void drain(struct run *r)
{
	int64_t deadline = proto_now_ms() + DRAIN_TIMEOUT_MS;

	if (r->session)
		take_events(r);
	while (r->session && !inj_session_lost(r->session) && !r->exit_event) {
		struct pollfd pfd = { .fd = inj_session_fd(r->session), .events = POLLIN };
		int64_t left = deadline - proto_now_ms();

		if (left <= 0) {
			log_warn("the agent connection stayed open after the program ended "
				 "(a child process still holds it?)");
			break;
		}
		if (poll(&pfd, 1, (int)left) > 0) {
			inj_session_pump(r->session);
			take_events(r);
		}
	}
}

/* ---------------------------------------------------------------- exit report */

static cJSON *exit_object(const struct run *r, int have_report)
{
	cJSON *e = cJSON_CreateObject();

	if (WIFEXITED(r->status))
		cJSON_AddNumberToObject(e, "code", WEXITSTATUS(r->status));
	else
		cJSON_AddNumberToObject(e, "signal", WTERMSIG(r->status));
	if (!have_report)
		cJSON_AddFalseToObject(e, "report");
	return e;
}

static void describe_end(const struct run *r, char *buf, size_t size)
{
	if (WIFEXITED(r->status))
		snprintf(buf, size, "exited with code %d", WEXITSTATUS(r->status));
	else
		snprintf(buf, size, "was killed by signal %d (%s)%s", WTERMSIG(r->status),
			 strsignal(WTERMSIG(r->status)), WCOREDUMP(r->status) ? ", core dumped" : "");
}

static int write_exit_report(struct run *r, const char *prog)
{
	const cJSON *wire = cJSON_GetObjectItemCaseSensitive(r->exit_event, "report");
	cJSON *rep = wire ? inj_report_from_wire(wire, r->con.syms) : NULL;
	FILE *out = stdout;
	char how[160];
	int ret = 0;

	describe_end(r, how, sizeof(how));
	if (!rep) {
		if (WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGKILL)
			log_err("no exit report: %s %s, and SIGKILL gives the agent no chance to report", prog, how);
		else if (!r->session)
			log_err("no exit report: %s %s, and its agent never answered", prog, how);
		else
			log_err("no exit report: %s %s without sending one (it left through _exit or exec, or "
				"a signal memtrace does not watch)", prog, how);
		rep = cJSON_CreateObject();
		cJSON_AddNumberToObject(rep, "version", 1);
		cJSON_AddNumberToObject(rep, "pid", r->pid);
		cJSON_AddStringToObject(rep, "program", prog);
		cJSON_AddItemToObject(rep, "exit", exit_object(r, 0));
		if (!r->opt->json && !r->opt->output) {
			cJSON_Delete(rep);
			return 0;
		}
	} else {
		cJSON_AddItemToObject(rep, "exit", exit_object(r, 1));
	}
	if (r->opt->output) {
		out = fopen(r->opt->output, "w");
		if (!out) {
			log_err("cannot write the exit report to %s: %s", r->opt->output, strerror(errno));
			cJSON_Delete(rep);
			return -1;
		}
	}
	if (r->opt->json) {
		ret = inj_report_print_json(out, rep);
	} else if (cJSON_GetObjectItemCaseSensitive(rep, "contexts")) {
		char title[256];

		snprintf(title, sizeof(title), "memtrace exit report (the program %s)", how);
		inj_report_print_text(out, rep, title);
	} else {
		fprintf(out, "== memtrace: pid %d %s; no exit report\n", (int)r->pid, how);
	}
	if (r->opt->output) {
		if (fclose(out) != 0)
			ret = -1;
		if (ret < 0) {
			log_err("writing the exit report to %s failed: %s", r->opt->output, strerror(errno));
			remove(r->opt->output);
		}
	} else {
		fflush(out);
	}
	cJSON_Delete(rep);
	return ret;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct run r = { .opt = &opt, .sfd = -1 };
	sigset_t mask, old;
	char config[128];
	const char *why = NULL;
	char *prog = NULL, *agent = NULL;
	cJSON *resumed;
	int idx, ret = EXIT_FAILURE_MT;

	log_set_name("memtrace");
	idx = parse_options(argc, argv, &opt);
	if (idx < 0) {
		free(opt.cmds);
		return idx == -256 ? 0 : -idx;
	}
	agent = inj_find_agent(opt.agent);
	if (!agent)
		goto out;
	prog = inj_find_program(argv[idx], &why);
	if (!prog) {
		log_err("%s: %s", argv[idx], why);
		ret = errno == EACCES ? EXIT_NOEXEC : EXIT_NOTFOUND;
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

	snprintf(config, sizeof(config), "unwind=%s depth=%d wait=%d signals=%d", opt.unwind, opt.depth,
		 opt.timeout_s * 1000, opt.signals);
	r.pid = inj_spawn(prog, argv + idx, agent, config, &old);
	if (r.pid < 0) {
		int e = errno;

		log_err("%s: cannot execute: %s", prog, strerror(e));
		ret = e == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
		goto out;
	}

	r.con.out = stdout;
	r.con.pid = r.pid;
	r.con.timeout_ms = opt.timeout_s * 1000;
	r.con.wait = console_wait;
	r.con.owner = &r;
	r.con.syms = inj_symcache_new(NULL);
	r.session = inj_session_open(r.pid, opt.timeout_s * 1000, child_alive, &r);
	if (r.session) {
		resumed = inj_session_request(r.session, "resume", NULL, r.con.timeout_ms);
		cJSON_Delete(resumed);
		take_events(&r);
		r.con.session = r.session;
		log_info("tracing process %d (%s), unwinder %s", (int)r.pid, prog, opt.unwind);
	} else {
		r.con.gone = r.exited ? "the program has ended" : "the agent did not start";
		if (!r.exited)
			log_err("%s runs on without memtrace (no report will be possible)", prog);
	}

	if (opt.ncmds) {
		for (int i = 0; i < opt.ncmds && !r.con.quit; i++) {
			loop(&r, 0, 0);
			if (r.exited)
				r.con.gone = "the program has ended";
			inj_console_exec(&r.con, opt.cmds[i]);
			take_events(&r);
		}
	} else if (r.session) {
		r.le = inj_le_new(STDIN_FILENO, STDOUT_FILENO, "memtrace> ");
		if (!r.le)
			log_warn("no console: %s", strerror(errno));
	}
	loop(&r, -1, 1);
	console_close(&r, NULL);
	drain(&r);
	ret = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status);
	if (write_exit_report(&r, prog) < 0 && ret == 0)
		ret = EXIT_FAILURE_MT;
out:
	cJSON_Delete(r.exit_event);
	inj_session_free(r.session);
	inj_symcache_free(r.con.syms);
	if (r.sfd >= 0)
		close(r.sfd);
	free(prog);
	free(agent);
	free(opt.cmds);
	return ret;
}
