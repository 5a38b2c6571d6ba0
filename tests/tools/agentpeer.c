/*
 * agentpeer: a scripted client of an agent's control socket (docs/protocol.md),
 * for the tests that play a hostile or a second local user against the agent
 * (tests/integration/t-agent-*.sh). It runs as whatever user the test chose.
 *
 *   agentpeer PID STEP...      connect to the agent of PID (its first name,
 *                              "memtrace-agent.PID"), then run the steps
 *   agentpeer squat PID        bind both of the agent's names for PID (as a
 *                              squatter would), print "squatting", and keep
 *                              them until killed
 *
 * Steps (each reply is printed on a line of its own, as received, or
 * "closed" / "timeout" when none came within 10 s):
 *   hello          a hello as memtrace says it, and its reply
 *   send=CMD       the request {"cmd":CMD}, and its reply
 *   half           a header announcing 100 bytes and 10 of them, no more
 *   big=N          a message of N bytes of 'x', and its reply
 *   second=CMD     on a second connection, the request {"cmd":CMD}: prints
 *                  "second MS REPLY", MS the milliseconds its reply took
 *   flood=N        up to N requests {"cmd":"status"} sent as fast as the
 *                  socket takes them, no reply read; stops when the socket
 *                  has taken nothing for 1 s: prints "flooded K"
 *   drain          read replies until the connection ends or none comes for
 *                  10 s: prints "drained K closed" or "drained K timeout"
 *   sleep=SEC      wait
 * Exit status: 0, 1 when connecting failed ("refused: ERRNO" printed), 2 usage.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"

#define WAIT_MS 10000

static long next_id = 1;

static int agent_connect(int pid)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int n = proto_agent_name(a.sun_path + 1, sizeof(a.sun_path) - 1, pid);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) < 0) {
		printf("refused: %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}

/* One reply, printed (after PREFIX); -1 when none came. */
static int recv_reply(int fd, const char *prefix)
{
	static char body[PROTO_MAX_REQUEST + 1];
	unsigned char h[PROTO_HEADER_SIZE];
	uint32_t len;

	if (proto_read_all(fd, h, sizeof(h), WAIT_MS) < 0)
		goto none;
	len = proto_header_len(h);
	if (len > PROTO_MAX_REQUEST) {
		if (proto_skip(fd, len, WAIT_MS) < 0)
			goto none;
		printf("%s(a reply of %u bytes)\n", prefix, len);
		return 0;
	}
	if (proto_read_all(fd, body, len, WAIT_MS) < 0)
		goto none;
	body[len] = '\0';
	printf("%s%s\n", prefix, body);
	fflush(stdout);
	return 0;
none:
	printf("%s%s\n", prefix, errno == ETIMEDOUT ? "timeout" : "closed");
	fflush(stdout);
	return -1;
}

static void request(int fd, const char *cmd, const char *extra)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "{\"v\":%d,\"id\":%ld,\"cmd\":\"%s\"%s}", PROTO_VERSION,
			 next_id++, cmd, extra);

	proto_send(fd, msg, (size_t)n, WAIT_MS);
}

/* Requests sent without reading a reply; how many the socket took. */
static long flood(int fd, long n)
{
	char msg[64];
	long k = 0;

	while (k < n) {
		int len = snprintf(msg + PROTO_HEADER_SIZE, sizeof(msg) - PROTO_HEADER_SIZE,
				   "{\"v\":%d,\"id\":%ld,\"cmd\":\"status\"}", PROTO_VERSION, next_id);
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t put;

		proto_header_put((unsigned char *)msg, (uint32_t)len);
		/* Whole frames only: a frame cut in two would be a half-sent one. */
		put = send(fd, msg, (size_t)len + PROTO_HEADER_SIZE, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (put == len + PROTO_HEADER_SIZE) {
			k++;
			next_id++;
			continue;
		}
		if (put > 0) {
			proto_write_all(fd, msg + put, (size_t)(len + PROTO_HEADER_SIZE - put), WAIT_MS);
			k++;
			next_id++;
			continue;
		}
		if (put < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			break;
		if (poll(&p, 1, 1000) <= 0)
			break;
	}
	return k;
}

static void squat(int pid)
{
	char ns_path[] = "/proc/self/ns/pid";
	struct stat ns;

	if (stat(ns_path, &ns) < 0) {
		perror(ns_path);
		exit(1);
	}
	for (int i = 0; i < 2; i++) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int n = i ? proto_agent_name_ns(a.sun_path + 1, sizeof(a.sun_path) - 1, pid,
						(unsigned long long)ns.st_ino)
			  : proto_agent_name(a.sun_path + 1, sizeof(a.sun_path) - 1, pid);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || bind(fd, (struct sockaddr *)&a,
				   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) < 0 ||
		    listen(fd, 1) < 0) {
			printf("refused: %s\n", strerror(errno));
			exit(1);
		}
	}
	printf("squatting\n");
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	char extra[64];
	int pid, fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "squat"))
		squat(atoi(argv[2]));
	if (argc < 3) {
		fprintf(stderr, "usage: agentpeer PID STEP... | agentpeer squat PID\n");
		return 2;
	}
	pid = atoi(argv[1]);
	fd = agent_connect(pid);
	for (int i = 2; i < argc; i++) {
		const char *s = argv[i];

		if (!strcmp(s, "hello")) {
			snprintf(extra, sizeof(extra), ",\"pid\":%d", (int)getpid());
			request(fd, "hello", extra);
			recv_reply(fd, "");
		} else if (!strncmp(s, "send=", 5)) {
			request(fd, s + 5, "");
			recv_reply(fd, "");
		} else if (!strcmp(s, "half")) {
			unsigned char h[PROTO_HEADER_SIZE] = { 0, 0, 0, 100 };

			proto_write_all(fd, h, sizeof(h), WAIT_MS);
			proto_write_all(fd, "{\"v\":1,\"id", 10, WAIT_MS);
		} else if (!strncmp(s, "big=", 4)) {
			static char x[1 << 20];
			size_t n = (size_t)atol(s + 4);

			memset(x, 'x', sizeof(x));
			if (n > sizeof(x))
				n = sizeof(x);
			proto_send(fd, x, n, WAIT_MS);
			recv_reply(fd, "");
		} else if (!strncmp(s, "second=", 7)) {
			int fd2 = agent_connect(pid);
			int64_t t0 = proto_now_ms();
			static char body[PROTO_MAX_REQUEST + 1];
			unsigned char h[PROTO_HEADER_SIZE];
			uint32_t len = 0;
			int ok;

			request(fd2, s + 7, "");
			ok = proto_read_all(fd2, h, sizeof(h), WAIT_MS) == 0 &&
			     (len = proto_header_len(h)) <= PROTO_MAX_REQUEST &&
			     proto_read_all(fd2, body, len, WAIT_MS) == 0;
			body[ok ? len : 0] = '\0';
			printf("second %lld %s\n", (long long)(proto_now_ms() - t0), ok ? body : "none");
			close(fd2);
		} else if (!strncmp(s, "flood=", 6)) {
			printf("flooded %ld\n", flood(fd, atol(s + 6)));
		} else if (!strcmp(s, "drain")) {
			long k = 0;
			static char body[PROTO_MAX_REQUEST + 1];
			unsigned char h[PROTO_HEADER_SIZE];
			uint32_t len;

			while (proto_read_all(fd, h, sizeof(h), WAIT_MS) == 0 &&
			       (len = proto_header_len(h)) <= PROTO_MAX_REQUEST &&
			       proto_read_all(fd, body, len, WAIT_MS) == 0)
				k++;
			printf("drained %ld %s\n", k, errno == ETIMEDOUT ? "timeout" : "closed");
		} else if (!strncmp(s, "sleep=", 6)) {
			usleep((useconds_t)(atof(s + 6) * 1e6));
		} else {
			fprintf(stderr, "agentpeer: unknown step '%s'\n", s);
			return 2;
		}
	}
	close(fd);
	return 0;
}
