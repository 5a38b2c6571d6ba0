#!/bin/bash
# t-attach-err-static: memtrace -p on a static program (no dynamic loader,
# no dlopen to call) must exit 6 with a message that says it is static, and
# # leave it untouched: running, untraced, no agent, allocating on, its output
# and status unchanged.  The program is tests/victims/static_loop.c.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim static_loop) || exit 99
if command -v readelf >/dev/null; then
	[ "$(readelf -l "$prog" | grep -c INTERP)" = 0 ] || broken "$prog has an interpreter: not static"
fi

plain_static() {
	vstart "$1" "$prog"
	STAG=$1
}
plain_static plain
beating "the static program without memtrace"
vstop plain || broken "the static program does not stop"
expect_rc plain 0 || broken "the static program fails without memtrace"

plain_static t
pid=$VPID
mt_refused static 6 '[Ss]tatic' "memtrace -p on a static program" -p "$pid" -x status
untouched "$pid" "after memtrace -p on a static program"
beating "after memtrace -p on a static program"
vstop t || fail_later "the static program does not stop after the attempt"
same_behaviour plain t || fail_later "the static program behaves differently"
finish
