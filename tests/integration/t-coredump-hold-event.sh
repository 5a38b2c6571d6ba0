#!/bin/bash
# t-coredump-hold-event: the console's hold waits for the agent's `held`
# event, not for a `status` answer polled on a timer.  memtrace runs under
# strace (its own requests and what it reads from the agent, with times),
# core_victim leaking a struct core_item every 100 ms:
#   coredump -c ITEM        memtrace sends `hold`, then no `status` until it
#                           has read the `held` event, then exactly one (the
#                           state of the hold), then `release` after the core.
#   coredump -c ONCE -t 1   a context that never allocates again: no
#                           `status` at all while it waits; `unhold` goes out
#                           1 s after `hold` (not before, and not much later),
#                           and the console says it timed out.
# Ends like t-coredump-hold: the console answers, the victim is undisturbed.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

command -v strace >/dev/null || skip "strace is not installed (memtrace's requests are read from its trace)"
prog=$(victim core_victim)
# console_start, with memtrace under strace (not its child: no -f).
CONSOLE_TAG=h
mkfifo h.in || broken "mkfifo h.in"
note "strace memtrace --console - --json -o h.json $prog -f stop -s 60 (console on a pipe)"
strace -o st.log -ttt -s 400 -e trace=sendto,recvfrom -e signal=none \
	"$MEMTRACE" --console - --json -o h.json "$prog" -f stop -s 60 <h.in >h.out 2>h.err &
MT_PID=$!
exec 7>h.in
wait_for test -e core_victim.started || fail_later "core_victim did not start"
console_send 'report -c 0 --json -o ids.json'
wait_for valid_json ids.json || fail_later "report --json -o ids.json: no valid file"
item=$(ctx_of ids.json "$prog" core_leak_item 2>/dev/null)
once=$(ctx_of ids.json "$prog" core_leak_once 2>/dev/null)
[ -n "$item" ] && [ -n "$once" ] || fail_later "no context for core_leak_item or core_leak_once in ids.json"
console_send "coredump -c ${item:-1} -f held.core"
WAIT_SECONDS=20 wait_for has h.out '^core written to held.core' || fail_later "coredump -c ${item:-?}: no 'core written' line"
console_send "coredump -c ${once:-1} -t 1 -f never.core"
WAIT_SECONDS=20 wait_for has h.err 'cancelled, no core written' || fail_later "coredump -c ${once:-?} -t 1: not cancelled"
core_console_end h "$prog"

has h.err "coredump -c ${once:-x}: cancelled, no core written: no allocation in that context within the time" ||
	fail_later "coredump -c ${once:-?} -t 1: no message saying it timed out"
[ -e never.core ] && fail_later "coredump -t that timed out left never.core"

# The trace, one line per message: "TIME send CMD" or "TIME event NAME".
awk '$2 ~ /^sendto\(/ && match($0, /\\"cmd\\":\\"[a-z-]+/) {
	print $1, "send", substr($0, RSTART + 10, RLENGTH - 10)
}
$2 ~ /^recvfrom\(/ && match($0, /\\"event\\":\\"[a-z]+/) {
	print $1, "event", substr($0, RSTART + 12, RLENGTH - 12)
}' st.log >msgs
# From `hold` to `release` (ITEM): its `held` event, then one `status`.
seq1=$(awk '$2 == "send" && $3 == "hold" { on = 1 } on { printf "%s ", $3 } on && $3 == "release" { exit }' msgs)
[ "$seq1" = "hold held status release " ] ||
	fail_later "coredump -c ${item:-?}: messages from hold to release were '$seq1', not 'hold held status release' (a status before the event is a poll)"
# From the second `hold` (ONCE) to its `unhold`: nothing, and 1 s between them.
seq2=$(awk '$2 == "send" && $3 == "hold" { n++ } n == 2 { printf "%s ", $3 } n == 2 && $3 == "unhold" { exit }' msgs)
[ "$seq2" = "hold unhold " ] ||
	fail_later "coredump -c ${once:-?} -t 1: messages from hold to unhold were '$seq2', not 'hold unhold' (a status while waiting is a poll)"
waited=$(awk '$2 == "send" && $3 == "hold" { n++; if (n == 2) t = $1 }
	n == 2 && $2 == "send" && $3 == "unhold" { printf "%d", ($1 - t) * 1000; exit }' msgs)
[ -n "$waited" ] && [ "$waited" -ge 1000 ] && [ "$waited" -lt 4000 ] ||
	fail_later "coredump -c ${once:-?} -t 1: unhold came ${waited:-?} ms after hold, not 1 s"
[ "$FAILURES" -eq 0 ] || { show msgs; show h.out; show h.err; }
finish
