/*
 * fuzz_link.c: the libFuzzer harness for the server link's message side
 * (`make fuzz-server`, `make check-server-fuzz`, server/server.mk): the
 * framing, the hello in both directions, request parsing and dispatch,
 * decode and unwind requests included, up to, but not including, socket
 * IO. Not part of the server. The decoder's sysroot is the victims' build
 * directory (fuzz_sysroot.h): a request naming one of them (/server_leak)
 * is decoded, or its unwind rows compiled, for real; any other module is
 * not_found.
 *
 * The first byte of an input chooses the mode:
 *   0x01  this side dialed (it says hello first and reads the reply)
 *   0x02  a token is set ("fuzz-token")
 *   0x04  the rest is a discovery datagram, not a stream
 *   0x08  the rest is lines, each sent as one framed message (else raw bytes)
 * The stream is fed in pieces whose sizes come from a generator seeded by
 * the input; the replies are "written" in pieces too, and each must be a
 * well-framed JSON object of protocol version 1. Small limits (4 KiB
 * messages, 8 contexts, 64 frames, a shared budget that says no at times)
 * bring every refusal within reach of short inputs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "conn.h"
#include "discovery.h"
#include "fuzz_sysroot.h"
#include "log.h"
#include "metrics.h"
#include "proto.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MODE_DIALER 0x01
#define MODE_TOKEN 0x02
#define MODE_DGRAM 0x04
#define MODE_LINES 0x08

static struct srv_decoder *decoder;
static size_t budget_used, budget_other;
static uint32_t rng;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static int reserve(void *ctx, size_t bytes, int force)
{
	if (!force && budget_used + budget_other && budget_used + budget_other + bytes > 4096)
		return -1;
	budget_used += bytes;
	return 0;
}

static void release(void *ctx, size_t bytes)
{
	if (bytes > budget_used)
		abort(); /* more given back than taken */
	budget_used -= bytes;
}

/* A sample answered: into a store of its own, whose text must come out whole (fuzz_metrics checks its grammar). */
static void on_sample(void *ctx, struct srv_conn *c, cJSON *sample)
{
	struct srv_metrics *m = srv_metrics_new(3);
	size_t len;
	char *text;

	(void)ctx;
	if (!m) {
		cJSON_Delete(sample);
		return;
	}
	srv_metrics_put(m, srv_conn_name(c), "127.0.0.1", sample);
	text = srv_metrics_text(m, &len);
	if (text && strlen(text) != len)
		abort();
	free(text);
	srv_metrics_free(m);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	decoder = fuzz_decoder((*argv)[0], "fuzz_link");
	return decoder ? 0 : -1;
}

/* Every whole message in OUT (LEN bytes) is a framed JSON object with "v": 1. Returns the bytes checked. */
static size_t check_output(const unsigned char *out, size_t len)
{
	size_t at = 0;

	while (len - at >= PROTO_HEADER_SIZE) {
		size_t n = proto_header_len(out + at);
		cJSON *m;

		if (len - at - PROTO_HEADER_SIZE < n)
			break;
		m = cJSON_ParseWithLength((const char *)out + at + PROTO_HEADER_SIZE, n);
		if (!cJSON_IsObject(m) || cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "v")) != PROTO_VERSION)
			abort();
		cJSON_Delete(m);
		at += PROTO_HEADER_SIZE + n;
	}
	return at;
}

/* Write everything queued, in pieces, into OUT (grown as needed), checking each whole message. */
static void drain(struct srv_conn *c, unsigned char **out, size_t *olen, size_t *ocap, size_t *checked)
{
	while (srv_conn_pending(c)) {
		struct iovec iov[4];
		int n = srv_conn_iov(c, iov, 4);
		size_t want = iov[0].iov_len, piece = 1 + next_rand() % 4096;

		if (n < 1 || !want)
			abort();
		if (piece > want)
			piece = want;
		if (*olen + piece > *ocap) {
			*ocap = (*olen + piece) * 2;
			*out = realloc(*out, *ocap);
			if (!*out)
				abort();
		}
		memcpy(*out + *olen, iov[0].iov_base, piece);
		*olen += piece;
		srv_conn_written(c, piece);
		*checked += check_output(*out + *checked, *olen - *checked);
	}
}

/* LINES framed: each line (without its '\n') after a 4-byte big-endian length. Caller frees. */
static unsigned char *frame_lines(const uint8_t *data, size_t size, size_t *len)
{
	unsigned char *buf = malloc(size * 5 + 8), *p = buf;
	size_t start = 0;

	if (!buf)
		abort();
	for (size_t i = 0, n; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		if (i == size && i == start)
			break;
		n = i - start;
		proto_header_put(p, (uint32_t)n);
		p += PROTO_HEADER_SIZE;
		memcpy(p, data + start, n);
		p += n;
		start = i + 1;
	}
	*len = (size_t)(p - buf);
	return buf;
}

static void stream(uint8_t mode, const uint8_t *data, size_t size)
{
	struct srv_conn_config cfg = {
		.decoder = decoder,
		.token = mode & MODE_TOKEN ? "fuzz-token" : NULL,
		.dialer = mode & MODE_DIALER,
		.max_request = 4096,
		.max_contexts = 8,
		.max_frames = 64,
		.large = 256,
		.reserve = reserve,
		.release = release,
		.on_sample = on_sample,
	};
	unsigned char *framed = NULL, *out = NULL;
	const unsigned char *in = data;
	size_t len = size, at = 0, olen = 0, ocap = 0, checked = 0;
	struct srv_conn *c;

	if (mode & MODE_LINES) {
		framed = frame_lines(data, size, &len);
		in = framed;
	}
	c = srv_conn_new(&cfg, "fuzz");
	drain(c, &out, &olen, &ocap, &checked);
	while (!(srv_conn_flags(c) & SRV_CONN_CLOSE)) {
		size_t piece = 1 + next_rand() % 512, used;

		if (piece > len - at)
			piece = len - at;
		budget_other = next_rand() % 8 == 0 ? 4096 : 0;
		used = srv_conn_input(c, in + at, piece);
		/* Input is taken whole unless a reply waits, the link closes or a message is held. */
		if (used > piece || (used < piece && !srv_conn_pending(c) &&
				     !(srv_conn_flags(c) & (SRV_CONN_CLOSE | SRV_CONN_HELD))))
			abort();
		at += used;
		drain(c, &out, &olen, &ocap, &checked);
		if (srv_conn_flags(c) & SRV_CONN_HELD) {
			/* The others finish: the held message must go through now. */
			budget_other = 0;
			at += srv_conn_input(c, in + at, len - at < piece ? len - at : piece);
			if (srv_conn_flags(c) & SRV_CONN_HELD)
				abort();
			drain(c, &out, &olen, &ocap, &checked);
		}
		if (at == len)
			break;
	}
	if (!(srv_conn_flags(c) & SRV_CONN_CLOSE))
		srv_conn_eof(c);
	drain(c, &out, &olen, &ocap, &checked);
	if (checked != olen)
		abort(); /* a message written halfway */
	srv_conn_free(c);
	if (budget_used)
		abort(); /* memory of the budget never given back */
	free(out);
	free(framed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	rng = 2463534242u;
	for (size_t i = 0; i < size && i < 64; i++)
		rng = (rng ^ data[i]) * 16777619u + 1;
	if (!rng)
		rng = 1;
	if (mode & MODE_DGRAM) {
		char out[512];
		int n = srv_discovery_answer((const char *)data, size, 3002, mode & MODE_TOKEN, out, sizeof(out));

		if (n >= 0) {
			cJSON *a = cJSON_ParseWithLength(out, (size_t)n);

			if (!cJSON_IsObject(a) || (size_t)n != strlen(out))
				abort();
			cJSON_Delete(a);
		}
		return 0;
	}
	stream(mode, data, size);
	return 0;
}
