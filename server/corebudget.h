/*
 * The disk that received cores may take (docs/server.md, "Limits"). A core
 * a linked memtrace sends is written to a file ($TMPDIR, or --cores DIR)
 * and stays there while gdb has it open; without a bound, one peer could
 * fill the host's disk and make every other peer's core (and anything else
 * on that file system) fail halfway. So a core is checked before a byte of
 * it is read: against the budget of one peer, the budget of every peer at
 * once, and the room left on the file system, minus what the uploads under
 * way will still write. A refusal says which bound it hit.
 *
 * Shared by the peers' work threads (server/work.c), under a lock of its own.
 */
#ifndef SRV_COREBUDGET_H
#define SRV_COREBUDGET_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define SRV_CORE_PEER_BUDGET (2ull << 30) /* --peer-core-budget's default: one core of a big device */
#define SRV_CORE_BUDGET (8ull << 30)	  /* --core-budget's default: four such at once */

struct srv_corebudget {
	uint64_t total;	   /* every peer's cores at once */
	uint64_t per_peer; /* one peer's (one core at a time: the next closes the last) */
	const char *dir;   /* where cores are written: its file system's room is checked */
	pthread_mutex_t mu;
	uint64_t held;	 /* bytes of the cores received or being received */
	uint64_t coming; /* of those, the bytes of uploads under way (not on disk yet) */
};

/* TOTAL and PER_PEER bytes, cores written in DIR (kept by pointer; NULL: no room check). */
#define SRV_COREBUDGET_INIT(total_, per_peer_, dir_)                                                     \
	{ .total = (total_), .per_peer = (per_peer_), .dir = (dir_), .mu = PTHREAD_MUTEX_INITIALIZER }

/*
 * May a peer's core of BYTES come now? 0: yes, and BYTES are taken (held and
 * coming) until srv_corebudget_release. -1: no, with the reason for the
 * peer in WHY (LEN bytes): over the per-peer budget, over the total budget
 * with the others' cores, or more than the file system of DIR has room for
 * (statvfs; when that fails, only the budgets count).
 */
int srv_corebudget_take(struct srv_corebudget *b, uint64_t bytes, char *why, size_t len);

/* The upload of BYTES taken is over (written, or failed): no longer coming. */
void srv_corebudget_arrived(struct srv_corebudget *b, uint64_t bytes);

/* The core of BYTES is gone (its view closed, its upload failed, its peer gone). */
void srv_corebudget_release(struct srv_corebudget *b, uint64_t bytes);

#endif
