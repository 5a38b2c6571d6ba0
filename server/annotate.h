/*
 * Decoding a whole report: the public JSON report memtrace writes
 * (docs/protocol.md) gets, in every frame, the decoded fields of
 * docs/server.md.
 */
#ifndef SRV_ANNOTATE_H
#define SRV_ANNOTATE_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "decode.h"

enum srv_report_result {
	SRV_REPORT_OK,
	SRV_REPORT_BAD_INPUT, /* not a memtrace report: ERR says where and why */
};

/*
 * Add the decoded fields to every frame of REPORT, in place, with decoder
 * D. Each frame is decoded at offset - 1: frames are return addresses, and
 * the call is the byte before. A frame that cannot be decoded says why in
 * its own fields; only a REPORT that does not have the contract's shape is
 * an error, and then ERR (ERRLEN bytes) says what is wrong and REPORT may be
 * partly decoded.
 */
enum srv_report_result srv_report_decode(struct srv_decoder *d, cJSON *report, char *err, size_t errlen);

#endif
