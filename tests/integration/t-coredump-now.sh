#!/bin/bash
# t-coredump-now: `coredump -n` and `coredump -n --gz` of the multi-threaded
# core_victim (tests/victims/core_victim.c) in start mode.  The plain core
# and the gunzipped one open in gdb (tests/lib/corecheck.sh): `thread apply
# all bt` shows every
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
core_console_end n "$prog"
has n.out "^core written to core.memtrace.$pid.1 \(5 threads, [0-9.]+ MiB\)$" ||
	fail_later "coredump -n: no 'core written to core.memtrace.$pid.1 (5 threads, ...)' line"
has n.out "^core written to core.memtrace.$pid.2.gz \(5 threads, [0-9.]+ MiB\)$" ||
	fail_later "coredump -n --gz: no 'core written to core.memtrace.$pid.2.gz (5 threads, ...)' line"

check_core() {
	local out
	out=$("$TOP/tests/lib/corecheck.sh" gdb "$prog" "$1") || { fail_later "$out"; show "$1.gdb"; }
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
