/*
 * Multicast discovery of a memtrace-server (docs/protocol.md, "Discovery").
 *
 * One UDP socket sends the query out of each IPv4 interface that is up in
 * turn (IP_MULTICAST_IF), so a server on any of the device's networks
 * hears it, loopback too: lo has no MULTICAST flag, but a datagram sent
 * with IP_MULTICAST_IF=127.0.0.1 reaches a server that joined the group
 * there. Answers come back unicast to that socket; a random nonce tells
 * ours from stale ones.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "link/discover.h"
#include "log.h"
#include "proto.h"
#include "report.h"
#include "session.h"

#define QUERY_ROUNDS 3
#define QUERY_INTERVAL_MS 500
#define MORE_ANSWERS_MS 50
#define MAX_IFACES 32

static void make_nonce(char *buf, size_t len)
{
	unsigned char raw[8];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
		/* Only ours against stale answers: no secret rides on it. */
		uint64_t v = (uint64_t)proto_now_ms() * 6364136223846793005ULL ^ (uint64_t)getpid();

		memcpy(raw, &v, sizeof(raw));
	}
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < sizeof(raw) && 2 * i + 2 < len; i++)
		snprintf(buf + 2 * i, 3, "%02x", raw[i]);
}

/* The IPv4 addresses of the interfaces that are up, into ADDRS; how many. */
static int up_interfaces(struct in_addr *addrs, int max)
{
	struct ifaddrs *ifa, *i;
	int n = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i && n < max; i = i->ifa_next) {
		struct in_addr a;
		int dup = 0;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP))
			continue;
		a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		for (int k = 0; k < n; k++)
			dup |= addrs[k].s_addr == a.s_addr;
		if (!dup)
			addrs[n++] = a;
	}
	freeifaddrs(ifa);
	return n;
}

/* One query out of each interface. How many went out; *ERRNUM the last failure. */
static int send_queries(int fd, const struct sockaddr_in *group, const char *query, const struct in_addr *ifs,
			int nifs, int *errnum)
{
	int sent = 0;

	for (int i = 0; i < (nifs ? nifs : 1); i++) {
		if (nifs && setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ifs[i], sizeof(ifs[i])) < 0) {
			*errnum = errno;
			continue;
		}
		if (sendto(fd, query, strlen(query), 0, (const struct sockaddr *)group, sizeof(*group)) < 0) {
			char a[INET_ADDRSTRLEN];

			*errnum = errno;
			log_debug("discovery query out of %s: %s",
				  nifs ? inet_ntop(AF_INET, &ifs[i], a, sizeof(a)) : "the default interface",
				  strerror(errno));
			continue;
		}
		sent++;
	}
	return sent;
}

/* A datagram in BUF from FROM: fills FOUND if it answers NONCE. 1 yes, 0 no. */
static int take_answer(const char *buf, size_t len, const struct sockaddr_in *from, const char *nonce,
		       struct inj_found *found)
{
	cJSON *a = cJSON_ParseWithLength(buf, len);
	const cJSON *port = cJSON_GetObjectItemCaseSensitive(a, "port");
	int ok = cJSON_IsObject(a) && inj_json_num_int(a, "v") == PROTO_VERSION &&
		 !strcmp(inj_json_str(a, "server", ""), "memtrace-server") &&
		 !strcmp(inj_json_str(a, "nonce", ""), nonce) && cJSON_IsNumber(port) &&
		 port->valuedouble >= 1 && port->valuedouble <= 65535 && port->valuedouble == (int)port->valuedouble;

	if (ok) {
		memset(found, 0, sizeof(*found));
		inet_ntop(AF_INET, &from->sin_addr, found->server.host, sizeof(found->server.host));
		snprintf(found->server.port, sizeof(found->server.port), "%d", port->valueint);
		snprintf(found->version, sizeof(found->version), "%s", inj_json_str(a, "version", "?"));
		found->token = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "token"));
	}
	cJSON_Delete(a);
	return ok;
}

/* F is among the N answers in FOUND already. */
static int seen(const struct inj_found *found, int n, const struct inj_found *f)
{
	for (int k = 0; k < n; k++)
		if (!strcmp(found[k].server.host, f->server.host) && !strcmp(found[k].server.port, f->server.port))
			return 1;
	return 0;
}

int inj_discover(const struct net_hostport *group, int total_ms, struct inj_found found[INJ_FOUND_MAX], char *err,
		 size_t errlen)
{
	struct sockaddr_in gaddr = { .sin_family = AF_INET };
	struct in_addr ifs[MAX_IFACES];
	int64_t start = proto_now_ms(), end = start + total_ms;
	int fd, nifs, ttl = 1, loop = 1, errnum = 0, sent = 0, nfound = 0;
	char nonce[17] = "", query[128], gs[300];

	net_hostport_str(group, gs, sizeof(gs));
	if (inet_pton(AF_INET, group->host, &gaddr.sin_addr) != 1)
		return log_errbuf(err, errlen, "multicast group %s is not an IPv4 address", gs);
	gaddr.sin_port = htons((uint16_t)atoi(group->port));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_errbuf(err, errlen, "discovery on %s: socket: %s", gs, strerror(errno));
	setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl));
	setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop));
	make_nonce(nonce, sizeof(nonce));
	snprintf(query, sizeof(query), "{\"v\": %d, \"cmd\": \"discover\", \"nonce\": \"%s\"}", PROTO_VERSION, nonce);
	nifs = up_interfaces(ifs, MAX_IFACES);

	for (int round = 0; round < QUERY_ROUNDS && !nfound && proto_now_ms() < end; round++) {
		int64_t next = proto_now_ms() + QUERY_INTERVAL_MS;

		sent += send_queries(fd, &gaddr, query, ifs, nifs, &errnum);
		if (!sent) {
			log_errbuf(err, errlen, "cannot send a discovery query to %s: %s", gs, strerror(errnum));
			goto out;
		}
		for (;;) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			char buf[1024];
			int64_t left = (next < end ? next : end) - proto_now_ms();
			ssize_t n;

			if (left <= 0 || nfound == INJ_FOUND_MAX)
				break;
			if (poll(&p, 1, (int)left) <= 0)
				continue;
			n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			if (n <= 0 || fl < sizeof(from) || from.sin_family != AF_INET)
				continue;
			if (!take_answer(buf, (size_t)n, &from, nonce, &found[nfound])) {
				log_debug("discovery: a datagram from %s that is not an answer to this query",
					  inet_ntoa(from.sin_addr));
				continue;
			}
			if (seen(found, nfound, &found[nfound]))
				continue; /* the same server, by another way */
			if (!nfound++)
				next = proto_now_ms() + MORE_ANSWERS_MS;
		}
	}
	if (!nfound)
		log_errbuf(err, errlen, "no memtrace-server answered on %s within %.1f s (is one running, with "
			   "multicast on, on a network of this device?)", gs, (double)(proto_now_ms() - start) / 1000);
out:
	close(fd);
	return nfound ? nfound : -1;
}
