/*
 * Line editor for the memtrace console: a non-blocking, poll()-driven reader of command lines.
 *
 * Two modes share the entry points.  On a pipe or file the input is only split into lines, kept
 * in one growing buffer that is compacted just before each read(), so a burst of many short lines
 * costs no copying per line and a very long line costs amortised linear time.  On a terminal the
 * editor owns the echo: each key updates an edit buffer and the screen row showing it, which is
 * redrawn with \r, ESC [K and relative cursor moves only, so any ANSI-ish terminal or serial
 * console works without terminfo.  A line wider than the terminal scrolls sideways in its row.
 * Columns are counted as one per UTF-8 character (wide CJK glyphs are not measured).
 * The file runs past the usual size because the two modes share the entry points and the unit
 * test links this file alone; the sections below are output, geometry, editing, pipe mode, API.
 */
#include "console/lineedit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "grow.h"

/* Bytes taken per read() on a terminal; a paste larger than this just takes several events. */
#define LE_TTY_READ 512
/* Free space guaranteed before each read() in pipe mode. */
#define LE_PIPE_READ 4096
/* Pipe buffer above this size is given back once it is mostly empty again. */
#define LE_PIPE_KEEP (256 * 1024)
#define LE_EDIT_INIT 128

enum le_esc {
	LE_ESC_NONE,
	LE_ESC_START,	/* got ESC */
	LE_ESC_CSI,	/* got ESC [, collecting parameters */
	LE_ESC_SS3,	/* got ESC O, the next byte is the key */
};

struct inj_le {
	int in_fd;
	int out_fd;
	int tty;
	struct termios saved_tio;
	char *prompt;
	size_t prompt_len;
	size_t prompt_cols;

	/* Terminal mode: the edit buffer (always NUL-terminable: cap > len) and the cursor. */
	char *buf;
	size_t len, cap, pos;
	/* The last completed line; swapped with buf so returning a line copies nothing. */
	char *done;
	size_t done_cap;
	size_t scroll;		/* index in buf of the first byte shown after the prompt */
	int hidden;		/* prompt and line are not on screen */
	enum le_esc esc;
	char esc_param[16];
	size_t esc_plen;	/* > sizeof esc_param once overflowed: the sequence is ignored */
	unsigned char raw[LE_TTY_READ];
	size_t raw_off, raw_len;

	/* Both modes: a line just ended with CR, so an LF right after it is part of that line end. */
	int after_cr;

	/* Pipe mode: unconsumed input is in[in_off, in_len); no line end in [in_off, scan). */
	char *in;
	size_t in_off, in_len, in_cap, scan;

	int eof;		/* read() returned 0 */
	int eof_told;		/* and -1 was returned for it */

	char *hist[INJ_LE_HISTORY_MAX];
	size_t hist_n;
	size_t hist_at;		/* entry on screen; hist_n means the caller's own line */
	char *stash;		/* the caller's own line while walking the history */

	/* Screen updates are assembled here and written at once. */
	char *ob;
	size_t ob_len, ob_cap;
	int ob_failed;
};

/*
 * What inj_le_restore() needs, and nothing else: a signal handler cannot reach the editor.  The
 * fd is written last when arming and first when disarming, so a handler never sees a half-copied
 * termios with a valid fd.
 */
static struct termios le_emerg_tio;
static volatile sig_atomic_t le_emerg_fd = -1;
static const struct inj_le *le_emerg_owner;

static void le_emerg_arm(const struct inj_le *le)
{
	le_emerg_fd = -1;
	atomic_signal_fence(memory_order_seq_cst);
	le_emerg_tio = le->saved_tio;
	le_emerg_owner = le;
	atomic_signal_fence(memory_order_seq_cst);
	le_emerg_fd = le->in_fd;
}

static void le_emerg_disarm(const struct inj_le *le)
{
	if (le_emerg_owner != le)
		return;
	le_emerg_fd = -1;
	le_emerg_owner = NULL;
}

void inj_le_restore(void)
{
	int fd = le_emerg_fd;
	int saved_errno = errno;

	if (fd < 0)
		return;
	le_emerg_fd = -1;
	atomic_signal_fence(memory_order_seq_cst);
	(void)tcsetattr(fd, TCSANOW, &le_emerg_tio);
	errno = saved_errno;
}

/* ---------------------------------------------------------------- output */

static void le_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* Somebody made the terminal non-blocking: wait a little, but never hang. */
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int r = poll(&pfd, 1, 1000);

			if (r > 0 || (r < 0 && errno == EINTR))
				continue;
		}
		return;		/* the screen is best effort */
	}
}

static void ob_put(struct inj_le *le, const void *p, size_t n)
{
	if (le->ob_failed)
		return;
	if (grow_bytes(&le->ob, &le->ob_cap, le->ob_len + n, 256) < 0) {
		/* A partial redraw would be worse than none. */
		le->ob_failed = 1;
		return;
	}
	memcpy(le->ob + le->ob_len, p, n);
	le->ob_len += n;
}

static void ob_str(struct inj_le *le, const char *s)
{
	ob_put(le, s, strlen(s));
}

/* ESC [ n <cmd>, n > 0 */
static void ob_csi_n(struct inj_le *le, size_t n, char cmd)
{
	char tmp[32];
	size_t i = sizeof tmp;

	tmp[--i] = cmd;
	do {
		tmp[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	tmp[--i] = '[';
	tmp[--i] = '\033';
	ob_put(le, tmp + i, sizeof tmp - i);
}

static void ob_flush(struct inj_le *le)
{
	int saved_errno = errno;

	if (!le->ob_failed && le->ob_len > 0)
		le_write_all(le->out_fd, le->ob, le->ob_len);
	le->ob_len = 0;
	le->ob_failed = 0;
	errno = saved_errno;
}

/* ---------------------------------------------------------------- geometry */

static int le_is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

static size_t le_columns(const char *s, size_t n)
{
	size_t cols = 0;

	for (size_t i = 0; i < n; i++)
		cols += !le_is_cont((unsigned char)s[i]);
	return cols;
}

static size_t le_prev(const struct inj_le *le, size_t i)
{
	if (i == 0)
		return 0;
	do
		i--;
	while (i > 0 && le_is_cont((unsigned char)le->buf[i]));
	return i;
}

static size_t le_next(const struct inj_le *le, size_t i)
{
	if (i >= le->len)
		return le->len;
	do
		i++;
	while (i < le->len && le_is_cont((unsigned char)le->buf[i]));
	return i;
}

/* Columns available to the line after the prompt.  The last terminal column is never written,
 * so the terminal never wraps on its own and \r always returns to our row. */
static size_t le_room(const struct inj_le *le)
{
	struct winsize ws;
	size_t cols = 80;

	if (ioctl(le->out_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		cols = ws.ws_col;
	else if (ioctl(le->in_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		cols = ws.ws_col;
	if (cols > le->prompt_cols + 2)
		return cols - le->prompt_cols - 1;
	return 1;
}

/* Choose le->scroll so the cursor is inside the window and the window is as full as it can be. */
static void le_scroll(struct inj_le *le, size_t room)
{
	size_t used;

	if (le->scroll > le->pos)
		le->scroll = le->pos;
	used = le_columns(le->buf + le->scroll, le->pos - le->scroll);
	while (used > room) {
		used -= !le_is_cont((unsigned char)le->buf[le->scroll]);
		le->scroll = le_next(le, le->scroll);
	}
	/* After deletions near the end, pull earlier text back into view. */
	used = le_columns(le->buf + le->scroll, le->len - le->scroll);
	while (le->scroll > 0 && used < room) {
		le->scroll = le_prev(le, le->scroll);
		used++;
	}
}

/* Redraw the whole row: prompt, visible part of the line, erase the rest, place the cursor. */
static void le_refresh(struct inj_le *le)
{
	size_t room, end, shown = 0, at;

	if (le->hidden)
		return;
	room = le_room(le);
	le_scroll(le, room);
	end = le->scroll;
	while (end < le->len) {
		size_t w = !le_is_cont((unsigned char)le->buf[end]);

		if (shown + w > room)
			break;
		shown += w;
		end = le_next(le, end);
	}
	at = le_columns(le->buf + le->scroll, le->pos - le->scroll);
	ob_str(le, "\r");
	ob_put(le, le->prompt, le->prompt_len);
	ob_put(le, le->buf + le->scroll, end - le->scroll);
	ob_str(le, "\033[K");
	if (shown > at)
		ob_csi_n(le, shown - at, 'D');
	ob_flush(le);
}

/* Move the cursor; a plain relative move when the window need not scroll. */
static void le_move(struct inj_le *le, size_t to)
{
	size_t from = le->pos, old_scroll = le->scroll, n;

	if (to == from)
		return;
	le->pos = to;
	if (le->hidden)
		return;
	le_scroll(le, le_room(le));
	if (le->scroll != old_scroll) {
		le_refresh(le);
		return;
	}
	if (to > from)
		n = le_columns(le->buf + from, to - from);
	else
		n = le_columns(le->buf + to, from - to);
	if (n > 0)
		ob_csi_n(le, n, to > from ? 'C' : 'D');
	ob_flush(le);
}

/* ---------------------------------------------------------------- editing */

static int le_reserve(struct inj_le *le, size_t len)
{
	return grow_bytes(&le->buf, &le->cap, len + 1, LE_EDIT_INIT);
}

static void le_insert(struct inj_le *le, unsigned char c)
{
	int at_end = le->pos == le->len;

	if (le_reserve(le, le->len + 1) < 0)
		return;
	memmove(le->buf + le->pos + 1, le->buf + le->pos, le->len - le->pos);
	le->buf[le->pos++] = (char)c;
	le->len++;
	if (le->hidden)
		return;
	/* Typing at the end of a line that still fits: echo just the byte (slow serial consoles). */
	if (at_end && le_columns(le->buf + le->scroll, le->len - le->scroll) <= le_room(le)) {
		ob_put(le, &c, 1);
		ob_flush(le);
		return;
	}
	le_refresh(le);
}

/* Remove buf[from, to) and leave the cursor at from. */
static void le_cut(struct inj_le *le, size_t from, size_t to)
{
	if (from >= to)
		return;
	memmove(le->buf + from, le->buf + to, le->len - to);
	le->len -= to - from;
	le->pos = from;
	le_refresh(le);
}

static void le_word_rubout(struct inj_le *le)
{
	size_t i = le->pos;

	while (i > 0 && (le->buf[i - 1] == ' ' || le->buf[i - 1] == '\t'))
		i--;
	while (i > 0 && le->buf[i - 1] != ' ' && le->buf[i - 1] != '\t')
		i--;
	le_cut(le, i, le->pos);
}

static void le_set_line(struct inj_le *le, const char *s)
{
	size_t n = strlen(s);

	if (le_reserve(le, n) < 0)
		return;
	memcpy(le->buf, s, n);
	le->len = le->pos = n;
	le->scroll = 0;
	le_refresh(le);
}

static void le_history_forget_walk(struct inj_le *le)
{
	le->hist_at = le->hist_n;
	free(le->stash);
	le->stash = NULL;
}

static void le_history_up(struct inj_le *le)
{
	if (le->hist_at == 0)
		return;
	if (le->hist_at == le->hist_n) {
		free(le->stash);
		le->stash = strndup(le->buf, le->len);
		if (!le->stash)
			return;
	}
	le->hist_at--;
	le_set_line(le, le->hist[le->hist_at]);
}

static void le_history_down(struct inj_le *le)
{
	if (le->hist_at >= le->hist_n)
		return;
	le->hist_at++;
	if (le->hist_at < le->hist_n) {
		le_set_line(le, le->hist[le->hist_at]);
		return;
	}
	le_set_line(le, le->stash ? le->stash : "");
	free(le->stash);
	le->stash = NULL;
}

static void le_clear_line(struct inj_le *le)
{
	le->len = le->pos = le->scroll = 0;
	le_history_forget_walk(le);
}

static int le_enter(struct inj_le *le)
{
	char *t;
	size_t tc;

	le_move(le, le->len);
	ob_str(le, "\r\n");
	ob_flush(le);
	le->hidden = 1;
	le->buf[le->len] = '\0';
	t = le->done;
	tc = le->done_cap;
	le->done = le->buf;
	le->done_cap = le->cap;
	le->buf = t;
	le->cap = tc;
	le_clear_line(le);
	return INJ_LE_LINE;
}

static int le_interrupt(struct inj_le *le)
{
	le_move(le, le->len);
	ob_str(le, "^C\r\n");
	ob_flush(le);
	le_clear_line(le);
	le_refresh(le);
	return INJ_LE_INTR;
}

/* Act on the final byte of ESC [ ... or ESC O ... */
static void le_esc_key(struct inj_le *le, char final, int csi)
{
	unsigned long n = 0;

	if (csi && final == '~') {
		if (le->esc_plen > sizeof le->esc_param)
			return;
		for (size_t i = 0; i < le->esc_plen && le->esc_param[i] >= '0' && le->esc_param[i] <= '9'; i++)
			n = n * 10 + (unsigned long)(le->esc_param[i] - '0');
		switch (n) {
		case 1:
		case 7:
			le_move(le, 0);
			break;
		case 4:
		case 8:
			le_move(le, le->len);
			break;
		case 3:
			le_cut(le, le->pos, le_next(le, le->pos));
			break;
		default:
			break;
		}
		return;
	}
	/* Modifier parameters (ESC [1;5C) are accepted and ignored: Ctrl-Right moves like Right. */
	switch (final) {
	case 'A':
		le_history_up(le);
		break;
	case 'B':
		le_history_down(le);
		break;
	case 'C':
		le_move(le, le_next(le, le->pos));
		break;
	case 'D':
		le_move(le, le_prev(le, le->pos));
		break;
	case 'H':
		le_move(le, 0);
		break;
	case 'F':
		le_move(le, le->len);
		break;
	default:
		break;
	}
}

/* Feed one byte of an escape sequence.  Returns 1 when consumed, 0 when the sequence was cut
 * short by a control character, which the caller then handles as a key of its own. */
static int le_esc_byte(struct inj_le *le, unsigned char c)
{
	if (c < 0x20) {
		le->esc = LE_ESC_NONE;
		return 0;
	}
	switch (le->esc) {
	case LE_ESC_START:
		if (c == '[') {
			le->esc = LE_ESC_CSI;
			le->esc_plen = 0;
		} else if (c == 'O') {
			le->esc = LE_ESC_SS3;
		} else {
			le->esc = LE_ESC_NONE;	/* Alt+key: swallowed */
		}
		return 1;
	case LE_ESC_CSI:
		if (c >= 0x20 && c <= 0x3f) {
			if (le->esc_plen < sizeof le->esc_param)
				le->esc_param[le->esc_plen++] = (char)c;
			else
				le->esc_plen = sizeof le->esc_param + 1;
			return 1;
		}
		le->esc = LE_ESC_NONE;
		if (c >= 0x40 && c <= 0x7e)
			le_esc_key(le, (char)c, 1);
		return 1;
	case LE_ESC_SS3:
		le->esc = LE_ESC_NONE;
		le_esc_key(le, (char)c, 0);
		return 1;
	case LE_ESC_NONE:
		break;
	}
	return 0;
}

/* One input byte on a terminal; returns an inj_le_result (INJ_LE_MORE to go on). */
static int le_key(struct inj_le *le, unsigned char c)
{
	int after_cr = le->after_cr;

	le->after_cr = 0;
	if (after_cr && c == '\n')
		return INJ_LE_MORE;
	if (le->esc != LE_ESC_NONE && le_esc_byte(le, c))
		return INJ_LE_MORE;

	switch (c) {
	case '\r':
		le->after_cr = 1;
		return le_enter(le);
	case '\n':
		return le_enter(le);
	case 0x03:	/* ^C */
		return le_interrupt(le);
	case 0x04:	/* ^D */
		if (le->len == 0) {
			ob_str(le, "\r\n");
			ob_flush(le);
			le->hidden = 1;
			le_history_forget_walk(le);
			return INJ_LE_EOF;
		}
		le_cut(le, le->pos, le_next(le, le->pos));
		break;
	case 0x01:	/* ^A */
		le_move(le, 0);
		break;
	case 0x05:	/* ^E */
		le_move(le, le->len);
		break;
	case 0x02:	/* ^B */
		le_move(le, le_prev(le, le->pos));
		break;
	case 0x06:	/* ^F */
		le_move(le, le_next(le, le->pos));
		break;
	case 0x08:	/* ^H */
	case 0x7f:	/* DEL, what Backspace sends */
		le_cut(le, le_prev(le, le->pos), le->pos);
		break;
	case 0x0b:	/* ^K */
		le_cut(le, le->pos, le->len);
		break;
	case 0x15:	/* ^U */
		le_cut(le, 0, le->pos);
		break;
	case 0x17:	/* ^W */
		le_word_rubout(le);
		break;
	case 0x0c:	/* ^L */
		ob_str(le, "\033[H\033[2J");
		ob_flush(le);
		le_refresh(le);
		break;
	case 0x10:	/* ^P */
		le_history_up(le);
		break;
	case 0x0e:	/* ^N */
		le_history_down(le);
		break;
	case 0x1b:
		le->esc = LE_ESC_START;
		break;
	default:
		/* Tab and the other control characters insert nothing. */
		if (c >= 0x20)
			le_insert(le, c);
		break;
	}
	return INJ_LE_MORE;
}

static int le_read_tty(struct inj_le *le, const char **line)
{
	if (le->raw_off == le->raw_len) {
		ssize_t n;

		if (le->eof)
			return INJ_LE_EOF;
		n = read(le->in_fd, le->raw, sizeof le->raw);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return INJ_LE_MORE;
			return INJ_LE_ERROR;
		}
		if (n == 0) {
			/* Hangup: nobody is left to see a prompt or a half-typed line. */
			le->eof = le->eof_told = 1;
			return INJ_LE_EOF;
		}
		le->raw_off = 0;
		le->raw_len = (size_t)n;
	}
	if (le->hidden) {
		le->hidden = 0;
		le_refresh(le);
	}
	while (le->raw_off < le->raw_len) {
		int r = le_key(le, le->raw[le->raw_off++]);

		if (r == INJ_LE_LINE)
			*line = le->done;
		if (r != INJ_LE_MORE)
			return r;
	}
	return INJ_LE_MORE;
}

/* ---------------------------------------------------------------- pipe mode */

/* Hand out the next buffered line, or the end of input once read() has returned 0. */
static int le_pipe_next(struct inj_le *le, const char **line)
{
	size_t i;

	if (le->after_cr && le->in_off < le->in_len) {
		if (le->in[le->in_off] == '\n')
			le->in_off++;
		le->after_cr = 0;
	}
	i = le->scan > le->in_off ? le->scan : le->in_off;
	while (i < le->in_len && le->in[i] != '\n' && le->in[i] != '\r')
		i++;
	if (i < le->in_len) {
		le->after_cr = le->in[i] == '\r';
		le->in[i] = '\0';
		*line = le->in + le->in_off;
		le->in_off = le->scan = i + 1;
		return INJ_LE_LINE;
	}
	le->scan = le->in_len;
	if (!le->eof)
		return INJ_LE_MORE;
	if (le->in_off < le->in_len) {
		/* le_pipe_room() always leaves the byte after the data free for this NUL. */
		le->in[le->in_len] = '\0';
		*line = le->in + le->in_off;
		le->in_off = le->scan = le->in_len;
		return INJ_LE_LINE;
	}
	le->eof_told = 1;
	return INJ_LE_EOF;
}

/* Drop consumed input and make room for one more read() plus a NUL. */
static int le_pipe_room(struct inj_le *le)
{
	size_t want;
	char *nb;

	if (le->in_off > 0) {
		memmove(le->in, le->in + le->in_off, le->in_len - le->in_off);
		le->in_len -= le->in_off;
		le->scan -= le->in_off;
		le->in_off = 0;
	}
	want = le->in_len + LE_PIPE_READ + 1;
	if (want <= le->in_cap) {
		/* One huge line should not pin its buffer for the rest of the session. */
		if (le->in_cap > LE_PIPE_KEEP && want < le->in_cap / 8) {
			nb = realloc(le->in, le->in_cap / 4);
			if (nb) {
				le->in = nb;
				le->in_cap /= 4;
			}
		}
		return 0;
	}
	return grow_bytes(&le->in, &le->in_cap, want, 2 * LE_PIPE_READ);
}

static int le_read_pipe(struct inj_le *le, const char **line)
{
	ssize_t n;
	int r = le_pipe_next(le, line);

	if (r != INJ_LE_MORE)
		return r;
	if (le_pipe_room(le) < 0)
		return INJ_LE_ERROR;
	n = read(le->in_fd, le->in + le->in_len, le->in_cap - le->in_len - 1);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return INJ_LE_MORE;
		return INJ_LE_ERROR;
	}
	if (n == 0)
		le->eof = 1;
	else
		le->in_len += (size_t)n;
	return le_pipe_next(le, line);
}

static int le_pipe_has_line(const struct inj_le *le)
{
	size_t i = le->in_off;

	if (le->after_cr && i < le->in_len && le->in[i] == '\n')
		i++;
	if (le->scan > i)
		i = le->scan;
	for (; i < le->in_len; i++)
		if (le->in[i] == '\n' || le->in[i] == '\r')
			return 1;
	return 0;
}

/* ---------------------------------------------------------------- public */

int inj_le_read(struct inj_le *le, const char **line)
{
	if (line)
		*line = NULL;
	if (!le || !line) {
		errno = EINVAL;
		return INJ_LE_ERROR;
	}
	return le->tty ? le_read_tty(le, line) : le_read_pipe(le, line);
}

int inj_le_pending(const struct inj_le *le)
{
	if (!le)
		return 0;
	if (le->eof && !le->eof_told)
		return 1;
	if (le->tty)
		return le->raw_off < le->raw_len;
	return le_pipe_has_line(le);
}

void inj_le_hide(struct inj_le *le)
{
	if (!le || !le->tty || le->hidden)
		return;
	ob_str(le, "\r\033[K");
	ob_flush(le);
	le->hidden = 1;
}

void inj_le_show(struct inj_le *le)
{
	if (!le || !le->tty)
		return;
	le->hidden = 0;
	le_refresh(le);
}

int inj_le_set_prompt(struct inj_le *le, const char *prompt)
{
	char *copy;

	if (!le)
		return 0;
	if (!strcmp(le->prompt, prompt ? prompt : ""))
		return 0;
	copy = strdup(prompt ? prompt : "");
	if (!copy) {
		errno = ENOMEM;
		return -1;
	}
	free(le->prompt);
	le->prompt = copy;
	le->prompt_len = strlen(copy);
	le->prompt_cols = le_columns(copy, le->prompt_len);
	return 0;
}

void inj_le_history_add(struct inj_le *le, const char *line)
{
	int walking;
	char *copy;

	if (!le || !line || !*line)
		return;
	if (le->hist_n > 0 && strcmp(le->hist[le->hist_n - 1], line) == 0)
		return;
	copy = strdup(line);
	if (!copy)
		return;
	walking = le->hist_at < le->hist_n;
	if (le->hist_n == INJ_LE_HISTORY_MAX) {
		free(le->hist[0]);
		memmove(le->hist, le->hist + 1, (INJ_LE_HISTORY_MAX - 1) * sizeof le->hist[0]);
		le->hist_n--;
		if (walking && le->hist_at > 0)
			le->hist_at--;
	}
	le->hist[le->hist_n++] = copy;
	if (!walking)
		le->hist_at = le->hist_n;
}

int inj_le_is_terminal(const struct inj_le *le)
{
	return le ? le->tty : 0;
}

static void le_release(struct inj_le *le)
{
	for (size_t i = 0; i < le->hist_n; i++)
		free(le->hist[i]);
	free(le->stash);
	free(le->ob);
	free(le->in);
	free(le->done);
	free(le->buf);
	free(le->prompt);
	free(le);
}

struct inj_le *inj_le_new(int in_fd, int out_fd, const char *prompt)
{
	struct inj_le *le;
	struct termios raw;
	int saved_errno;

	if (in_fd < 0 || out_fd < 0 || fcntl(out_fd, F_GETFD) < 0) {
		errno = EBADF;
		return NULL;
	}
	le = calloc(1, sizeof *le);
	if (!le)
		return NULL;
	le->in_fd = in_fd;
	le->out_fd = out_fd;
	le->esc = LE_ESC_NONE;
	le->prompt = strdup(prompt ? prompt : "");
	if (!le->prompt)
		goto out_free;
	le->prompt_len = strlen(le->prompt);
	le->prompt_cols = le_columns(le->prompt, le->prompt_len);

	errno = 0;
	if (!isatty(in_fd)) {
		if (errno == EBADF)
			goto out_free;
		return le;
	}

	le->cap = le->done_cap = LE_EDIT_INIT;
	le->buf = malloc(le->cap);
	le->done = malloc(le->done_cap);
	if (!le->buf || !le->done)
		goto out_free;
	le->done[0] = '\0';
	if (tcgetattr(in_fd, &le->saved_tio) < 0)
		goto out_free;
	raw = le->saved_tio;
	/* Bytes as typed: no CR->NL mapping, no flow control, no parity stripping, 8 bits. */
	raw.c_iflag &= ~(tcflag_t)(BRKINT | ICRNL | INLCR | IGNCR | INPCK | ISTRIP | IXON);
	/* Our own echo, no line assembly, no signal keys, no ^V. OPOST stays for other writers. */
	raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(in_fd, TCSANOW, &raw) < 0)
		goto out_free;
	le->tty = 1;
	le_emerg_arm(le);
	le_refresh(le);
	return le;

out_free:
	saved_errno = errno;
	le_release(le);
	errno = saved_errno;
	return NULL;
}

void inj_le_free(struct inj_le *le)
{
	int saved_errno;

	if (!le)
		return;
	saved_errno = errno;
	if (le->tty) {
		inj_le_hide(le);
		le_emerg_disarm(le);
		(void)tcsetattr(le->in_fd, TCSANOW, &le->saved_tio);
	}
	le_release(le);
	errno = saved_errno;
}
