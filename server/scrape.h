/*
 * The --metrics endpoint: a listening TCP socket and the scrapers connected
 * to it (Prometheus, curl), served by the network mode's event loop
 * without blocking. Each connection sends one request (its head at most
 * SRV_HTTP_MAX_HEAD bytes, parsed by srv_http_parse), gets one answer and
 * is closed (`Connection: close`). At most SRV_SCRAPERS at once, a new one
 * closing the oldest; each has SRV_SCRAPE_MS for the whole exchange, so a
 * scraper that sends nothing or reads nothing holds nothing for long.
 */
#ifndef SRV_SCRAPE_H
#define SRV_SCRAPE_H

#include <poll.h>
#include <stdint.h>

#include "metrics.h"
#include "net.h"

#define SRV_SCRAPERS 16
#define SRV_SCRAPE_MS 10000 /* Prometheus' default scrape timeout */

struct srv_scrape;

/* Listen at WHERE (":0": a free port). NULL with ERR set when it cannot. */
struct srv_scrape *srv_scrape_new(const struct net_hostport *where, char *err, size_t len);
void srv_scrape_free(struct srv_scrape *s);

/* "ADDR:PORT" it listens on, in BUF. */
const char *srv_scrape_where(const struct srv_scrape *s, char *buf, size_t len);

/*
 * Its descriptors for a poll, at most 1 + SRV_SCRAPERS into FDS; *NEXT is
 * lowered to its next deadline. Closes the connections past theirs.
 * Returns how many it added.
 */
size_t srv_scrape_fds(struct srv_scrape *s, struct pollfd *fds, int64_t now, int64_t *next);

/* After the poll: FDS as srv_scrape_fds filled them (N of them); answers from M. */
void srv_scrape_run(struct srv_scrape *s, const struct pollfd *fds, size_t n, int64_t now,
		    const struct srv_metrics *m);

#endif
