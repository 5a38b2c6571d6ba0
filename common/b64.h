/*
 * Base64 (RFC 4648, the standard alphabet with '=' padding), as static
 * inline functions so that the agent, which links nothing of common/, can
 * use the decoder too. Rows of unwind tables travel as base64 in JSON
 * (memtrace-server to memtrace to the agent: docs/protocol.md).
 */
#ifndef COMMON_B64_H
#define COMMON_B64_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed to encode N bytes (no NUL). */
static inline size_t b64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

/* Encode N bytes of IN into OUT (b64_encoded_len(N) characters, no NUL added). */
static inline void b64_encode(const uint8_t *in, size_t n, char *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i = 0;

	for (; i + 3 <= n; i += 3, out += 4) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[0] = abc[v >> 18];
		out[1] = abc[(v >> 12) & 63];
		out[2] = abc[(v >> 6) & 63];
		out[3] = abc[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);

		out[0] = abc[v >> 18];
		out[1] = abc[(v >> 12) & 63];
		out[2] = i + 1 < n ? abc[(v >> 6) & 63] : '=';
		out[3] = '=';
	}
}

static inline int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode the LEN characters at IN into OUT, which has room for CAP bytes.
 * The bytes written, or -1: LEN not a multiple of 4, a character outside
 * the alphabet, padding anywhere but at the end, or more than CAP bytes.
 */
static inline long b64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	size_t n = 0;

	if (len % 4)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4], pad = 0;

		for (int k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad || (v[k] = b64_value(in[i + k])) < 0) {
				return -1;
			}
		}
		if (n + 3 - (size_t)pad > cap)
			return -1;
		out[n++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[n++] = (uint8_t)(v[1] << 4 | v[2] >> 2);
		if (pad < 1)
			out[n++] = (uint8_t)(v[2] << 6 | v[3]);
	}
	return (long)n;
}

#endif
