/*
 * The console's coredump command:
 *
 *     coredump -n [-f PATH] [--gz]
 *     coredump -c ID [-t SEC] [-f PATH] [--gz]
 *
 * -n writes a core of the traced process now. -c ID arms a hold in the
 * agent (agent/hold.c): the next allocation in context ID stops its thread
 * inside the hook, the core is written with that thread first (gdb selects
 * it: `bt` shows the allocation's caller), and the thread is released.
 *
 * While it waits, memtrace's event loop runs (con->wait) and the agent's
 * hold state is polled with `status`: the loop consumes the agent's events
 * itself, so the `held` event only tells the state changed, the status says
 * to what. Ctrl-C, SIGINT/SIGTERM to memtrace, -t, the program ending or the
 * connection dropping cancel the wait with `unhold`.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "console/console.h"
#include "console/console_server.h"
#include "core/coredump.h"
#include "log.h"
#include "ns.h"
#include "proto.h"
#include "report.h"
#include "session.h"
#include "link/srvlink.h"
#include "util.h"

#define POLL_MS 100
#define MAX_WAIT_MS (7 * 86400000L)

static int core_seq;

/* core.memtrace.PID.N in the current directory, N the first unused from 1 on. */
static char *default_path(int pid, int gz)
{
	char buf[96];
	struct stat sb;

	do {
		snprintf(buf, sizeof(buf), "core.memtrace.%d.%d%s", pid, ++core_seq, gz ? ".gz" : "");
	} while (lstat(buf, &sb) == 0);
	return xstrdup(buf);
}

/* Ctrl-C typed at the console while it is in raw mode (the line editor's):
 * the byte is read here, with whatever else was typed meanwhile. */
static int ctrl_c_typed(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct termios tio;
	unsigned char b[64];
	ssize_t n;

	if (fd < 0 || !isatty(fd) || tcgetattr(fd, &tio) < 0 || (tio.c_lflag & ISIG))
		return 0;
	while (poll(&pfd, 1, 0) > 0 && (n = read(fd, b, sizeof(b))) > 0)
		if (memchr(b, 3, (size_t)n))
			return 1;
	return 0;
}

/* A signal that ends memtrace's wait is pending (memtrace blocks them for its signalfd);
 * it stays pending for the loop to handle as usual. */
static int stop_signal_pending(void)
{
	sigset_t p;

	if (sigpending(&p) < 0)
		return 0;
	return sigismember(&p, SIGINT) || sigismember(&p, SIGTERM) || sigismember(&p, SIGHUP) ||
	       sigismember(&p, SIGQUIT);
}

/* The agent's hold state: "none", "armed", "held" (then *TID, *ADDR, *SIZE). NULL on failure. */
static const char *hold_state(struct inj_console *con, char *buf, size_t size, int *tid,
			      uint64_t *addr, uint64_t *sz)
{
	cJSON *r = inj_session_request(con->session, "status", NULL, con->timeout_ms);
	const cJSON *h;

	if (!r)
		return NULL;
	h = cJSON_GetObjectItemCaseSensitive(r, "hold");
	snprintf(buf, size, "%s", inj_json_str(h, "state", "none"));
	*tid = (int)inj_json_num(h, "tid", 0);
	/* The agent numbers its threads as its own PID namespace does (a container). */
	if (*tid > 0 && inj_session_own_pid(con->session) != con->pid) {
		int host = inj_ns_host_tid(con->pid, *tid);

		if (host > 0)
			*tid = host;
	}
	*sz = (uint64_t)inj_json_num(h, "size", 0);
	if (parse_u64(inj_json_str(h, "addr", "0"), addr) < 0)
		*addr = 0;
	cJSON_Delete(r);
	return buf;
}

static void unhold(struct inj_console *con)
{
	cJSON *r;

	if (!con->session || inj_session_lost(con->session))
		return;
	r = inj_session_request(con->session, "unhold", NULL, con->timeout_ms);
	cJSON_Delete(r);
}

int inj_console_hold(struct inj_console *con, const char *what, long id, long timeout_ms, int *tid,
		     uint64_t *addr, uint64_t *size)
{
	int64_t deadline = timeout_ms > 0 ? proto_now_ms() + timeout_ms : -1;
	cJSON *args = cJSON_CreateObject(), *r;
	const char *why = NULL;
	char state[16];

	cJSON_AddNumberToObject(args, "ctx", (double)id);
	r = inj_session_request(con->session, "hold", args, con->timeout_ms);
	cJSON_Delete(args);
	if (!r)
		return log_err("%s: context %ld cannot be held (see above)", what, id);
	cJSON_Delete(r);
	fprintf(con->out, "%s: waiting for the next allocation in context %ld%s\n", what, id,
		con->in_fd >= 0 && isatty(con->in_fd) ? " (Ctrl-C cancels)" : "");
	fflush(con->out);
	for (;;) {
		int64_t before;

		if (!hold_state(con, state, sizeof(state), tid, addr, size)) {
			why = "the agent did not answer";
			break;
		}
		if (!strcmp(state, "held"))
			return 0;
		if (strcmp(state, "armed")) {
			why = "the hold was cancelled in the agent";
			break;
		}
		if (ctrl_c_typed(con->in_fd) || stop_signal_pending()) {
			why = "interrupted";
			break;
		}
		if (deadline >= 0 && proto_now_ms() >= deadline) {
			why = "no allocation in that context within the time given with -t";
			break;
		}
		before = proto_now_ms();
		con->wait(con, POLL_MS);
		/* The loop returns early only when memtrace is ending (the program
		 * ended, a signal): give up the wait. */
		if (proto_now_ms() - before < POLL_MS / 2) {
			why = "memtrace is ending";
			break;
		}
		if (!con->session || inj_session_lost(con->session)) {
			why = "the connection to the agent was lost (has the program ended?)";
			break;
		}
	}
	unhold(con);
	return log_err("%s -c %ld: cancelled, %s: %s", what, id,
		       !strcmp(what, "coredump") ? "no core written" : "gdb not started", why);
}

int inj_console_coredump(struct inj_console *con, int argc, char **argv)
{
	long id = 0, timeout_ms = 0;
	int now = 0, gz = 0, tid = 0, ret;
	const char *file = NULL;
	uint64_t addr = 0, size = 0;
	struct inj_core_info info;
	char *path;

	for (int i = 1; i < argc; i++) {
		const char *v;

		if (!strcmp(argv[i], "-n")) {
			now = 1;
		} else if (!strcmp(argv[i], "--gz")) {
			gz = 1;
		} else if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "-t") || !strcmp(argv[i], "-f")) {
			if (i + 1 >= argc)
				return log_err("coredump: option %s needs a value", argv[i]);
			v = argv[++i];
			if (!strcmp(argv[i - 1], "-f"))
				file = v;
			else if (!strcmp(argv[i - 1], "-c") && parse_long(v, 1, INJ_CONSOLE_CTX_ID_MAX, &id) < 0)
				return log_err("coredump: -c wants a context ID (from the report), not '%s'", v);
			else if (!strcmp(argv[i - 1], "-t") &&
				 (parse_seconds_ms(v, MAX_WAIT_MS, &timeout_ms) < 0 || timeout_ms == 0))
				return log_err("coredump: -t wants seconds to wait (more than 0), not '%s'", v);
		} else {
			return log_err("coredump: unknown option '%s' (try: help)", argv[i]);
		}
	}
	if (now == (id > 0))
		return log_err("coredump: say when: -n (now) or -c ID (at the next allocation in context ID)");
	if (now && timeout_ms)
		return log_err("coredump: -t goes with -c (how long to wait for the allocation)");
	if (file && !*file)
		return log_err("coredump: -f wants a file name");
	if (file && strlen(file) > 3 && !strcmp(file + strlen(file) - 3, ".gz"))
		gz = 1;
	if (kill(con->pid, 0) < 0 && errno == ESRCH)
		return log_err("coredump: process %d is gone", con->pid);
	if (id) {
		if (!con->session || inj_session_lost(con->session))
			return log_err("coredump -c: no agent to ask: %s (coredump -n still works)",
				       con->gone ? con->gone : "not connected");
		if (inj_console_hold(con, "coredump", id, timeout_ms, &tid, &addr, &size) < 0)
			return -1;
	}
	path = file ? xstrdup(file) : default_path(con->pid, gz);
	ret = inj_coredump(con->pid, tid, path, gz, &info);
	if (id) {
		/* Always, even when the core failed: the thread must go on. */
		cJSON *r = inj_session_request(con->session, "release", NULL, con->timeout_ms);

		if (!r)
			log_err("coredump: the held thread %d could not be released; the agent lets it go "
				"by itself after 10 minutes, or when memtrace leaves", tid);
		cJSON_Delete(r);
	}
	if (ret == 0) {
		fprintf(con->out, "core written to %s (%zu threads, %.1f MiB", path, info.threads,
			(double)info.file_bytes / (1024.0 * 1024.0));
		if (id)
			fprintf(con->out, ", context %ld held at 0x%llx size %llu in thread %d", id,
				(unsigned long long)addr, (unsigned long long)size, tid);
		fputs(")\n", con->out);
		fflush(con->out);
		log_info("coredump: process %d held for %.1f ms, %.1f MiB of memory, %llu bytes unreadable",
			 con->pid, (double)info.stopped_ns / 1e6, (double)info.mem_bytes / (1024.0 * 1024.0),
			 (unsigned long long)info.unreadable);
		/* Linked: the server gets it (a failure there leaves the core here, said why). */
		if (inj_link_linked(con->link))
			inj_console_send_core(con, path);
	}
	free(path);
	return ret;
}
