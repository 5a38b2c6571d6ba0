/*
 * Line editor for the memtrace console.
 *
 * The console waits on standard input, its control socket, a signalfd and timers in a single
 * poll() loop, so it cannot sit in a blocking readline-style call.  Instead the caller feeds this
 * editor one "input is readable" event at a time and gets complete command lines back.  When the
 * input is a terminal the editor switches it to raw mode and does its own echo and editing on one
 * screen row (cursor keys, kill commands, history); otherwise it only splits the byte stream into
 * lines.  Nothing here blocks except the single read() the caller's poll() said would not.
 */
#ifndef MEMTRACE_INJECT_LINEEDIT_H
#define MEMTRACE_INJECT_LINEEDIT_H

/* Results of inj_le_read(); the numeric values are part of the contract. */
enum inj_le_result {
	INJ_LE_LINE = 1,	/* a complete line is in *line */
	INJ_LE_MORE = 0,	/* nothing complete yet: wait for input again */
	INJ_LE_EOF = -1,	/* end of input */
	INJ_LE_INTR = -2,	/* Ctrl-C on a terminal: the line being typed was thrown away */
	INJ_LE_ERROR = -3,	/* read() failed, errno says why */
};

/* Number of history entries kept; older ones are dropped first. */
#define INJ_LE_HISTORY_MAX 500

struct inj_le;

/*
 * Create an editor reading from in_fd and drawing on out_fd (usually 0 and 1).  Neither fd is
 * closed by the editor, nor switched to O_NONBLOCK; a caller that made in_fd non-blocking itself
 * is fine too.  prompt may be NULL (no prompt); it is copied.  It should be plain printable text
 * (no escape sequences) narrower than the terminal: its width is counted in UTF-8 characters.
 *
 * When in_fd is a terminal: its attributes are saved and it is put in raw mode (no echo, no
 * canonical input, no signal keys, so Ctrl-C and Ctrl-Z arrive as bytes; output processing is left
 * as it was so that other writers to the terminal still get their "\n" turned into "\r\n"), the
 * prompt is drawn, and inj_le_restore() is armed to put the saved attributes back.  Only one
 * editor at a time should own a given terminal.  Otherwise there is no prompt, no echo and no
 * editing: the input is split into lines and that is all.
 *
 * Returns NULL with errno set on failure: EBADF for a bad fd, ENOMEM, or what tcgetattr() or
 * tcsetattr() said.  The terminal is left untouched on failure.
 */
struct inj_le *inj_le_new(int in_fd, int out_fd, const char *prompt);

/*
 * Erase the prompt and partial line if they are on screen, put the terminal attributes back as
 * inj_le_new() found them, disarm inj_le_restore() for this editor and free everything, including
 * the last line returned and the history.  NULL is a no-op.  errno is preserved.
 */
void inj_le_free(struct inj_le *le);

/*
 * Emergency restore for atexit() handlers and fatal-signal handlers: put back the terminal
 * attributes saved by the most recent inj_le_new() on a terminal whose editor is not freed yet.
 * Async-signal-safe (only tcsetattr()), preserves errno, does not touch the screen and does not
 * free anything.  Calling it more than once, with no editor, or with a non-terminal editor is a
 * no-op.  Afterwards the editor still works, but the terminal is no longer raw, so it is only
 * meant for paths that end the program; inj_le_free() remains correct to call.
 */
void inj_le_restore(void);

/*
 * Process input.  Call it when poll() reports in_fd readable (it then does exactly one read()),
 * or when inj_le_pending() is true (it then does no read() at all).  line must not be NULL.
 *
 * Returns
 *   INJ_LE_LINE (1): *line is the completed line, NUL-terminated, without its line end.  It is
 *     owned by le and valid until the next inj_le_read() or inj_le_free().  The history is not
 *     updated: call inj_le_history_add() for lines worth recalling.  A NUL byte in the input
 *     shortens the line as C sees it.
 *   INJ_LE_MORE (0): nothing complete yet; also when read() failed with EAGAIN or EINTR.
 *   INJ_LE_EOF (-1): end of input.  When read() returned 0 this is final: every later call returns
 *     -1 again without reading (a last line without a line end is returned first, as a line).
 *     On a terminal, Ctrl-D on an empty line also returns -1; that one is not final.
 *   INJ_LE_INTR (-2): terminal only, Ctrl-C: "^C" is echoed, the line being typed is discarded and
 *     a fresh prompt is drawn.
 *   INJ_LE_ERROR (-3): read() failed, errno set (EINVAL if le or line is NULL, ENOMEM if the
 *     buffer for a long line could not grow).
 *   *line is NULL whenever the result is not INJ_LE_LINE.
 *
 * Input that is not a terminal: a line ends at LF, CR, or CR LF (one line end even when the CR and
 * the LF arrive in different reads); lines may be of any length.
 *
 * On a terminal the keys are: printable characters (UTF-8 too) insert at the cursor; Backspace
 * (DEL or ^H) and Delete (ESC [3~) remove a character; Left/Right (ESC [D, ESC [C, ^B, ^F) move;
 * Home/End (ESC [H, ESC [F, ESC OH, ESC OF, ESC [1~, ESC [4~, ESC [7~, ESC [8~, ^A, ^E); ^K kills to
 * the end of the line, ^U to its start, ^W the word before the cursor; ^L clears the screen;
 * Up/Down (ESC [A, ESC [B, ESC OA, ESC OB, ^P, ^N) walk the history, and Down past the newest
 * entry brings back the line that was being typed; Enter (CR or LF, CR LF counting once) ends the
 * line; ^D deletes under the cursor, or is end of input on an empty line; ^C as above.  Tab, other
 * control characters and escape sequences not listed (including ESC followed by a key, i.e. Alt
 * combinations) are swallowed.  A sequence may be split across reads.  Since the editor never
 * waits for more bytes, a lone Escape key press combines with the next key.
 *
 * After a line (1) or end of input (-1) on a terminal, the cursor is at the start of a fresh row
 * and the prompt is NOT drawn, so that the command's output is not glued to it: call inj_le_show()
 * once that output is printed.  If the caller does not, the next inj_le_read() that gets input
 * draws the prompt before handling it.
 */
int inj_le_read(struct inj_le *le, const char **line);

/*
 * True (1) when inj_le_read() has something to do without new input: a complete line is
 * buffered, terminal bytes from an earlier read() are still unprocessed, or end of input was seen
 * but not yet reported.  Check it after every inj_le_read() before going back to poll(), since
 * several lines can arrive in one read().  0 otherwise, and for NULL.
 */
int inj_le_pending(const struct inj_le *le);

/*
 * Call inj_le_hide() before writing asynchronous output (a periodic status line) to the terminal:
 * it erases the prompt and the partial line, leaving the cursor at the start of that row.  Then
 * write whole lines, and call inj_le_show() to draw the prompt and the partial line again with the
 * cursor where it was.  inj_le_show() also draws the prompt after a returned line (see
 * inj_le_read()), and simply redraws when nothing was hidden.  Both are no-ops for NULL and when
 * the input is not a terminal; hiding twice is harmless.
 */
void inj_le_hide(struct inj_le *le);
void inj_le_show(struct inj_le *le);

/*
 * Change the prompt (copied; plain printable text, as for inj_le_new()).  It is drawn from the
 * next redraw on: call it before inj_le_show().  0, or -1 with errno ENOMEM and the old prompt
 * kept.  NULL le is a no-op.
 */
int inj_le_set_prompt(struct inj_le *le, const char *prompt);

/*
 * Add a line to the history recalled with Up/Down.  NULL and empty lines are ignored, and so is a
 * line equal to the newest entry.  At most INJ_LE_HISTORY_MAX entries are kept, the oldest going
 * first.  The line is copied; when memory runs out the line is silently not added.  NULL le is a
 * no-op.  Also accepted (and unused) when the input is not a terminal.
 */
void inj_le_history_add(struct inj_le *le, const char *line);

/* 1 when in_fd is a terminal and editing is on, 0 otherwise (and for NULL). */
int inj_le_is_terminal(const struct inj_le *le);

#endif /* MEMTRACE_INJECT_LINEEDIT_H */
