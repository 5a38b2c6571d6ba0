/*
 * memtrace --leaks: the leak verdicts of the program's end, where valgrind
 * gives them. memtrace arms the agent's exit hold (`exit_hold`); the thread
 * that ends the program normally (exit, a return from main, _exit) sends
 * the exit event saying "held" and waits in the agent; memtrace then runs
 * the scan the console's `leaks` runs (the process stopped with ptrace,
 * inject/leaks/scan.h) and lets it go, before doing anything else with the
 * event: the program waits for nothing but the scan. The verdicts are
 * printed with the exit report, with its callstacks (decoded by
 * memtrace-server when linked, as the report is): after it as text, or as
 * its "leaks" member with --json, in one document (to -o FILE too).
 *
 * The agent bounds the wait itself (control.h: AGENT_EXIT_HOLD_MAX_MS, or
 * at once when this memtrace's connection closes), so nothing here can
 * keep the program from ending.
 */
#include <stdio.h>
#include <stdlib.h>

#include "leaks/scan.h"
#include "leaksdoc.h"
#include "log.h"
#include "run.h"
#include "session.h"
#include "util.h"

void inj_exit_leaks_arm(struct run *r)
{
	cJSON *args, *reply;

	if (!r->opt->leaks || !r->session)
		return;
	args = cJSON_CreateObject();
	cJSON_AddBoolToObject(args, "on", 1);
	reply = inj_session_request(r->session, "exit_hold", args, r->con.timeout_ms);
	cJSON_Delete(args);
	if (!reply) {
		r->exit_leaks_why = "the agent could not hold the program at its end (said above)";
		log_warn("--leaks: no verdicts at the program's end will be possible");
		return;
	}
	cJSON_Delete(reply);
}

void inj_exit_leaks_judge(struct run *r)
{
	cJSON *args;

	if (r->exit_leaks)
		return;
	r->exit_leaks = xcalloc(1, sizeof(*r->exit_leaks));
	if (inj_leaks_scan(r->pid, NULL, 0, r->exit_leaks) < 0) {
		free(r->exit_leaks);
		r->exit_leaks = NULL;
		r->exit_leaks_why = "the leak scan at the program's end failed (said above)";
	} else {
		log_info("leaks at the end of process %d judged: %zu blocks, stopped %.1f ms", (int)r->pid,
			 r->exit_leaks->n, (double)r->exit_leaks->stopped_ns / 1e6);
	}
	/* Let it go on ending. Its reply is not waited for: once let go, the
	 * program may be gone before it comes. A failed send means the
	 * connection is gone, which lets it go as well. */
	args = cJSON_CreateObject();
	cJSON_AddBoolToObject(args, "on", 0);
	inj_session_send(r->session, "exit_hold", args, r->con.timeout_ms);
	cJSON_Delete(args);
}

/* Why there is no scan, for the user. */
static const char *why_none(const struct run *r, char *buf, size_t size)
{
	long sig = r->exit_event ? inj_json_num_int(r->exit_event, "signal") : -1;

	if (sig > 0) {
		snprintf(buf, size, "the program was killed by signal %ld: verdicts are given at a normal "
			 "end only (exit, a return from main, _exit)", sig);
		return buf;
	}
	if (r->exit_leaks_why)
		return r->exit_leaks_why;
	if (!r->exit_event)
		return "the program sent no exit report";
	return "the agent did not hold the program at its end (an agent older than this memtrace?)";
}

void inj_exit_leaks_text(struct run *r, FILE *out, const cJSON *rep)
{
	char buf[200];
	cJSON *doc;

	if (!r->opt->leaks)
		return;
	fputc('\n', out);
	if (!r->exit_leaks) {
		log_warn("--leaks: no leak verdicts: %s", why_none(r, buf, sizeof(buf)));
		fprintf(out, "== memtrace leaks: no verdicts: %s\n", why_none(r, buf, sizeof(buf)));
		return;
	}
	doc = leaks_doc_new(r->exit_leaks, rep, 0, r->opt->leaks_kind);
	leaks_doc_print(out, doc);
	cJSON_Delete(doc);
}

void inj_exit_leaks_json(struct run *r, cJSON *rep)
{
	char buf[200];

	if (!r->opt->leaks)
		return;
	if (!r->exit_leaks) {
		log_warn("--leaks: no leak verdicts: %s", why_none(r, buf, sizeof(buf)));
		cJSON_AddNullToObject(rep, "leaks");
		return;
	}
	cJSON_AddItemToObject(rep, "leaks", leaks_doc_new(r->exit_leaks, rep, 0, r->opt->leaks_kind));
}

void inj_exit_leaks_free(struct run *r)
{
	if (!r->exit_leaks)
		return;
	inj_leaks_free(r->exit_leaks);
	free(r->exit_leaks);
	r->exit_leaks = NULL;
}
