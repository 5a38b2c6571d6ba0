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
#   - at attaches to busy_alloc while a thread of it dlopens and dlcloses in
#     a loop, every loaded module is compiled from the agent's control
#     thread under the loader's lock: the victim lives on, unharmed;
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
# Another unwinder, linked: nothing to complete, and nothing said about it but at -v.
run_traced other --connect "$to" --unwind libunwind "$DEV"
same_behaviour plain other || fail_later "libunwind, linked: nounwind behaves differently"
has other.err "unwind" && { fail_later "libunwind, linked: memtrace says something of unwind rows"; show other.err; }
# gdb on the host, on the unstripped build, from its .debug_frame: the callers' lines must be ours.
if [ -z "${MEMTRACE_TEST_SERVER:-}" ] && command -v gdb >/dev/null; then
	gdb -batch -nx -ex 'break nu_inner' -ex run -ex bt "sys$DEV" </dev/null >gdb.out 2>gdb.err
	want=$(sed -n 's/^#[1-9] .* in \([a-z_]*\) (.*at .*nounwind\.c:\([0-9]*\)$/\1:\2/p' gdb.out | tr '\n' ' ')
	mine=$(jq -r '[first(.contexts[] | select(.live_bytes == 120)) | .frames[1:4][] | "\(.function):\(.line)"]
		| join(" ")' linked.json)
	note "gdb's callers: $want; memtrace's: $mine"
	[ "$want" = "$mine " ] || { fail_later "linked: the callers are '$mine', gdb says '$want'"; show gdb.out; }
fi
# Under musl the stack does end in libc.so's start code, which has no tables.
if [ $VICTIM_LIBC = musl ]; then
	jq -e 'first(.contexts[] | select(.live_bytes == 120)) | .no_unwind_info == true' \
		linked.json >/dev/null ||
		fail_later "linked: the stack does not say it ends for want of unwind info in musl's libc"
else
	[ "$(jq 'first(.contexts[] | select(.live_bytes == 120)) | .no_unwind_info' linked.json)" = null ] ||
		fail_later "linked: the whole stack still says it ends for want of unwind info"
fi
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
# While a thread dlopens and dlcloses a plugin in a loop (busy_alloc d): at
# each attach the agent compiles every loaded module from its control
# thread (unwind_modules), under the loader's lock, so none is unmapped
# under it. The victim lives and works on unharmed.
busy=$(victim busy_alloc) || exit 99
plugin=$(victim libplugin_leak.so) || exit 99
runs=10
[ -z "${MEMTRACE_TEST_QUICK:-}" ] || runs=4
timeout=()
[ -z "${MEMTRACE_TEST_QUICK:-}" ] || timeout=(--timeout 30)	# unfair loader lock, emulated (t-attach-safepoint)
failed=0
for i in $(seq 1 "$runs"); do
	mkdir "busy$i.d"
	"$busy" "busy$i.d" md "$plugin" >"busy$i.out" 2>"busy$i.err" &
	bpid=$!
	VPIDS+=("$bpid")
	WAIT_SECONDS=20 wait_for test -s "busy$i.d/ready" || { show "busy$i.err"; broken "busy_alloc md did not get ready"; }
	MT_QUIET=1 run_mt "busy$i.mt" -p "$bpid" --connect "$to" "${timeout[@]}" -x status
	if [ "$(rc_of "busy$i.mt")" != 0 ]; then
		failed=$((failed + 1))
		note "attach $i to busy_alloc md: memtrace exit $(rc_of "busy$i.mt"): $(tail -n 1 "busy$i.mt.err")"
	fi
	sleep 0.1
	kill -TERM "$bpid" 2>/dev/null
	wait "$bpid"
	rc=$?
	[ "$rc" = 0 ] || { fail_later "busy_alloc md, attach $i: the victim ended with status $rc"; show "busy$i.err"; }
done
# glibc's unfair loader lock may keep one remote dlopen waiting too long (t-attach-safepoint).
[ "$failed" -le 1 ] || fail_later "$failed of $runs linked attaches to busy_alloc md failed"
note "busy_alloc md: $runs linked attaches, $failed failed"
[ "$(jq '.tables.host_modules' linked.json)" -ge 1 ] ||
	fail_later "linked: the report's tables count no module with host rows: $(jq -c .tables linked.json)"
finish
