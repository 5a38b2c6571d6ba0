/*
 * The wire shared by memtrace, the agent and memtrace-server: the framing
 * of both links (each message is a 4-byte big-endian length followed by
 * that many bytes of JSON, one object), their limits, and the socket helpers
 * of proto.c. docs/protocol.md documents the messages carried inside.
 *
 * These functions allocate nothing and never raise SIGPIPE, so the agent can
 * use them from its control thread and from its exit path. Reading a whole
 * JSON message, which allocates, is proto_msg.h's.
 */
#ifndef MEMTRACE_PROTO_H
#define MEMTRACE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION 1
#define PROTO_HEADER_SIZE 4

/*
 * The limits of the wire, each written here once: the programs check them,
 * their error texts and usage print them from these macros, and
 * docs/protocol.md names this header. The defaults stay plain decimal
 * numbers: the console's help text prints them with the preprocessor's #.
 */

/* The agent's socket. Largest request the agent accepts. */
#define PROTO_MAX_REQUEST (64u * 1024)
/* Largest message memtrace accepts from the agent (full reports). */
#define PROTO_MAX_REPLY (512u * 1024 * 1024)
/* A request over PROTO_MAX_REQUEST gets an error and its body is skipped; a
 * length over this is a stream out of step, and the agent hangs up. */
#define PROTO_MAX_IN_STEP (16u * 1024 * 1024)

/* Context ids are 1..PROTO_CTX_ID_MAX: the agent keeps them as uint32_t. */
#define PROTO_CTX_ID_MAX UINT32_MAX

/* "report": "count" 0..PROTO_REPORT_MAX_COUNT (0: all), default PROTO_REPORT_COUNT. */
#define PROTO_REPORT_COUNT 10
#define PROTO_REPORT_MAX_COUNT 1000000

/* "dump": "n" 1..PROTO_DUMP_MAX_BLOCKS (default PROTO_DUMP_BLOCKS), "bytes"
 * 1..PROTO_DUMP_MAX_BYTES (default PROTO_DUMP_BYTES). The agent answers from
 * fixed buffers of these sizes. */
#define PROTO_DUMP_BLOCKS 1
#define PROTO_DUMP_MAX_BLOCKS 100
#define PROTO_DUMP_BYTES 64
#define PROTO_DUMP_MAX_BYTES 4096

/* The server link (docs/protocol.md, "Server link"). */
#define PROTO_LINK_MAX_HELLO (64u << 10)	/* a hello, its reply, anything before them */
#define PROTO_LINK_MAX_REQUEST (64u << 20)	/* a message to the server, after the hello */
#define PROTO_LINK_MAX_REPLY (512u << 20)	/* a message from the server */
/* "inspect": "bytes" as memtrace's console asks for them, 1..PROTO_INSPECT_MAX_BYTES;
 * without it the server shows PROTO_INSPECT_BYTES. */
#define PROTO_INSPECT_BYTES 64
#define PROTO_INSPECT_MAX_BYTES 4096

/* The header of a LEN-byte message, into HDR. Inline, like the decoder, so the
 * server's link, its fuzzers and the test tools frame without this file's
 * socket code. */
static inline void proto_header_put(unsigned char hdr[PROTO_HEADER_SIZE], uint32_t len)
{
	hdr[0] = (unsigned char)(len >> 24);
	hdr[1] = (unsigned char)(len >> 16);
	hdr[2] = (unsigned char)(len >> 8);
	hdr[3] = (unsigned char)len;
}

/* The length a header gives. */
static inline uint32_t proto_header_len(const unsigned char hdr[PROTO_HEADER_SIZE])
{
	return (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
}

/* Abstract unix socket name of the agent serving PID (sun_path without the
 * leading NUL), written into BUF of SIZE bytes. Returns the name length. */
int proto_agent_name(char *buf, size_t size, int pid);

/* The agent's second name, for when another process holds the first (the
 * processes of two containers that share a network namespace can have the
 * same pid): the first, ".", and the inode number of the agent's PID
 * namespace (/proc/self/ns/pid). Same contract. */
int proto_agent_name_ns(char *buf, size_t size, int pid, unsigned long long pidns);

/* memtrace_agent_start's result when both names are bound by another
 * process (a local user may take them first): the agent is not reachable. */
#define AGENT_START_NAME_TAKEN (-2)

/* Monotonic clock in milliseconds. */
int64_t proto_now_ms(void);

/*
 * Write all LEN bytes to the stream socket FD, waiting at most TIMEOUT_MS in
 * total (-1: forever). Returns 0, or -1 with errno (ETIMEDOUT on timeout,
 * EPIPE when the peer is gone).
 */
int proto_write_all(int fd, const void *buf, size_t len, int timeout_ms);

/* Send one message: header + LEN bytes of payload. Same contract. */
int proto_send(int fd, const void *payload, size_t len, int timeout_ms);

/*
 * Read exactly LEN bytes. Returns 0; -1 with errno ETIMEDOUT, or ECONNRESET
 * when the peer closed the connection (also for EOF in the middle).
 */
int proto_read_all(int fd, void *buf, size_t len, int timeout_ms);

/*
 * Read and drop LEN bytes (an oversized message), so the stream stays in
 * step. Same contract as proto_read_all.
 */
int proto_skip(int fd, size_t len, int timeout_ms);

#endif
