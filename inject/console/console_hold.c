/*
 * The console's hold, for coredump -c and gdb -c: arm the agent's hold on a
 * context (agent/hold.c) and wait until a thread allocating in it stops.
 *
 * The wait is event-driven. The agent sends a `held` event when a thread
 * takes the hold; memtrace's event loop, which consumes the agent's events,
 * counts them in con->held_events, and con->wait_held runs that loop until
 * the count moves. The count is read before `hold` is sent, so an event
 * that arrives with (or before the end of) the hold's reply still wakes the
 * wait. The event only says "something happened": one `status` then says
 * to what, since a `held` left over from an earlier hold cancelled in a race
 * with its thread (its notice was already on the way) must not be taken for
 * this one. Ctrl-C, SIGINT/SIGTERM to memtrace, -t, the program ending or
 * the connection dropping cancel the wait with `unhold`.
 */
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "console/console.h"
#include "log.h"
#include "ns.h"
#include "proto.h"
#include "report.h"
#include "session.h"
#include "util.h"

/* The console is a terminal in raw mode (the line editor's): a Ctrl-C there is a byte to read. */
static int raw_terminal(int fd)
{
	struct termios tio;

	return fd >= 0 && isatty(fd) && tcgetattr(fd, &tio) == 0 && !(tio.c_lflag & ISIG);
}

/* What was typed at the raw terminal FD while the hold waits is read (and
 * dropped): 1 when it holds a Ctrl-C, 0 when not, -1 when the terminal is
 * gone (hung up: it must not be watched any more, it stays readable). */
static int ctrl_c_typed(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	unsigned char b[64];
	ssize_t n;

	while (poll(&pfd, 1, 0) > 0) {
		if (!(pfd.revents & POLLIN))
			return -1;
		n = read(fd, b, sizeof(b));
		if (n <= 0)
			return -1;
		if (memchr(b, 3, (size_t)n))
			return 1;
	}
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
	unsigned long seen = con->held_events;	/* before `hold`: its event may come with the reply */
	int watch = raw_terminal(con->in_fd) ? con->in_fd : -1;
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
	while (!why) {
		long left = -1;

		if (stop_signal_pending()) {
			why = "interrupted";
			break;
		}
		if (deadline >= 0 && (left = (long)(deadline - proto_now_ms())) <= 0) {
			why = "no allocation in that context within the time given with -t";
			break;
		}
		switch (con->wait_held(con, seen, watch, left)) {
		case INJ_WAKE_HELD:
			seen = con->held_events;
			if (!hold_state(con, state, sizeof(state), tid, addr, size))
				why = "the agent did not answer";
			else if (!strcmp(state, "held"))
				return 0;
			else if (strcmp(state, "armed"))
				why = "the hold was cancelled in the agent";
			/* armed: the event was an earlier hold's, this one waits on */
			break;
		case INJ_WAKE_INPUT:
			switch (ctrl_c_typed(watch)) {
			case 1:
				why = "interrupted";
				break;
			case -1:
				watch = -1;
				break;
			}
			break;
		case INJ_WAKE_TIME:
			break;	/* the deadline, checked above */
		case INJ_WAKE_LOST:
			why = "the connection to the agent was lost (has the program ended?)";
			break;
		default:
			why = "memtrace is ending";
			break;
		}
	}
	unhold(con);
	return log_err("%s -c %ld: cancelled, %s: %s", what, id,
		       !strcmp(what, "coredump") ? "no core written" : "gdb not started", why);
}
