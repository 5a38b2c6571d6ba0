/*
 * The latest sample of every linked device, as Prometheus' text exposition
 * format (memtrace-server --metrics; docs/server.md, "Metrics").
 *
 * A linked memtrace that samples (--sample) sends each sample to the
 * server (the link's `sample` request, docs/protocol.md): the process's
 * heap and RSS with their growth, and its fastest-growing contexts with
 * their callstacks, which the decode pool decodes. The store keeps the
 * last one of each link, replacing it at the next and forgetting it when
 * the link ends, and writes them all on demand. Pure: no sockets, clocks
 * or threads (the event loop calls it; server/fuzz_metrics.c drives it).
 *
 * Everything a device sent is data here, never syntax: label values are
 * escaped as the format asks (\\, \", \n), bytes that are not UTF-8 or are
 * control characters become '?', and each is cut at 200 bytes; numbers
 * that are not finite are left out. Labels of a device: `device` (the host
 * name it gave), `program`, `pid`, `peer` (its address as the server saw
 * it). A context adds `context` (its id), `function` and `location`
 * (file:line) from the first frame decoded with a source file (the
 * program's own code, rather than a C library wrapper such as strdup),
 * else the first frame's function or symbol.
 */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define SRV_METRICS_TOP 10     /* --metrics-top's default: contexts per device */
#define SRV_METRICS_TOP_MAX 100

struct srv_metrics;

/* A store that shows TOP contexts a device (1 to SRV_METRICS_TOP_MAX). NULL when out of memory. */
struct srv_metrics *srv_metrics_new(int top);
void srv_metrics_free(struct srv_metrics *m);

/*
 * LINK's latest sample (the `sample` member of its request, decoded;
 * taken), from the peer at address PEER. LINK is a key the caller keeps
 * unique per link. A sample that is not an object is dropped. 0, or -1
 * when out of memory (the link's earlier sample is then forgotten).
 */
int srv_metrics_put(struct srv_metrics *m, const char *link, const char *peer, cJSON *sample);

/* LINK ended: its sample goes. */
void srv_metrics_forget(struct srv_metrics *m, const char *link);

/* How many links have a sample. */
size_t srv_metrics_devices(const struct srv_metrics *m);

/*
 * The exposition text of every sample (malloc'ed, NUL-terminated, its
 * length in *LEN), or NULL when out of memory.
 */
char *srv_metrics_text(const struct srv_metrics *m, size_t *len);

/*
 * An HTTP request in BUF (LEN bytes so far, as read from a scraper): 0
 * while its head is not whole yet, else the status to answer: 200 for `GET
 * /metrics` or `HEAD /metrics` (a query string allowed), 404 another path,
 * 405 another method, 400 anything else that is not a request line, 431
 * a head longer than SRV_HTTP_MAX_HEAD. *HEAD is set to 1 for HEAD.
 */
#define SRV_HTTP_MAX_HEAD 8192
int srv_http_parse(const char *buf, size_t len, int *head);

#endif
