#!/bin/bash
# t-attach-reattach: a second memtrace -p, later, finds the agent already
# loaded and reconnects without injecting again, and its counts start
# afresh.  On attach_server (tests/victims/attach_server.c): session 1
# leaks 3 blocks (its report shows 3); 4 more are leaked while detached;
# session 2 must not map the agent again (/proc/PID/maps: one load, at the
# same address) and its first report shows none of those 7, then 5 leaked in
# it; session 3 (-x report) shows none.  In between the GOT is hooked while
# attached and clean after.  Output and status as an untraced run.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_server) || exit 99

# leaks REPORT WHAT EXPECTED: the leak_on_request group of REPORT.
leaks() {
	local got
	valid_json "$1" || { fail_later "$2: no report"; return 1; }
	jq -e '.since == "attach"' "$1" >/dev/null || fail_later "$2: since is $(jq -c .since "$1")"
	got=$(group_of "$1" "$prog" leak_on_request)
	[ "$got" = "$3" ] && return 0
	fail_later "$2: leak_on_request in the report: '${got:-nothing}', expected '${3:-nothing}'"
}

splain "$prog" "leak 3" "leak 4" "leak 5"

sstart t "$prog"
pid=$VPID
[ "$(agent_loads "$pid")" = 0 ] || broken "the agent is mapped in a fresh victim"

attach_console s1 "$pid"
scmd leak 3 || fail_later "session 1: leak"
mt_report s1 s1.json && leaks s1.json "session 1" "3 120"
sgot s1.got
check_got_hooked s1.got "session 1"
mt_end s1 detach
maps1=$(grep "/$AGENT_BASENAME\$" "/proc/$pid/maps")
[ "$(agent_loads "$pid")" = 1 ] || fail_later "after session 1 the agent is mapped $(agent_loads "$pid") times"
sgot s1.after
check_got_clean s1.after "after session 1"

scmd leak 4 || fail_later "leak while detached"

attach_console s2 "$pid"
mt_report s2 s2a.json && leaks s2a.json "session 2, before its leaks" ""
scmd leak 5 || fail_later "session 2: leak"
mt_report s2 s2b.json && leaks s2b.json "session 2" "5 200"
sgot s2.got
check_got_hooked s2.got "session 2"
maps2=$(grep "/$AGENT_BASENAME\$" "/proc/$pid/maps")
mt_end s2 detach
[ "$(agent_loads "$pid")" = 1 ] || fail_later "after session 2 the agent is mapped $(agent_loads "$pid") times: injected again?"
if [ "$maps1" != "$maps2" ]; then
	fail_later "the agent's mappings changed between session 1 and session 2 (injected again?)"
	printf '%s\n' "$maps1" | sed 's/^/    1: /'
	printf '%s\n' "$maps2" | sed 's/^/    2: /'
fi

run_mt s3 -p "$pid" -x "report -c 0 --json -o s3.json"
expect_rc s3 0 || fail_later "session 3 (-x): exit status"
leaks s3.json "session 3" ""
[ "$(agent_loads "$pid")" = 1 ] || fail_later "after session 3 the agent is mapped $(agent_loads "$pid") times"
sgot s3.after
check_got_clean s3.after "after session 3"

sworks "after three sessions"
sstop t
same_behaviour plain t || fail_later "the victim behaves differently for having been attached"
finish
