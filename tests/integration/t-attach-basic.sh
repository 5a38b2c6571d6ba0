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

# Under emulation (MEMTRACE_TEST_QUICK, the ARM VMs) the lazy PLT, full RELRO
# and GLOB_DAT (-fno-plt) layouts only.
variants=("" -nopie -now -noplt -norelro)
[ "${MEMTRACE_TEST_QUICK:-0}" = 0 ] || variants=("" -now -noplt)
for v in "${variants[@]}"; do
	prog=$(victim "attach_basic$v") || exit 99
	note "variant ${v:-pie}"
	attach_compare "$v" exact "$prog"
done

prog=$(victim attach_basic) || exit 99
if [ $HAVE_FP = 1 ]; then
	traced_run fp "$prog" -- --unwind fp -d 8
	# Where libc's strdup keeps no frame record (x86_64) its caller is lost
	# (user guide); aarch64's keeps one. Either way leak_strdup is not judged.
	EXPECT_SKIP=leak_strdup EXPECT_IGNORE=leak_strdup REPORT_UNWIND=fp REPORT_DEPTH=8 \
		check_traced plain fp "$prog" exact
else
	# 32-bit ARM and MIPS: fp is refused as bad usage, the options still pass with libunwind
	run_mt nofp -p $$ --unwind fp
	expect_rc nofp 2 || fail_later "--unwind fp on $(uname -m): exit status"
	has nofp.err 'not available here [(](32-bit ARM|MIPS) code keeps no frame record' ||
		fail_later "--unwind fp on $(uname -m): no message saying why"
	traced_run d8 "$prog" -- --unwind libunwind -d 8
	REPORT_UNWIND=libunwind REPORT_DEPTH=8 check_traced plain d8 "$prog" exact
fi
finish
