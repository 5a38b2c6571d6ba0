#!/bin/bash
# t-leaks-exit-hold: the wait of `memtrace --leaks` at the program's end
# never outlasts memtrace. attach_exit (tests/victims/attach_exit.c, in
# start mode) ends by exit(5) while memtrace is stopped (SIGSTOP), so that
# its exiting thread is seen waiting in the agent (its main thread in poll,
# the victim having said it ends); then
#   - cont: memtrace goes on: it judges the program, lets it go, and exits
#     5 with the verdicts in the report;
#   - kill: memtrace is killed: the program ends at once (well within the
#     agent's own 60 s bound), since the connection closing lets it go.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_exit) || exit 99

# waiting PID: its main thread waits in poll (the exit hold's wait).
waiting() {
	grep -q poll "/proc/$1/wchan" 2>/dev/null
}

# gone PID: no such process, or a zombie.
gone() {
	local st
	st=$(sed -n 's/^.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

for how in cont kill; do
	mkdir -p "$how.d" || broken "mkdir"
	bg_start "$how" --leaks --json -o "$how.json" "$prog" "$PWD/$how.d" exit 5
	WAIT_SECONDS=30 wait_for test -s "$how.d/ready" || { show "$how.err"; broken "$how: the victim did not get ready"; }
	vpid=$(cat "$how.d/ready")
	vgo "$how"
	vwait_file "$how" leaked || broken "$how: the victim did not say leaked"
	kill -STOP "$MT_PID"
	: >"$how.d/stop"
	if ! WAIT_SECONDS=30 wait_for has "$how.out" 'ending by exit' || ! WAIT_SECONDS=30 wait_for waiting "$vpid"; then
		kill -CONT "$MT_PID"
		fail_later "$how: the victim did not wait in the agent at its end (wchan $(cat "/proc/$vpid/wchan" 2>/dev/null))"
		console_wait 30
		continue
	fi
	if [ $how = cont ]; then
		kill -CONT "$MT_PID"
		console_wait 30
		expect_rc "$how" 5 || fail_later "cont: memtrace's status is not the program's"
		jq -e '.exit == {"code": 5} and (.leaks.summary | length) == 4' "$how.json" >/dev/null || {
			show "$how.err"
			fail_later "cont: no verdicts, or not exit code 5, in the report: $(jq -c '{exit, s: .leaks.summary}' "$how.json")"
		}
	else
		kill -KILL "$MT_PID"
		console_wait 30
		WAIT_SECONDS=10 wait_for gone "$vpid" ||
			fail_later "kill: the program still waits 10 s after memtrace was killed"
	fi
done
finish
