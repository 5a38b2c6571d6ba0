#!/bin/bash
# t-unwind-host: unwind tables from the host for a device's code that has
# none. tests/victims/nounwind.c is built without unwind tables or frame
# pointers (only -g's .debug_frame), and the "device" runs a stripped copy,
# which has neither; the unstripped build is in memtrace-server's sysroot.
#   - alone, the default unwinder (tables) gives the leak one frame,
#     nu_inner's: no row says where its caller is, and none is guessed; the
#     report says why (`no_unwind_info`; the text "truncated: no unwind
#     info in nounwind");
#   - linked to the server (--connect), memtrace asks it for the rows of the
#     modules short of tables, the server compiles the host copy's
#     .debug_frame (matched by build-id), the agent merges them, and the
#     leak's stack is whole: nu_inner, nu_middle, nu_outer, main, as the
#     source says (decoded on the host), and the callers' lines are those of
#     gdb's backtrace of the unstripped build (host only: the VMs have no gdb);
#     attached (`memtrace -p --connect`) the same, the rows given right after
#     the attach, before the victim is let go to leak;
#   - status counts the module given host rows; the victim's output and exit
#     status are those of its run without memtrace.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/link.sh
. "$(dirname "$0")/../lib/link.sh"

# In an ARM VM (tests/arm/vm.sh) the server is the host's: MEMTRACE_TEST_SERVER
# is its address, its sysroot holds the unstripped victims whose stripped
# copies are in MEMTRACE_TEST_STRIPPED (MEMTRACE_TEST_NO_SERVER says why
# there is none).
[ -z "${MEMTRACE_TEST_NO_SERVER:-}" ] || skip "no memtrace-server to link to: $MEMTRACE_TEST_NO_SERVER"
if [ -n "${MEMTRACE_TEST_SERVER:-}" ]; then
	DEV=${MEMTRACE_TEST_STRIPPED:-}/nounwind
	[ -x "$DEV" ] || broken "no stripped nounwind at $DEV"
else
	[ -x "$SERVER" ] || skip "$SERVER not built (host only: a cross build has no memtrace-server)"
	command -v strip >/dev/null || skip "strip missing (binutils)"
	dev_copy nounwind
	if command -v readelf >/dev/null && readelf -S "$DEV" | grep -q debug_frame; then
		broken "the device's copy kept .debug_frame"
	fi
fi
run_plain plain "$DEV"
expect_rc plain 0 || broken "nounwind fails without memtrace"

# The leak's frames, innermost first, as "function" (decoded) or "module+offset".
frames_of() {
	jq -r '[first(.contexts[] | select(.live_bytes == 120)) | .frames[]
		| (.function // ((.module | split("/") | last) + "+" + .offset))] | join(" ")' "$1"
}

# Alone: one frame, nothing guessed.
run_traced alone "$DEV"
same_behaviour plain alone || fail_later "alone: nounwind behaves differently"
valid_json alone.json || fail "alone: no report"
n=$(jq '[first(.contexts[] | select(.live_bytes == 120)) | .frames[]] | length' alone.json)
note "alone: the leak's stack has $n frame(s): $(frames_of alone.json)"
[ "$n" = 1 ] || fail_later "alone: the leak has $n frames, want 1 (nu_inner's return address; no rows for the rest)"
# 32-bit ARM: GCC marks such functions EXIDX_CANTUNWIND, which ends a stack
# as libgcc's walk ends it, without the mark (docs/protocol.md).
case $(uname -m) in arm*) arm32=1 ;; *) arm32=0 ;; esac
if [ "$arm32" = 0 ]; then
	[ "$(jq 'first(.contexts[] | select(.live_bytes == 120)) | .no_unwind_info' alone.json)" = true ] ||
		fail_later "alone: the leak's context does not say its stack ends for want of unwind info"
	run_mt alone-text "$DEV"
	has alone-text.err "truncated: no unwind info in nounwind" || has alone-text.out "truncated: no unwind info in nounwind" ||
		{ fail_later "alone: the text report does not say 'truncated: no unwind info in nounwind'"; show alone-text.err; }
fi

if [ -n "${MEMTRACE_TEST_SERVER:-}" ]; then
	to=$MEMTRACE_TEST_SERVER
else
	srv_local s
	to=127.0.0.1:$SRV_PORT
fi
run_traced linked --connect "$to" -v "$DEV"
same_behaviour plain linked || fail_later "linked: nounwind behaves differently"
valid_json linked.json || fail "linked: no report"
got=$(frames_of linked.json)
note "linked: $got"
case $got in "nu_inner nu_middle nu_outer main "*) ;;
*) fail_later "linked: the leak's stack is '$got', want 'nu_inner nu_middle nu_outer main ...'"; show linked.err ;; esac
has linked.err "nounwind: [0-9]+ rows from memtrace-server" ||
	{ fail_later "linked: memtrace did not say it took the host's rows"; show linked.err; }
# gdb on the host, on the unstripped build, from its .debug_frame: the callers' lines must be ours.
if [ -z "${MEMTRACE_TEST_SERVER:-}" ] && command -v gdb >/dev/null; then
	gdb -batch -nx -ex 'break nu_inner' -ex run -ex bt "sys$DEV" </dev/null >gdb.out 2>gdb.err
	want=$(sed -n 's/^#[1-9] .* in \([a-z_]*\) (.*at .*nounwind\.c:\([0-9]*\)$/\1:\2/p' gdb.out | tr '\n' ' ')
	mine=$(jq -r '[first(.contexts[] | select(.live_bytes == 120)) | .frames[1:4][] | "\(.function):\(.line)"]
		| join(" ")' linked.json)
	note "gdb's callers: $want; memtrace's: $mine"
	[ "$want" = "$mine " ] || { fail_later "linked: the callers are '$mine', gdb says '$want'"; show gdb.out; }
fi
[ "$(jq 'first(.contexts[] | select(.live_bytes == 120)) | .no_unwind_info' linked.json)" = null ] ||
	fail_later "linked: the whole stack still says it ends for want of unwind info"
# Attached: the rows come right after the attach, before the victim leaks.
vstart va "$DEV"
attach_console a "$VPID" --connect "$to" -v
vgo va
vwait_file va leaked
mt_report a attached.json
mt_end a detach
vstop va
[ "$(cat va.rc 2>/dev/null)" = 0 ] || fail_later "attached: nounwind ended with status $(cat va.rc 2>/dev/null)"
got=$(frames_of attached.json)
note "attached: $got"
case $got in "nu_inner nu_middle nu_outer main "*) ;;
*) fail_later "attached: the leak's stack is '$got', want 'nu_inner nu_middle nu_outer main ...'"; show a.err ;; esac
[ "$(jq '.tables.host_modules' linked.json)" -ge 1 ] ||
	fail_later "linked: the report's tables count no module with host rows: $(jq -c .tables linked.json)"
finish
