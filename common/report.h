/*
 * Reports on memtrace's side: the agent's wire report (frames as [addr,
 * module index, offset]) becomes the public report of docs/protocol.md
 * (frames as objects with module path and nearest symbol), printed as text
 * or JSON.
 */
#ifndef INJ_REPORT_H
#define INJ_REPORT_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

#include "elfsym.h"

/*
 * New public report from the agent's WIRE report. Symbols come from SYMS
 * (may be NULL: no symbols). NULL when WIRE is not a report. Caller frees
 * with cJSON_Delete.
 */
cJSON *inj_report_from_wire(const cJSON *wire, struct inj_symcache *syms);

/*
 * REPORT (or status) is of process PID as memtrace numbers it. The agent
 * numbers it as its own PID namespace does (getpid()): when that differs (a
 * container), "pid" becomes PID and "ns_pid" keeps the agent's number.
 */
void inj_report_host_pid(cJSON *report, int pid);

/* Print REPORT as text under the heading TITLE. */
void inj_report_print_text(FILE *out, const cJSON *report, const char *title);

/* Print context CTX's frames (and the depth-limit note), as the text report does. */
void inj_report_print_frames(FILE *out, const cJSON *ctx);

/* Print REPORT as JSON (one document, newline-terminated). 0 or -1. */
int inj_report_print_json(FILE *out, const cJSON *report);

/* The heap-summary lines of a status or report object. */
void inj_status_print_text(FILE *out, const cJSON *status);

/* Number member NAME of OBJ, or DEF. */
double inj_json_num(const cJSON *obj, const char *name, double def);
/* String member NAME of OBJ, or DEF. */
const char *inj_json_str(const cJSON *obj, const char *name, const char *def);

/*
 * ITEM's number as an integer, clamped to +-2^62 (not a number: DEF): what
 * a peer or a file sent, converted without undefined behaviour.
 */
int64_t inj_json_item_i64(const cJSON *item, int64_t def);
/* Number member NAME of OBJ as inj_json_item_i64 has it. */
int64_t inj_json_i64(const cJSON *obj, const char *name, int64_t def);
/* NAME as a 32-bit id: 1 with *OUT when it is a number in [0, 2^32), else 0. */
int inj_json_id(const cJSON *item, uint32_t *out);

#endif
