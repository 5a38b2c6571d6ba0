/*
 * The disk budget of received cores (corebudget.h). The budgets are what
 * the user allows; the file system's room is what there is: both are
 * checked, because a budget bigger than the disk (the defaults, on a small
 * tmpfs) must not let a core fail after gigabytes were sent.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "corebudget.h"
#include "log.h"

#define MIB(n) ((double)(n) / (1024.0 * 1024.0))

int srv_corebudget_take(struct srv_corebudget *b, uint64_t bytes, char *why, size_t len)
{
	struct statvfs sv;
	int rc = -1;

	if (bytes > b->per_peer) {
		snprintf(why, len, "a core of %.1f MiB is over this server's budget for one peer, %.1f MiB "
			 "(memtrace-server --peer-core-budget)", MIB(bytes), MIB(b->per_peer));
		return -1;
	}
	if (b->held + bytes > b->total || b->held + bytes < b->held) {
		snprintf(why, len, "a core of %.1f MiB does not fit now: the cores of other peers hold %.1f MiB of "
			 "this server's %.1f MiB (memtrace-server --core-budget); try again later", MIB(bytes),
			 MIB(b->held), MIB(b->total));
		goto out;
	}
	if (b->dir && statvfs(b->dir, &sv) == 0) {
		uint64_t room = (uint64_t)sv.f_bavail * sv.f_frsize;

		/* What the uploads under way will still write is not room. */
		room = room > b->coming ? room - b->coming : 0;
		if (bytes > room) {
			snprintf(why, len, "a core of %.1f MiB does not fit on the server's disk: %s has %.1f MiB "
				 "free for it; try again later", MIB(bytes), b->dir, MIB(room));
			goto out;
		}
	} else if (b->dir) {
		log_debug("statvfs %s: %s: only the budgets count", b->dir, strerror(errno));
	}
	b->held += bytes;
	b->coming += bytes;
	rc = 0;
out:
	pthread_mutex_unlock(&b->mu);
	return rc;
}

void srv_corebudget_arrived(struct srv_corebudget *b, uint64_t bytes)
{
	pthread_mutex_lock(&b->mu);
	b->coming -= bytes < b->coming ? bytes : b->coming;
	pthread_mutex_unlock(&b->mu);
}

void srv_corebudget_release(struct srv_corebudget *b, uint64_t bytes)
{
	pthread_mutex_lock(&b->mu);
	b->held -= bytes < b->held ? bytes : b->held;
	pthread_mutex_unlock(&b->mu);
}
