/*
 * command.c: commands and answers. Each command gets a token; gdb echoes
 * it on the result record, which is how an answer finds its command even
 * after an earlier command timed out. Stream records carry no token: they
 * are charged to the oldest command still unanswered, since gdb runs
 * commands one at a time in the order it read them.
 *
 * Everything happens in gdbmi_session_step: write what is queued, read
 * stdout into the parser (which calls gdbmi_dispatch per record), read
 * stderr into the log, expire deadlines, and notice gdb's death: its exit
 * (a pidfd, or waitid without reaping), EOF on its stdout, EPIPE on its
 * stdin. Blocking calls are loops over it.
 *
 * The session's log, its error text and the clock are here too, beside the
 * engine that uses them most: session.c calls into this file, never back.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monotime.h"
#include "session.h"

/* Reads per step: a flood of output cannot starve the caller's loop. */
#define READS_PER_STEP 16
/* How long gdb may take to go once its stdout closed, before SIGKILL. */
#define REAP_MS 1000
/* Without a pidfd: how often to look whether gdb has exited. */
#define EXIT_CHECK_MS 200

/* ---------------------------------------------------------------- log, errors, clock */

int64_t gdbmi_now_ms(void)
{
	return monotime_ms();
}

static void vlog(struct gdbmi_session *s, enum gdbmi_log_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	int saved = errno;

	if (s->opt.log || level == GDBMI_LOG_ERR) {
		vsnprintf(msg, sizeof(msg), fmt, ap);
		if (s->opt.log)
			s->opt.log(s->opt.log_ctx, level, msg);
		else
			fprintf(stderr, "gdbmi: %s\n", msg);
	}
	errno = saved;
}

void gdbmi_log(struct gdbmi_session *s, enum gdbmi_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(s, level, fmt, ap);
	va_end(ap);
}

void gdbmi_set_error(struct gdbmi_session *s, enum gdbmi_log_level level, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	gdbmi_buf_reset(&s->error);
	va_start(ap, fmt);
	gdbmi_buf_vprintf(&s->error, fmt, ap);
	va_end(ap);
	if (s->error.p)
		gdbmi_log(s, level, "%s", s->error.p);
	errno = saved;
}

/* ---------------------------------------------------------------- pending list */

static void pending_unlink(struct gdbmi_session *s, struct gdbmi_pending *p)
{
	struct gdbmi_pending **pp, *prev = NULL;

	for (pp = &s->head; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			if (s->tail == p)
				s->tail = prev;
			break;
		}
	}
}

static void pending_destroy(struct gdbmi_pending *p)
{
	gdbmi_record_free(p->rec);
	gdbmi_buf_free(&p->console);
	gdbmi_buf_free(&p->log);
	free(p);
}

static struct gdbmi_pending *pending_find(struct gdbmi_session *s, unsigned long long token)
{
	for (struct gdbmi_pending *p = s->head; p; p = p->next)
		if (p->token == token)
			return p;
	return NULL;
}

/* The command gdb is working on: the oldest one not answered. */
static struct gdbmi_pending *pending_current(struct gdbmi_session *s)
{
	for (struct gdbmi_pending *p = s->head; p; p = p->next)
		if (!p->answered)
			return p;
	return NULL;
}

void gdbmi_pending_free_all(struct gdbmi_session *s)
{
	struct gdbmi_pending *p, *next;

	for (p = s->head; p; p = next) {
		next = p->next;
		pending_destroy(p);
	}
	s->head = s->tail = NULL;
}

static void call_done(struct gdbmi_session *s, struct gdbmi_pending *p, enum gdbmi_status st,
		      struct gdbmi_record *rec)
{
	s->in_callback++;
	p->done(p->ctx, st, rec);
	s->in_callback--;
}

/* Give P its answer (REC may be NULL for ST other than OK / GDB_ERROR). */
static void answer(struct gdbmi_session *s, struct gdbmi_pending *p, enum gdbmi_status st,
		   struct gdbmi_record *rec)
{
	p->answered = 1;
	if (p->delivered) {
		/* The caller took a timeout: this late answer has no one to go to. */
		gdbmi_log(s, GDBMI_LOG_INFO, "late answer to `%s` dropped", p->cmd);
		gdbmi_record_free(rec);
		pending_unlink(s, p);
		pending_destroy(p);
		return;
	}
	p->st = st;
	if (rec) {
		struct gdbmi_arena *a = gdbmi_record_arena(rec);

		if (p->console.len &&
		    (rec->console = gdbmi_arena_strndup(a, p->console.p, p->console.len)))
			rec->console_len = p->console.len;
		if (p->log.len && (rec->log = gdbmi_arena_strndup(a, p->log.p, p->log.len)))
			rec->log_len = p->log.len;
	}
	if (st == GDBMI_GDB_ERROR)
		gdbmi_set_error(s, GDBMI_LOG_INFO, "`%s`: %s", p->cmd, gdbmi_error_msg(rec));
	if (p->done) {
		p->delivered = 1;
		pending_unlink(s, p);
		call_done(s, p, st, rec);
		pending_destroy(p);
		return;
	}
	p->rec = rec;
}

/* Deliver timeouts to callbacks whose deadline passed. */
static void expire(struct gdbmi_session *s)
{
	int64_t now = gdbmi_now_ms();
	struct gdbmi_pending *p;

restart:
	for (p = s->head; p; p = p->next) {
		if (p->answered || p->delivered || !p->done || p->deadline > now)
			continue;
		p->delivered = 1;
		gdbmi_set_error(s, GDBMI_LOG_WARN, "gdb did not answer `%s` within %d ms", p->cmd,
				p->timeout_ms);
		call_done(s, p, GDBMI_TIMEOUT, NULL);
		/* The callback may have sent commands: the list changed. */
		goto restart;
	}
}

/* ---------------------------------------------------------------- dispatch */

static void to_async(struct gdbmi_session *s, const struct gdbmi_record *rec)
{
	if (!s->opt.on_async)
		return;
	s->in_callback++;
	s->opt.on_async(s->opt.async_ctx, rec);
	s->in_callback--;
}

void gdbmi_dispatch(void *ctx, struct gdbmi_record *rec)
{
	struct gdbmi_session *s = ctx;
	struct gdbmi_pending *p;

	if (s->opt.log)
		gdbmi_log(s, GDBMI_LOG_DEBUG, "< %.*s%s",
			  rec->line_len > 300 ? 300 : (int)rec->line_len, rec->line,
			  rec->line_len > 300 ? "..." : "");
	switch (rec->type) {
	case GDBMI_RESULT:
		if (rec->rclass == GDBMI_EXIT)
			s->quitting = 1; /* gdb goes next: no surprise */
		p = rec->has_token ? pending_find(s, rec->token) : NULL;
		if (p && !p->answered) {
			answer(s, p, rec->rclass == GDBMI_ERROR ? GDBMI_GDB_ERROR : GDBMI_OK, rec);
			return;
		}
		gdbmi_log(s, GDBMI_LOG_WARN, "answer to no command of ours: %.*s",
			  rec->line_len > 200 ? 200 : (int)rec->line_len, rec->line);
		break;
	case GDBMI_PARSE_ERROR:
		gdbmi_log(s, GDBMI_LOG_WARN, "not MI (column %zu: %s): %.*s", rec->column,
			  rec->text, rec->line_len > 200 ? 200 : (int)rec->line_len, rec->line);
		/* A garbled answer still ends its command, or it would hang to its deadline. */
		p = rec->has_token ? pending_find(s, rec->token) : NULL;
		if (p && !p->answered) {
			to_async(s, rec);
			gdbmi_record_free(rec);
			answer(s, p, GDBMI_BAD_INPUT, NULL);
			return;
		}
		break;
	case GDBMI_EXEC:
		if (strcmp(rec->cls, "running") == 0) {
			s->running = 1;
		} else if (strcmp(rec->cls, "stopped") == 0) {
			s->running = 0;
			s->stops++;
			to_async(s, rec);
			gdbmi_record_free(s->last_stop);
			s->last_stop = rec;
			return;
		}
		break;
	case GDBMI_CONSOLE:
	case GDBMI_LOG:
		p = pending_current(s);
		if (p && gdbmi_buf_add(rec->type == GDBMI_CONSOLE ? &p->console : &p->log,
				       rec->text, rec->text_len) < 0)
			gdbmi_log(s, GDBMI_LOG_WARN, "out of memory: output of `%s` cut", p->cmd);
		break;
	default:
		break;
	}
	if (rec->type != GDBMI_PROMPT)
		to_async(s, rec);
	gdbmi_record_free(rec);
}

/* ---------------------------------------------------------------- I/O */

/* Write what is queued, as far as the pipe takes it. -1 once gdb is gone. */
static int flush_out(struct gdbmi_session *s)
{
	while (s->out_off < s->out.len) {
		ssize_t n = gdbmi_write_nosigpipe(s->proc.in, s->out.p + s->out_off,
						  s->out.len - s->out_off);

		if (n < 0) {
			if (errno == EAGAIN)
				return 0;
			if (errno != EPIPE)
				gdbmi_log(s, GDBMI_LOG_ERR, "writing to gdb: %s", strerror(errno));
			gdbmi_mark_dead(s);
			return -1;
		}
		s->out_off += (size_t)n;
	}
	gdbmi_buf_reset(&s->out);
	s->out_off = 0;
	return 0;
}

/* Read gdb's stderr: whole lines go to the log, the last one is kept. */
static int read_stderr(struct gdbmi_session *s)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(s->proc.err, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				/* A runaway line is cut rather than held whole. */
				if (s->err_line.len < 4096)
					gdbmi_buf_add(&s->err_line, &buf[i], 1);
				continue;
			}
			if (!s->err_line.len)
				continue;
			gdbmi_log(s, GDBMI_LOG_INFO, "gdb: %s", s->err_line.p);
			snprintf(s->err_last, sizeof(s->err_last), "%s", s->err_line.p);
			gdbmi_buf_reset(&s->err_line);
		}
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		close(s->proc.err);
		s->proc.err = -1;
	}
	return 0;
}

/*
 * Read gdb's stdout into the parser, at most MAX reads. 0 when the pipe is
 * empty, 1 when there may be more, -1 after EOF (gdb was marked dead).
 */
static int read_stdout(struct gdbmi_session *s, int max)
{
	for (int i = 0; i < max && !s->dead; i++) {
		ssize_t n = read(s->proc.out, s->readbuf, GDBMI_READ_SIZE);

		if (n > 0) {
			if (gdbmi_parser_push(s->parser, s->readbuf, (size_t)n) != GDBMI_OK)
				gdbmi_log(s, GDBMI_LOG_ERR,
					  "out of memory: a line from gdb was lost");
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			gdbmi_log(s, GDBMI_LOG_ERR, "reading from gdb: %s", strerror(errno));
		gdbmi_mark_dead(s);
		return -1;
	}
	return s->dead ? -1 : 1;
}

/*
 * gdb exited while its output may still be open (held by a helper it
 * started): take what it wrote before it went, then end the session.
 */
static void gdb_exited(struct gdbmi_session *s)
{
	/* Bounded: a helper could keep writing into the pipe for ever. */
	if (read_stdout(s, 64) >= 0)
		gdbmi_mark_dead(s);
}

void gdbmi_mark_dead(struct gdbmi_session *s)
{
	struct gdbmi_pending *p, *next;
	char how[96];
	int status = 0, r;

	if (s->dead)
		return;
	s->dead = 1;
	gdbmi_parser_finish(s->parser);
	if (s->proc.err >= 0)
		read_stderr(s);
	if (s->err_line.len) {
		snprintf(s->err_last, sizeof(s->err_last), "%s", s->err_line.p);
		gdbmi_buf_reset(&s->err_line);
	}
	/* Its output closed, so it is leaving; one that lingers is killed. */
	r = gdbmi_proc_reap(&s->proc, REAP_MS, &status);
	if (r == 0) {
		gdbmi_proc_kill(&s->proc, SIGKILL);
		r = gdbmi_proc_reap(&s->proc, REAP_MS, &status);
	}
	if (r != 1)
		snprintf(how, sizeof(how), "gdb closed its output but could not be reaped");
	else if (status == -1)
		snprintf(how, sizeof(how), "gdb ended");
	else if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "gdb was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(how, sizeof(how), "gdb exited with status %d", WEXITSTATUS(status));
	gdbmi_set_error(s, s->quitting && r == 1 && status == 0 ? GDBMI_LOG_INFO : GDBMI_LOG_WARN,
			"%s%s%s%s", how, s->err_last[0] ? " (last on stderr: " : "", s->err_last,
			s->err_last[0] ? ")" : "");
	gdbmi_proc_close(&s->proc);
	gdbmi_buf_reset(&s->out);
	s->out_off = 0;
	s->running = 0;
	for (p = s->head; p; p = next) {
		next = p->next;
		if (!p->answered)
			answer(s, p, GDBMI_DEAD, NULL);
	}
}

int gdbmi_session_pollfds(const struct gdbmi_session *s, struct pollfd *pfd, int n)
{
	int k = 0;

	if (s->dead)
		return 0;
	if (k < n && s->proc.out >= 0)
		pfd[k++] = (struct pollfd){ .fd = s->proc.out, .events = POLLIN };
	if (k < n && s->proc.err >= 0)
		pfd[k++] = (struct pollfd){ .fd = s->proc.err, .events = POLLIN };
	if (k < n && s->proc.pidfd >= 0)
		pfd[k++] = (struct pollfd){ .fd = s->proc.pidfd, .events = POLLIN };
	if (k < n && s->out_off < s->out.len)
		pfd[k++] = (struct pollfd){ .fd = s->proc.in, .events = POLLOUT };
	return k;
}

int gdbmi_session_next_timeout(const struct gdbmi_session *s)
{
	int64_t now = gdbmi_now_ms(), best = -1;

	for (const struct gdbmi_pending *p = s->head; p; p = p->next) {
		if (p->answered || p->delivered)
			continue;
		if (best < 0 || p->deadline - now < best)
			best = p->deadline - now < 0 ? 0 : p->deadline - now;
	}
	/* Without a pidfd, gdb's exit is only seen by looking now and then. */
	if (!s->dead && s->proc.pidfd < 0 && (best < 0 || best > EXIT_CHECK_MS))
		best = EXIT_CHECK_MS;
	return best > 0x7fffffff ? 0x7fffffff : (int)best;
}

enum gdbmi_status gdbmi_session_step(struct gdbmi_session *s, int timeout_ms)
{
	struct pollfd pfd[4];
	int n, next;

	if (s->in_callback)
		return GDBMI_BAD_INPUT;
	if (s->dead)
		return GDBMI_DEAD;
	if (flush_out(s) < 0)
		return GDBMI_DEAD;
	next = gdbmi_session_next_timeout(s);
	if (next >= 0 && (timeout_ms < 0 || next < timeout_ms))
		timeout_ms = next;
	n = gdbmi_session_pollfds(s, pfd, 4);
	if (poll(pfd, (nfds_t)n, timeout_ms) < 0 && errno != EINTR) {
		gdbmi_log(s, GDBMI_LOG_ERR, "poll: %s", strerror(errno));
		return GDBMI_IO;
	}
	/* stderr first: when gdb dies, its last words explain why. */
	for (int i = 0; i < n; i++)
		if (pfd[i].fd == s->proc.err && pfd[i].revents)
			read_stderr(s);
	for (int i = 0; i < n && !s->dead; i++) {
		if (!pfd[i].revents)
			continue;
		if (pfd[i].fd == s->proc.out)
			read_stdout(s, READS_PER_STEP);
		else if (pfd[i].fd == s->proc.in)
			flush_out(s);
	}
	if (!s->dead && gdbmi_proc_exited(&s->proc))
		gdb_exited(s);
	expire(s);
	return s->dead ? GDBMI_DEAD : GDBMI_OK;
}

/* ---------------------------------------------------------------- commands */

enum gdbmi_status gdbmi_vsend(struct gdbmi_session *s, gdbmi_done_fn *done, void *ctx,
			      int timeout_ms, unsigned long long *token, const char *fmt,
			      va_list ap)
{
	struct gdbmi_pending *p;
	size_t start = s->out.len, cmd;

	if (s->dead) {
		/* The session error keeps saying how gdb ended. */
		gdbmi_log(s, GDBMI_LOG_WARN, "gdb is gone: cannot send a command");
		return GDBMI_DEAD;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return GDBMI_NOMEM;
	p->token = ++s->next_token;
	if (gdbmi_buf_printf(&s->out, "%llu", p->token) < 0)
		goto out_nomem;
	cmd = s->out.len;
	if (gdbmi_buf_vprintf(&s->out, fmt, ap) < 0)
		goto out_nomem;
	if (memchr(s->out.p + cmd, '\n', s->out.len - cmd) ||
	    memchr(s->out.p + cmd, '\r', s->out.len - cmd)) {
		s->out.len = start;
		s->out.p[start] = '\0';
		free(p);
		gdbmi_set_error(s, GDBMI_LOG_ERR, "a command cannot hold a line break");
		return GDBMI_BAD_INPUT;
	}
	snprintf(p->cmd, sizeof(p->cmd), "%.*s%s",
		 (int)(s->out.len - cmd > 60 ? 60 : s->out.len - cmd), s->out.p + cmd,
		 s->out.len - cmd > 60 ? "..." : "");
	if (gdbmi_buf_add(&s->out, "\n", 1) < 0)
		goto out_nomem;
	p->done = done;
	p->ctx = ctx;
	p->timeout_ms = timeout_ms > 0 ? timeout_ms : s->opt.timeout_ms;
	p->deadline = gdbmi_now_ms() + p->timeout_ms;
	if (s->tail)
		s->tail->next = p;
	else
		s->head = p;
	s->tail = p;
	if (token)
		*token = p->token;
	if (s->opt.log)
		gdbmi_log(s, GDBMI_LOG_DEBUG, "> %llu%s", p->token, p->cmd);
	/* Inside a callback the parser is busy: a death found now waits for the step. */
	if (!s->in_callback)
		flush_out(s);
	return GDBMI_OK;

out_nomem:
	s->out.len = start;
	if (s->out.p)
		s->out.p[start] = '\0';
	free(p);
	return GDBMI_NOMEM;
}

enum gdbmi_status gdbmi_send(struct gdbmi_session *s, gdbmi_done_fn *done, void *ctx,
			     int timeout_ms, unsigned long long *token, const char *fmt, ...)
{
	enum gdbmi_status st;
	va_list ap;

	va_start(ap, fmt);
	st = gdbmi_vsend(s, done, ctx, timeout_ms, token, fmt, ap);
	va_end(ap);
	return st;
}

enum gdbmi_status gdbmi_wait(struct gdbmi_session *s, unsigned long long token,
			     struct gdbmi_record **rec)
{
	struct gdbmi_pending *p = pending_find(s, token);
	enum gdbmi_status st;
	int64_t left;

	if (rec)
		*rec = NULL;
	if (!p || p->delivered || p->done || s->in_callback) {
		gdbmi_set_error(s, GDBMI_LOG_ERR, "no answer to wait for (token %llu)", token);
		return GDBMI_BAD_INPUT;
	}
	while (!p->answered) {
		left = p->deadline - gdbmi_now_ms();
		if (left <= 0) {
			p->delivered = 1;
			gdbmi_set_error(s, GDBMI_LOG_WARN, "gdb did not answer `%s` within %d ms",
					p->cmd, p->timeout_ms);
			return GDBMI_TIMEOUT;
		}
		st = gdbmi_session_step(s, left > 0x7fffffff ? 0x7fffffff : (int)left);
		if (st == GDBMI_IO)
			return st;
	}
	st = p->st;
	if (rec)
		*rec = p->rec;
	else
		gdbmi_record_free(p->rec);
	p->rec = NULL;
	p->delivered = 1;
	pending_unlink(s, p);
	pending_destroy(p);
	return st;
}

static enum gdbmi_status vcmd(struct gdbmi_session *s, int timeout_ms, struct gdbmi_record **rec,
			      const char *fmt, va_list ap)
{
	unsigned long long token;
	enum gdbmi_status st;

	if (rec)
		*rec = NULL;
	if (s->in_callback)
		return GDBMI_BAD_INPUT;
	st = gdbmi_vsend(s, NULL, NULL, timeout_ms, &token, fmt, ap);
	if (st != GDBMI_OK)
		return st;
	return gdbmi_wait(s, token, rec);
}

enum gdbmi_status gdbmi_cmd(struct gdbmi_session *s, struct gdbmi_record **rec, const char *fmt,
			    ...)
{
	enum gdbmi_status st;
	va_list ap;

	va_start(ap, fmt);
	st = vcmd(s, 0, rec, fmt, ap);
	va_end(ap);
	return st;
}

enum gdbmi_status gdbmi_cmd_timeout(struct gdbmi_session *s, int timeout_ms,
				    struct gdbmi_record **rec, const char *fmt, ...)
{
	enum gdbmi_status st;
	va_list ap;

	va_start(ap, fmt);
	st = vcmd(s, timeout_ms, rec, fmt, ap);
	va_end(ap);
	return st;
}
