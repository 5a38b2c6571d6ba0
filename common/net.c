/*
 * Networking shared by memtrace and memtrace-server (net.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "monotime.h"
#include "net.h"

static int parse_port(const char *s, long min, const char *what, const char *arg, char out[8], char *err,
		      size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = *s ? strtol(s, &end, 10) : -1;
	if (!*s || errno || *end || v < min || v > 65535 || s[0] == '+' || s[0] == '-' || s[0] == ' ')
		return log_errbuf(err, errlen, "%s '%s': the port must be a number from %ld to 65535, not '%s'", what, arg,
				  min, s);
	snprintf(out, 8, "%u", (unsigned)(uint16_t)v); /* v <= 65535 */
	return 0;
}

static int parse_hostport(const char *s, long min_port, const char *what, struct net_hostport *hp, char *err,
			  size_t errlen)
{
	const char *host = s, *port = NULL, *colon;
	size_t hlen;

	memset(hp, 0, sizeof(*hp));
	if (!s || !*s)
		return log_errbuf(err, errlen, "%s: an empty address; give HOST or HOST:PORT", what);
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close)
			return log_errbuf(err, errlen, "%s '%s': a '[' without its ']'", what, s);
		host = s + 1;
		hlen = (size_t)(close - host);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return log_errbuf(err, errlen, "%s '%s': after ']' only :PORT may follow", what, s);
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':')) {
			hlen = strlen(s); /* a bare IPv6 address */
		} else {
			hlen = colon ? (size_t)(colon - s) : strlen(s);
			port = colon ? colon + 1 : NULL;
		}
	}
	if (hlen >= sizeof(hp->host))
		return log_errbuf(err, errlen, "%s: host name longer than %zu bytes", what, sizeof(hp->host) - 1);
	memcpy(hp->host, host, hlen);
	hp->host[hlen] = '\0';
	for (size_t i = 0; i < hlen; i++) {
		if ((unsigned char)host[i] <= ' ' || host[i] == '/' || host[i] == '[' || host[i] == ']')
			return log_errbuf(err, errlen, "%s '%s': '%.*s' is not a host name or address", what, s, (int)hlen,
					  host);
	}
	if (port)
		return parse_port(port, min_port, what, s, hp->port, err, errlen);
	snprintf(hp->port, sizeof(hp->port), "%d", NET_DEFAULT_PORT);
	return 0;
}

int net_parse_hostport(const char *s, const char *what, struct net_hostport *hp, char *err, size_t errlen)
{
	return parse_hostport(s, 1, what, hp, err, errlen);
}

int net_parse_listen(const char *s, const char *what, struct net_hostport *hp, char *err, size_t errlen)
{
	return parse_hostport(s, 0, what, hp, err, errlen);
}

const char *net_hostport_str(const struct net_hostport *hp, char *buf, size_t len)
{
	if (strchr(hp->host, ':'))
		snprintf(buf, len, "[%s]:%s", hp->host, hp->port);
	else
		snprintf(buf, len, "%s:%s", hp->host[0] ? hp->host : "0.0.0.0", hp->port);
	return buf;
}

const char *net_sockaddr_str(const struct sockaddr *sa, socklen_t salen, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN], port[8];

	if (getnameinfo(sa, salen, host, sizeof(host), port, sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV)) {
		snprintf(buf, len, "?");
		return buf;
	}
	if (sa->sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%s", host, port);
	else
		snprintf(buf, len, "%s:%s", host, port);
	return buf;
}

static int resolve(const struct net_hostport *hp, int passive, struct addrinfo **res, const char *what,
		   char *err, size_t errlen)
{
	struct addrinfo hints = { 0 };
	char hs[300];
	int rc;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = passive && !hp->host[0] ? AF_INET : AF_UNSPEC;
	hints.ai_flags = passive ? AI_PASSIVE : AI_ADDRCONFIG;
	rc = getaddrinfo(hp->host[0] ? hp->host : NULL, hp->port, &hints, res);
	if (rc && rc != EAI_SYSTEM && !passive) {
		hints.ai_flags &= ~AI_ADDRCONFIG; /* loopback-only machines */
		rc = getaddrinfo(hp->host[0] ? hp->host : NULL, hp->port, &hints, res);
	}
	if (rc)
		return log_errbuf(err, errlen, "%s %s: %s", what, net_hostport_str(hp, hs, sizeof(hs)),
				  rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	return 0;
}

/* Wait for a non-blocking connect on FD until DEADLINE; 0 or -1 with errno. */
static int connect_wait(int fd, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	for (;;) {
		int64_t left = deadline - monotime_ms();
		int n;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n > 0)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		return -1;
	if (soerr) {
		errno = soerr;
		return -1;
	}
	return 0;
}

/*
 * A socket for the first of RES's addresses that USE takes: for each in turn
 * a new non-blocking, close-on-exec socket goes to USE(fd, address, ARG),
 * which returns 0 to keep it or -1 with errno set; a failure whose errno is
 * STOP (0: none) ends the search. Frees RES. The socket, or -1 with *SAVED
 * the last failure's errno (0 when RES held no address).
 */
static int first_socket(struct addrinfo *res, int (*use)(int fd, const struct addrinfo *ai, void *arg), void *arg,
			int stop, int *saved)
{
	int fd = -1;

	*saved = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			*saved = errno;
			continue;
		}
		if (use(fd, ai, arg) == 0)
			break;
		*saved = errno;
		close(fd);
		fd = -1;
		if (stop && *saved == stop)
			break;
	}
	freeaddrinfo(res);
	return fd;
}

/* first_socket's step for net_connect: connected before the deadline *ARG. */
static int try_connect(int fd, const struct addrinfo *ai, void *arg)
{
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
	    (errno == EINPROGRESS && connect_wait(fd, *(const int64_t *)arg) == 0))
		return 0;
	return -1;
}

/* first_socket's step for net_listen: bound (the address reusable at once) and listening. */
static int try_listen(int fd, const struct addrinfo *ai, void *arg)
{
	int one = 1;

	(void)arg;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	return bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0 ? 0 : -1;
}

int net_connect(const struct net_hostport *hp, int timeout_ms, char *err, size_t errlen)
{
	int64_t deadline = monotime_ms() + timeout_ms;
	struct addrinfo *res;
	int fd, saved, one = 1;
	char hs[300];

	if (resolve(hp, 0, &res, "cannot resolve", err, errlen) < 0)
		return -1;
	fd = first_socket(res, try_connect, &deadline, ETIMEDOUT, &saved);
	if (fd < 0) {
		return log_errbuf(err, errlen, "cannot connect to %s: %s%s", net_hostport_str(hp, hs, sizeof(hs)),
				  strerror(saved ? saved : EHOSTUNREACH),
				  saved == ECONNREFUSED ? " (is anything listening there?)"
				  : saved == ETIMEDOUT  ? " (no answer: a firewall, or a wrong address?)"
							: "");
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int net_listen(const struct net_hostport *hp, char *err, size_t errlen)
{
	struct addrinfo *res;
	int fd, saved;
	char hs[300];

	if (resolve(hp, 1, &res, "cannot listen on", err, errlen) < 0)
		return -1;
	fd = first_socket(res, try_listen, NULL, 0, &saved);
	if (fd < 0)
		return log_errbuf(err, errlen, "cannot listen on %s: %s%s", net_hostport_str(hp, hs, sizeof(hs)),
				  strerror(saved), saved == EADDRINUSE ? " (another program has that port: choose another)"
						   : saved == EACCES ? " (ports below 1024 need root)"
						   : saved == EADDRNOTAVAIL ? " (no interface of this machine has that address)"
									    : "");
	return fd;
}

int net_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

int net_token_check(const char *token, char *err, size_t errlen)
{
	size_t n = strlen(token);

	if (!n)
		return log_errbuf(err, errlen, "the token is empty");
	if (n > NET_TOKEN_MAX)
		return log_errbuf(err, errlen, "the token is longer than %d bytes", NET_TOKEN_MAX);
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)token[i] < ' ' || token[i] == 0x7f)
			return log_errbuf(err, errlen, "the token holds a control character (byte %zu)", i + 1);
	}
	return 0;
}

int net_token_load(const char *path, char **token, char *err, size_t errlen)
{
	char buf[NET_TOKEN_MAX + 3], why[128];
	FILE *f = fopen(path, "r");
	size_t n;

	*token = NULL;
	if (!f)
		return log_errbuf(err, errlen, "--token-file %s: %s", path, strerror(errno));
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return log_errbuf(err, errlen, "--token-file %s: the file is empty", path);
	}
	fclose(f);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (n > NET_TOKEN_MAX)
		return log_errbuf(err, errlen, "--token-file %s: the token is longer than %d bytes", path, NET_TOKEN_MAX);
	if (n && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (net_token_check(buf, why, sizeof(why)) < 0)
		return log_errbuf(err, errlen, "--token-file %s: %s", path, why);
	*token = strdup(buf);
	if (!*token)
		return log_errbuf(err, errlen, "out of memory");
	return 0;
}

int net_token_equal(const char *expected, const char *given, size_t len)
{
	size_t n = strlen(expected);
	volatile unsigned char diff = (unsigned char)(len != n);

	/* Walk EXPECTED whole; GIVEN's bytes past its end read as 0 from a fixed place. */
	for (size_t i = 0; i < n; i++) {
		unsigned char g = 0;

		if (given && len) {
			size_t in = i < len;
			size_t at = i * in; /* 0 when past the end: no branch on the data */

			g = (unsigned char)(given[at] & (unsigned char)-(int)in);
		}
		diff |= (unsigned char)(expected[i] ^ g);
	}
	return given && diff == 0;
}

int net_channel_new(char *buf, size_t len)
{
	unsigned char r[NET_CHANNEL_KEY / 2];
	size_t got = 0;

	if (len <= NET_CHANNEL_KEY)
		return -1;
	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(buf + 2 * i, 3, "%02x", r[i]);
	return 0;
}

int net_channel_valid(const char *key)
{
	size_t n = 0;

	if (!key)
		return 0;
	for (; key[n]; n++)
		if (!((key[n] >= '0' && key[n] <= '9') || (key[n] >= 'a' && key[n] <= 'f')))
			return 0;
	return n >= 16 && n <= NET_CHANNEL_MAX;
}
