#!/bin/bash
# t-fork-exec: a program that forks, execs and runs system()
# (tests/victims/fork_exec.c).  The report is for PROG's process alone: the
# children's leaks must not show, a child freeing its copy of a parent's
# block must not free it in the parent's report, children forked while a
# thread allocates must not hang, and nothing a child does may add to
# memtrace's output (stdout is compared with the untraced run).  The report's
# pid is PROG's (the victim writes it to fork_exec.pid).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

plain_victim fork_exec
for unw in $DEFAULT_UNWINDERS; do
	run_traced "$unw" --unwind "$unw" "$prog"
	pid=$(cat fork_exec.pid 2>/dev/null)
	same_behaviour plain "$unw" || fail_later "--unwind $unw: fork_exec behaves differently under memtrace"
	check_victim_run "$unw" "$prog" "$unw" || {
		fail_later "--unwind $unw: the exit report is wrong"
		continue
	}
	jq -e '.exit == {"code": 0}' "$unw.json" >/dev/null ||
		fail_later "--unwind $unw: exit is $(jq -c .exit "$unw.json"), expected {\"code\":0}"
	[ "$(jq .pid "$unw.json")" = "$pid" ] ||
		fail_later "--unwind $unw: report for pid $(jq .pid "$unw.json"), PROG's pid is $pid"
done
finish
