/*
 * The agent's reader for requests: one JSON object whose members are
 * strings, integers, booleans or null. Nested objects and arrays are
 * accepted and skipped (so newer clients may add fields). Strict otherwise:
 * anything that is not JSON is an error with its byte offset.
 */
#ifndef AGENT_JSONR_H
#define AGENT_JSONR_H

#include <stddef.h>
#include <stdint.h>

enum jsonr_type { JSONR_STRING, JSONR_INT, JSONR_BOOL, JSONR_NULL, JSONR_OTHER };

struct jsonr_member {
	const char *key;		/* decoded, NUL-terminated, in the input buffer */
	enum jsonr_type type;
	const char *str;		/* JSONR_STRING: decoded, NUL-terminated */
	size_t str_len;
	int64_t num;			/* JSONR_INT, JSONR_BOOL */
};

enum jsonr_result { JSONR_OK, JSONR_BAD_INPUT, JSONR_TOO_MANY };

/*
 * Parse BUF (LEN bytes, modified in place; BUF[LEN] must be writable and is
 * set to NUL). Fills up to MAX members in OUT and sets *N. On error, *ERR is
 * a static message and *ERR_AT the byte offset.
 */
enum jsonr_result jsonr_parse(char *buf, size_t len, struct jsonr_member *out, int max, int *n,
			      const char **err, size_t *err_at);

/* Member named KEY, or NULL. */
const struct jsonr_member *jsonr_get(const struct jsonr_member *m, int n, const char *key);

#endif
