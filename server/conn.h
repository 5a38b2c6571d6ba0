/*
 * One link with a memtrace, as the server sees it (docs/protocol.md, "Server
 * link"): the hello, then requests answered one at a time. A pure machine
 * over byte buffers: bytes read from the peer go in with srv_conn_input(),
 * the replies to write come out of its output queue, and the flags say
 * what the caller (server/netserver.c, or a fuzzer) must do. No socket, no
 * clock: the caller keeps the time limits, from the flags.
 *
 * Backpressure is built in: once a reply is queued, nothing more is
 * consumed until it has all been written (srv_conn_written), so a peer that
 * does not read its replies only stalls itself.
 */
#ifndef SRV_CONN_H
#define SRV_CONN_H

#include <stddef.h>
#include <sys/uio.h>

#include <cjson/cJSON.h>

#include "decode.h"
#include "proto.h"

/* The message sizes are the wire's: PROTO_LINK_MAX_HELLO, _REQUEST, _REPLY (proto.h). */
#define SRV_LINK_MAX_CONTEXTS 100000	 /* in one decode request */
#define SRV_LINK_MAX_FRAMES 5000000	 /* in one decode request, all contexts */
/* JSON values in one request: about one per 20 bytes in a report, so 64 MiB fits. */
#define SRV_LINK_MAX_VALUES 6000000
/*
 * A message larger than this takes memory from the shared budget (RESERVE
 * below): a request SRV_LINK_COST times its size from its header until it
 * is handled (its reply is about three times as large), a reply its size
 * until written.
 */
#define SRV_LINK_LARGE (1u << 20)
#define SRV_LINK_COST 4
/*
 * With an offload (below), a message larger than this is not even parsed
 * by the caller's thread: some 10 ms of cJSON a MiB (more under ASan) is
 * more than the event loop may spend while other peers wait for it. A ping
 * is some 40 bytes; a hello at most PROTO_LINK_MAX_HELLO.
 */
#define SRV_LINK_INLINE (64u << 10)

struct srv_request_job;

struct srv_conn;

struct srv_conn_config {
	struct srv_decoder *decoder; /* for decode requests without OFFLOAD; used synchronously */
	/* Listener: the token a hello must carry. Dialer: the token our hello carries. NULL: none. */
	const char *token;
	int dialer;		/* 1: this side dialed, says hello first and waits for the reply */
	size_t max_request;	/* 0: PROTO_LINK_MAX_REQUEST */
	size_t max_contexts;	/* 0: SRV_LINK_MAX_CONTEXTS */
	size_t max_frames;	/* 0: SRV_LINK_MAX_FRAMES */
	size_t large;		/* 0: SRV_LINK_LARGE */
	/*
	 * Memory shared by every connection for large messages (over
	 * LARGE bytes): RESERVE asks for BYTES and returns 0, or -1 when it
	 * cannot be had now (the connection then waits, SRV_CONN_HELD, and
	 * asks again at the next srv_conn_input); with FORCE it must give
	 * them. RELEASE gives bytes back. NULL: no limit. CTX is theirs.
	 */
	int (*reserve)(void *ctx, size_t bytes, int force);
	void (*release)(void *ctx, size_t bytes);
	void *ctx;
	/*
	 * A request for gdb work (server/work.h) on connection C: DEFER takes
	 * MSG and returns NULL, and the reply comes later (srv_conn_deliver;
	 * meanwhile the connection is SRV_CONN_BUSY), or it keeps MSG and
	 * returns the reply now. NULL: such requests get an error reply.
	 */
	cJSON *(*defer)(void *ctx, struct srv_conn *c, cJSON *msg, double id, const char *cmd);
	/*
	 * Work that may take long: every decode request, and every message
	 * over SRV_LINK_INLINE bytes after the hello (parsed there too).
	 * OFFLOAD gets the job (server/request.h), to run with
	 * srv_request_run in any thread; the connection is SRV_CONN_BUSY until
	 * the job is given back with srv_conn_finish. The job's "owner" is C,
	 * or NULL once C is freed (then the offload frees the job when done).
	 * NULL: decoded here, with DECODER, synchronously.
	 */
	void (*offload)(void *ctx, struct srv_conn *c, struct srv_request_job *job);
	/*
	 * Listener: a hello that passed the token check, of a link or (with
	 * srv_conn_channel set) of a channel: ADMIT returns NULL to let it in,
	 * or the reason it is refused ("server busy: ..."; static or CTX's),
	 * which the reply says before the connection closes. NULL: all in.
	 */
	const char *(*admit)(void *ctx, struct srv_conn *c);
	/*
	 * A sample request of connection C was answered: ON_SAMPLE takes its
	 * sample, decoded (server/metrics.h). NULL: samples are dropped.
	 */
	void (*on_sample)(void *ctx, struct srv_conn *c, cJSON *sample);
};

enum srv_conn_flags {
	SRV_CONN_HELLO_DONE = 1 << 0, /* the hello went through */
	SRV_CONN_PARTIAL = 1 << 1,    /* part of a message was read, not all of it */
	SRV_CONN_HELD = 1 << 2,	      /* a large message waits for memory (RESERVE said no) */
	SRV_CONN_CLOSE = 1 << 3,      /* write what is queued, then close; no more input */
	SRV_CONN_BUSY = 1 << 4,	      /* a request is with the gdb work or the offload: no input until its reply */
	SRV_CONN_CHANNEL = 1 << 5,    /* a channel's hello went through: hand the socket over */
};

/*
 * A connection with the peer named NAME in logs ("ADDR:PORT"; copied). CFG
 * is kept by pointer and must outlive it. A dialer's hello is queued at
 * once. Exits when memory runs out, as every small host-side allocation.
 */
struct srv_conn *srv_conn_new(const struct srv_conn_config *cfg, const char *name);
/* Releases its reserved memory. NULL is a no-op. */
void srv_conn_free(struct srv_conn *c);

/* The reply to the request DEFER took: queued (REPLY deleted), and input resumes. */
void srv_conn_deliver(struct srv_conn *c, cJSON *reply);

/*
 * The job OFFLOAD took, done (srv_request_run): its reply queued, or the
 * message it handed back handled here; J is freed, and input resumes.
 */
void srv_conn_finish(struct srv_conn *c, struct srv_request_job *j);

/* With SRV_CONN_CHANNEL: the channel's key (its hello's "channel"). */
const char *srv_conn_channel(const struct srv_conn *c);
/*
 * With SRV_CONN_CHANNEL: the link it belongs to (its hello's "link"), or ""
 * when the hello named none (a memtrace older than 0.3).
 */
const char *srv_conn_channel_link(const struct srv_conn *c);
/*
 * A listener's link, once its hello is done: the random id its hello reply
 * gave the peer ("link"), which the peer's channels name, so that they
 * wait among that link's own and no other peer can push them out; "" before.
 */
const char *srv_conn_link(const struct srv_conn *c);

/* A pointer for the caller (the peer's gdb work): NULL at first. */
void *srv_conn_user(const struct srv_conn *c);
void srv_conn_set_user(struct srv_conn *c, void *user);

/* The peer's name, as given. */
const char *srv_conn_name(const struct srv_conn *c);

/*
 * Bytes from the peer: BUF, LEN bytes. Consumes as long as the connection
 * takes input (no reply waiting, not closing, not held) and returns how
 * many bytes it took; the rest must be given again later, as they are.
 * Every message is handled as it completes: a reply is queued, and errors
 * are logged (warnings naming the peer). LEN may be 0 (to retry a held
 * message).
 */
size_t srv_conn_input(struct srv_conn *c, const void *buf, size_t len);

/* The peer closed its side: logged; SRV_CONN_CLOSE is set (what is queued may still be written). */
void srv_conn_eof(struct srv_conn *c);

/* 1 when the connection takes input now: nothing queued, not closing, not held. */
int srv_conn_wants_input(const struct srv_conn *c);

/* SRV_CONN_* flags. */
unsigned srv_conn_flags(const struct srv_conn *c);

/* Bytes queued for the peer; 0 when none. */
size_t srv_conn_pending(const struct srv_conn *c);
/* Up to MAX pieces of the queued bytes, in order. Returns how many. */
int srv_conn_iov(const struct srv_conn *c, struct iovec *iov, int max);
/* N bytes of the queue were written. */
void srv_conn_written(struct srv_conn *c, size_t n);

#endif
