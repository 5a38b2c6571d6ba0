#!/bin/bash
# t-gdbinit-break: memtrace-break ID (gdbinit/memtrace.gdb) on a live process
# with a STRIPPED agent (only its dynamic symbols): the ticker
# (tests/victims/ticker.c) leaks from tick_leak every 5 ms; armed on
# tick_leak's context, `continue` stops in the agent's memtrace_gdb_break_hit
# with tick_leak on the stack and the block's size (32) named, and the agent
# disarmed itself.  Armed on leak_big's context, which never allocates again,
# the ticker runs to its end without a stop.  The ticker's exit report is
# right after both gdb sessions.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh disable=SC2016
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=../lib/gdbinit.sh
. "$(dirname "$0")/../lib/gdbinit.sh"

strip -o agent.so "$BUILD/libmemtrace-agent.so" || broken "strip $BUILD/libmemtrace-agent.so"
[ -z "$(nm agent.so 2>/dev/null)" ] || broken "strip left a symbol table in agent.so"
prog=$(victim ticker)
console_start t --json -o t.json -L "$PWD/agent.so" "$prog" -f stop -s 60
wait_for test -s ticker.started || fail "the ticker did not start"
pid=$(cat ticker.started)
console_send 'report --json -o ids.json'
wait_for valid_json ids.json || fail "report --json -o ids.json: no valid file"
tick=$(ctx_of ids.json "$prog" tick_leak)
big=$(ctx_of ids.json "$prog" leak_big)
{ [ -n "$tick" ] && [ -n "$big" ]; } || fail "no context for tick_leak or leak_big in ids.json"
grep -q libmemtrace-agent "/proc/$pid/maps" && fail "the ticker has the unstripped agent loaded"
grep -q "$PWD/agent.so" "/proc/$pid/maps" || fail "the ticker does not have the stripped agent loaded"

gdb_run brk -p "$pid" -ex "memtrace-break $tick" -ex continue -ex bt \
	-ex memtrace--anchor -ex 'printf "armed after the stop: %u\n", *$mt_brk'
has brk.out "armed: the next allocation in context $tick stops" || fail_later "memtrace-break $tick did not arm"
has brk.out "memtrace: context $tick allocated 32 bytes at 0x[0-9a-f]+" ||
	fail_later "no stop at an allocation of 32 bytes in context $tick"
has brk.out '^#0 .*memtrace_gdb_break_hit' || fail_later "the stop is not in memtrace_gdb_break_hit"
has brk.out '^#[0-9]+ .* in tick_leak ' || fail_later "tick_leak is not on the stack at the stop"
has brk.out '^armed after the stop: 0$' || fail_later "the agent did not disarm after the stop"
[ "$FAILURES" -eq 0 ] || show brk.out

# armed on a context that never allocates again: no stop until the end
gdb -batch -nx -q -x "$GDBINIT" -p "$pid" -ex "memtrace-break $big" -ex continue -ex bt \
	</dev/null >none.out 2>none.err &
gdb_pid=$!
wait_for has none.out "armed: the next allocation in context $big" || fail_later "memtrace-break $big did not arm"
sleep 0.5
touch stop
wait_pid_gone "$gdb_pid" 30 || {
	fail_later "gdb did not end after the ticker was told to stop"
	kill -KILL "$gdb_pid" 2>/dev/null
}
wait "$gdb_pid"
has none.out 'exited normally' || fail_later "the ticker did not run to its end under gdb"
has none.out 'memtrace: context [0-9]+ allocated' && fail_later "a stop in context $big, which does not allocate"
[ "$FAILURES" -eq 0 ] || show none.out

console_end "$MT_TIMEOUT"
expect_rc t 0 || fail_later "exit status"
check_victim_run t "$prog" "$DEFAULT_UNWINDER" || fail_later "exit report"
finish
