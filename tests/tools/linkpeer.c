/*
 * linkpeer: a scripted peer of the server link (docs/protocol.md, "Server
 * link"), for the memtrace-server tests (tests/integration/t-server-*.sh).
 * It plays memtrace, or a hostile client, over real sockets:
 *
 *   linkpeer [-w SEC] [-r BYTES] connect HOST:PORT STEP...
 *       connect, then run the steps on the connection;
 *   linkpeer [-w SEC] [-t TOKEN] listen ADDR:PORT STEP...
 *       play `memtrace --listen`: print "listening PORT", accept one
 *       connection, print its hello as "hello JSON", check that its role is
 *       "server" (and its token, with -t) and answer it (ok, or a refusal
 *       and the end), then run the steps;
 *   linkpeer [-w SEC] discover GROUP:PORT [N]
 *       send N (1) discovery queries on loopback, print each answer that
 *       comes within SEC as "answer ADDR:PORT JSON" (a wrong nonce is
 *       "stray ..."), then "answers K";
 *   linkpeer [-w SEC] dgram GROUP:PORT TEXT
 *       send TEXT as one datagram on loopback, then print what comes back
 *       within SEC as "reply ADDR:PORT TEXT", or "no reply".
 *
 * Steps (each reply is printed on a line of its own, as received):
 *   hello[=TOKEN]   a hello as memtrace says it, with TOKEN if given
 *   hello-role=R    a hello with role R
 *   ping, bye       the request
 *   decode=FILE     a decode request of the report in FILE
 *   send=JSON       JSON as one message, then its reply
 *   put=JSON        JSON as one message, no reply read
 *   synth=N         a decode request of a made-up report of N frames, no reply read
 *   raw=TEXT        TEXT's bytes as they are, no header
 *   len=N           a header announcing N bytes
 *   zeros=N         N zero bytes
 *   recv            read one message
 *   pings=N:MS      N pings, MS ms apart; prints "pings N max_ms M p50_ms A p99_ms B" (the
 *                   slowest answer, the median, the 99th percentile)
 *   sleep=SEC       wait
 *   hold=SEC        keep the connection, reading nothing
 *   expect-close    wait up to SEC for the other side to close: "closed" or "open"
 *   corefile=PATH@EXE  a whole core upload: the file PATH on a channel as
 *                   the core of the device's program EXE; then the reply
 *   core=SIZE:SENT[:HOLD]  a core upload cut short: a channel (a second
 *                   connection with a channel hello, its reply printed), a
 *                   core request of SIZE bytes naming it, SENT bytes of "ELF"
 *                   on it, HOLD seconds (0; @FILE: until FILE exists, at most
 *                   SEC), the channel closed; then the request's reply
 *   chan=KEY        a channel of key KEY (its reply printed), kept open for
 *                   corechan; chan-nolink=KEY the same, naming no link, as a
 *                   memtrace before 0.3 (a channel names the link id of the
 *                   hello's reply, when there was one)
 *   corechan=KEY:SIZE  a core request of SIZE bytes naming channel KEY; the
 *                   channel opened by chan=KEY, if any, gets SIZE bytes and
 *                   is closed; then the request's reply
 *   await=FILE      wait up to SEC for FILE to exist
 *
 * When a reply does not come within SEC (-w, default 10) the line is
 * "timeout"; when the connection is closed, "closed"; either ends the
 * script. Exit status 0, or 2 for bad usage or a failed connect.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "net.h"
#include "monotime.h"
#include "proto.h"

static int wait_s = 10;
static long next_id = 1;
static struct net_hostport peer; /* connect mode: the server, for channels */
static char link_id[80];	 /* the "link" of the hello's reply, for channels */
#define MAX_CHANS 64
static struct {
	char key[80];
	int fd;
} chans[MAX_CHANS];
static int nchans;

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "linkpeer: %s\n", what);
	exit(2);
}

static void send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "linkpeer: send: %s\n", strerror(errno));
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

static void send_header(int fd, uint32_t len)
{
	unsigned char h[PROTO_HEADER_SIZE];

	proto_header_put(h, len);
	send_all(fd, h, sizeof(h));
}

static void send_msg(int fd, const char *text, size_t len)
{
	send_header(fd, (uint32_t)len);
	send_all(fd, text, len);
}

/* Read LEN bytes before DEADLINE. 0, -1 closed, -2 timeout. */
static int read_full(int fd, void *buf, size_t len, int64_t deadline)
{
	char *p = buf;

	while (len) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - monotime_ms();
		ssize_t n;

		if (left <= 0)
			return -2;
		if (poll(&pf, 1, (int)left) == 0)
			continue;
		n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One message, printed; -1 when the script must end (closed, timeout). The body in *OUT if asked. */
static int recv_msg(int fd, char **out)
{
	int64_t deadline = monotime_ms() + wait_s * 1000;
	unsigned char h[PROTO_HEADER_SIZE];
	uint32_t len;
	char *body;
	int rc = read_full(fd, h, sizeof(h), deadline);

	if (rc == 0) {
		len = proto_header_len(h);
		body = malloc((size_t)len + 1);
		if (!body)
			die("out of memory");
		rc = read_full(fd, body, len, deadline);
		if (rc == 0) {
			body[len] = '\0';
			printf("%s\n", body);
			fflush(stdout);
			if (out)
				*out = body;
			else
				free(body);
			return 0;
		}
		free(body);
	}
	printf("%s\n", rc == -2 ? "timeout" : "closed");
	fflush(stdout);
	return -1;
}

static int request(int fd, const char *text)
{
	send_msg(fd, text, strlen(text));
	return recv_msg(fd, NULL);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 65536, n = 0, got;
	char *buf = malloc(cap);

	if (!f || !buf)
		die("cannot read the report file");
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap && !(buf = realloc(buf, cap *= 2)))
			die("out of memory");
	}
	fclose(f);
	*len = n;
	return buf;
}

/* A decode request holding REPORT (LEN bytes of JSON), sent whole. */
static void send_decode(int fd, const char *report, size_t len)
{
	char head[128];
	int hl = snprintf(head, sizeof(head), "{\"v\":1,\"id\":%ld,\"cmd\":\"decode\",\"report\":", next_id++);

	send_header(fd, (uint32_t)((size_t)hl + len + 1));
	send_all(fd, head, (size_t)hl);
	send_all(fd, report, len);
	send_all(fd, "}", 1);
}

/* A report of N frames in a module no sysroot has: decoded fast, and every frame grows the reply. */
static char *synth_report(long n, size_t *len)
{
	size_t cap = (size_t)n * 96 + 256, at = 0;
	char *s = malloc(cap);

	if (!s)
		die("out of memory");
	at += (size_t)sprintf(s, "{\"version\":1,\"contexts\":[{\"id\":1,\"frames\":[");
	for (long i = 0; i < n; i++)
		at += (size_t)sprintf(s + at, "%s{\"addr\":\"0x%lx\",\"module\":\"/nowhere/libx.so\",\"offset\":\"0x%lx\"}",
				      i ? "," : "", 0x1000 + i, 0x1000 + i);
	at += (size_t)sprintf(s + at, "]}]}");
	*len = at;
	return s;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static long arg_num(const char *v)
{
	char *end;
	long n = strtol(v ? v : "", &end, 10);

	if (!v || *end || n < 0)
		die("a step wants a number");
	return n;
}

static void hello(int fd, const char *role, const char *token)
{
	cJSON *h = cJSON_CreateObject();
	char *text;

	cJSON_AddNumberToObject(h, "v", 1);
	cJSON_AddNumberToObject(h, "id", (double)next_id++);
	cJSON_AddStringToObject(h, "cmd", "hello");
	cJSON_AddStringToObject(h, "role", role);
	cJSON_AddStringToObject(h, "version", "0.2.0");
	if (token)
		cJSON_AddStringToObject(h, "token", token);
	cJSON_AddNumberToObject(h, "pid", getpid());
	cJSON_AddStringToObject(h, "program", "/usr/bin/linkpeer");
	cJSON_AddStringToObject(h, "host", "testhost");
	text = cJSON_PrintUnformatted(h);
	cJSON_Delete(h);
	send_msg(fd, text, strlen(text));
	free(text);
}

/* A channel's hello on CH: key KEY, and the link LINK unless "". */
static void channel_hello(int ch, const char *key, const char *link)
{
	char buf[300];

	snprintf(buf, sizeof(buf), "{\"v\":1,\"id\":1,\"cmd\":\"hello\",\"role\":\"memtrace\",\"channel\":\"%.80s\"%s%.80s%s}",
		 key, *link ? ",\"link\":\"" : "", link, *link ? "\"" : "");
	send_msg(ch, buf, strlen(buf));
}

/* N bytes of a would-be core on channel CH: "\177ELF", then 'E's. */
static void send_elf(int ch, long n, FILE *f)
{
	char chunk[4096];

	memset(chunk, 'E', sizeof(chunk));
	memcpy(chunk, "\177ELF", 4);
	while (n > 0) {
		size_t k = n < (long)sizeof(chunk) ? (size_t)n : sizeof(chunk);

		if (f && fread(chunk, 1, k, f) != k)
			die("corefile: a short read");
		send_all(ch, chunk, k);
		n -= (long)k;
	}
}

/* Run STEP on FD. 0 to go on, -1 to end the script. */
static int step(int fd, const char *step)
{
	const char *eq = strchr(step, '=');
	const char *val = eq ? eq + 1 : NULL;
	size_t klen = eq ? (size_t)(eq - step) : strlen(step);
	char buf[256];

#define IS(k) (klen == strlen(k) && !strncmp(step, k, klen))
	if (IS("hello")) {
		char *reply = NULL;
		cJSON *r;

		hello(fd, "memtrace", val);
		if (recv_msg(fd, &reply) < 0)
			return -1;
		r = cJSON_Parse(reply);
		snprintf(link_id, sizeof(link_id), "%s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "link")) ?: "");
		cJSON_Delete(r);
		free(reply);
		return 0;
	}
	if (IS("chan") || IS("chan-nolink")) {
		char err[512];
		int ch = net_connect(&peer, wait_s * 1000, err, sizeof(err));

		if (ch < 0)
			die(err);
		channel_hello(ch, val ? val : "", IS("chan") ? link_id : "");
		if (recv_msg(ch, NULL) < 0 || nchans == MAX_CHANS) {
			close(ch);
			return 0;
		}
		snprintf(chans[nchans].key, sizeof(chans[0].key), "%s", val ? val : "");
		chans[nchans++].fd = ch;
		return 0;
	}
	if (IS("corechan")) {
		const char *colon = val ? strchr(val, ':') : NULL;
		long size = colon ? atol(colon + 1) : 0;
		int ch = -1;

		if (!colon)
			die("corechan=KEY:SIZE");
		for (int i = 0; i < nchans; i++) {
			if (strlen(chans[i].key) == (size_t)(colon - val) && !strncmp(chans[i].key, val, (size_t)(colon - val))) {
				ch = chans[i].fd;
				chans[i] = chans[--nchans];
				break;
			}
		}
		snprintf(buf, sizeof(buf), "{\"v\":1,\"id\":%ld,\"cmd\":\"core\",\"channel\":\"%.*s\",\"size\":%ld,"
			 "\"exe\":\"/usr/bin/server_leak\",\"pid\":4242}", next_id++, (int)(colon - val), val, size);
		send_msg(fd, buf, strlen(buf));
		if (ch >= 0) {
			send_elf(ch, size, NULL);
			close(ch);
		}
		return recv_msg(fd, NULL);
	}
	if (IS("await")) {
		int64_t deadline = monotime_ms() + wait_s * 1000;

		while (access(val ? val : "", F_OK) != 0 && monotime_ms() < deadline)
			usleep(20000);
		return 0;
	}
	if (IS("hello-role")) {
		hello(fd, val ? val : "", NULL);
		return recv_msg(fd, NULL);
	}
	if (IS("ping") || IS("bye")) {
		snprintf(buf, sizeof(buf), "{\"v\":1,\"id\":%ld,\"cmd\":\"%.*s\"}", next_id++, (int)klen, step);
		return request(fd, buf);
	}
	if (IS("decode")) {
		size_t len;
		char *rep = read_file(val ? val : "", &len);

		send_decode(fd, rep, len);
		free(rep);
		return recv_msg(fd, NULL);
	}
	if (IS("synth")) {
		size_t len;
		char *rep = synth_report(arg_num(val), &len);

		send_decode(fd, rep, len);
		free(rep);
		return 0;
	}
	if (IS("send"))
		return request(fd, val ? val : "");
	if (IS("put")) {
		send_msg(fd, val ? val : "", val ? strlen(val) : 0);
		return 0;
	}
	if (IS("raw")) {
		send_all(fd, val ? val : "", val ? strlen(val) : 0);
		return 0;
	}
	if (IS("len")) {
		send_header(fd, (uint32_t)strtoul(val ? val : "0", NULL, 10));
		return 0;
	}
	if (IS("zeros")) {
		static char zero[65536];
		long n = arg_num(val);

		while (n > 0) {
			size_t chunk = n < (long)sizeof(zero) ? (size_t)n : sizeof(zero);

			send_all(fd, zero, chunk);
			n -= (long)chunk;
		}
		return 0;
	}
	if (IS("recv"))
		return recv_msg(fd, NULL);
	if (IS("core") || IS("corefile")) {
		const char *at = val && IS("corefile") ? strrchr(val, '@') : NULL;
		long size = strtol(val ? val : "0", NULL, 10), sent = val && strchr(val, ':') ? atol(strchr(val, ':') + 1) : 0;
		const char *hold = val && strchr(val, ':') ? strchr(strchr(val, ':') + 1, ':') : NULL;
		static const char key[] = "00112233445566778899aabbccddeeff";
		char err[512], path[1024];
		FILE *f = NULL;
		int ch;

		if (IS("corefile")) {
			if (!at)
				die("corefile=PATH@EXE");
			snprintf(path, sizeof(path), "%.*s", (int)(at - val), val);
			f = fopen(path, "rb");
			if (!f || fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
				die("corefile: cannot read the file");
			sent = size;
		}
		ch = net_connect(&peer, wait_s * 1000, err, sizeof(err));
		if (ch < 0)
			die(err);
		channel_hello(ch, key, link_id);
		if (recv_msg(ch, NULL) < 0)
			return -1;
		snprintf(buf, sizeof(buf), "{\"v\":1,\"id\":%ld,\"cmd\":\"core\",\"channel\":\"%s\",\"size\":%ld,"
			 "\"exe\":\"%.150s\",\"pid\":4242}", next_id++, key, size, at ? at + 1 : "/usr/bin/server_leak");
		send_msg(fd, buf, strlen(buf));
		send_elf(ch, sent, f);
		if (hold && hold[1] == '@') {
			int64_t deadline = monotime_ms() + wait_s * 1000;

			while (access(hold + 2, F_OK) != 0 && monotime_ms() < deadline)
				usleep(20000);
		} else if (hold) {
			usleep((useconds_t)(atof(hold + 1) * 1e6));
		}
		if (f)
			fclose(f);
		close(ch);
		return recv_msg(fd, NULL);
	}
	if (IS("pings")) {
		long n = strtol(val ? val : "0", NULL, 10), worst = 0, i;
		long ms = val && strchr(val, ':') ? atol(strchr(val, ':') + 1) : 0;
		long *took = calloc((size_t)n + 1, sizeof(*took));

		if (!took)
			die("out of memory");
		for (i = 0; i < n; i++) {
			int64_t t0 = monotime_ms();
			char *reply = NULL;

			snprintf(buf, sizeof(buf), "{\"v\":1,\"id\":%ld,\"cmd\":\"ping\"}", next_id++);
			send_msg(fd, buf, strlen(buf));
			if (recv_msg(fd, &reply) < 0) {
				free(took);
				return -1;
			}
			if (!strstr(reply, "\"ok\":true")) {
				free(reply);
				break;
			}
			free(reply);
			took[i] = (long)(monotime_ms() - t0);
			if (took[i] > worst)
				worst = took[i];
			usleep((useconds_t)ms * 1000);
		}
		qsort(took, (size_t)i, sizeof(*took), cmp_long);
		printf("pings %ld max_ms %ld p50_ms %ld p99_ms %ld\n", i, worst, i ? took[i / 2] : 0,
		       i ? took[(i * 99) / 100 < i ? (i * 99) / 100 : i - 1] : 0);
		fflush(stdout);
		free(took);
		return 0;
	}
	if (IS("sleep") || IS("hold")) {
		usleep((useconds_t)(atof(val ? val : "0") * 1e6));
		return 0;
	}
	if (IS("expect-close")) {
		int64_t deadline = monotime_ms() + wait_s * 1000;
		char sink[65536];

		for (;;) {
			struct pollfd pf = { .fd = fd, .events = POLLIN };
			int64_t left = deadline - monotime_ms();
			ssize_t n;

			if (left <= 0 || poll(&pf, 1, (int)left) == 0) {
				printf("open\n");
				break;
			}
			n = recv(fd, sink, sizeof(sink), 0);
			if (n <= 0) {
				printf("closed\n");
				break;
			}
		}
		fflush(stdout);
		return -1;
	}
#undef IS
	fprintf(stderr, "linkpeer: unknown step '%s'\n", step);
	exit(2);
}

static void run_steps(int fd, char **steps, int n)
{
	for (int i = 0; i < n; i++) {
		if (step(fd, steps[i]) < 0)
			break;
	}
}

/* memtrace --listen's side: accept one server, check its hello, answer. */
static void listen_mode(const char *addr, const char *token, char **steps, int n)
{
	struct net_hostport hp;
	char err[512], *hello_text = NULL;
	int lfd, fd, ok;
	cJSON *h, *r;
	const char *role, *given;
	struct pollfd pf;

	if (net_parse_hostport(addr, "listen", &hp, err, sizeof(err)) < 0) {
		/* ADDR:0, which the parser does not take */
		if (strlen(addr) < 2 || strcmp(addr + strlen(addr) - 2, ":0"))
			die(err);
		snprintf(hp.host, sizeof(hp.host), "%.*s", (int)(strlen(addr) - 2), addr);
		snprintf(hp.port, sizeof(hp.port), "0");
	}
	lfd = net_listen(&hp, err, sizeof(err));
	if (lfd < 0)
		die(err);
	printf("listening %d\n", net_local_port(lfd));
	fflush(stdout);
	pf = (struct pollfd){ .fd = lfd, .events = POLLIN };
	if (poll(&pf, 1, wait_s * 1000) <= 0) {
		printf("no connection\n");
		exit(0);
	}
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	printf("hello ");
	if (recv_msg(fd, &hello_text) < 0)
		exit(0);
	h = cJSON_Parse(hello_text);
	free(hello_text);
	role = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "role"));
	given = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(h, "token"));
	r = cJSON_CreateObject();
	cJSON_AddNumberToObject(r, "v", 1);
	cJSON_AddNumberToObject(r, "id", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(h, "id")));
	ok = role && !strcmp(role, "server") && (!token || (given && !strcmp(given, token)));
	cJSON_AddBoolToObject(r, "ok", ok);
	if (ok) {
		cJSON_AddStringToObject(r, "role", "memtrace");
		cJSON_AddStringToObject(r, "version", "0.2.0");
		cJSON_AddNumberToObject(r, "pid", getpid());
		cJSON_AddStringToObject(r, "program", "/usr/bin/linkpeer");
		cJSON_AddStringToObject(r, "host", "testhost");
	} else {
		cJSON_AddStringToObject(r, "error", role && !strcmp(role, "server") ? "token refused: linkpeer's test"
										     : "role refused: linkpeer's test");
	}
	hello_text = cJSON_PrintUnformatted(r);
	send_msg(fd, hello_text, strlen(hello_text));
	free(hello_text);
	cJSON_Delete(r);
	cJSON_Delete(h);
	printf("%s\n", ok ? "accepted" : "refused");
	fflush(stdout);
	if (ok)
		run_steps(fd, steps, n);
	close(fd);
	close(lfd);
}

static int udp_to(const char *group, struct sockaddr_in *to)
{
	struct net_hostport hp;
	struct in_addr lo = { .s_addr = htonl(INADDR_LOOPBACK) };
	unsigned char ttl = 1;
	char err[512];
	int fd;

	if (net_parse_hostport(group, "group", &hp, err, sizeof(err)) < 0)
		die(err);
	memset(to, 0, sizeof(*to));
	to->sin_family = AF_INET;
	to->sin_port = htons((uint16_t)atoi(hp.port));
	if (inet_pton(AF_INET, hp.host, &to->sin_addr) != 1)
		die("the group must be an IPv4 address");
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		die("socket");
	/* On loopback, as memtrace sends on each interface: lo has no MULTICAST flag, the address does it. */
	setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof(lo));
	setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl));
	return fd;
}

static void discover(const char *group, int n)
{
	struct sockaddr_in to;
	int fd = udp_to(group, &to), answers = 0;
	int64_t deadline;
	char nonce[32];

	snprintf(nonce, sizeof(nonce), "%d", getpid());
	for (int i = 0; i < n; i++) {
		char q[128];
		int len = snprintf(q, sizeof(q), "{\"v\":1,\"cmd\":\"discover\",\"nonce\":\"%s\"}", nonce);

		if (sendto(fd, q, (size_t)len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			fprintf(stderr, "linkpeer: sendto: %s\n", strerror(errno));
	}
	deadline = monotime_ms() + wait_s * 1000;
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		char buf[2048], fs[64];
		int64_t left = deadline - monotime_ms();
		ssize_t got;
		cJSON *a;

		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			break;
		got = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &fl);
		if (got < 0)
			break;
		buf[got] = '\0';
		a = cJSON_Parse(buf);
		net_sockaddr_str((struct sockaddr *)&from, fl, fs, sizeof(fs));
		if (a && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "nonce")) ?: "", nonce)) {
			printf("answer %s %s\n", fs, buf);
			answers++;
		} else {
			printf("stray %s %s\n", fs, buf);
		}
		cJSON_Delete(a);
		fflush(stdout);
	}
	printf("answers %d\n", answers);
	close(fd);
}

static void usage(void)
{
	die("usage: linkpeer [-w SEC] [-r BYTES] [-t TOKEN] connect HOST:PORT STEP... | listen ADDR:PORT STEP... |\n"
	    "       discover GROUP:PORT [N] | dgram GROUP:PORT TEXT   (tests/tools/linkpeer.c says more)");
}

int main(int argc, char **argv)
{
	const char *token = NULL;
	int c, rcvbuf = 0;

	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt(argc, argv, "+w:r:t:")) != -1) {
		switch (c) {
		case 'w':
			wait_s = atoi(optarg);
			break;
		case 'r':
			rcvbuf = atoi(optarg);
			break;
		case 't':
			token = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 2)
		usage();
	if (!strcmp(argv[optind], "connect")) {
		struct net_hostport hp;
		struct sockaddr_in sa;
		char err[512];
		int fd;

		if (net_parse_hostport(argv[optind + 1], "connect", &hp, err, sizeof(err)) < 0)
			die(err);
		peer = hp;
		if (rcvbuf) {
			/* A small receive window must be set before the connection exists: no net_connect then. */
			memset(&sa, 0, sizeof(sa));
			sa.sin_family = AF_INET;
			sa.sin_port = htons((uint16_t)atoi(hp.port));
			if (inet_pton(AF_INET, hp.host, &sa.sin_addr) != 1)
				die("-r wants a numeric IPv4 address");
			fd = socket(AF_INET, SOCK_STREAM, 0);
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
			if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
				die(strerror(errno));
		} else {
			fd = net_connect(&hp, wait_s * 1000, err, sizeof(err));
			if (fd < 0)
				die(err);
		}
		run_steps(fd, argv + optind + 2, argc - optind - 2);
		close(fd);
	} else if (!strcmp(argv[optind], "listen")) {
		listen_mode(argv[optind + 1], token, argv + optind + 2, argc - optind - 2);
	} else if (!strcmp(argv[optind], "discover")) {
		discover(argv[optind + 1], argc - optind > 2 ? atoi(argv[optind + 2]) : 1);
	} else if (!strcmp(argv[optind], "dgram") && argc - optind == 3) {
		struct sockaddr_in to;
		int fd = udp_to(argv[optind + 1], &to);

		struct pollfd pf = { .fd = fd, .events = POLLIN };
		char buf[2048], fs[64];
		socklen_t fl = sizeof(to);
		ssize_t got;

		if (sendto(fd, argv[optind + 2], strlen(argv[optind + 2]), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			die(strerror(errno));
		if (poll(&pf, 1, wait_s * 1000) > 0 &&
		    (got = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&to, &fl)) >= 0) {
			buf[got] = '\0';
			printf("reply %s %s\n", net_sockaddr_str((struct sockaddr *)&to, fl, fs, sizeof(fs)), buf);
		} else {
			printf("no reply\n");
		}
		close(fd);
	} else {
		usage();
	}
	return 0;
}
