/*
 * hostile: many peers of memtrace-server's link at once, most of them
 * hostile, for a bounded time (bench/hostile-peers.sh runs it against a
 * server). One thread per peer; each kind does its thing again and again
 * until the time is up:
 *
 *   well      hello with the token, then pings, 20 ms apart: every answer's
 *             latency is kept (the figures are theirs)
 *   silent    connects and says nothing until the server closes it
 *   tokenless hello without the token (refused), again and again
 *   slow      hello with the token, then a ping one byte every 500 ms
 *   oversized half of them: a header of 1 GiB before any hello; the other
 *             half: hello with the token, then a message of 65 MiB (over the
 *             limit) of which 1 MiB is sent before closing
 *
 * Prints one line per kind (connections, what happened) and for the well
 * behaved: requests answered, failed, latency p50/p99/max in ms.
 *
 *   hostile -p PORT [-a ADDR] [-t TOKEN] [-n PEERS] [-s SECONDS]
 *
 * Self-contained (no cJSON): replies are matched as text.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "monotime.h"
#include "proto.h"

enum kind { WELL, SILENT, TOKENLESS, SLOW, OVERSIZED, NKINDS };
static const char *const kind_name[NKINDS] = { "well", "silent", "tokenless", "slow", "oversized" };
/* Of every 20 peers: 8 well behaved, 4 silent, 3 without the token, 2 slow, 3 oversized. */
static const enum kind mix[20] = { WELL, SILENT, WELL, TOKENLESS, WELL, OVERSIZED, WELL, SILENT, SLOW, WELL,
				   TOKENLESS, WELL, OVERSIZED, SILENT, WELL, TOKENLESS, SLOW, WELL, OVERSIZED, SILENT };

static struct sockaddr_in server;
static const char *token = "";
static int64_t end_ms;

struct peer {
	pthread_t th;
	enum kind kind;
	int n; /* its number */
	long connects, refused, closed, answered, failed;
	int *lat; /* well: latencies in ms */
	size_t nlat, cap;
};

static int dial(struct peer *p)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&server, sizeof(server)) < 0) {
		close(fd);
		return -1;
	}
	p->connects++;
	return fd;
}

static int send_all(int fd, const void *buf, size_t len)
{
	const char *c = buf;

	while (len) {
		ssize_t n = send(fd, c, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_msg(int fd, const char *text)
{
	uint32_t len = (uint32_t)strlen(text);
	unsigned char h[PROTO_HEADER_SIZE];

	proto_header_put(h, len);
	return send_all(fd, h, sizeof(h)) < 0 ? -1 : send_all(fd, text, len);
}

/* LEN bytes before DEADLINE: 0, or -1 (closed, error, time out). */
static int recv_full(int fd, void *buf, size_t len, int64_t deadline)
{
	char *c = buf;

	while (len) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - monotime_ms();
		ssize_t n;

		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			return -1;
		n = recv(fd, c, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One message (at most LEN - 1 bytes kept, NUL-terminated) within MS: 0, or -1. */
static int recv_msg(int fd, char *buf, size_t len, int ms)
{
	int64_t deadline = monotime_ms() + ms;
	unsigned char h[4];
	uint32_t n;
	char sink[4096];

	if (recv_full(fd, h, 4, deadline) < 0)
		return -1;
	n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	if (n < len) {
		if (recv_full(fd, buf, n, deadline) < 0)
			return -1;
		buf[n] = '\0';
		return 0;
	}
	while (n) {
		uint32_t k = n < sizeof(sink) ? n : sizeof(sink);

		if (recv_full(fd, sink, k, deadline) < 0)
			return -1;
		n -= k;
	}
	snprintf(buf, len, "(long)");
	return 0;
}

/* Wait until the server closes FD or the time is up. */
static void until_closed(struct peer *p, int fd)
{
	char sink[4096];

	while (monotime_ms() < end_ms) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };

		if (poll(&pf, 1, 200) > 0 && recv(fd, sink, sizeof(sink), 0) <= 0) {
			p->closed++;
			break;
		}
	}
}

static int hello(int fd, int with_token, char *reply, size_t len)
{
	char msg[512];

	snprintf(msg, sizeof(msg),
		 "{\"v\":1,\"id\":1,\"cmd\":\"hello\",\"role\":\"memtrace\",\"version\":\"0.3.0\",\"pid\":%d,"
		 "\"program\":\"/usr/bin/hostile\",\"host\":\"bench\"%s%s%s}",
		 getpid(), with_token ? ",\"token\":\"" : "", with_token ? token : "", with_token ? "\"" : "");
	if (send_msg(fd, msg) < 0)
		return -1;
	return recv_msg(fd, reply, len, 10000);
}

static void keep_latency(struct peer *p, int ms)
{
	if (p->nlat == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 1024;
		p->lat = realloc(p->lat, p->cap * sizeof(*p->lat));
		if (!p->lat)
			abort();
	}
	p->lat[p->nlat++] = ms;
}

static void well(struct peer *p, int fd)
{
	char reply[1024], msg[128];
	long id = 2;

	if (hello(fd, 1, reply, sizeof(reply)) < 0 || !strstr(reply, "\"ok\":true")) {
		p->refused++;
		return;
	}
	while (monotime_ms() < end_ms) {
		int64_t t0 = monotime_ms();

		snprintf(msg, sizeof(msg), "{\"v\":1,\"id\":%ld,\"cmd\":\"ping\"}", id++);
		if (send_msg(fd, msg) < 0 || recv_msg(fd, reply, sizeof(reply), 10000) < 0 ||
		    !strstr(reply, "\"ok\":true")) {
			p->failed++;
			return;
		}
		p->answered++;
		keep_latency(p, (int)(monotime_ms() - t0));
		usleep(20000);
	}
}

static void slow(struct peer *p, int fd)
{
	static const char ping[] = "\0\0\0\x1b{\"v\":1,\"id\":2,\"cmd\":\"ping\"}";
	char reply[1024];

	if (hello(fd, 1, reply, sizeof(reply)) < 0 || !strstr(reply, "\"ok\":true")) {
		p->refused++;
		return;
	}
	for (size_t i = 0; i < sizeof(ping) - 1 && monotime_ms() < end_ms; i++) {
		if (send_all(fd, ping + i, 1) < 0) {
			p->closed++;
			return;
		}
		usleep(500000);
	}
	if (monotime_ms() < end_ms && recv_msg(fd, reply, sizeof(reply), 10000) == 0 && strstr(reply, "\"ok\":true"))
		p->answered++;
}

static void oversized(struct peer *p, int fd)
{
	static char junk[1 << 16];
	char reply[1024];

	if (p->n % 2) {
		static const unsigned char big[4] = { 0x40, 0, 0, 0 }; /* 1 GiB, before any hello */

		send_all(fd, big, 4);
		until_closed(p, fd);
		return;
	}
	if (hello(fd, 1, reply, sizeof(reply)) < 0 || !strstr(reply, "\"ok\":true")) {
		p->refused++;
		return;
	}
	{
		unsigned char h[PROTO_HEADER_SIZE];

		proto_header_put(h, 65u << 20);
		send_all(fd, h, sizeof(h));
		for (int i = 0; i < 16 && monotime_ms() < end_ms; i++)
			if (send_all(fd, junk, sizeof(junk)) < 0)
				break;
	}
}

static void *run(void *arg)
{
	struct peer *p = arg;
	char reply[1024];

	while (monotime_ms() < end_ms) {
		int fd = dial(p);

		if (fd < 0) {
			usleep(100000);
			continue;
		}
		switch (p->kind) {
		case WELL:
			well(p, fd);
			break;
		case SILENT:
			until_closed(p, fd);
			break;
		case TOKENLESS:
			if (hello(fd, 0, reply, sizeof(reply)) == 0 && strstr(reply, "token refused"))
				p->refused++;
			usleep(5000);
			break;
		case SLOW:
			slow(p, fd);
			break;
		case OVERSIZED:
			oversized(p, fd);
			break;
		case NKINDS:
			break;
		}
		close(fd);
	}
	return NULL;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1";
	int port = 0, npeers = 200, secs = 30, c;
	struct peer *peers;
	long tot[NKINDS][5] = { { 0 } };
	int count[NKINDS] = { 0 };
	int *all;
	size_t nall = 0;

	while ((c = getopt(argc, argv, "a:p:t:n:s:")) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 't': token = optarg; break;
		case 'n': npeers = atoi(optarg); break;
		case 's': secs = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: hostile -p PORT [-a ADDR] [-t TOKEN] [-n PEERS] [-s SECONDS]\n");
			return 2;
		}
	}
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)port);
	if (!port || npeers < 1 || secs < 1 || inet_pton(AF_INET, addr, &server.sin_addr) != 1) {
		fprintf(stderr, "hostile: -p PORT (and an IPv4 -a) wanted\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	peers = calloc((size_t)npeers, sizeof(*peers));
	end_ms = monotime_ms() + secs * 1000;
	for (int i = 0; i < npeers; i++) {
		pthread_attr_t at;

		peers[i].kind = mix[i % 20];
		peers[i].n = i;
		pthread_attr_init(&at);
		pthread_attr_setstacksize(&at, 256 << 10);
		if (pthread_create(&peers[i].th, &at, run, &peers[i]) != 0) {
			fprintf(stderr, "hostile: thread %d: %s\n", i, strerror(errno));
			return 1;
		}
		pthread_attr_destroy(&at);
	}
	for (int i = 0; i < npeers; i++) {
		struct peer *p = &peers[i];

		pthread_join(p->th, NULL);
		count[p->kind]++;
		tot[p->kind][0] += p->connects;
		tot[p->kind][1] += p->refused;
		tot[p->kind][2] += p->closed;
		tot[p->kind][3] += p->answered;
		tot[p->kind][4] += p->failed;
		nall += p->nlat;
	}
	for (int k = 0; k < NKINDS; k++)
		printf("%-10s peers %3d  connections %6ld  refused %6ld  closed by the server %6ld  answered %7ld  "
		       "failed %4ld\n", kind_name[k], count[k], tot[k][0], tot[k][1], tot[k][2], tot[k][3], tot[k][4]);
	all = malloc((nall ? nall : 1) * sizeof(*all));
	nall = 0;
	for (int i = 0; i < npeers; i++) {
		memcpy(all + nall, peers[i].lat, peers[i].nlat * sizeof(*all));
		nall += peers[i].nlat;
		free(peers[i].lat);
	}
	qsort(all, nall, sizeof(*all), cmp_int);
	if (nall)
		printf("well-behaved: %zu requests answered, %ld failed; latency ms p50 %d p99 %d max %d\n", nall,
		       tot[WELL][4], all[nall / 2], all[nall * 99 / 100], all[nall - 1]);
	else
		printf("well-behaved: no request answered, %ld failed\n", tot[WELL][4]);
	free(all);
	free(peers);
	return 0;
}
