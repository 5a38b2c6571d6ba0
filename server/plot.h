/*
 * A record (memtrace --record, docs/protocol.md "Records") as one
 * self-contained HTML page (memtrace-server --plot): the heap's total and
 * the RSS over time, and the contexts that grow the most steadily, each a
 * line labelled with its decoded function and file:line, with the numbers
 * in a table and in each point's tooltip. Inline SVG and CSS only: no
 * script, no external style, font or image.
 */
#ifndef SRV_PLOT_H
#define SRV_PLOT_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "decode.h"

/*
 * Read RECORD, decode the growers' callstacks with D, and write the page to
 * OUT (written whole or not at all: a temporary file renamed). TOP: how
 * many growers (at most 12). 0, or -1 after saying what is wrong.
 */
int srv_plot(const char *record, struct srv_decoder *d, const char *out, int top);

/* The same from the stream IN (named RECORD in messages) to the stream OUT (the fuzzer's way in). */
int srv_plot_stream(FILE *in, const char *record, struct srv_decoder *d, FILE *out, int top);

/*
 * RECORD (read from IN) as a report (docs/protocol.md, "Report"): its
 * contexts' live bytes and blocks at the last sample, by live bytes, with
 * the frames the record holds (raw). For --report on a record, so that
 * --folded and --pprof take either. NULL after saying what is wrong.
 */
cJSON *srv_record_report(FILE *in, const char *record);

#endif
