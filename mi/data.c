/*
 * data.c: reading what a stopped program holds: frames, locals and
 * arguments, memory, expressions, and the text of console commands.
 *
 * Memory is read in pieces of 1 MiB: each answer is one line of 2 MiB of
 * hex, and a piece that gdb cannot read in full tells where the readable
 * part ends. -stack-list-variables needs --thread with --frame, so the
 * selected thread is asked for when the caller names none.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

#define MEMORY_PIECE (1u << 20)

enum gdbmi_status gdbmi_list_frames(struct gdbmi_session *s, long thread, long low, long high,
				    struct gdbmi_frames **out)
{
	struct gdbmi_record *rec;
	enum gdbmi_status st;
	char sel[32] = "", range[48] = "";

	*out = NULL;
	if (thread > 0)
		snprintf(sel, sizeof(sel), " --thread %ld", thread);
	if (low > 0 || high >= 0)
		snprintf(range, sizeof(range), " %ld %ld", low < 0 ? 0 : low, high < 0 ? -1 : high);
	st = gdbmi_cmd(s, &rec, "-stack-list-frames%s%s", sel, range);
	if (st != GDBMI_OK) {
		gdbmi_record_free(rec);
		return st;
	}
	st = gdbmi_decode_frames(rec, out);
	if (st != GDBMI_OK) {
		gdbmi_set_error(s, GDBMI_LOG_WARN, "-stack-list-frames: unexpected answer");
		gdbmi_record_free(rec);
	}
	return st;
}

/* The selected thread's id, for commands that need --thread. */
static enum gdbmi_status current_thread(struct gdbmi_session *s, long *thread)
{
	struct gdbmi_record *rec;
	enum gdbmi_status st = gdbmi_cmd(s, &rec, "-thread-list-ids");

	if (st == GDBMI_OK && gdbmi_get_long(rec->results, "current-thread-id", thread) < 0) {
		gdbmi_set_error(s, GDBMI_LOG_WARN, "no thread is selected");
		st = GDBMI_GDB_ERROR;
	}
	gdbmi_record_free(rec);
	return st;
}

enum gdbmi_status gdbmi_list_variables(struct gdbmi_session *s, long thread, unsigned long level,
				       enum gdbmi_values print, struct gdbmi_vars **out)
{
	static const char *const how[] = { "--no-values", "--all-values", "--simple-values" };
	struct gdbmi_record *rec;
	enum gdbmi_status st;

	*out = NULL;
	if ((unsigned)print > GDBMI_SIMPLE_VALUES)
		return GDBMI_BAD_INPUT;
	if (thread <= 0 && (st = current_thread(s, &thread)) != GDBMI_OK)
		return st;
	st = gdbmi_cmd(s, &rec, "-stack-list-variables --thread %ld --frame %lu %s", thread, level,
		       how[print]);
	if (st != GDBMI_OK) {
		gdbmi_record_free(rec);
		return st;
	}
	st = gdbmi_decode_vars(rec, out);
	if (st != GDBMI_OK) {
		gdbmi_set_error(s, GDBMI_LOG_WARN, "-stack-list-variables: unexpected answer");
		gdbmi_record_free(rec);
	}
	return st;
}

static int hex_nibble(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Copy the blocks of one -data-read-memory-bytes answer for [ADDR, ADDR +
 * LEN) into BUF, as far as they are contiguous from ADDR. Returns the
 * bytes copied, or (size_t)-1 for an answer of the wrong shape.
 */
static size_t copy_blocks(const struct gdbmi_record *rec, uint64_t addr, size_t len,
			  unsigned char *buf)
{
	const struct gdbmi_value *mem = gdbmi_record_get(rec, "memory");
	size_t done = 0;

	if (!mem || mem->kind != GDBMI_LIST)
		return (size_t)-1;
	for (size_t i = 0; i < mem->n; i++) {
		const struct gdbmi_value *b = &mem->v[i];
		const struct gdbmi_value *hex = gdbmi_get(b, "contents");
		uint64_t begin, end;
		size_t n;

		if (gdbmi_get_u64(b, "begin", &begin) < 0 || gdbmi_get_u64(b, "end", &end) < 0 ||
		    !hex || hex->kind != GDBMI_STRING || end < begin || begin < addr ||
		    end - begin > len || hex->len != 2 * (end - begin))
			return (size_t)-1;
		if (begin != addr + done)
			break; /* a hole: stop at the readable prefix */
		n = (size_t)(end - begin);
		if (n > len - done)
			return (size_t)-1;
		for (size_t k = 0; k < n; k++) {
			int hi = hex_nibble((unsigned char)hex->str[2 * k]);
			int lo = hex_nibble((unsigned char)hex->str[2 * k + 1]);

			if (hi < 0 || lo < 0)
				return (size_t)-1;
			buf[done + k] = (unsigned char)(hi << 4 | lo);
		}
		done += n;
	}
	return done;
}

enum gdbmi_status gdbmi_read_memory(struct gdbmi_session *s, uint64_t addr, size_t len, void *buf,
				    size_t *got)
{
	enum gdbmi_status st = GDBMI_OK;
	size_t done = 0;

	if (got)
		*got = 0;
	if (len && addr + len - 1 < addr) {
		gdbmi_set_error(s, GDBMI_LOG_ERR, "read_memory: range wraps around");
		return GDBMI_BAD_INPUT;
	}
	while (done < len) {
		size_t piece = len - done < MEMORY_PIECE ? len - done : MEMORY_PIECE, n;
		struct gdbmi_record *rec;

		st = gdbmi_cmd(s, &rec, "-data-read-memory-bytes 0x%" PRIx64 " %zu", addr + done,
			       piece);
		if (st != GDBMI_OK) {
			gdbmi_record_free(rec);
			break;
		}
		n = copy_blocks(rec, addr + done, piece, (unsigned char *)buf + done);
		gdbmi_record_free(rec);
		if (n == (size_t)-1) {
			gdbmi_set_error(s, GDBMI_LOG_WARN,
					"-data-read-memory-bytes: unexpected answer");
			st = GDBMI_BAD_INPUT;
			break;
		}
		done += n;
		if (n < piece)
			break;
	}
	if (got)
		*got = done;
	/* A prefix read is a success; gdb's "Unable to read memory" ends it. */
	if (done > 0 && st == GDBMI_GDB_ERROR)
		st = GDBMI_OK;
	if (st == GDBMI_OK && done == 0 && len > 0) {
		gdbmi_set_error(s, GDBMI_LOG_INFO, "no memory readable at 0x%" PRIx64, addr);
		st = GDBMI_GDB_ERROR;
	}
	return st;
}

enum gdbmi_status gdbmi_evaluate(struct gdbmi_session *s, const char *expr, char **value)
{
	struct gdbmi_record *rec;
	enum gdbmi_status st;
	const struct gdbmi_value *v;
	char *q;

	*value = NULL;
	if (!expr)
		return GDBMI_BAD_INPUT;
	q = gdbmi_quote(expr);
	if (!q)
		return GDBMI_NOMEM;
	st = gdbmi_cmd(s, &rec, "-data-evaluate-expression %s", q);
	free(q);
	if (st == GDBMI_OK) {
		v = gdbmi_record_get(rec, "value");
		if (!v || v->kind != GDBMI_STRING) {
			gdbmi_set_error(s, GDBMI_LOG_WARN, "-data-evaluate-expression: no value");
			st = GDBMI_BAD_INPUT;
		} else if (!(*value = malloc(v->len + 1))) {
			st = GDBMI_NOMEM;
		} else {
			memcpy(*value, v->str, v->len + 1);
		}
	}
	gdbmi_record_free(rec);
	return st;
}

enum gdbmi_status gdbmi_console(struct gdbmi_session *s, const char *command, char **out,
				size_t *len)
{
	struct gdbmi_record *rec;
	enum gdbmi_status st;
	char *q;

	if (out)
		*out = NULL;
	if (len)
		*len = 0;
	if (!command)
		return GDBMI_BAD_INPUT;
	q = gdbmi_quote(command);
	if (!q)
		return GDBMI_NOMEM;
	st = gdbmi_cmd(s, &rec, "-interpreter-exec console %s", q);
	free(q);
	if (st == GDBMI_OK && out) {
		*out = malloc(rec->console_len + 1);
		if (!*out) {
			st = GDBMI_NOMEM;
		} else {
			if (rec->console_len)
				memcpy(*out, rec->console, rec->console_len);
			(*out)[rec->console_len] = '\0';
		}
	}
	if (st == GDBMI_OK && len)
		*len = rec->console_len;
	gdbmi_record_free(rec);
	return st;
}
