/*
 * stderr logging with a level, for host-side programs. errno is kept so
 * callers can log and then return the failure unchanged.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

static const char *log_name = "memtrace";
static enum log_level log_level = LOG_WARN;
/* This thread's errors are also kept here (log_capture). */
static __thread char *cap_buf;
static __thread size_t cap_len;

void log_capture(char *buf, size_t len)
{
	cap_buf = len ? buf : NULL;
	cap_len = len;
	if (cap_buf)
		cap_buf[0] = '\0';
}

void log_set_name(const char *name)
{
	log_name = name;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	int saved = errno;

	if (level == LOG_ERR && cap_buf) {
		va_list cp;

		va_copy(cp, ap);
		vsnprintf(cap_buf, cap_len, fmt, cp);
		va_end(cp);
	}
	if (level <= log_level) {
		fprintf(stderr, "%s: ", log_name);
		if (level == LOG_WARN)
			fputs("warning: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		fflush(stderr);
	}
	errno = saved;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

int log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERR, fmt, ap);
	va_end(ap);
	return -1;
}

void *log_err_null(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERR, fmt, ap);
	va_end(ap);
	return NULL;
}

int log_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", log_name);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry '%s --help'.\n", log_name);
	va_end(ap);
	return 2;
}

void log_oom(void)
{
	log_err("out of memory");
	exit(125);
}

int log_errbuf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}
