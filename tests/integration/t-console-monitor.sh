#!/bin/bash
# t-console-monitor: `monitor -i 1` prints the heap summary (a line saying
# "in use N bytes in N blocks") every second while the console goes on
# reading commands, and `monitor -s` stops it.  Console on a pipe: after
# monitor -i 1, at least three outputs come within 10 s; after monitor -s, at
# most one more in the next 2.5 s.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim ticker)
# a status line or a monitor line: both say how much is in use
count() {
	grep -Ec 'in use:? [0-9]+ bytes in [0-9]+ blocks' m.out
}
# shellcheck disable=SC2317 # called through wait_for
at_least() {
	[ "$(count)" -ge "$1" ]
}

console_start m --json -o m.json "$prog" -f stop -s 60
wait_for test -e ticker.started || fail_later "the ticker did not start"
console_send 'monitor -i 1'
WAIT_SECONDS=10 wait_for at_least 3 || fail_later "monitor -i 1: $(count) status outputs in 10 s"
console_send status
console_send 'monitor -s'
console_send 'report --json -o r.json'
wait_for valid_json r.json || fail_later "the console did not answer while monitoring"
n=$(count)
sleep 2.5
[ "$(count)" -le $((n + 1)) ] || fail_later "monitor -s: status still printed ($n then $(count) outputs)"
touch stop
console_end "$MT_TIMEOUT"
expect_rc m 0 || fail_later "exit status"
check_victim_run m "$prog" "$DEFAULT_UNWINDER" || fail_later "exit report"
finish
