#!/bin/bash
# t-coredump-now: `coredump -n` and `coredump -n --gz` of the multi-threaded
# core_victim (tests/victims/core_victim.c) in start mode.  The plain core
# and the gunzipped one open in gdb; `thread apply all bt` shows every
# thread (main, the agent's control thread, core_sleeper, core_reader,
# core_poller) with its own stack, each in its own function; `readelf -n`
# parses the notes (one NT_PRSTATUS per thread, NT_PRPSINFO, NT_SIGINFO,
# NT_AUXV, NT_FILE, FP state).  The default name is core.memtrace.PID.N,
# N counting up.  The victim, whose threads wait in nanosleep, read and
# epoll_wait, sees no EINTR and exits 0 with the exit report it should have.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

command -v gdb >/dev/null || skip "gdb is not installed (the core is checked with it)"
prog=$(victim core_victim)
console_start n --json -o n.json "$prog" -f stop -s 60
wait_for test -e core_victim.started || fail_later "core_victim did not start"
pid=$(cat core_victim.started 2>/dev/null)
console_send 'coredump -n'
console_send 'coredump -n --gz'
console_send 'report --json -o after.json'
wait_for test -s after.json || fail_later "the console stopped answering after coredump"
touch stop
console_end "$MT_TIMEOUT"
expect_rc n 0 || fail_later "exit status (1: a wait in the victim saw EINTR)"
has n.out 'core_(sleeper|reader|poller):' && fail_later "a waiting thread of the victim was disturbed"
check_victim_run n "$prog" libunwind || fail_later "exit report"
has n.out "^core written to core.memtrace.$pid.1 \(5 threads, [0-9.]+ MiB\)$" ||
	fail_later "coredump -n: no 'core written to core.memtrace.$pid.1 (5 threads, ...)' line"
has n.out "^core written to core.memtrace.$pid.2.gz \(5 threads, [0-9.]+ MiB\)$" ||
	fail_later "coredump -n --gz: no 'core written to core.memtrace.$pid.2.gz (5 threads, ...)' line"

check_core() {
	local core=$1 t f
	gdb -nx -batch -iex 'set debuginfod enabled off' -ex 'info threads' -ex 'thread apply all bt' \
		-ex 'print core_global' "$prog" "$core" >"$core.gdb" 2>&1
	[ "$(grep -cE '^Thread [0-9]+ \(Thread .*LWP [0-9]+\)' "$core.gdb")" = 5 ] ||
		fail_later "$core: thread apply all bt does not list 5 threads"
	# each thread's own function, in its own stack
	for f in main control_main core_sleeper core_reader core_poller; do
		t=$(awk -v f="$f" '/^Thread [0-9]+ / { t = $2 } $0 ~ " " f " \\(" && /^#/ { print t; exit }' "$core.gdb")
		[ -n "$t" ] || fail_later "$core: no thread has $f in its backtrace"
		eval "thr_$f=\${t:-x}"
	done
	[ "$(printf '%s\n' "$thr_main" "$thr_control_main" "$thr_core_sleeper" "$thr_core_reader" "$thr_core_poller" |
		sort -u | wc -l)" = 5 ] || fail_later "$core: the five functions are not in five different threads"
	has "$core.gdb" '= "MEMTRACE-CORE-GLOBAL"' || fail_later "$core: core_global is not readable"
	if command -v readelf >/dev/null; then
		readelf -n "$core" >"$core.notes" 2>&1 || fail_later "$core: readelf -n fails"
		[ "$(grep -c NT_PRSTATUS "$core.notes")" = 5 ] || fail_later "$core: not 5 NT_PRSTATUS notes"
		for t in NT_PRPSINFO NT_SIGINFO NT_AUXV NT_FILE NT_FPREGSET; do
			grep -q "$t" "$core.notes" || fail_later "$core: no $t note"
		done
		grep -qi 'error\|warning' "$core.notes" && fail_later "$core: readelf complains"
	fi
	[ "$FAILURES" -eq 0 ] || show "$core.gdb"
}
if [ -s "core.memtrace.$pid.1" ]; then
	check_core "core.memtrace.$pid.1"
else
	fail_later "no core.memtrace.$pid.1"
fi
if gunzip -c "core.memtrace.$pid.2.gz" >unzipped.core 2>gunzip.err; then
	check_core unzipped.core
else
	fail_later "core.memtrace.$pid.2.gz is not a gzip stream"
	show gunzip.err
fi
[ "$FAILURES" -eq 0 ] || { show n.out; show n.err; }
finish
