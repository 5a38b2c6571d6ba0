/*
 * The one clock for timeouts and deadlines, in every program and in the
 * agent (and the one wall-clock deadline, for the waits that need one):
 * CLOCK_MONOTONIC, which the wall clock's steps (NTP, date, a board
 * without an RTC setting its time at boot) do not move. Inline, so that the
 * agent, libgdbmi and each program take it without linking anything.
 * clock_gettime is async-signal-safe and does not allocate.
 */
#ifndef MEMTRACE_MONOTIME_H
#define MEMTRACE_MONOTIME_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds since an arbitrary point fixed at boot. */
static inline int64_t monotime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Milliseconds, the same clock, rounded down. */
static inline int64_t monotime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The absolute CLOCK_REALTIME time TIMEOUT_MS (>= 0) from now, for the waits
 * that take a wall-clock deadline (sem_timedwait, pthread_cond_timedwait on
 * a default condition variable): a step of the wall clock meanwhile
 * lengthens or shortens them, which their callers accept.
 */
static inline struct timespec wall_deadline(int timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

#endif
