#!/bin/bash
# t-sigkill: PROG killed by SIGKILL (tests/victims/sigdie.c KILL): the agent
# gets no chance to report, so memtrace exits with 137 and says "no exit
# report" on stderr.  If it still writes the JSON file, that file must be
# valid and say {"signal": 9, "report": false}.  PROG's output is intact.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim sigdie)
run_plain plain "$prog" KILL
expect_rc plain 137 || broken "sigdie KILL ends otherwise without memtrace"
for mode in json text; do
	if [ $mode = json ]; then
		run_traced $mode "$prog" KILL
	else
		run_mt $mode "$prog" KILL
	fi
	same_behaviour plain $mode || fail_later "$mode: exit status or output differs under memtrace"
	has $mode.err 'no exit report' || {
		fail_later "$mode: stderr does not say \"no exit report\""
		show $mode.err
	}
	if [ $mode = json ] && [ -e json.json ]; then
		valid_json json.json || fail_later "a JSON report file was written, and it is not valid"
		jq -e '.exit.signal == 9 and .exit.report == false' json.json >/dev/null ||
			fail_later "the JSON file says exit $(jq -c .exit json.json), expected {\"signal\":9,\"report\":false}"
	fi
done
finish
