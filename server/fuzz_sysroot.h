/*
 * fuzz_sysroot.h: what the decoding fuzzers (fuzz_report.c, fuzz_plot.c)
 * share: one decoder for every input, as one serves every peer in the
 * server, over $SRV_FUZZ_SYSROOT, else the victims' build directory next to
 * the fuzzer (BUILD/fuzz/../tests/victims). A header of static functions:
 * each fuzzer is a program of its own.
 */
#ifndef SRV_FUZZ_SYSROOT_H
#define SRV_FUZZ_SYSROOT_H

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "log.h"

/* The decoder of the fuzzer ARGV0 (named WHO in its message), or NULL after saying why. */
static struct srv_decoder *fuzz_decoder(const char *argv0, const char *who)
{
	const char *root = getenv("SRV_FUZZ_SYSROOT");
	char buf[4096], *self;
	struct srv_decoder *d;

	log_set_level(LOG_ERR);
	if (!root) {
		self = strdup(argv0);
		snprintf(buf, sizeof(buf), "%s/../tests/victims", dirname(self));
		free(self);
		root = buf;
	}
	d = srv_decoder_new(&root, 1);
	if (!d)
		fprintf(stderr, "%s: no sysroot at %s (set SRV_FUZZ_SYSROOT)\n", who, root);
	return d;
}

#endif
