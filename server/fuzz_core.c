/*
 * fuzz_core.c: the libFuzzer harness for a core as the host reads it for
 * leaks (`make fuzz-server`, `make check-server-fuzz`, server/server.mk):
 * arbitrary bytes as a core file (server/coreimage.c), and when they hold
 * together as one, the whole judge over them (common/leakjudge.c: the
 * agent's tables through an anchor, glibc's heap walk, the scan), since
 * every byte of a core's memory is the device's word. The anchor is taken
 * at the start of the core's first writable segment, so inputs reach the
 * table readers. Every address asked where it is must come back with a
 * module or none, never crash. Not part of the server.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coreimage.h"
#include "leakjudge.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct srv_coreimage *ci = srv_coreimage_from(data, size, "fuzz");
	struct leak_image *img;
	const struct leak_thread *t;
	struct srv_coreimage_where w;
	struct leak_judge *j;
	struct inj_leaks l;
	size_t nt;

	if (!ci)
		return 0;
	img = srv_coreimage_image(ci);
	t = srv_coreimage_threads(ci, &nt);
	for (size_t i = 0; i < nt; i++)
		srv_coreimage_where(ci, t[i].sp, &w);
	for (size_t i = 0; i < img->nmaps; i++) {
		srv_coreimage_where(ci, img->maps[i].lo, &w);
		if (w.module && w.build_id && strlen(w.build_id) > 128)
			abort();
		if (!img->anchor && img->maps[i].perms[1] == 'w')
			img->anchor = img->maps[i].lo;
	}
	j = leak_judge_new(img, &l);
	if (j) {
		if (leak_judge_blocks(j, 1) != -1)
			leak_judge_run(j, t, nt, NULL);
		leak_judge_free(j);
		inj_leaks_free(&l);
	}
	srv_coreimage_close(ci);
	return 0;
}
