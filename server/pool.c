/*
 * The decode pool (pool.h). One mutex over two queues (to do, done) and a
 * quit flag; an eventfd tells the loop that "done" is not empty. The
 * threads run at a lower priority than the loop (nice +5, per thread on
 * Linux): on a host busy with decodes the loop still gets a core at once
 * when a peer's ping comes.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "decode.h"
#include "log.h"
#include "pool.h"
#include "util.h"

#define POOL_NICE 10

struct queue {
	struct srv_request_job *head, *tail;
};

struct srv_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct queue todo, done;
	int quit;
	int efd;
	char *const *sysroots;
	size_t n_sysroots;
	pthread_t *th;
	unsigned n;
};

static void push(struct queue *q, struct srv_request_job *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
}

static struct srv_request_job *pop(struct queue *q)
{
	struct srv_request_job *j = q->head;

	if (j) {
		q->head = j->next;
		if (!q->head)
			q->tail = NULL;
		j->next = NULL;
	}
	return j;
}

static void *pool_main(void *arg)
{
	struct srv_pool *p = arg;
	struct srv_decoder *d = srv_decoder_new((const char *const *)p->sysroots, p->n_sysroots);
	uint64_t one = 1;
	int large;

	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), POOL_NICE) < 0)
		log_debug("decode pool: setpriority: %s", strerror(errno));
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct srv_request_job *j;

		while (!p->todo.head && !p->quit)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->quit)
			break;
		j = pop(&p->todo);
		pthread_mutex_unlock(&p->mu);
		srv_request_run(d, j);
		pthread_mutex_lock(&p->mu);
		large = j->large;
		push(&p->done, j);
		if (write(p->efd, &one, sizeof(one)) < 0)
			log_warn("decode pool: eventfd: %s", strerror(errno));
		if (large && !p->todo.head) {
			/*
			 * Parse trees are some 20 times their message, in small
			 * blocks: give them back once nothing waits, since
			 * malloc_trim takes every arena's lock in turn, the
			 * loop's too.
			 */
			pthread_mutex_unlock(&p->mu);
			malloc_trim(0);
			pthread_mutex_lock(&p->mu);
		}
	}
	pthread_mutex_unlock(&p->mu);
	srv_decoder_free(d);
	return NULL;
}

struct srv_pool *srv_pool_new(char *const *sysroots, size_t n, unsigned threads)
{
	struct srv_pool *p = xcalloc(1, sizeof(*p));
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int err;

	if (!threads)
		threads = cores > 0 ? (unsigned)cores : 1;
	if (threads > SRV_POOL_MAX)
		threads = SRV_POOL_MAX;
	p->sysroots = sysroots;
	p->n_sysroots = n;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->efd < 0) {
		log_err("decode pool: eventfd: %s", strerror(errno));
		srv_pool_free(p);
		return NULL;
	}
	p->th = xcalloc(threads, sizeof(*p->th));
	for (; p->n < threads; p->n++) {
		err = pthread_create(&p->th[p->n], NULL, pool_main, p);
		if (err) {
			log_err("decode pool: cannot start a thread: %s", strerror(err));
			srv_pool_free(p);
			return NULL;
		}
	}
	return p;
}

unsigned srv_pool_threads(const struct srv_pool *p)
{
	return p->n;
}

int srv_pool_fd(const struct srv_pool *p)
{
	return p->efd;
}

void srv_pool_submit(struct srv_pool *p, struct srv_request_job *j)
{
	pthread_mutex_lock(&p->mu);
	push(&p->todo, j);
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

struct srv_request_job *srv_pool_take(struct srv_pool *p)
{
	struct srv_request_job *j;
	uint64_t n;

	pthread_mutex_lock(&p->mu);
	j = pop(&p->done);
	if (!p->done.head && read(p->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("decode pool: eventfd: %s", strerror(errno));
	pthread_mutex_unlock(&p->mu);
	return j;
}

void srv_pool_free(struct srv_pool *p)
{
	struct srv_request_job *j;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->n; i++)
		pthread_join(p->th[i], NULL);
	while ((j = pop(&p->todo)) || (j = pop(&p->done)))
		srv_request_job_free(j);
	if (p->efd >= 0)
		close(p->efd);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->th);
	free(p);
}
