/*
 * Unit test for the console line editor (inject/console/lineedit.c).
 *
 * Pipe mode is fed through real pipes with chosen chunk boundaries: single bytes, odd sizes, one
 * big write, and a forked writer for megabyte lines.  Terminal mode runs the editor on the slave
 * side of a pseudo-terminal: the test types into the master and reads back what the editor drew,
 * replaying it through a small one-row terminal model, so the checks are about what a user would
 * see (text and cursor column) rather than about the exact escape sequences chosen.
 *
 * Exit status: 0 pass, 1 fail (one "FAIL" line per failed check), 77 when no pseudo-terminal can
 * be opened (the pipe checks have run and passed then).
 */
#include "console/lineedit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, 1000);
		} else if (!(w < 0 && errno == EINTR)) {
			perror("test_lineedit: write");
			exit(99);
		}
	}
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* ---------------------------------------------------------------- pipe mode */

struct lines {
	char **v;
	size_t n, cap;
};

static void lines_push(struct lines *l, const char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		if (!l->v)
			exit(99);
	}
	l->v[l->n] = strdup(s);
	if (!l->v[l->n])
		exit(99);
	l->n++;
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* Let the editor take what it can without blocking, the way the console's poll() loop does.
 * Returns 0 when it is waiting for input, else the first result that is neither 0 nor 1. */
static int pipe_drain(struct inj_le *le, int rfd, struct lines *got, int wait_ms)
{
	for (;;) {
		const char *line = "unset";
		int r;

		if (!inj_le_pending(le)) {
			struct pollfd p = { .fd = rfd, .events = POLLIN };

			if (poll(&p, 1, wait_ms) <= 0)
				return INJ_LE_MORE;
		}
		r = inj_le_read(le, &line);
		if (r == INJ_LE_LINE) {
			CHECK(line != NULL, "result 1 with a NULL line");
			if (line)
				lines_push(got, line);
			continue;
		}
		CHECK(line == NULL, "result %d left *line set", r);
		if (r != INJ_LE_MORE)
			return r;
	}
}

static void compare_lines(const char *name, const struct lines *got, const char *const *want, size_t nwant)
{
	CHECK(got->n == nwant, "%s: %zu lines, want %zu", name, got->n, nwant);
	for (size_t i = 0; i < got->n && i < nwant; i++)
		CHECK(strcmp(got->v[i], want[i]) == 0, "%s: line %zu is %s, want %s", name, i,
		      check_show(got->v[i]), check_show(want[i]));
}

/* After end of input: -1 again, without reading, and nothing pending. */
static void check_eof_sticky(const char *name, struct inj_le *le)
{
	const char *line = "unset";

	CHECK(!inj_le_pending(le), "%s: pending after end of input", name);
	CHECK(inj_le_read(le, &line) == INJ_LE_EOF && line == NULL, "%s: end of input not sticky", name);
}

/*
 * Write data into a pipe chunk by chunk (sizes taken in turn from chunks[]), letting the editor
 * drain the pipe after every write so that each chunk is one read() for it, then close the pipe
 * and expect exactly want[] followed by end of input.  Also checks nothing is echoed.
 */
static void run_chunked(const char *name, const char *data, size_t len, const size_t *chunks,
			size_t nchunks, const char *const *want, size_t nwant)
{
	int in[2], out[2];
	struct inj_le *le;
	struct lines got = { 0 };
	size_t off = 0, k = 0;
	char c;
	int r;

	if (pipe(in) < 0 || pipe(out) < 0)
		exit(99);
	set_nonblock(out[0]);
	le = inj_le_new(in[0], out[1], "prompt> ");
	CHECK(le != NULL, "%s: inj_le_new on a pipe: %s", name, strerror(errno));
	if (!le)
		exit(1);
	CHECK(!inj_le_is_terminal(le), "%s: a pipe taken for a terminal", name);
	while (off < len) {
		size_t n = chunks[k++ % nchunks];

		if (n > len - off)
			n = len - off;
		write_all(in[1], data + off, n);
		off += n;
		r = pipe_drain(le, in[0], &got, 0);
		CHECK(r == INJ_LE_MORE, "%s: result %d before the end", name, r);
	}
	close(in[1]);
	r = pipe_drain(le, in[0], &got, 5000);
	CHECK(r == INJ_LE_EOF, "%s: result %d at the end, want -1", name, r);
	check_eof_sticky(name, le);
	compare_lines(name, &got, want, nwant);
	CHECK(read(out[0], &c, 1) < 0 && errno == EAGAIN, "%s: wrote to out_fd in pipe mode", name);
	inj_le_free(le);
	lines_free(&got);
	close(in[0]);
	close(out[0]);
	close(out[1]);
}

static const char mixed[] = "alpha\nbeta\r\ngamma\rdelta\n\n\r\nx\r\r\ny\n\r\rlast";
static const char *const mixed_want[] = {
	"alpha", "beta", "gamma", "delta", "", "", "x", "", "y", "", "", "last",
};

static void test_pipe_line_ends(void)
{
	static const size_t one[] = { 1 }, two[] = { 2 }, three[] = { 3 };
	static const size_t odd[] = { 5, 1, 7, 2, 11, 1, 1, 4 };
	size_t whole[] = { sizeof mixed - 1 };
	size_t rnd[64];
	unsigned seed = (unsigned)check_seed(12345);
	const size_t nw = sizeof mixed_want / sizeof mixed_want[0];

	for (size_t i = 0; i < 64; i++) {
		seed = seed * 1103515245u + 12345u;
		rnd[i] = 1 + (seed >> 16) % 9;
	}
	run_chunked("bytewise", mixed, sizeof mixed - 1, one, 1, mixed_want, nw);
	run_chunked("by 2", mixed, sizeof mixed - 1, two, 1, mixed_want, nw);
	run_chunked("by 3", mixed, sizeof mixed - 1, three, 1, mixed_want, nw);
	run_chunked("odd chunks", mixed, sizeof mixed - 1, odd, sizeof odd / sizeof odd[0], mixed_want, nw);
	run_chunked("random chunks", mixed, sizeof mixed - 1, rnd, 64, mixed_want, nw);
	run_chunked("one write", mixed, sizeof mixed - 1, whole, 1, mixed_want, nw);

	{
		/* CR at the end of one read and LF at the start of the next are one line end. */
		static const size_t split[] = { 2, 1, 2 };
		static const char *const want[] = { "a", "b" };

		run_chunked("split CRLF", "a\r\nb\n", 5, split, 3, want, 2);
	}
	{
		static const char *const want[] = { "a" };

		run_chunked("CR then EOF", "a\r", 2, one, 1, want, 1);
		run_chunked("CRLF then EOF", "a\r\n", 3, one, 1, want, 1);
		run_chunked("no line end", "a", 1, one, 1, want, 1);
	}
	{
		static const char *const want[] = { "" };

		run_chunked("lone LF", "\n", 1, one, 1, want, 1);
		run_chunked("lone CR", "\r", 1, one, 1, want, 1);
		run_chunked("empty input", "", 0, one, 1, want, 0);
	}
}

/* 1000 lines in one read(): one per call, the rest through inj_le_pending(). */
static void test_pipe_many_lines(void)
{
	static char data[16384];
	static char names[1000][24];
	const char *want[1000];
	size_t len = 0, whole[1];

	for (int i = 0; i < 1000; i++) {
		snprintf(names[i], sizeof names[i], "line %d", i);
		want[i] = names[i];
		len += (size_t)snprintf(data + len, sizeof data - len, "%s%s", names[i], i % 2 ? "\n" : "\r\n");
	}
	whole[0] = len;
	run_chunked("1000 lines", data, len, whole, 1, want, 1000);
}

/* Megabyte lines through a forked writer (the pipe holds far less than that). */
static void run_forked(const char *name, const char *data, size_t len, size_t chunk,
		       const char *const *want, const size_t *want_len, size_t nwant)
{
	int in[2];
	struct inj_le *le;
	struct lines got = { 0 };
	pid_t pid;
	int r, st;

	if (pipe(in) < 0)
		exit(99);
	pid = fork();
	if (pid < 0)
		exit(99);
	if (pid == 0) {
		close(in[0]);
		for (size_t off = 0; off < len; off += chunk)
			write_all(in[1], data + off, len - off < chunk ? len - off : chunk);
		_exit(0);
	}
	close(in[1]);
	le = inj_le_new(in[0], in[0], NULL);
	CHECK(le != NULL, "%s: inj_le_new: %s", name, strerror(errno));
	if (!le)
		exit(1);
	r = pipe_drain(le, in[0], &got, 10000);
	CHECK(r == INJ_LE_EOF, "%s: result %d at the end, want -1", name, r);
	check_eof_sticky(name, le);
	CHECK(got.n == nwant, "%s: %zu lines, want %zu", name, got.n, nwant);
	for (size_t i = 0; i < got.n && i < nwant; i++) {
		size_t n = strlen(got.v[i]);

		CHECK(n == want_len[i] && memcmp(got.v[i], want[i], n) == 0,
		      "%s: line %zu differs (%zu bytes, want %zu)", name, i, n, want_len[i]);
	}
	inj_le_free(le);
	lines_free(&got);
	close(in[0]);
	waitpid(pid, &st, 0);
}

static void test_pipe_huge(void)
{
	const size_t big = 1 << 20;
	size_t len = 2 * big + 16, o = 0;
	char *data = malloc(len), *first, *last;
	const char *want[3];
	size_t want_len[3];
	static const size_t chunks[] = { 1000, 4093, 65536, 3 << 20 };

	if (!data)
		exit(99);
	first = data;
	for (size_t i = 0; i < big; i++)
		data[o++] = (char)('a' + i % 26);
	memcpy(data + o, "\r\nafter\n", 8);
	o += 8;
	last = data + o;
	for (size_t i = 0; i < big + 3; i++)
		data[o++] = (char)('A' + i % 23);
	want[0] = first;
	want_len[0] = big;
	want[1] = "after";
	want_len[1] = 5;
	want[2] = last;
	want_len[2] = big + 3;
	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		char name[64];

		snprintf(name, sizeof name, "1 MB lines in %zu-byte writes", chunks[i]);
		run_forked(name, data, o, chunks[i], want, want_len, 3);
	}
	free(data);
}

static void test_pipe_contract(void)
{
	int in[2], fd, q = -1;
	struct inj_le *le;
	const char *line = "unset";
	int r;

	/* Lines already buffered are served without touching the fd. */
	if (pipe(in) < 0)
		exit(99);
	le = inj_le_new(in[0], in[1], NULL);
	CHECK(le != NULL, "inj_le_new: %s", strerror(errno));
	if (!le)
		exit(1);
	CHECK(!inj_le_pending(le), "pending before any input");
	write_all(in[1], "a\nb\n", 4);
	r = inj_le_read(le, &line);
	CHECK(r == 1 && line && strcmp(line, "a") == 0, "first of two lines: %d %s", r, check_show(line));
	CHECK(inj_le_pending(le), "second line not reported pending");
	write_all(in[1], "c\n", 2);
	r = inj_le_read(le, &line);
	CHECK(r == 1 && line && strcmp(line, "b") == 0, "buffered line: %d %s", r, check_show(line));
	CHECK(ioctl(in[0], FIONREAD, &q) == 0 && q == 2, "read() while a line was pending (%d left)", q);
	CHECK(!inj_le_pending(le), "pending with only unread input");
	r = inj_le_read(le, &line);
	CHECK(r == 1 && line && strcmp(line, "c") == 0, "line after pending ones: %d %s", r, check_show(line));

	/* A partial line is kept across calls; EAGAIN is "more input needed". */
	set_nonblock(in[0]);
	write_all(in[1], "par", 3);
	r = inj_le_read(le, &line);
	CHECK(r == 0 && line == NULL, "partial line: %d", r);
	r = inj_le_read(le, &line);
	CHECK(r == 0, "EAGAIN: %d, want 0", r);
	CHECK(!inj_le_pending(le), "pending on a partial line");
	write_all(in[1], "tial\n", 5);
	r = inj_le_read(le, &line);
	CHECK(r == 1 && line && strcmp(line, "partial") == 0, "joined line: %d %s", r, check_show(line));
	inj_le_history_add(le, "accepted, unused");
	inj_le_hide(le);
	inj_le_show(le);
	inj_le_free(le);
	close(in[0]);
	close(in[1]);

	/* Read errors come back as -3 with errno. */
	fd = open("/", O_RDONLY | O_DIRECTORY);
	le = fd >= 0 ? inj_le_new(fd, 1, NULL) : NULL;
	CHECK(le != NULL, "inj_le_new on a directory fd");
	if (le) {
		errno = 0;
		r = inj_le_read(le, &line);
		CHECK(r == INJ_LE_ERROR && errno == EISDIR, "read error: %d errno %d", r, errno);
		inj_le_free(le);
	}
	if (fd >= 0)
		close(fd);

	/* Argument errors. */
	fd = dup(0);
	close(fd);
	errno = 0;
	CHECK(inj_le_new(fd, 1, NULL) == NULL && errno == EBADF, "closed in_fd accepted");
	errno = 0;
	CHECK(inj_le_new(-1, 1, NULL) == NULL && errno == EBADF, "negative in_fd accepted");
	errno = 0;
	CHECK(inj_le_read(NULL, &line) == INJ_LE_ERROR && errno == EINVAL, "NULL le accepted");
	CHECK(!inj_le_pending(NULL) && !inj_le_is_terminal(NULL), "NULL queries");
	inj_le_free(NULL);
	inj_le_hide(NULL);
	inj_le_show(NULL);
	inj_le_history_add(NULL, "x");
	CHECK(INJ_LE_LINE == 1 && INJ_LE_MORE == 0 && INJ_LE_EOF == -1 && INJ_LE_INTR == -2 &&
	      INJ_LE_ERROR == -3, "result values");
}

/* ---------------------------------------------------------------- terminal mode */

#define SCREEN_COLS 256
#define SYNC_MARK "\033[0;9999Z"

/* Keys */
#define K_UP "\033[A"
#define K_DOWN "\033[B"
#define K_RIGHT "\033[C"
#define K_LEFT "\033[D"
#define K_DEL "\033[3~"
#define C_A "\001"
#define C_B "\002"
#define C_C "\003"
#define C_D "\004"
#define C_E "\005"
#define C_F "\006"
#define C_H "\010"
#define C_K "\013"
#define C_L "\014"
#define C_N "\016"
#define C_P "\020"
#define C_U "\025"
#define C_W "\027"
#define BS "\177"

struct term {
	int m, s;
	struct inj_le *le;
	/* One-row model of the terminal: each cell holds one UTF-8 character. */
	char cell[SCREEN_COLS][5];
	int col, maxcol;
	int newlines, clears, marks, unknown;
	int state;
	char par[32];
	size_t plen;
	/* Raw bytes received since the last keys(). */
	char out[65536];
	size_t out_len;
};

static void screen_clear_from(struct term *t, int from)
{
	for (int i = from; i < SCREEN_COLS; i++)
		t->cell[i][0] = '\0';
}

static void screen_csi(struct term *t, char final)
{
	int n;

	t->par[t->plen] = '\0';
	n = atoi(t->par);
	switch (final) {
	case 'K':
		if (n == 0)
			screen_clear_from(t, t->col);
		else
			t->unknown++;
		break;
	case 'C':
		t->col += n ? n : 1;
		if (t->col >= SCREEN_COLS)
			t->col = SCREEN_COLS - 1;
		break;
	case 'D':
		t->col -= n ? n : 1;
		if (t->col < 0)
			t->col = 0;
		break;
	case 'H':
		t->col = 0;
		break;
	case 'J':
		if (n == 2) {
			screen_clear_from(t, 0);
			t->clears++;
		} else {
			t->unknown++;
		}
		break;
	case 'Z':
		if (strcmp(t->par, "0;9999") == 0)
			t->marks++;
		else
			t->unknown++;
		break;
	default:
		t->unknown++;
		break;
	}
}

static void screen_feed(struct term *t, unsigned char c)
{
	if (t->out_len < sizeof t->out - 1) {
		t->out[t->out_len++] = (char)c;
		t->out[t->out_len] = '\0';
	}
	switch (t->state) {
	case 1:
		if (c == '[') {
			t->state = 2;
			t->plen = 0;
		} else {
			t->unknown++;
			t->state = 0;
		}
		return;
	case 2:
		if (c >= 0x20 && c <= 0x3f) {
			if (t->plen < sizeof t->par - 1)
				t->par[t->plen++] = (char)c;
		} else {
			screen_csi(t, (char)c);
			t->state = 0;
		}
		return;
	default:
		break;
	}
	if (c == 0x1b) {
		t->state = 1;
	} else if (c == '\r') {
		t->col = 0;
	} else if (c == '\n') {
		t->newlines++;
		screen_clear_from(t, 0);
	} else if (c == '\b') {
		if (t->col > 0)
			t->col--;
	} else if ((c & 0xc0) == 0x80 && t->col > 0) {
		size_t l = strlen(t->cell[t->col - 1]);

		if (l < 4) {
			t->cell[t->col - 1][l] = (char)c;
			t->cell[t->col - 1][l + 1] = '\0';
		}
	} else if (c >= 0x20 && c != 0x7f && t->col < SCREEN_COLS) {
		t->cell[t->col][0] = (char)c;
		t->cell[t->col][1] = '\0';
		if (t->col > t->maxcol)
			t->maxcol = t->col;
		t->col++;
	} else {
		t->unknown++;
	}
}

/* The row as text, blanks between written cells, trailing blanks dropped. */
static const char *screen_row(const struct term *t)
{
	static char row[SCREEN_COLS * 4 + 1];
	int last = -1;
	size_t o = 0;

	for (int i = 0; i < SCREEN_COLS; i++)
		if (t->cell[i][0])
			last = i;
	for (int i = 0; i <= last; i++) {
		const char *c = t->cell[i][0] ? t->cell[i] : " ";

		memcpy(row + o, c, strlen(c));
		o += strlen(c);
	}
	row[o] = '\0';
	return row;
}

static void master_drain(struct term *t)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(t->m, buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < n; i++)
			screen_feed(t, (unsigned char)buf[i]);
}

/* Everything written to the slave so far has reached the model: write a marker after it. */
static void term_sync(struct term *t)
{
	int want = t->marks + 1;
	struct timespec start, now;

	write_all(t->s, SYNC_MARK, sizeof SYNC_MARK - 1);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (t->marks < want) {
		struct pollfd p = { .fd = t->m, .events = POLLIN };

		poll(&p, 1, 100);
		master_drain(t);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 5)
			break;
	}
	CHECK(t->marks >= want, "terminal output never arrived");
}

static int slave_queued(const struct term *t)
{
	int q = 0;

	if (ioctl(t->s, FIONREAD, &q) < 0)
		return 0;
	return q;
}

/*
 * Type n bytes into the terminal and run the editor the way the console would until it reports
 * something other than "more", or has consumed all of them.  Returns that result, with *line.
 */
static int keys_n(struct term *t, const char *k, size_t n, const char **line)
{
	int q0 = slave_queued(t), r = INJ_LE_MORE;
	struct timespec start, now;

	*line = NULL;
	t->out_len = 0;
	t->out[0] = '\0';
	write_all(t->m, k, n);
	/* Wait until the pty has moved all of them to the slave's input queue. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (slave_queued(t) < q0 + (int)n) {
		struct timespec ms = { 0, 1000000 };

		nanosleep(&ms, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > 5) {
			CHECK(0, "typed keys never reached the slave");
			break;
		}
	}
	while (inj_le_pending(t->le) || slave_queued(t) > 0) {
		r = inj_le_read(t->le, line);
		master_drain(t);
		if (r != INJ_LE_MORE)
			break;
	}
	term_sync(t);
	return r;
}

static int keys(struct term *t, const char *k, const char **line)
{
	return keys_n(t, k, strlen(k), line);
}

static void expect_screen_at(int src_line, const struct term *t, const char *text, int col)
{
	const char *row = screen_row(t);

	check_at(strcmp(row, text) == 0 && t->col == col, __FILE__, src_line, "screen %s cursor %d, want %s cursor %d",
		 check_show(row), t->col, check_show(text), col);
}

#define EXPECT_SCREEN(t, text, col) expect_screen_at(__LINE__, t, text, col)

static void expect_line_at(int src_line, int r, const char *line, const char *want)
{
	check_at(r == INJ_LE_LINE && line && strcmp(line, want) == 0, __FILE__, src_line, "got %d %s, want line %s",
		 r, check_show(line), check_show(want));
}

#define EXPECT_LINE(r, line, want) expect_line_at(__LINE__, r, line, want)

/* Type keys that must complete a line, and check it. */
#define TYPE_LINE(t, k, want)                               \
	do {                                                \
		const char *l_;                             \
		int r_ = keys(t, k, &l_);                   \
		expect_line_at(__LINE__, r_, l_, want);     \
		inj_le_show((t)->le);                       \
		term_sync(t);                               \
	} while (0)

/* Type keys that must not complete anything. */
#define TYPE(t, k)                                                              \
	do {                                                                    \
		const char *l_;                                                 \
		int r_ = keys(t, k, &l_);                                       \
		check_at(r_ == INJ_LE_MORE, __FILE__, __LINE__, "keys %s gave %d", check_show(k), r_); \
	} while (0)

static int term_open(struct term *t, int cols)
{
	struct winsize ws = { .ws_row = 24, .ws_col = (unsigned short)cols };
	const char *name;

	memset(t, 0, sizeof *t);
	t->s = -1;
	t->m = posix_openpt(O_RDWR | O_NOCTTY);
	if (t->m < 0)
		return -1;
	if (grantpt(t->m) < 0 || unlockpt(t->m) < 0 || !(name = ptsname(t->m)))
		goto fail;
	t->s = open(name, O_RDWR | O_NOCTTY);
	if (t->s < 0)
		goto fail;
	set_nonblock(t->m);
	ioctl(t->m, TIOCSWINSZ, &ws);
	return 0;
fail:
	close(t->m);
	return -1;
}

static struct term *term_start(const char *prompt, int cols)
{
	struct term *t = malloc(sizeof *t);

	if (!t)
		exit(99);
	if (term_open(t, cols) < 0) {
		printf("FAIL test_lineedit.c: pseudo-terminal went away: %s\n", strerror(errno));
		exit(99);
	}
	t->le = inj_le_new(t->s, t->s, prompt);
	CHECK(t->le != NULL, "inj_le_new on a pty: %s", strerror(errno));
	if (!t->le)
		exit(1);
	term_sync(t);
	return t;
}

static void term_end(struct term *t)
{
	inj_le_free(t->le);
	close(t->s);
	close(t->m);
	free(t);
}

static int same_termios(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag && a->c_cflag == b->c_cflag &&
	       a->c_lflag == b->c_lflag && a->c_cc[VMIN] == b->c_cc[VMIN] &&
	       a->c_cc[VTIME] == b->c_cc[VTIME] && a->c_cc[VINTR] == b->c_cc[VINTR];
}

static void test_tty_modes(void)
{
	struct term *t = malloc(sizeof *t);
	struct termios before, during, after;

	if (!t || term_open(t, 80) < 0)
		exit(99);
	tcgetattr(t->s, &before);
	t->le = inj_le_new(t->s, t->s, "> ");
	CHECK(t->le != NULL, "inj_le_new on a pty: %s", strerror(errno));
	if (!t->le)
		exit(1);
	CHECK(inj_le_is_terminal(t->le), "pty not taken for a terminal");
	tcgetattr(t->s, &during);
	CHECK(!(during.c_lflag & (ECHO | ICANON | ISIG)), "not raw: c_lflag %#x", (unsigned)during.c_lflag);
	CHECK(!(during.c_iflag & ICRNL), "CR still mapped to NL");
	CHECK(during.c_oflag == before.c_oflag, "output processing changed");
	term_sync(t);
	EXPECT_SCREEN(t, "> ", 2);
	TYPE(t, "partial");
	inj_le_free(t->le);
	term_sync(t);
	EXPECT_SCREEN(t, "", 0);
	tcgetattr(t->s, &after);
	CHECK(same_termios(&before, &after), "terminal attributes not restored by inj_le_free");

	/* The emergency path restores too, and inj_le_free() afterwards stays correct. */
	t->le = inj_le_new(t->s, t->s, "> ");
	CHECK(t->le != NULL, "second inj_le_new: %s", strerror(errno));
	if (!t->le)
		exit(1);
	inj_le_restore();
	tcgetattr(t->s, &after);
	CHECK(same_termios(&before, &after), "terminal attributes not restored by inj_le_restore");
	inj_le_restore();
	inj_le_free(t->le);
	tcgetattr(t->s, &after);
	CHECK(same_termios(&before, &after), "attributes wrong after inj_le_restore + inj_le_free");

	/* Once freed, the emergency restore must not apply a stale state. */
	tcgetattr(t->s, &before);
	t->le = inj_le_new(t->s, t->s, "> ");
	if (!t->le)
		exit(1);
	inj_le_free(t->le);
	during = before;
	during.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(t->s, TCSANOW, &during);
	inj_le_restore();
	tcgetattr(t->s, &after);
	CHECK(!(after.c_lflag & ECHO), "inj_le_restore acted after inj_le_free");
	tcsetattr(t->s, TCSANOW, &before);
	close(t->s);
	close(t->m);
	free(t);
}

static void test_tty_editing(void)
{
	struct term *t = term_start("> ", 80);
	const char *line;
	int r;

	/* Insert in the middle after Left; Enter leaves the prompt off until inj_le_show(). */
	TYPE(t, "hello");
	EXPECT_SCREEN(t, "> hello", 7);
	CHECK(strstr(t->out, "hello") != NULL, "typing not echoed: %s", check_show(t->out));
	TYPE(t, K_LEFT K_LEFT);
	EXPECT_SCREEN(t, "> hello", 5);
	TYPE(t, "X");
	EXPECT_SCREEN(t, "> helXlo", 6);
	r = keys(t, "\r", &line);
	EXPECT_LINE(r, line, "helXlo");
	CHECK(t->newlines >= 1, "no newline after Enter");
	EXPECT_SCREEN(t, "", 0);
	CHECK(!inj_le_pending(t->le), "pending after a single line");
	inj_le_show(t->le);
	term_sync(t);
	EXPECT_SCREEN(t, "> ", 2);

	/* Backspace, both codes, at the end and in the middle. */
	TYPE_LINE(t, "abcd" BS C_H "\r", "ab");
	TYPE(t, "abcd" K_LEFT K_LEFT BS);
	EXPECT_SCREEN(t, "> acd", 3);
	TYPE_LINE(t, "\r", "acd");

	/* Home and End, every spelling. */
	TYPE(t, "bcd" C_A);
	EXPECT_SCREEN(t, "> bcd", 2);
	TYPE_LINE(t, "a" C_E "e\r", "abcde");
	TYPE_LINE(t, "mid\033[H<\033[F>\r", "<mid>");
	TYPE_LINE(t, "mid\033OH<\033OF>\r", "<mid>");
	TYPE_LINE(t, "mid\033[1~<\033[4~>\r", "<mid>");
	TYPE_LINE(t, "mid\033[7~<\033[8~>\r", "<mid>");
	TYPE_LINE(t, "ac" C_B "b" C_F "d\r", "abcd");
	TYPE_LINE(t, "ac" K_LEFT "b" K_RIGHT "d" K_RIGHT "e\r", "abcde");

	/* Delete and ^D in a non-empty line remove under the cursor. */
	TYPE(t, "abcd" C_A K_DEL);
	EXPECT_SCREEN(t, "> bcd", 2);
	TYPE_LINE(t, "\r", "bcd");
	TYPE_LINE(t, "abcd" C_A C_F C_D "\r", "acd");
	TYPE_LINE(t, "abcd" C_D "\r", "abcd");

	/* Kill commands. */
	TYPE(t, "abcdef" K_LEFT K_LEFT K_LEFT C_K);
	EXPECT_SCREEN(t, "> abc", 5);
	TYPE_LINE(t, "\r", "abc");
	TYPE(t, "abcdef" K_LEFT K_LEFT C_U);
	EXPECT_SCREEN(t, "> ef", 2);
	TYPE_LINE(t, "\r", "ef");
	TYPE(t, "hello big world" C_W);
	EXPECT_SCREEN(t, "> hello big ", 12);
	TYPE_LINE(t, C_W "\r", "hello ");
	TYPE_LINE(t, "one two  " C_W "\r", "one ");
	TYPE_LINE(t, "word" K_LEFT K_LEFT C_W "\r", "rd");
	TYPE_LINE(t, C_W C_U C_K BS K_DEL K_LEFT "x\r", "x");

	/* Tab and unknown sequences insert nothing; CSI/SS3 with odd parameters are swallowed. */
	TYPE_LINE(t, "a\tb\r", "ab");
	TYPE_LINE(t, "a\033[15~b\033[1;5Xc\033OZd\033xe\033[200~f\033[?1;2cg\r", "abcdefg");
	TYPE_LINE(t, "a\033[1;5Db\r", "ba");
	TYPE_LINE(t, "a\001\002\006\007\016\020\022\023\024\026\031\032\034" "b\r", "ab");
	CHECK(t->unknown == 0, "the editor wrote %d sequences the model does not know", t->unknown);

	/* ^L clears the screen and redraws the line. */
	TYPE(t, "abc" K_LEFT C_L);
	CHECK(t->clears >= 1, "^L did not clear the screen: %s", check_show(t->out));
	EXPECT_SCREEN(t, "> abc", 4);
	TYPE_LINE(t, "\r", "abc");

	/* UTF-8 characters move as one. */
	TYPE(t, "\303\251" K_LEFT "x");
	EXPECT_SCREEN(t, "> x\303\251", 3);
	TYPE_LINE(t, "\r", "x\303\251");
	TYPE_LINE(t, "a\303\251" BS "\r", "a");
	term_end(t);
}

static void test_tty_split_escapes(void)
{
	struct term *t = term_start("> ", 80);

	TYPE(t, "ab");
	TYPE(t, "\033");
	EXPECT_SCREEN(t, "> ab", 4);
	TYPE(t, "[D");
	EXPECT_SCREEN(t, "> ab", 3);
	TYPE_LINE(t, "X\r", "aXb");

	TYPE(t, "abc" C_A "\033[");
	TYPE(t, "3");
	TYPE(t, "~");
	EXPECT_SCREEN(t, "> bc", 2);
	TYPE(t, "\033O");
	TYPE(t, "F");
	EXPECT_SCREEN(t, "> bc", 4);
	TYPE_LINE(t, "\r", "bc");

	/* A control key cuts a sequence short and still acts. */
	TYPE_LINE(t, "ab\033[\r", "ab");
	term_end(t);
}

static void test_tty_history(void)
{
	struct term *t = term_start("> ", 80);
	char cmd[32];
	char *ups;

	inj_le_history_add(t->le, "first");
	inj_le_history_add(t->le, "second");
	inj_le_history_add(t->le, "second");
	inj_le_history_add(t->le, "");
	inj_le_history_add(t->le, NULL);

	TYPE(t, "draft");
	TYPE(t, K_UP);
	EXPECT_SCREEN(t, "> second", 8);
	TYPE(t, K_UP);
	EXPECT_SCREEN(t, "> first", 7);
	TYPE(t, K_UP);
	EXPECT_SCREEN(t, "> first", 7);
	TYPE(t, K_DOWN);
	EXPECT_SCREEN(t, "> second", 8);
	TYPE(t, K_DOWN);
	EXPECT_SCREEN(t, "> draft", 7);
	TYPE(t, K_DOWN);
	EXPECT_SCREEN(t, "> draft", 7);
	TYPE(t, C_P C_P C_P);
	EXPECT_SCREEN(t, "> first", 7);
	TYPE(t, C_N "\033OB" "\033OA");
	EXPECT_SCREEN(t, "> second", 8);
	TYPE(t, C_N);
	EXPECT_SCREEN(t, "> draft", 7);
	TYPE_LINE(t, "\r", "draft");

	/* The editor does not add lines itself; a recalled line can be edited. */
	TYPE_LINE(t, C_P "\r", "second");
	TYPE_LINE(t, C_P " x\r", "second x");
	TYPE_LINE(t, C_P C_P C_P C_N C_N C_N "\r", "");

	/* The edit line survives Ctrl-C? No: Ctrl-C drops the walk and the line. */
	TYPE(t, "typed" C_P);
	{
		const char *line;
		int r = keys(t, C_C, &line);

		CHECK(r == INJ_LE_INTR, "^C while walking the history: %d", r);
	}
	TYPE_LINE(t, C_N "\r", "");
	term_end(t);

	/* At most INJ_LE_HISTORY_MAX entries, the oldest dropped. */
	t = term_start("> ", 80);
	for (int i = 0; i < 600; i++) {
		snprintf(cmd, sizeof cmd, "cmd %d", i);
		inj_le_history_add(t->le, cmd);
	}
	ups = malloc(600 * 3 + 2);
	if (!ups)
		exit(99);
	for (int i = 0; i < 600; i++)
		memcpy(ups + 3 * i, K_UP, 3);
	memcpy(ups + 1800, "\r", 2);
	TYPE_LINE(t, ups, "cmd 100");
	TYPE_LINE(t, C_P "\r", "cmd 599");
	free(ups);
	term_end(t);
}

static void test_tty_signals_and_lines(void)
{
	struct term *t = term_start("> ", 80);
	const char *line;
	int r, nl;

	/* Ctrl-C: -2, "^C", the line is gone and a fresh prompt is up. */
	TYPE(t, "abc");
	nl = t->newlines;
	r = keys(t, C_C, &line);
	CHECK(r == INJ_LE_INTR && line == NULL, "Ctrl-C gave %d", r);
	CHECK(strstr(t->out, "^C") != NULL, "no ^C echoed: %s", check_show(t->out));
	CHECK(t->newlines > nl, "no new row after ^C");
	EXPECT_SCREEN(t, "> ", 2);
	TYPE_LINE(t, "x\r", "x");

	/* Ctrl-D on an empty line: -1, not final. */
	r = keys(t, C_D, &line);
	CHECK(r == INJ_LE_EOF && line == NULL, "Ctrl-D on an empty line gave %d", r);
	CHECK(!inj_le_pending(t->le), "pending after Ctrl-D");
	inj_le_show(t->le);
	term_sync(t);
	EXPECT_SCREEN(t, "> ", 2);
	TYPE_LINE(t, "y\r", "y");

	/* Several lines in one read; CR LF is one line end; LF alone is Enter too. */
	r = keys(t, "one\rtwo\r\nthree\nfour", &line);
	EXPECT_LINE(r, line, "one");
	CHECK(inj_le_pending(t->le), "second typed line not pending");
	r = inj_le_read(t->le, &line);
	EXPECT_LINE(r, line, "two");
	r = inj_le_read(t->le, &line);
	EXPECT_LINE(r, line, "three");
	CHECK(inj_le_pending(t->le), "typed-ahead bytes not pending");
	r = inj_le_read(t->le, &line);
	CHECK(r == INJ_LE_MORE, "partial typed-ahead line gave %d", r);
	CHECK(!inj_le_pending(t->le), "pending with nothing left");
	term_sync(t);
	EXPECT_SCREEN(t, "> four", 6);
	TYPE_LINE(t, "\r", "four");

	/* Hide and show around asynchronous output. */
	TYPE(t, "abc" K_LEFT);
	inj_le_hide(t->le);
	inj_le_hide(t->le);
	term_sync(t);
	EXPECT_SCREEN(t, "", 0);
	nl = t->newlines;
	write_all(t->s, "status: ok\n", 11);
	term_sync(t);
	CHECK(t->newlines == nl + 1, "status line not on its own row");
	inj_le_show(t->le);
	term_sync(t);
	EXPECT_SCREEN(t, "> abc", 4);
	TYPE_LINE(t, "d\r", "abdc");

	/* Without inj_le_show(), the next key brings the prompt back. */
	r = keys(t, "q\r", &line);
	EXPECT_LINE(r, line, "q");
	EXPECT_SCREEN(t, "", 0);
	TYPE(t, "z");
	EXPECT_SCREEN(t, "> z", 3);
	TYPE_LINE(t, "\r", "z");
	term_end(t);
}

static void test_tty_wide_lines(void)
{
	struct term *t = term_start("> ", 20);
	const char *text = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
	const char *row;
	size_t rl;

	TYPE(t, text);
	row = screen_row(t);
	rl = strlen(row);
	CHECK(rl <= 19 && rl >= 10 && strcmp(row + rl - 4, "ABCD") == 0, "end of a long line: %s", check_show(row));
	CHECK(strncmp(row, "> ", 2) == 0, "prompt scrolled away: %s", check_show(row));
	CHECK(t->col == (int)rl && t->col <= 19, "cursor %d on %s", t->col, check_show(row));
	CHECK(t->maxcol <= 18, "wrote into the last column (%d)", t->maxcol);
	TYPE(t, C_A);
	EXPECT_SCREEN(t, "> 0123456789abcdefg", 2);
	TYPE(t, C_E);
	row = screen_row(t);
	rl = strlen(row);
	CHECK(strcmp(row + rl - 4, "ABCD") == 0 && t->col == (int)rl, "End on a long line: %s", check_show(row));
	TYPE(t, C_A C_F C_F C_F C_F C_F C_F C_F C_F C_F C_F C_F C_F C_F C_F C_F C_F C_F C_F C_F C_F);
	row = screen_row(t);
	CHECK(t->col <= 19 && strlen(row) <= 19 && row[t->col - 1] == 'j',
	      "cursor after 20 Right: %d on %s", t->col, check_show(row));
	TYPE(t, C_E BS BS BS BS BS BS BS BS BS BS BS BS BS BS BS BS BS BS BS BS BS BS BS BS BS BS BS BS BS BS);
	EXPECT_SCREEN(t, "> 0123456789", 12);
	CHECK(t->maxcol <= 18, "wrote into the last column (%d)", t->maxcol);
	TYPE_LINE(t, "\r", "0123456789");
	TYPE(t, text);
	TYPE_LINE(t, "\r", text);
	term_end(t);
}

/* The prompt changes (the gdb console's "(gdb) "): drawn from the next inj_le_show() on. */
static void test_tty_prompt_change(void)
{
	struct term *t = term_start("memtrace> ", 80);

	EXPECT_SCREEN(t, "memtrace> ", 10);
	TYPE_LINE(t, "gdb\r", "gdb");
	CHECK(inj_le_set_prompt(t->le, "(gdb) ") == 0, "inj_le_set_prompt failed");
	inj_le_show(t->le);
	term_sync(t);
	EXPECT_SCREEN(t, "(gdb) ", 6);
	TYPE(t, "bt");
	EXPECT_SCREEN(t, "(gdb) bt", 8);
	/* changed while a partial line is up: the redraw keeps the line and the cursor after it */
	CHECK(inj_le_set_prompt(t->le, "memtrace> ") == 0, "inj_le_set_prompt back failed");
	inj_le_show(t->le);
	term_sync(t);
	EXPECT_SCREEN(t, "memtrace> bt", 12);
	TYPE(t, K_LEFT);
	EXPECT_SCREEN(t, "memtrace> bt", 11);
	CHECK(inj_le_set_prompt(NULL, "x") == 0, "NULL editor: not a no-op");
	term_end(t);
}

static void test_tty_hangup(void)
{
	struct term *t = term_start("> ", 80);
	const char *line;
	int r;

	TYPE(t, "abc");
	close(t->m);
	t->m = open("/dev/null", O_RDONLY);
	r = inj_le_read(t->le, &line);
	CHECK(r == INJ_LE_EOF || (r == INJ_LE_ERROR && errno == EIO), "hangup gave %d", r);
	if (r == INJ_LE_EOF)
		CHECK(inj_le_read(t->le, &line) == INJ_LE_EOF, "hangup not final");
	inj_le_free(t->le);
	close(t->s);
	close(t->m);
	free(t);
}

int main(void)
{
	struct term probe;

	setvbuf(stdout, NULL, _IOLBF, 0);
	test_pipe_line_ends();
	test_pipe_many_lines();
	test_pipe_huge();
	test_pipe_contract();

	if (term_open(&probe, 80) < 0) {
		printf("test_lineedit: %d checks, %d failed\n", checks, failures);
		printf("SKIP: terminal mode untested, cannot open a pseudo-terminal: %s\n", strerror(errno));
		return failures ? 1 : 77;
	}
	close(probe.s);
	close(probe.m);
	test_tty_modes();
	test_tty_editing();
	test_tty_split_escapes();
	test_tty_history();
	test_tty_signals_and_lines();
	test_tty_wide_lines();
	test_tty_prompt_change();
	test_tty_hangup();

	return check_done();
}
