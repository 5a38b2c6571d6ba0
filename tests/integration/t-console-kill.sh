#!/bin/bash
# t-console-kill: `kill` from the console ends PROG (the ticker, which would
# run 60 s): with no argument memtrace exits 128 + the signal sent and the
# exit report says that signal and shows the ticker's first leaks; `kill 9`
# gives exit status 137 and "no exit report".
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim ticker)
start=$(date +%s)
run_traced k -x 'sleep 1' -x kill "$prog" -s 60
rc=$(rc_of k)
if [ "$rc" -gt 128 ] && [ "$rc" -ne 137 ]; then
	if check_report_sane k.json "$prog" "$DEFAULT_UNWINDER" 32 exit; then
		jq -e --argjson s $((rc - 128)) '.exit.signal == $s' k.json >/dev/null ||
			fail_later "kill: exit status $rc, report says exit $(jq -c .exit k.json)"
		[ "$(group_of k.json "$prog" leak_big)" = "1 100000" ] || fail_later "kill: leak_big not reported"
	else
		fail_later "kill: exit report"
	fi
else
	fail_later "kill: exit status $rc, expected 128 + a signal other than SIGKILL"
	show k.err
fi
[ $(($(date +%s) - start)) -lt 30 ] || fail_later "kill: the ticker was not stopped"

run_mt k9 -x 'sleep 1' -x 'kill 9' "$prog" -s 60
expect_rc k9 137 || fail_later "kill 9: exit status"
has k9.err 'no exit report' || fail_later "kill 9: stderr does not say \"no exit report\""
finish
