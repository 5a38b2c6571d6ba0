#!/bin/bash
# t-agent-libc: the agent is built for one C library (glibc, or musl with
# make musl); given the other one's, memtrace refuses before it touches the
# program, naming both libraries: start mode exits 126 and runs nothing,
# -p exits 7 and leaves the process as it was (running, untraced, no agent
# mapped, its output unchanged). Skipped when the other build is absent
# (make check builds both: musl-bins before the tests).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

if [ $VICTIM_LIBC = glibc ]; then
	other=$BUILD/x86_64-linux-musl/libmemtrace-agent.so
	want='is built for musl but .* runs on glibc'
else
	other=$(dirname "$BUILD")/libmemtrace-agent.so
	want='is built for glibc but .* runs on musl'
fi
[ -f "$other" ] || skip "no agent built for the other C library ($other: make musl-bins, or make)"

prog=$(victim noleak) || exit 99
mt_refused start 126 "$want" "memtrace -L (the other libc's agent) PROG" -L "$other" -o start.out "$prog"
[ ! -s start.out ] || fail_later "start mode: a report was written, the program ran"

prog=$(victim attach_basic) || exit 99
plain_run plain "$prog"
vstart t "$prog"
pid=$VPID
mt_refused attach 7 "$want" "memtrace -p with the other libc's agent" -L "$other" -p "$pid" -x status
untouched "$pid" "after the refused attach"
! grep -q libmemtrace-agent "/proc/$pid/maps" || fail_later "the refused agent is mapped in the process"
vgo t
vwait_file t leaked || fail_later "attach_basic did not say leaked after the refused attach"
vstop t || fail_later "attach_basic does not stop after the refused attach"
same_behaviour plain t || fail_later "attach_basic behaves differently after the refused attach"
finish
