/*
 * fuzz_report.c: the libFuzzer harness for the report decoder
 * (`make fuzz-server`, `make check-server-fuzz`, server/server.mk):
 * srv_report_decode on arbitrary JSON, with a real sysroot so that frames
 * reach the module search, the ELF and DWARF readers and the caches. Not
 * part of the server.
 *
 * The sysroot is $SRV_FUZZ_SYSROOT, else the victims' build directory next
 * to the fuzzer (BUILD/fuzz/../tests/victims): a report whose module is
 * "/server_leak" decodes tests/victims/server_leak. One decoder serves every
 * input, as one serves every peer in the server. After a decode that
 * succeeded, every frame must carry a known "decode" status.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "annotate.h"
#include "fuzz_sysroot.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct srv_decoder *decoder;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	decoder = fuzz_decoder((*argv)[0], "fuzz_report");
	return decoder ? 0 : -1;
}

static void check_frames(const cJSON *rep)
{
	static const char *const known[] = { "ok", "no_module", "not_found", "build_id_mismatch", "refused",
					     "unreadable" };
	const cJSON *c, *f;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(rep, "contexts")) {
		cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(c, "frames")) {
			const char *d = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "decode"));
			size_t i;

			for (i = 0; d && i < sizeof(known) / sizeof(known[0]); i++) {
				if (!strcmp(d, known[i]))
					break;
			}
			if (!d || i == sizeof(known) / sizeof(known[0]))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *rep = cJSON_ParseWithLength((const char *)data, size);
	char err[256], *text;

	if (!rep)
		return 0;
	if (srv_report_decode(decoder, rep, err, sizeof(err)) == SRV_REPORT_OK)
		check_frames(rep);
	else if (!err[0])
		abort(); /* an error without a word of why */
	text = cJSON_PrintUnformatted(rep);
	free(text);
	cJSON_Delete(rep);
	return 0;
}
