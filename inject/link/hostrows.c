/*
 * Unwind rows from the host (hostrows.h): the agent lists its modules with
 * how much of each one's code its own tables say; for each that says too
 * little, memtrace-server compiles the host copy's tables (matched by
 * build-id) and memtrace passes the rows on to the agent in pieces that fit
 * its requests. The rows are not read here: the server's reply is checked
 * for its size and cut, the agent checks the rest (base64, order, range).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "elfsym.h"
#include "link/hostrows.h"
#include "log.h"
#include "report.h"

/* A module whose own rows say less of its code than this (per mille) asks for the host's. */
#define ENOUGH_PER_MILLE 900
/* Rows a piece: 36,864 bytes, 49,152 base64 characters (a multiple of 3
 * bytes, so each piece decodes alone), well inside a 64 KiB request. */
#define PIECE_ROWS 4608
#define ROW_BYTES 8
#define SERVER_MS 60000		/* the server compiles a C library in milliseconds; a loaded host, longer */

/* One module's rows: asked of the server, given to the agent. 1 taken, 0 not (said), -1 link or session lost. */
static int one_module(struct inj_session *s, struct inj_link *l, struct inj_symcache *syms, const cJSON *regs,
		      const char *path, const char *addr, int timeout_ms)
{
	static char text[(PIECE_ROWS * ROW_BYTES + 2) / 3 * 4 + 1];
	cJSON *args = cJSON_CreateObject(), *r, *piece, *done = NULL;
	const char *bid = syms ? inj_symcache_build_id(syms, path) : NULL;
	const char *rows;
	double count;
	size_t len;
	long id;
	int ret = 0;

	cJSON_AddStringToObject(args, "module", path);
	if (bid)
		cJSON_AddStringToObject(args, "build_id", bid);
	cJSON_AddItemToObject(args, "regs", cJSON_Duplicate(regs, 1));
	id = inj_link_send(l, "unwind", args);
	if (id < 0)
		return -1;
	r = inj_link_wait(l, id, SERVER_MS);
	if (!r)
		return -1;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok"))) {
		log_info("%s", inj_json_str(r, "error", "memtrace-server gave no unwind rows, and no reason"));
		cJSON_Delete(r);
		return 0;
	}
	rows = inj_json_str(r, "rows", "");
	count = inj_json_num(r, "count", 0);
	len = strlen(rows);
	if (count < 1 || count > 4194304 || len != b64_encoded_len((size_t)count * ROW_BYTES)) {
		log_warn("%s: memtrace-server's unwind rows do not match their count: not used", path);
		cJSON_Delete(r);
		return 0;
	}
	for (size_t at = 0; at < (size_t)count; at += PIECE_ROWS) {
		size_t from = at / 3 * 4 * ROW_BYTES, n = b64_encoded_len(PIECE_ROWS * ROW_BYTES);

		piece = cJSON_CreateObject();
		cJSON_AddStringToObject(piece, "addr", addr);
		cJSON_AddNumberToObject(piece, "count", count);
		cJSON_AddNumberToObject(piece, "at", (double)at);
		if (from + n > len)
			n = len - from;
		memcpy(text, rows + from, n);
		text[n] = '\0';
		cJSON_AddStringToObject(piece, "rows", text);
		cJSON_Delete(done);
		done = inj_session_request(s, "unwind_rows", piece, timeout_ms);
		cJSON_Delete(piece);
		if (!done) {
			ret = inj_session_lost(s) ? -1 : 0;
			if (!ret)
				log_warn("%s: the agent did not take memtrace-server's rows (above); its stacks "
					 "end where its own tables do", path);
			break;
		}
	}
	if (done && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(done, "done"))) {
		const cJSON *mod = cJSON_GetObjectItemCaseSensitive(done, "module");

		log_info("%s: %.0f rows from memtrace-server (%s): its rows now say %.1f%% of its code", path, count,
			 inj_json_str(r, "source", "?"), inj_json_num(mod, "coverage", 0) / 10.0);
		ret = 1;
	}
	cJSON_Delete(done);
	cJSON_Delete(r);
	return ret;
}

int inj_hostrows(struct inj_session *s, struct inj_link *l, struct inj_symcache *syms, int pid, int timeout_ms)
{
	cJSON *mods = inj_session_request(s, "unwind_modules", NULL, timeout_ms);
	const cJSON *m, *regs;
	int taken = 0, asked = 0;

	if (!mods)
		return 0;	/* not the tables unwinder (said by the agent), or an older agent */
	regs = cJSON_GetObjectItemCaseSensitive(mods, "regs");
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(mods, "modules")) {
		const char *name = inj_json_str(m, "name", "");
		char exe[4096];
		int ret;

		log_debug("unwind tables of %s at %s: %s, %.1f%% of its code", *name ? name : "(program)",
			  inj_json_str(m, "addr", "?"),
			  cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "ready")) ? "compiled" : "none",
			  inj_json_num(m, "coverage", 0) / 10.0);
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "ready")) &&
		    inj_json_num(m, "coverage", 0) >= ENOUGH_PER_MILLE)
			continue;
		/* The program is "" to the loader: its path is its /proc entry's. */
		if (!*name) {
			char link[64];
			ssize_t n;

			snprintf(link, sizeof(link), "/proc/%d/exe", pid);
			n = readlink(link, exe, sizeof(exe) - 1);
			if (n <= 0)
				continue;
			exe[n] = '\0';
			name = exe;
		}
		if (name[0] != '/')
			continue;	/* the vDSO: the kernel's, no file on either side */
		asked++;
		ret = one_module(s, l, syms, regs, name, inj_json_str(m, "addr", "0x0"), timeout_ms);
		if (ret < 0)
			break;
		taken += ret;
	}
	if (asked)
		log_info("unwind rows from memtrace-server: %d of %d modules short of tables completed", taken, asked);
	cJSON_Delete(mods);
	return taken;
}
