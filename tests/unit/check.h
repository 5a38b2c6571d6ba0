/*
 * What every unit test shares: CHECK(cond, fmt, ...) counts a check and
 * prints "FAIL file:line: message" when it fails; broken() ends the test as a
 * broken harness (exit 99). Each test prints its summary and exits 0 or 1.
 */
#ifndef TEST_CHECK_H
#define TEST_CHECK_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int checks, failures;

static inline void __attribute__((format(printf, 4, 5)))
check_at(int ok, const char *file, int line, const char *fmt, ...)
{
	const char *base = strrchr(file, '/');
	va_list ap;

	checks++;
	if (ok)
		return;
	failures++;
	printf("FAIL %s:%d: ", base ? base + 1 : file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

#define CHECK(ok, ...) check_at(!!(ok), __FILE__, __LINE__, __VA_ARGS__)

static inline void broken(const char *what)
{
	printf("BROKEN: %s: %s\n", what, strerror(errno));
	exit(99);
}

#endif
