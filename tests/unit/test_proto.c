/*
 * Unit test for the wire framing (common/proto.c), over AF_UNIX stream
 * socketpairs: header encoding and decoding, whole messages, deadlines on
 * both directions, a peer that closes early, proto_skip keeping the stream
 * in step, EPIPE without SIGPIPE, a 10 MB message read by another
 * thread while it is being sent, and one framed JSON message read before a
 * deadline (common/proto_msg.c).
 *
 * SIGPIPE keeps a handler that only counts (not SIG_IGN), so a send without
 * MSG_NOSIGNAL shows up as a failed check instead of hiding behind the
 * disposition. A watchdog turns any hang into a failure.
 *
 * Exit status: 0 pass, 1 fail (one "FAIL file:line" line per failed check),
 * 99 when the harness itself cannot run (no socketpair, no thread).
 */
#include "proto.h"
#include "proto_msg.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* ---------------------------------------------------------------- harness */

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static void pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		broken("socketpair");
}

static void close_pair(int sv[2])
{
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	sv[0] = sv[1] = -1;
}

/* Bytes waiting on FD without blocking; -1 if none (EAGAIN). */
static ssize_t pending(int fd, void *buf, size_t len)
{
	return recv(fd, buf, len, MSG_DONTWAIT);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---------------------------------------------------------------- header */

static void test_header_len(void)
{
	static const struct {
		unsigned char hdr[4];
		uint32_t len;
	} cases[] = {
		{ { 0, 0, 0, 0 }, 0 },
		{ { 0, 0, 0, 1 }, 1 },
		{ { 0, 0, 1, 0 }, 256 },
		{ { 1, 2, 3, 4 }, 0x01020304u },
		{ { 4, 3, 2, 1 }, 0x04030201u },
		{ { 0x80, 0, 0, 0 }, 0x80000000u },
		{ { 0, 0, 0, 0xff }, 0xffu },
		{ { 0xff, 0xff, 0xff, 0xff }, 0xffffffffu },
	};

	check_step("proto_header_len", 5);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t got = proto_header_len(cases[i].hdr);

		CHECK(got == cases[i].len, "proto_header_len(%02x %02x %02x %02x) = 0x%x, want 0x%x",
		      cases[i].hdr[0], cases[i].hdr[1], cases[i].hdr[2], cases[i].hdr[3], got,
		      cases[i].len);
	}
}

/* ---------------------------------------------------------------- messages */

/* Send LEN bytes with proto_send and check the exact bytes on the wire. */
static void send_and_check_wire(int sv[2], const char *payload, size_t len)
{
	unsigned char buf[512];
	ssize_t n;

	CHECK(proto_send(sv[0], payload, len, 1000) == 0, "proto_send(%zu bytes): %s", len,
	      strerror(errno));
	n = pending(sv[1], buf, sizeof(buf));
	CHECK(n == (ssize_t)(4 + len), "%zu-byte message: %zd bytes on the wire, want %zu", len, n,
	      4 + len);
	if (n < 4)
		return;
	CHECK(buf[0] == (unsigned char)(len >> 24) && buf[1] == (unsigned char)(len >> 16) &&
	      buf[2] == (unsigned char)(len >> 8) && buf[3] == (unsigned char)len,
	      "%zu-byte message: header %02x %02x %02x %02x is not big-endian %zu", len, buf[0],
	      buf[1], buf[2], buf[3], len);
	CHECK(proto_header_len(buf) == len, "%zu-byte message: header decodes to %u", len,
	      proto_header_len(buf));
	if (n == (ssize_t)(4 + len))
		CHECK(memcmp(buf + 4, payload, len) == 0, "%zu-byte message: payload differs", len);
}

static void test_send_read(void)
{
	int sv[2];
	unsigned char hdr[4];
	char buf[256];
	static const char bin[] = { 'a', 0, '\n', (char)0xff, '{', 0 };

	check_step("proto_send/proto_read_all", 5);
	pair(sv);
	send_and_check_wire(sv, "hello", 5);
	send_and_check_wire(sv, "", 0);
	send_and_check_wire(sv, bin, sizeof(bin));
	memset(buf, 'x', sizeof(buf));
	send_and_check_wire(sv, buf, 255);

	/* Several messages back to back, read with proto_read_all. */
	CHECK(proto_send(sv[0], "{\"a\":1}", 7, 1000) == 0, "send 1: %s", strerror(errno));
	CHECK(proto_send(sv[0], "", 0, 1000) == 0, "send 2: %s", strerror(errno));
	CHECK(proto_send(sv[0], "{}", 2, 1000) == 0, "send 3: %s", strerror(errno));
	memset(buf, 0, sizeof(buf));
	CHECK(proto_read_all(sv[1], hdr, 4, 1000) == 0 && proto_header_len(hdr) == 7,
	      "first header wrong");
	CHECK(proto_read_all(sv[1], buf, 7, 1000) == 0 && !memcmp(buf, "{\"a\":1}", 7),
	      "first payload wrong: \"%.7s\"", buf);
	CHECK(proto_read_all(sv[1], hdr, 4, 1000) == 0 && proto_header_len(hdr) == 0,
	      "empty message header wrong");
	CHECK(proto_read_all(sv[1], hdr, 4, 1000) == 0 && proto_header_len(hdr) == 2,
	      "third header wrong");
	CHECK(proto_read_all(sv[1], buf, 2, 1000) == 0 && !memcmp(buf, "{}", 2),
	      "third payload wrong");
	CHECK(pending(sv[1], buf, 1) < 0, "bytes left over after three messages");

	/* Zero bytes: nothing to wait for, even with no data and no time. */
	CHECK(proto_read_all(sv[1], buf, 0, 0) == 0, "proto_read_all of 0 bytes failed: %s",
	      strerror(errno));

	/* Data, then EOF: the data is read in full, the next read is ECONNRESET. */
	CHECK(proto_send(sv[0], "bye", 3, 1000) == 0, "send bye: %s", strerror(errno));
	close(sv[0]);
	sv[0] = -1;
	CHECK(proto_read_all(sv[1], hdr, 4, 1000) == 0 && proto_header_len(hdr) == 3,
	      "header before EOF not read");
	CHECK(proto_read_all(sv[1], buf, 3, 1000) == 0 && !memcmp(buf, "bye", 3),
	      "payload before EOF not read");
	errno = 0;
	CHECK(proto_read_all(sv[1], buf, 1, 1000) == -1 && errno == ECONNRESET,
	      "read after EOF: errno %d (%s), want ECONNRESET", errno, strerror(errno));
	close_pair(sv);
}

/* An oversize length is refused before anything is written. */
static void test_send_too_big(void)
{
	int sv[2];
	char c = 0, buf[8];

	if (sizeof(size_t) <= 4)
		return;
	check_step("proto_send of more than 4 GiB", 5);
	pair(sv);
	errno = 0;
	CHECK(proto_send(sv[0], &c, (size_t)UINT32_MAX + 1, 1000) == -1 && errno == EMSGSIZE,
	      "proto_send of 2^32 bytes: errno %d (%s), want EMSGSIZE", errno, strerror(errno));
	CHECK(pending(sv[1], buf, sizeof(buf)) < 0, "a refused message left bytes on the wire");
	close_pair(sv);
}

/* ---------------------------------------------------------------- deadlines */

/*
 * CALL (a proto_ read or write) must return -1 with errno WANT after at
 * least MIN_MS and less than MAX_MS milliseconds; WHAT names the case.
 */
#define CHECK_FAILS(call, want, min_ms, max_ms, what)                                           \
	do {                                                                                    \
		int64_t t0_ = proto_now_ms();                                                    \
		int r_;                                                                          \
                                                                                                \
		errno = 0;                                                                       \
		r_ = (call);                                                                     \
		check_failed(r_, errno, proto_now_ms() - t0_, want, min_ms, max_ms, what, __LINE__); \
	} while (0)
static void check_failed(int r, int e, int64_t dt, int want, int64_t min_ms, int64_t max_ms, const char *what,
			 int line)
{
	check_at(r == -1 && e == want, __FILE__, line, "%s: got %d, errno %d (%s), want %s", what, r, e, strerror(e),
		 strerror(want));
	check_at(dt >= min_ms && dt < max_ms, __FILE__, line, "%s: returned after %lld ms, want %lld to %lld", what,
		 (long long)dt, (long long)min_ms, (long long)max_ms);
}

static void test_read_timeout(void)
{
	int sv[2];
	char buf[16];

	check_step("proto_read_all timeout", 5);
	pair(sv);

	/* Nothing sent. */
	CHECK_FAILS(proto_read_all(sv[1], buf, 4, 300), ETIMEDOUT, 280, 1500, "idle peer");

	/* Timeout 0 with nothing there: at once. */
	CHECK_FAILS(proto_read_all(sv[1], buf, 4, 0), ETIMEDOUT, 0, 200, "timeout 0");

	/* Half a header, then silence: still a timeout, not a short success. */
	if (write(sv[0], "\0\0", 2) != 2)
		broken("write");
	CHECK_FAILS(proto_read_all(sv[1], buf, 4, 200), ETIMEDOUT, 180, 1500, "half a header");
	close_pair(sv);
}

struct late_writer {
	int fd;
	int delay_ms;
	const char *data;
	size_t len;
	int close_after;
};

static void *late_write(void *arg)
{
	struct late_writer *lw = arg;

	sleep_ms(lw->delay_ms);
	if (lw->len && write(lw->fd, lw->data, lw->len) != (ssize_t)lw->len)
		return (void *)1;
	if (lw->close_after)
		close(lw->fd);
	return NULL;
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	errno = pthread_create(t, NULL, fn, arg);
	if (errno)
		broken("pthread_create");
}

/* Data that comes in pieces, later, within the deadline is read in full. */
static void test_read_waits(void)
{
	int sv[2];
	char buf[8] = "";
	pthread_t t;
	struct late_writer lw;
	int64_t t0, dt;

	check_step("proto_read_all waiting for late data", 5);
	pair(sv);
	if (write(sv[0], "ab", 2) != 2)
		broken("write");
	lw = (struct late_writer){ sv[0], 100, "cdef", 4, 0 };
	start(&t, late_write, &lw);
	t0 = proto_now_ms();
	CHECK(proto_read_all(sv[1], buf, 6, 3000) == 0, "late data: %s", strerror(errno));
	dt = proto_now_ms() - t0;
	CHECK(!memcmp(buf, "abcdef", 6), "late data read as \"%.6s\"", buf);
	CHECK(dt >= 80 && dt < 2000, "late data after 100 ms took %lld ms", (long long)dt);
	pthread_join(t, NULL);
	close_pair(sv);
}

/* The peer goes away in the middle of a message: ECONNRESET, at once. */
static void test_peer_closes(void)
{
	int sv[2];
	char buf[64];
	pthread_t t;
	struct late_writer lw;
	int r;

	check_step("peer closing mid-message", 5);
	pair(sv);
	if (write(sv[0], "\0\0\0\x10" "abc", 7) != 7)
		broken("write");
	close(sv[0]);
	sv[0] = -1;
	CHECK(proto_read_all(sv[1], buf, 4, 1000) == 0 && proto_header_len((unsigned char *)buf) == 16,
	      "header of the cut message not read");
	CHECK_FAILS(proto_read_all(sv[1], buf, 16, 5000), ECONNRESET, 0, 1000, "cut payload");
	close_pair(sv);

	/* Closed before sending anything, waiting forever: ECONNRESET, no hang. */
	pair(sv);
	close(sv[0]);
	sv[0] = -1;
	errno = 0;
	r = proto_read_all(sv[1], buf, 4, -1);
	CHECK(r == -1 && errno == ECONNRESET, "closed peer, no timeout: got %d, errno %d, want ECONNRESET",
	      r, errno);
	close_pair(sv);

	/* Closed while the reader is already waiting, in the middle of a header. */
	pair(sv);
	lw = (struct late_writer){ sv[0], 100, "\0", 1, 1 };
	start(&t, late_write, &lw);
	CHECK_FAILS(proto_read_all(sv[1], buf, 4, 5000), ECONNRESET, 0, 2000, "close while waiting");
	pthread_join(t, NULL);
	sv[0] = -1;		/* closed by the thread */
	close_pair(sv);

	/* proto_skip sees the same EOF. */
	pair(sv);
	if (write(sv[0], "12345", 5) != 5)
		broken("write");
	close(sv[0]);
	sv[0] = -1;
	errno = 0;
	r = proto_skip(sv[1], 10, 1000);
	CHECK(r == -1 && errno == ECONNRESET, "proto_skip past EOF: got %d, errno %d, want ECONNRESET",
	      r, errno);
	close_pair(sv);
}

/* A signal during the wait neither ends the read early nor stretches it. */
static pthread_t main_thread;

static void on_usr1(int sig)
{
	(void)sig;
}

static void *poke(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++) {
		sleep_ms(60);
		pthread_kill(main_thread, SIGUSR1);
	}
	return NULL;
}

static void test_read_eintr(void)
{
	struct sigaction sa;
	int sv[2];
	char buf[4];
	pthread_t t;

	check_step("proto_read_all interrupted by signals", 5);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;	/* no SA_RESTART: poll sees EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	pair(sv);
	start(&t, poke, NULL);
	CHECK_FAILS(proto_read_all(sv[1], buf, 4, 400), ETIMEDOUT, 380, 2000, "interrupted wait");
	pthread_join(t, NULL);
	close_pair(sv);
	signal(SIGUSR1, SIG_DFL);
}

/* ---------------------------------------------------------------- skip */

struct skip_sender {
	int fd;
	const char *big;
	size_t n;
	int rc1, rc2, err;
};

/* The message to drop, then one that must read right. From a thread, as
 * the bigger ones do not fit in the socket buffer. */
static void *skip_send(void *arg)
{
	struct skip_sender *ss = arg;

	ss->rc1 = proto_send(ss->fd, ss->big, ss->n, 5000);
	ss->err = errno;
	ss->rc2 = proto_send(ss->fd, "after", 5, 5000);
	return NULL;
}

static void test_skip(void)
{
	static const size_t sizes[] = { 1, 4095, 4096, 4097, 8193, 1000000 };
	int sv[2];
	unsigned char hdr[4];
	char buf[32];

	check_step("proto_skip", 10);
	pair(sv);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		char *big = malloc(n);
		struct skip_sender ss;
		pthread_t t;

		if (!big)
			broken("malloc");
		/* No byte of the dropped payload looks like the next header. */
		memset(big, 'A', n);
		ss = (struct skip_sender){ sv[0], big, n, -1, -1, 0 };
		start(&t, skip_send, &ss);
		CHECK(proto_read_all(sv[1], hdr, 4, 2000) == 0 && proto_header_len(hdr) == n,
		      "skip %zu: header wrong", n);
		CHECK(proto_skip(sv[1], n, 2000) == 0, "proto_skip(%zu): %s", n, strerror(errno));
		memset(buf, 0, sizeof(buf));
		CHECK(proto_read_all(sv[1], hdr, 4, 1000) == 0 && proto_header_len(hdr) == 5,
		      "after skipping %zu bytes the next header reads %02x %02x %02x %02x", n, hdr[0],
		      hdr[1], hdr[2], hdr[3]);
		CHECK(proto_read_all(sv[1], buf, 5, 1000) == 0 && !memcmp(buf, "after", 5),
		      "after skipping %zu bytes the next payload reads \"%.5s\"", n, buf);
		pthread_join(t, NULL);
		CHECK(ss.rc1 == 0 && ss.rc2 == 0, "sending for skip %zu: %s", n, strerror(ss.err));
		CHECK(pending(sv[1], buf, 1) < 0, "after skipping %zu bytes, bytes left over", n);
		free(big);
	}

	/* Skipping 0 bytes reads nothing. */
	if (write(sv[0], "Z", 1) != 1)
		broken("write");
	CHECK(proto_skip(sv[1], 0, 0) == 0, "proto_skip(0) failed: %s", strerror(errno));
	CHECK(pending(sv[1], buf, 2) == 1 && buf[0] == 'Z', "proto_skip(0) consumed data");

	/* More to skip than will ever come: ETIMEDOUT within the deadline. */
	{
		int64_t t0 = proto_now_ms(), dt;
		int r;

		if (write(sv[0], "12345678", 8) != 8)
			broken("write");
		errno = 0;
		r = proto_skip(sv[1], 20000, 300);
		dt = proto_now_ms() - t0;
		CHECK(r == -1 && errno == ETIMEDOUT, "short skip: got %d, errno %d, want ETIMEDOUT", r,
		      errno);
		CHECK(dt >= 280 && dt < 1500, "short skip: %lld ms for a 300 ms timeout", (long long)dt);
	}
	close_pair(sv);
}

/* ---------------------------------------------------------------- writing */

static void test_write_closed_peer(void)
{
	int sv[2];
	char buf[4096];
	int r;

	check_step("writing to a closed peer", 5);
	sigpipes = 0;
	memset(buf, 'w', sizeof(buf));

	pair(sv);
	close(sv[1]);
	sv[1] = -1;
	errno = 0;
	r = proto_write_all(sv[0], buf, sizeof(buf), 1000);
	CHECK(r == -1 && errno == EPIPE, "proto_write_all to a closed peer: got %d, errno %d (%s), want EPIPE",
	      r, errno, strerror(errno));
	errno = 0;
	r = proto_send(sv[0], "x", 1, 1000);
	CHECK(r == -1 && errno == EPIPE, "proto_send to a closed peer: got %d, errno %d (%s), want EPIPE",
	      r, errno, strerror(errno));
	errno = 0;
	r = proto_write_all(sv[0], buf, 1, -1);
	CHECK(r == -1 && errno == EPIPE, "proto_write_all, no timeout, closed peer: errno %d, want EPIPE",
	      errno);
	close_pair(sv);

	/* The peer goes away while a big write is blocked on a full buffer. */
	{
		size_t len = 8u << 20;
		char *big = calloc(1, len);
		struct late_writer lw;
		pthread_t t;

		if (!big)
			broken("calloc");
		pair(sv);
		lw = (struct late_writer){ sv[1], 100, NULL, 0, 1 };
		start(&t, late_write, &lw);
		errno = 0;
		r = proto_write_all(sv[0], big, len, 5000);
		CHECK(r == -1 && errno == EPIPE, "peer closing during a blocked write: got %d, errno %d (%s), want EPIPE",
		      r, errno, strerror(errno));
		pthread_join(t, NULL);
		sv[1] = -1;
		close_pair(sv);
		free(big);
	}
	CHECK(sigpipes == 0, "SIGPIPE was raised %d times", (int)sigpipes);
}

static void test_write_timeout(void)
{
	int sv[2];
	size_t len = 16u << 20;
	char *big = calloc(1, len);

	if (!big)
		broken("calloc");
	check_step("proto_write_all timeout", 5);
	pair(sv);
	CHECK_FAILS(proto_write_all(sv[0], big, len, 300), ETIMEDOUT, 280, 1500, "peer not reading");

	/* proto_send shares one deadline between header and payload. */
	close_pair(sv);
	pair(sv);
	CHECK_FAILS(proto_send(sv[0], big, len, 300), ETIMEDOUT, 280, 1500, "proto_send, peer not reading");
	close_pair(sv);
	free(big);
}

/* ---------------------------------------------------------------- 10 MB */

#define BIG_LEN (10u * 1024 * 1024 + 7)

struct big_reader {
	int fd;
	uint32_t len;
	unsigned char *buf;
	int rc, err;
};

static unsigned char pattern(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13 ^ i >> 20);
}

static void *big_read(void *arg)
{
	struct big_reader *br = arg;
	unsigned char hdr[4];

	br->rc = proto_read_all(br->fd, hdr, 4, 10000);
	br->err = errno;
	if (br->rc < 0)
		return NULL;
	br->len = proto_header_len(hdr);
	if (br->len != BIG_LEN)
		return NULL;
	br->rc = proto_read_all(br->fd, br->buf, br->len, 10000);
	br->err = errno;
	return NULL;
}

static void test_big_message(void)
{
	int sv[2];
	unsigned char *out = malloc(BIG_LEN);
	struct big_reader br = { 0 };
	pthread_t t;
	size_t bad = 0, first_bad = 0;
	char c;

	check_step("10 MB message", 20);
	br.buf = malloc(BIG_LEN);
	if (!out || !br.buf)
		broken("malloc");
	for (size_t i = 0; i < BIG_LEN; i++)
		out[i] = pattern(i);
	pair(sv);
	br.fd = sv[1];
	start(&t, big_read, &br);
	CHECK(proto_send(sv[0], out, BIG_LEN, 10000) == 0, "proto_send of 10 MB: %s",
	      strerror(errno));
	pthread_join(t, NULL);
	CHECK(br.rc == 0, "reading 10 MB: %s", strerror(br.err));
	CHECK(br.len == BIG_LEN, "10 MB header says %u bytes, want %u", br.len, BIG_LEN);
	if (br.rc == 0 && br.len == BIG_LEN) {
		for (size_t i = 0; i < BIG_LEN; i++)
			if (br.buf[i] != out[i] && !bad++)
				first_bad = i;
		CHECK(!bad, "10 MB payload: %zu bytes differ, first at offset %zu", bad, first_bad);
	}
	CHECK(pending(sv[1], &c, 1) < 0, "bytes left over after the 10 MB message");
	close_pair(sv);
	free(out);
	free(br.buf);
}

/* ---------------------------------------------------------------- misc */

static void test_agent_name(void)
{
	static const struct {
		int pid;
		const char *want;
	} cases[] = {
		{ 1, "memtrace-agent.1" },
		{ 1234, "memtrace-agent.1234" },
		{ 4194304, "memtrace-agent.4194304" },
		{ INT_MAX, "memtrace-agent.2147483647" },
	};
	char buf[108];
	int n;

	check_step("proto_agent_name", 5);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, '#', sizeof(buf));
		n = proto_agent_name(buf, sizeof(buf), cases[i].pid);
		CHECK(!strcmp(buf, cases[i].want), "proto_agent_name(%d) = \"%.108s\", want \"%s\"",
		      cases[i].pid, buf, cases[i].want);
		CHECK(n == (int)strlen(cases[i].want), "proto_agent_name(%d) returned %d, want %zu",
		      cases[i].pid, n, strlen(cases[i].want));
		/* It goes after the abstract socket's leading NUL in sun_path[108]. */
		CHECK(n + 1 <= 108, "name for %d does not fit sun_path", cases[i].pid);
	}
	/* A buffer that is just big enough holds the whole name, terminated. */
	memset(buf, '#', sizeof(buf));
	proto_agent_name(buf, strlen("memtrace-agent.42") + 1, 42);
	CHECK(!strcmp(buf, "memtrace-agent.42"), "exact-size buffer holds \"%.30s\"", buf);
	/* A short one is never overrun. */
	memset(buf, '#', sizeof(buf));
	proto_agent_name(buf, 8, 42);
	CHECK(buf[7] == '\0' && buf[8] == '#', "8-byte buffer overrun or unterminated");
	/* The second name: the first, then the PID namespace's inode. */
	memset(buf, '#', sizeof(buf));
	n = proto_agent_name_ns(buf, sizeof(buf), 1, 4026532174ULL);
	CHECK(!strcmp(buf, "memtrace-agent.1.4026532174") && n == (int)strlen(buf),
	      "proto_agent_name_ns(1, 4026532174) = \"%.108s\" (%d)", buf, n);
	/* The longest (pid 2^31-1, a 64-bit inode) fits sun_path after its NUL. */
	n = proto_agent_name_ns(buf, sizeof(buf), 2147483647, 18446744073709551615ULL);
	CHECK(n + 1 <= 108, "the longest second name (%d bytes) does not fit sun_path", n);
}

/* ---------------------------------------------------------------- framed JSON */

static void test_header_put(void)
{
	static const uint32_t lens[] = { 0, 1, 255, 256, 0x01020304u, 0x80000000u, 0xffffffffu };
	unsigned char h[PROTO_HEADER_SIZE];

	check_step("proto_header_put", 5);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		proto_header_put(h, lens[i]);
		CHECK(h[0] == (unsigned char)(lens[i] >> 24) && h[3] == (unsigned char)lens[i] &&
		      proto_header_len(h) == lens[i], "proto_header_put(0x%x) does not decode back", lens[i]);
	}
}

/* Write a header for LEN bytes, then TEXT (which may be shorter: a message left unfinished). */
static void put_msg(int fd, uint32_t len, const char *text)
{
	unsigned char h[PROTO_HEADER_SIZE];

	proto_header_put(h, len);
	if (write(fd, h, sizeof(h)) != (ssize_t)sizeof(h) ||
	    (text && write(fd, text, strlen(text)) != (ssize_t)strlen(text)))
		broken("write");
}

struct late_body {
	int fd;
	int delay_ms;
	const char *text;
};

static void *send_late(void *arg)
{
	struct late_body *lb = arg;

	sleep_ms(lb->delay_ms);
	if (write(lb->fd, lb->text, strlen(lb->text)) < 0)
		broken("write");
	return NULL;
}

/* Header now, body after DELAY_MS; what proto_read_msg makes of it with BODY_MS. */
static enum proto_msg_result read_late_body(int delay_ms, int body_ms, int *err)
{
	static const char text[] = "{\"v\":1,\"late\":true}";
	struct late_body lb = { .delay_ms = delay_ms, .text = text };
	enum proto_msg_result r;
	pthread_t t;
	uint32_t len;
	cJSON *m;
	int sv[2];

	pair(sv);
	lb.fd = sv[0];
	put_msg(sv[0], sizeof(text) - 1, NULL);
	if (pthread_create(&t, NULL, send_late, &lb))
		broken("pthread_create");
	errno = 0;
	r = proto_read_msg(sv[1], 1000, proto_now_ms() + 100, body_ms, &m, &len);
	*err = errno;
	pthread_join(t, NULL);
	cJSON_Delete(m);
	close_pair(sv);
	return r;
}

static void test_read_msg(void)
{
	enum proto_msg_result r;
	uint32_t len;
	cJSON *m;
	int sv[2], err;

	check_step("proto_read_msg", 10);
	pair(sv);
	put_msg(sv[0], 15, "{\"v\":1,\"id\":42}");
	r = proto_read_msg(sv[1], 1000, proto_now_ms() + 1000, 0, &m, &len);
	CHECK(r == PROTO_MSG_OK && len == 15 && cJSON_GetObjectItemCaseSensitive(m, "id") &&
	      cJSON_GetObjectItemCaseSensitive(m, "id")->valuedouble == 42, "a whole message: result %d", r);
	cJSON_Delete(m);

	put_msg(sv[0], 0, NULL);
	r = proto_read_msg(sv[1], 1000, -1, -1, &m, &len);
	CHECK(r == PROTO_MSG_SIZE && len == 0 && !m, "an empty message: result %d, len %u", r, len);
	put_msg(sv[0], 1001, NULL);
	r = proto_read_msg(sv[1], 1000, -1, -1, &m, &len);
	CHECK(r == PROTO_MSG_SIZE && len == 1001 && !m, "a message over the limit: result %d, len %u", r, len);
	close_pair(sv);

	pair(sv);
	put_msg(sv[0], 7, "{\"v\":2}");
	r = proto_read_msg(sv[1], 1000, -1, -1, &m, &len);
	CHECK(r == PROTO_MSG_GARBLED && !m, "another version: result %d", r);
	put_msg(sv[0], 5, "[1,2]");
	r = proto_read_msg(sv[1], 1000, -1, -1, &m, &len);
	CHECK(r == PROTO_MSG_GARBLED && !m, "not an object: result %d", r);
	put_msg(sv[0], 4, "{\"v\"");
	r = proto_read_msg(sv[1], 1000, -1, -1, &m, &len);
	CHECK(r == PROTO_MSG_GARBLED && !m, "not JSON: result %d", r);

	/* Nothing comes: the deadline. */
	errno = 0;
	r = proto_read_msg(sv[1], 1000, proto_now_ms() + 100, -1, &m, &len);
	CHECK(r == PROTO_MSG_IO && errno == ETIMEDOUT && !m, "idle peer: result %d, errno %d", r, errno);
	/* The peer leaves in the middle. */
	put_msg(sv[0], 10, "{\"v\"");
	close(sv[0]);
	sv[0] = -1;
	errno = 0;
	r = proto_read_msg(sv[1], 1000, proto_now_ms() + 1000, 0, &m, &len);
	CHECK(r == PROTO_MSG_IO && errno == ECONNRESET && !m, "peer gone mid-body: result %d, errno %d", r, errno);
	close_pair(sv);

	/* A body later than the deadline: read when BODY_MS allows it, a timeout when not. */
	r = read_late_body(400, 2000, &err);
	CHECK(r == PROTO_MSG_OK, "a late body within BODY_MS: result %d, errno %d", r, err);
	r = read_late_body(400, 0, &err);
	CHECK(r == PROTO_MSG_IO && err == ETIMEDOUT, "a late body, BODY_MS 0: result %d, errno %d", r, err);
}

static void test_now_ms(void)
{
	int64_t a, b;

	check_step("proto_now_ms", 5);
	a = proto_now_ms();
	sleep_ms(50);
	b = proto_now_ms();
	CHECK(a > 0, "proto_now_ms() = %lld", (long long)a);
	CHECK(b - a >= 49 && b - a < 1000, "50 ms sleep measured as %lld ms", (long long)(b - a));
}

int main(void)
{
	struct sigaction sa;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigpipe;
	sigaction(SIGPIPE, &sa, NULL);

	test_header_len();
	test_send_read();
	test_send_too_big();
	test_read_timeout();
	test_read_waits();
	test_peer_closes();
	test_read_eintr();
	test_skip();
	test_write_closed_peer();
	test_write_timeout();
	test_big_message();
	test_agent_name();
	test_now_ms();
	test_header_put();
	test_read_msg();
	alarm(0);
	CHECK(sigpipes == 0, "SIGPIPE was raised %d times", (int)sigpipes);

	if (failures)
		printf("test_proto: %d of %d checks failed\n", failures, checks);
	return failures ? 1 : 0;
}
