/*
 * Small helpers for memtrace and memtrace-server: writing a whole buffer,
 * checked allocation, number parsing, a hex dump, human-readable sizes.
 */
#ifndef INJ_UTIL_H
#define INJ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Write all LEN bytes of BUF to FD, through EINTR and short writes. 0, or -1
 * with errno (ENOSPC when the file takes no more). */
int write_all(int fd, const void *buf, size_t len);

/* malloc/calloc/strdup that never return NULL: out of memory ends the
 * program (log_oom). A size of 0 still gives a unique pointer. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);

/* Parse a whole decimal string into [MIN, MAX]. 0, or -1 if it is not one. */
int parse_long(const char *s, long min, long max, long *out);
/* Parse seconds, fractions allowed ("0.5"), into milliseconds in [0, MAX_MS]. */
int parse_seconds_ms(const char *s, long max_ms, long *out_ms);
/* Parse "0x1a2b" (or decimal). 0 or -1. */
int parse_u64(const char *s, uint64_t *out);

/* Hex + ASCII dump of LEN bytes, 16 per line, offsets from 0, each line indented. */
void hexdump(FILE *out, const unsigned char *p, size_t len, const char *indent);

/* "1.5 MiB"-style size into BUF. */
const char *human_size(char *buf, size_t size, uint64_t bytes);

/*
 * The value of the first line of /proc status file PATH that starts with
 * KEY ("Seccomp:", "CapEff:"), blanks before it skipped, into VAL (LEN
 * bytes). 0, or -1 when there is no such file or line.
 */
int proc_status_value(const char *path, const char *key, char *val, size_t len);

#endif
