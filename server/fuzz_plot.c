/*
 * fuzz_plot.c: the libFuzzer harness for memtrace-server --plot (`make
 * fuzz-server`, `make check-server-fuzz`, server/server.mk): a record, which
 * the device wrote, read and drawn, with the victims' build directory as
 * the sysroot (as fuzz_report.c). Not part of the server.
 *
 * Checked after each input: the page holds no markup the device could have
 * put there: every text of the record is escaped, so no element the page
 * itself never writes (script, iframe, img, a, object, embed, link) can
 * appear. The words of a record stay as text: "javascript:" in a module's
 * name is harmless where no attribute takes an address. The same input is
 * then read as --report reads a record (srv_record_report): a version-1
 * report whose every context has a frames array, or nothing.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_sysroot.h"
#include "log.h"
#include "plot.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct srv_decoder *decoder;

/* Elements the page never writes itself. */
static const char *const never[] = { "<script", "<iframe", "<img", "<a ", "<object", "<embed", "<link" };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	decoder = fuzz_decoder((*argv)[0], "fuzz_plot");
	return decoder ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *in = fmemopen((void *)data, size ? size : 1, "r"), *out;
	char *page = NULL;
	size_t len = 0;

	if (!in)
		return 0;
	if (!size) {
		fclose(in);
		return 0;
	}
	out = open_memstream(&page, &len);
	if (!out) {
		fclose(in);
		return 0;
	}
	srv_plot_stream(in, "fuzz", decoder, out, 8);
	fclose(in);
	fclose(out);
	for (size_t i = 0; page && i < sizeof(never) / sizeof(never[0]); i++)
		if (strstr(page, never[i])) {
			fprintf(stderr, "fuzz_plot: markup from the record (%s) reached the page\n", never[i]);
			abort();
		}
	free(page);
	/* The same record as a report (--report RECORD): a version-1 report whose contexts all hold frames. */
	in = fmemopen((void *)data, size ? size : 1, "r");
	if (in) {
		cJSON *rep = srv_record_report(in, "fuzz");
		const cJSON *c, *v = cJSON_GetObjectItemCaseSensitive(rep, "version");

		fclose(in);
		if (rep && !(cJSON_IsNumber(v) && v->valuedouble == 1))
			abort();
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(rep, "contexts"))
			if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(c, "frames")))
				abort();
		cJSON_Delete(rep);
	}
	return 0;
}
