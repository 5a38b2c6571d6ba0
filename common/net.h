/*
 * Networking shared by memtrace and memtrace-server for their link
 * (docs/protocol.md, "Server link"): HOST[:PORT] arguments, TCP connect with
 * a deadline, listening sockets, peer names, the shared token and the
 * discovery group.
 *
 * Every function reports a failure as -1 with a message for the user in ERR
 * (ERRLEN bytes) that names what was asked for and why it failed.
 */
#ifndef MEMTRACE_NET_H
#define MEMTRACE_NET_H

#include <stddef.h>
#include <sys/socket.h>

/* TCP port of memtrace-server, also its UDP discovery port; used wherever a :PORT is left out. */
#define NET_DEFAULT_PORT 3002
/* Discovery group: IPv4 local scope (239.255.0.0/16, RFC 2365), so routers do not pass it on. */
#define NET_MCAST_GROUP "239.255.42.3"
/* Longest token accepted (bytes, without the NUL). */
#define NET_TOKEN_MAX 256

struct net_hostport {
	char host[256]; /* name or numeric address, without brackets; "" for any (listening) */
	char port[8];	/* decimal */
};

/*
 * Parse S, one of HOST, HOST:PORT, [V6ADDR], [V6ADDR]:PORT or a bare IPv6
 * address; a missing port is NET_DEFAULT_PORT. WHAT names the option in
 * messages ("--connect"). 0, or -1 (ERR says what is wrong with S).
 */
int net_parse_hostport(const char *s, const char *what, struct net_hostport *hp, char *err, size_t errlen);
/* The same for an address to listen on, where PORT may also be 0 (any free port). */
int net_parse_listen(const char *s, const char *what, struct net_hostport *hp, char *err, size_t errlen);

/* "HOST:PORT" (IPv6 in brackets) of HP, in BUF. Returns BUF. */
const char *net_hostport_str(const struct net_hostport *hp, char *buf, size_t len);

/*
 * Connect to HP over TCP, trying each address the name resolves to, giving
 * up after TIMEOUT_MS in all. Returns a blocking, close-on-exec socket with
 * TCP_NODELAY, or -1.
 */
int net_connect(const struct net_hostport *hp, int timeout_ms, char *err, size_t errlen);

/*
 * Listen on HP over TCP (host "" is every IPv4 address; port "0" picks a
 * free one: net_local_port tells which). Returns a non-blocking,
 * close-on-exec socket with SO_REUSEADDR, or -1.
 */
int net_listen(const struct net_hostport *hp, char *err, size_t errlen);

/* The local port of socket FD, or -1. */
int net_local_port(int fd);

/* "ADDR:PORT" of SA (IPv6 in brackets) in BUF. Returns BUF. */
const char *net_sockaddr_str(const struct sockaddr *sa, socklen_t salen, char *buf, size_t len);

/*
 * The token in file PATH: its first line, without the line end. Refused when
 * empty, longer than NET_TOKEN_MAX, or holding a control character. The
 * caller frees *TOKEN. 0 or -1.
 */
int net_token_load(const char *path, char **token, char *err, size_t errlen);
/* The same checks for a token given on the command line. 0 or -1. */
int net_token_check(const char *token, char *err, size_t errlen);

/*
 * 1 if GIVEN (LEN bytes, may be NULL) equals EXPECTED, else 0. The time
 * taken depends only on EXPECTED's length, not on where the two differ
 * or on GIVEN's length.
 */
int net_token_equal(const char *expected, const char *given, size_t len);

/*
 * Channels (docs/protocol.md, "Channels"): a second connection of a link,
 * named by a random key, that carries raw bytes (a core, gdb's remote
 * protocol) once its hello is answered.
 */
#define NET_CHANNEL_KEY 32 /* hex digits of a new key */
#define NET_CHANNEL_MAX 64 /* the most a key may have */
/* A new key (NET_CHANNEL_KEY hex digits from getrandom) in BUF (> NET_CHANNEL_KEY bytes). 0 or -1. */
int net_channel_new(char *buf, size_t len);
/* 1 when KEY (may be NULL) is 16 to NET_CHANNEL_MAX lowercase hex digits. */
int net_channel_valid(const char *key);

#endif
