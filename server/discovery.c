/*
 * Discovery (discovery.h). The receiving socket is bound to the group's
 * address, so it gets that group's datagrams and no unicast; answers go out
 * of a second, unbound socket, from the address the query arrived at
 * (IP_PKTINFO): the querier connects to the answer's source address, which
 * must then be one of ours on its network.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "discovery.h"
#include "log.h"
#include "util.h"

#define NONCE_MAX 64
#define DGRAM_MAX 1024	     /* a query is far smaller; a larger datagram is no query */
#define PER_RUN 64	     /* datagrams read per call, so a flood cannot hold the loop */

struct srv_discovery {
	int fd;		/* joined, bound to the group */
	int send_fd;	/* answers */
	int port;	/* TCP */
	int token;
	in_addr_t only;
	int64_t window;	/* start of the current second */
	int answered;	/* in it */
	int told;	/* the rate limit was logged in it */
};

/* Join GROUP on every IPv4 interface that is up. The number joined, or -1 (ERR). */
static int join_all(int fd, struct in_addr group, char *err, size_t errlen)
{
	struct ifaddrs *ifs, *i;
	int joined = 0, saved = 0;

	if (getifaddrs(&ifs) < 0)
		return log_errbuf(err, errlen, "cannot list the network interfaces: %s", strerror(errno));
	for (i = ifs; i; i = i->ifa_next) {
		struct ip_mreq mr = { .imr_multiaddr = group };
		char a[INET_ADDRSTRLEN];

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP))
			continue;
		/* Loopback has no MULTICAST flag, but a join by its address works there too. */
		mr.imr_interface = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		inet_ntop(AF_INET, &mr.imr_interface, a, sizeof(a));
		if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) == 0) {
			log_debug("discovery: joined on %s (%s)", i->ifa_name, a);
			joined++;
		} else if (errno != EADDRINUSE) { /* EADDRINUSE: a second address of an interface joined already */
			saved = errno;
			log_debug("discovery: cannot join on %s (%s): %s", i->ifa_name, a, strerror(errno));
		}
	}
	freeifaddrs(ifs);
	if (!joined)
		return log_errbuf(err, errlen, "no IPv4 interface that is up could join the group%s%s",
				  saved ? ": " : "", saved ? strerror(saved) : "");
	return joined;
}

struct srv_discovery *srv_discovery_new(const struct net_hostport *group, int tcp_port, int token, in_addr_t only,
					char *err, size_t errlen)
{
	struct srv_discovery *d = xcalloc(1, sizeof(*d));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int one = 1, zero = 0;
	char gs[300];

	net_hostport_str(group, gs, sizeof(gs));
	d->fd = d->send_fd = -1;
	d->port = tcp_port;
	d->token = token;
	d->only = only;
	if (inet_pton(AF_INET, group->host, &sa.sin_addr) != 1 || !IN_MULTICAST(ntohl(sa.sin_addr.s_addr))) {
		log_errbuf(err, errlen, "--multicast-group %s: the group must be an IPv4 multicast address (224.0.0.0/4)", gs);
		goto out_free;
	}
	sa.sin_port = htons((uint16_t)atoi(group->port));
	d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	d->send_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0 || d->send_fd < 0) {
		log_errbuf(err, errlen, "discovery: UDP socket: %s", strerror(errno));
		goto out_close;
	}
	/* Several servers on one host may all answer: each gets its copy of the group's datagrams. */
	setsockopt(d->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(d->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	setsockopt(d->fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof(zero));
	if (bind(d->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_errbuf(err, errlen, "discovery: cannot bind to %s: %s", gs, strerror(errno));
		goto out_close;
	}
	if (join_all(d->fd, sa.sin_addr, err, errlen) < 0)
		goto out_close;
	return d;
out_close:
	if (d->fd >= 0)
		close(d->fd);
	if (d->send_fd >= 0)
		close(d->send_fd);
out_free:
	free(d);
	return NULL;
}

void srv_discovery_free(struct srv_discovery *d)
{
	if (!d)
		return;
	close(d->fd);
	close(d->send_fd);
	free(d);
}

int srv_discovery_fd(const struct srv_discovery *d)
{
	return d->fd;
}

int srv_discovery_answer(const char *dgram, size_t len, int port, int token, char *out, size_t outlen)
{
	cJSON *q = cJSON_ParseWithLength(dgram, len), *a;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(q, "v");
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(q, "cmd");
	const cJSON *nonce = cJSON_GetObjectItemCaseSensitive(q, "nonce");
	int n = -1;

	if (!cJSON_IsObject(q) || !cJSON_IsNumber(v) || v->valuedouble != 1 || !cJSON_IsString(cmd) ||
	    strcmp(cmd->valuestring, "discover") || !cJSON_IsString(nonce) || !nonce->valuestring[0] ||
	    strlen(nonce->valuestring) > NONCE_MAX)
		goto out;
	for (const char *p = nonce->valuestring; *p; p++) {
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			goto out;
	}
	a = cJSON_CreateObject();
	cJSON_AddNumberToObject(a, "v", 1);
	cJSON_AddStringToObject(a, "server", "memtrace-server");
	cJSON_AddStringToObject(a, "version", MEMTRACE_VERSION);
	cJSON_AddStringToObject(a, "nonce", nonce->valuestring);
	cJSON_AddNumberToObject(a, "port", port);
	cJSON_AddBoolToObject(a, "token", token);
	if (cJSON_PrintPreallocated(a, out, (int)outlen, 0) && strlen(out) + 1 < outlen)
		n = (int)strlen(out);
	cJSON_Delete(a);
out:
	cJSON_Delete(q);
	return n;
}

/* Answer to FROM with TEXT (LEN bytes), from local address SPEC (network order; INADDR_ANY: any). */
static void send_answer(struct srv_discovery *d, const struct sockaddr_in *from, in_addr_t spec, const char *text,
			int len)
{
	char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))] = { 0 };
	struct iovec iov = { .iov_base = (void *)text, .iov_len = (size_t)len };
	struct msghdr mh = { .msg_name = (void *)from, .msg_namelen = sizeof(*from), .msg_iov = &iov, .msg_iovlen = 1 };
	char fs[64];

	if (spec != htonl(INADDR_ANY)) {
		struct cmsghdr *cm;
		struct in_pktinfo pi = { .ipi_spec_dst.s_addr = spec };

		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
	net_sockaddr_str((const struct sockaddr *)from, sizeof(*from), fs, sizeof(fs));
	if (sendmsg(d->send_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("discovery: answering %s: %s", fs, strerror(errno));
	else
		log_debug("discovery: answered %s", fs);
}

void srv_discovery_run(struct srv_discovery *d, int64_t now)
{
	for (int i = 0; i < PER_RUN; i++) {
		char buf[DGRAM_MAX + 1], cbuf[256], out[512], fs[64];
		struct sockaddr_in from;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		in_addr_t spec = htonl(INADDR_ANY);
		ssize_t n = recvmsg(d->fd, &mh, MSG_DONTWAIT);
		int alen;

		if (n < 0)
			return; /* EAGAIN: all read; an error on a UDP socket concerns one datagram */
		if (mh.msg_namelen != sizeof(from) || from.sin_family != AF_INET)
			continue;
		net_sockaddr_str((struct sockaddr *)&from, sizeof(from), fs, sizeof(fs));
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;

				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				spec = pi.ipi_spec_dst.s_addr;
			}
		}
		alen = (mh.msg_flags & MSG_TRUNC) || n > DGRAM_MAX ? -1
			: srv_discovery_answer(buf, (size_t)n, d->port, d->token, out, sizeof(out));
		if (alen < 0) {
			log_debug("discovery: %s: a datagram of %zd bytes that is no query: ignored", fs, n);
			continue;
		}
		if (d->only != htonl(INADDR_ANY) && spec != d->only) {
			log_debug("discovery: %s: a query on an address the server does not listen on: ignored", fs);
			continue;
		}
		if (now - d->window >= 1000) {
			d->window = now;
			d->answered = 0;
			d->told = 0;
		}
		if (d->answered >= SRV_DISCOVERY_RATE) {
			if (!d->told)
				log_info("discovery: more than %d queries a second: the rest of this second is not answered",
					 SRV_DISCOVERY_RATE);
			d->told = 1;
			continue;
		}
		d->answered++;
		send_answer(d, &from, spec, out, alen);
	}
}
