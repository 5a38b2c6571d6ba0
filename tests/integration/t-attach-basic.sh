#!/bin/bash
# t-attach-basic: memtrace -p on a running program, in every build variant
# of tests/victims/attach_basic.c: PIE (lazy PLT), -nopie, -now (full
# RELRO), -noplt (GLOB_DAT slots under full RELRO), -norelro.
# For each: attached between ready and go, the console report once the
# victim has leaked holds exactly its EXPECT lines (since "attach", none of
# its pre-attach blocks, summary = EXPECT sums), every malloc-family GOT slot
# of the program points into the agent while attached and is put back by
# `detach`, memtrace exits 0; the victim's work after detach, its output and
# its exit status are those of an untraced run, and it wrote nothing on
# stderr.  Once more for the PIE build with --unwind fp -d 8: the options
# hold in attach mode (the report names them, the leaks are the same but
# for leak_strdup's, whose caller a frame-pointer walk through libc loses).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

for v in "" -nopie -now -noplt -norelro; do
	prog=$(victim "attach_basic$v") || exit 99
	note "variant ${v:-pie}"
	plain_run "plain$v" "$prog"
	traced_run "t$v" "$prog"
	check_traced "plain$v" "t$v" "$prog" exact
done

prog=$(victim attach_basic) || exit 99
traced_run fp "$prog" -- --unwind fp -d 8
# libc's strdup has no frame pointer: its caller is lost (user guide)
EXPECT_SKIP=leak_strdup REPORT_UNWIND=fp REPORT_DEPTH=8 check_traced plain fp "$prog" exact
finish
