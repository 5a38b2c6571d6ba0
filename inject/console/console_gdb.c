/*
 * The console commands that memtrace-server's gdb answers (docs/user-guide.md,
 * "gdb at the allocation site"):
 *
 *     frames ID | blocks ID | inspect ADDR [--type T] [--bytes N]
 *     gdb [-c ID] [-t SEC]
 *
 * frames, blocks and inspect ask about the server's current view: the last
 * core sent (coredump, when linked, sends it) or the live process while a
 * gdb console is open.
 *
 * gdb: with -c ID the agent's hold first stops the next thread allocating
 * in context ID (inside the hook, no lock held). Then gdbserver starts on
 * this device, attached to the process, with its stdio on a channel to the
 * server (no port opened here), and the server's gdb connects through it:
 * every thread is stopped. The hold is released while they are stopped (the
 * agent acts on it once gdb lets them run), and the server runs the held
 * thread to the allocation's return into its caller. From then on the
 * console's lines are gdb commands, run by the server within its allowlist;
 * continue or detach ends it: gdb detaches, gdbserver ends, and the process
 * runs on, still traced by memtrace.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "console/console.h"
#include "console/console_server.h"
#include "leaksdoc.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "session.h"
#include "link/srvlink.h"
#include "util.h"

#define VIEW_MS 60000	    /* frames, blocks, inspect, a gdb command */
#define OPEN_MS 90000	    /* gdb loading the program and connecting */
#define GDBSERVER_EXIT_MS 10000
#define WAIT_AFTER_SIGINT_MS 5000

/* Said when the gdb console opens, and by its help. The server's allowlist (server/gdbcmd.c) decides. */
static const char gdb_console_text[] =
	"gdb console: gdb commands run in memtrace-server's gdb: bt, frame, up, down, print, x, ptype,\n"
	"whatis, list, info locals/args/frame/registers/threads, thread, finish, next, step;\n"
	"continue or detach gives memtrace's console back (the program runs on)\n";

struct inj_gdb {
	pid_t server;	/* gdbserver */
	int err_fd;	/* its stderr */
	long ctx;
};

/* ---------------------------------------------------------------- frames, blocks, inspect */

/*
 * inspect ADDR [--type T] [--bytes N], or inspect -c ID --lost|--kind K
 * [-n N] [--type T] [--bytes N] (the blocks of a verdict in the core the
 * server holds): the request's fields into ARGS. 0, or -1 said.
 */
static int inspect_args(int argc, char **argv, cJSON *args)
{
	const char *addr = NULL, *v;
	long num, ctx = -1, n = 10;
	int kind = -99;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];

		if (o[0] != '-' && !addr) {
			addr = o;
			continue;
		}
		if (!strcmp(o, "--lost")) {
			kind = LEAKS_KIND_LOST;
			continue;
		}
		if (i + 1 == argc)
			return log_err("inspect: '%s' is not --type TYPE, --bytes N, -c ID, -n N, --kind K or --lost", o);
		v = argv[++i];
		if (!strcmp(o, "--type"))
			cJSON_AddStringToObject(args, "type", v);
		else if (!strcmp(o, "--bytes") && parse_long(v, 1, PROTO_INSPECT_MAX_BYTES, &num) == 0)
			cJSON_AddNumberToObject(args, "bytes", (double)num);
		else if (!strcmp(o, "-c") && parse_long(v, 0, INJ_CONSOLE_CTX_ID_MAX, &num) == 0)
			ctx = num;
		else if (!strcmp(o, "-n") && parse_long(v, 1, PROTO_DUMP_MAX_BLOCKS, &num) == 0)
			n = num;
		else if (!strcmp(o, "--kind") && (kind = leaks_kind_parse(v)) >= 0)
			continue;
		else
			return log_err("inspect: '%s %s' is not --type TYPE, --bytes N (1 to %d), -c ID, -n N (1 to %d), "
				       "--kind definite|indirect|possible|reachable or --lost",
				       o, v, PROTO_INSPECT_MAX_BYTES, PROTO_DUMP_MAX_BLOCKS);
	}
	if (addr && (kind != -99 || ctx >= 0))
		return log_err("inspect: give an address, or -c ID with --lost or --kind K, not both");
	if (!addr && (kind == -99 || ctx < 0))
		return log_err("inspect: which address? inspect ADDR [--type 'struct foo'] [--bytes N], "
			       "or inspect -c ID --lost|--kind K [-n N] for the blocks of a verdict");
	if (addr) {
		cJSON_AddStringToObject(args, "addr", addr);
		return 0;
	}
	cJSON_AddNumberToObject(args, "ctx", (double)ctx);
	cJSON_AddNumberToObject(args, "kind", kind);
	cJSON_AddNumberToObject(args, "n", (double)n);
	return 0;
}

int inj_console_frames(struct inj_console *con, int argc, char **argv)
{
	cJSON *args;
	long id;

	if (inj_console_need_link(con, argv[0]) < 0)
		return -1;
	args = cJSON_CreateObject();
	if (!strcmp(argv[0], "inspect")) {
		if (inspect_args(argc, argv, args) < 0) {
			cJSON_Delete(args);
			return -1;
		}
	} else {
		if (argc != 2 || parse_long(argv[1], 1, INJ_CONSOLE_CTX_ID_MAX, &id) < 0) {
			cJSON_Delete(args);
			return log_err("%s: give one context ID (from the report)", argv[0]);
		}
		cJSON_AddNumberToObject(args, "ctx", (double)id);
	}
	return inj_console_ask(con, argv[0], args, VIEW_MS, NULL);
}

/* ---------------------------------------------------------------- gdbserver */

/* GIVEN (a path), or gdbserver from PATH, into BUF. 0, or -1 logged with what to do. */
static int find_gdbserver(const char *given, char *buf, size_t len)
{
	const char *path = getenv("PATH");

	if (given) {
		if (access(given, X_OK) == 0) {
			snprintf(buf, len, "%s", given);
			return 0;
		}
		return log_err("gdb: --gdbserver %s: %s (or take a core at the allocation instead: coredump -c ID)",
			       given, strerror(errno));
	}
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		snprintf(buf, len, "%.*s/gdbserver", (int)n, n ? p : ".");
		if (access(buf, X_OK) == 0)
			return 0;
		p += n + (e != NULL);
	}
	return log_err("gdb: no gdbserver on this device (not in PATH; --gdbserver PATH names one): install it, "
		       "or take a core at the allocation instead: coredump -c ID");
}

/* gdbserver attached to PID with its stdio on CHAN; its pid, or -1 logged. */
static pid_t spawn_gdbserver(const char *path, int chan, int pid, int *err_fd)
{
	int ep[2];
	pid_t child;

	if (pipe2(ep, O_CLOEXEC) < 0)
		return log_err("gdb: pipe: %s", strerror(errno));
	child = fork();
	if (child < 0) {
		close(ep[0]);
		close(ep[1]);
		return log_err("gdb: fork: %s", strerror(errno));
	}
	if (child == 0) {
		sigset_t none;
		char num[16];

		/* Its own session: a Ctrl-C for memtrace must not kill it while it traces the process. */
		setsid();
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(chan, 0) < 0 || dup2(chan, 1) < 0 || dup2(ep[1], 2) < 0)
			_exit(127);
		snprintf(num, sizeof(num), "%d", pid);
		execl(path, "gdbserver", "--attach", "-", num, (char *)NULL);
		dprintf(2, "cannot run %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(ep[1]);
	fcntl(ep[0], F_SETFL, O_NONBLOCK);
	*err_fd = ep[0];
	return child;
}

/* What gdbserver said on stderr, logged at LEVEL (its last lines explain a failure). */
static void gdbserver_said(struct inj_gdb *g, enum log_level level)
{
	char buf[4096];
	ssize_t n;

	while (g->err_fd >= 0 && (n = read(g->err_fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
			log_msg(level, "gdbserver: %s", line);
	}
}

/* Wait for gdbserver to end (it does once gdb detached or the channel closed); its last words at LEVEL. */
static void reap_gdbserver(struct inj_gdb *g, enum log_level level)
{
	int64_t deadline = proto_now_ms() + GDBSERVER_EXIT_MS;
	int st;

	while (waitpid(g->server, &st, WNOHANG) == 0) {
		if (proto_now_ms() > deadline) {
			log_warn("gdbserver (pid %d) did not end after gdb left: killed", (int)g->server);
			kill(g->server, SIGKILL);
			waitpid(g->server, &st, 0);
			break;
		}
		usleep(20000);
	}
	gdbserver_said(g, level);
	if (g->err_fd >= 0)
		close(g->err_fd);
	g->err_fd = -1;
}

static void gdb_close(struct inj_console *con, const char *how)
{
	struct inj_gdb *g = con->gdb;
	cJSON *args = cJSON_CreateObject();

	cJSON_AddStringToObject(args, "how", how);
	inj_console_ask(con, "gdb-close", args, VIEW_MS, NULL);
	reap_gdbserver(g, LOG_INFO);
	free(g);
	con->gdb = NULL;
	fprintf(con->out, "back in memtrace's console; process %d runs on, traced\n", con->pid);
	fflush(con->out);
}

void inj_console_gdb_end(struct inj_console *con)
{
	if (con->gdb)
		gdb_close(con, "detach");
}

int inj_console_gdb(struct inj_console *con, int argc, char **argv)
{
	char server[4096], key[NET_CHANNEL_KEY + 1];
	long id = 0, timeout_ms = 0;
	int tid = 0, chan, running = 0;
	uint64_t addr = 0, size = 0;
	struct inj_gdb *g;
	cJSON *args;

	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "-t")) && i + 1 < argc) {
			const char *v = argv[++i];

			if (!strcmp(argv[i - 1], "-c") && parse_long(v, 1, INJ_CONSOLE_CTX_ID_MAX, &id) < 0)
				return log_err("gdb: -c wants a context ID (from the report), not '%s'", v);
			if (!strcmp(argv[i - 1], "-t") &&
			    (parse_seconds_ms(v, 7 * 86400000L, &timeout_ms) < 0 || timeout_ms == 0))
				return log_err("gdb: -t wants seconds to wait (more than 0), not '%s'", v);
		} else {
			return log_err("gdb: '%s': the options are -c ID and -t SEC (try: help)", argv[i]);
		}
	}
	if (timeout_ms && !id)
		return log_err("gdb: -t goes with -c (how long to wait for the allocation)");
	if (inj_console_need_link(con, "gdb") < 0 || find_gdbserver(con->gdbserver, server, sizeof(server)) < 0)
		return -1;
	if (id && (!con->session || inj_session_lost(con->session)))
		return log_err("gdb -c: no agent to ask: %s", con->gone ? con->gone : "not connected");
	if (id && inj_console_hold(con, "gdb", id, timeout_ms, &tid, &addr, &size) < 0)
		return -1;
	chan = inj_link_channel(con->link, key, sizeof(key));
	g = chan < 0 ? NULL : calloc(1, sizeof(*g));
	if (!g) {
		if (chan >= 0)
			close(chan);
		goto fail_hold;
	}
	g->err_fd = -1;
	g->ctx = id;
	g->server = spawn_gdbserver(server, chan, con->pid, &g->err_fd);
	close(chan);
	if (g->server < 0)
		goto fail_hold;
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "channel", key);
	inj_console_add_program(con, args);
	if (inj_console_ask(con, "gdb-open", args, OPEN_MS, NULL) < 0) {
		/* gdbserver sees the channel close, detaches and ends; its words say why it could not attach. */
		reap_gdbserver(g, LOG_ERR);
		free(g);
		g = NULL;
		goto fail_hold;
	}
	gdbserver_said(g, LOG_DEBUG);
	con->gdb = g;
	if (id) {
		/* Every thread is stopped: the agent lets the held thread go when gdb resumes them. */
		if (inj_session_send(con->session, "release", NULL, con->timeout_ms) < 0)
			log_warn("gdb: the held thread %d could not be released; the agent lets it go by itself "
				 "after 10 minutes, or when memtrace leaves", tid);
		args = cJSON_CreateObject();
		cJSON_AddNumberToObject(args, "ctx", (double)id);
		fprintf(con->out, "context %ld allocated 0x%llx (%llu bytes) in thread %d\n", id,
			(unsigned long long)addr, (unsigned long long)size, tid);
		if (inj_console_ask(con, "gdb-site", args, VIEW_MS, &running) == 0 && running)
			fputs("the thread has not come back from the allocator yet: `bt` shows where it is\n", con->out);
	}
	fputs(gdb_console_text, con->out);
	fflush(con->out);
	return 0;
fail_hold:
	if (g && g->server > 0)
		reap_gdbserver(g, LOG_ERR);
	free(g);
	if (id) {
		cJSON *r = inj_session_request(con->session, "release", NULL, con->timeout_ms);

		cJSON_Delete(r);
	}
	return -1;
}

/* ---------------------------------------------------------------- the gdb console */

int inj_console_gdb_line(struct inj_console *con, const char *line)
{
	char word[16];
	cJSON *args;
	int running = 0, rc;

	while (*line == ' ' || *line == '\t')
		line++;
	if (!*line)
		return 0;
	if (sscanf(line, "%15s", word) != 1)
		word[0] = '\0';
	if (!strcmp(word, "continue") || !strcmp(word, "c") || !strcmp(word, "detach") || !strcmp(word, "quit") ||
	    !strcmp(word, "q")) {
		gdb_close(con, word[0] == 'd' ? "detach" : "continue");
		return 0;
	}
	if (!strcmp(word, "help")) {
		fputs(gdb_console_text, con->out);
		fflush(con->out);
		return 0;
	}
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "command", line);
	rc = inj_console_ask(con, "gdb-exec", args, VIEW_MS, &running);
	if (rc == 0 && running) {
		/*
		 * gdbserver interrupts an attached process through its process
		 * group, which this one may not lead: a SIGINT to the process
		 * stops it for gdb (which does not pass it on).
		 */
		fprintf(con->out, "the program did not stop: interrupting it\n");
		if (kill(con->gdb->server, 0) == 0 && syscall(SYS_tgkill, con->pid, con->pid, SIGINT) == 0) {
			args = cJSON_CreateObject();
			cJSON_AddNumberToObject(args, "ms", WAIT_AFTER_SIGINT_MS);
			rc = inj_console_ask(con, "gdb-wait", args, VIEW_MS, &running);
		}
		if (rc == 0 && running)
			rc = log_err("the program is still running under gdb: continue gives it back");
	}
	gdbserver_said(con->gdb, LOG_INFO);
	if (!inj_link_linked(con->link)) {
		log_err("memtrace-server is gone: gdb with it; gdbserver detaches");
		reap_gdbserver(con->gdb, LOG_INFO);
		free(con->gdb);
		con->gdb = NULL;
	}
	return rc;
}
