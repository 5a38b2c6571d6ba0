#!/bin/bash
# t-attach-threads: memtrace -p while eight threads allocate and free as fast
# as they can, before, during and after the attach
# (tests/victims/attach_threads.c).  The GOT slots change under the threads'
# feet; the report must still hold exactly each thread's leak under its
# leak_t<i> (summary included: no block made before the attach and freed
# after, or moved by realloc across it, may stay counted), no block may be
# damaged, and output and status are those of an untraced run.  Both the
# PIE and the -noplt build (GLOB_DAT slots, full RELRO).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

for v in "" -noplt; do
	prog=$(victim "attach_threads$v") || exit 99
	plain_run "plain$v" "$prog"
	traced_run "t$v" "$prog"
	check_traced "plain$v" "t$v" "$prog" exact
done
finish
