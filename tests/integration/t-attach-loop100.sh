#!/bin/bash
# t-attach-loop100: attach, detach and attach again 100 times in a row on
# one attach_server (tests/victims/attach_server.c) whose thread allocates
# and frees all the while.  Every session must exit 0 and answer status;
# every tenth is a console session in which the victim leaks k blocks and
# the report shows exactly those k (since "attach"; none of the earlier
# sessions' or of what was leaked between sessions).  Between sessions the
# victim answers and its GOT is clean.  After the loop: the agent is mapped
# once, the victim answers, its thread runs on and found no damaged block,
# a last session's report after 7 leaks shows exactly 7, and output and
# status are those of an untraced run given the same commands.
# Iterations: $ATTACH_LOOPS (default 100); with the AddressSanitizer
# memtrace $ATTACH_LOOPS_ASAN if set (100 sessions take ~5 s with either
# build here; lower it where the ASan build is slow, the test must stay
# within the runner's 120 s).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_server) || exit 99
loops=${ATTACH_LOOPS:-100}
if asan_build; then
	loops=${ATTACH_LOOPS_ASAN:-$loops}
fi
note "$loops sessions"

# The leaks: between sessions (i % 10 == 5) and in every tenth (i / 10).
leak_plan() {
	local i
	for ((i = 1; i <= loops; i++)); do
		[ $((i % 10)) != 5 ] || echo "between $i 2"
		[ $((i % 10)) != 0 ] || echo "in $i $((i / 10))"
	done
	echo "last 0 7"
}

sstart plain "$prog"
leak_plan | while read -r _ _ n; do
	printf 'leak %s\n' "$n"
done >plan.cmds
while read -r _ n; do
	scmd leak "$n" || broken "attach_server does not answer without memtrace"
done <plan.cmds
sstop plain
expect_rc plain 0 || broken "attach_server fails without memtrace"

sstart t "$prog"
pid=$VPID
MT_QUIET=1
bad=0
for ((i = 1; i <= loops; i++)); do
	if [ $((i % 10)) = 0 ]; then
		k=$((i / 10))
		attach_console "c$i" "$pid" || { bad=$((bad + 1)); continue; }
		scmd leak $k || fail_later "session $i: leak"
		if mt_report "c$i" "c$i.json"; then
			got=$(group_of "c$i.json" "$prog" leak_on_request)
			[ "$got" = "$k $((40 * k))" ] ||
				fail_later "session $i: leak_on_request '${got:-nothing}', expected '$k $((40 * k))'"
			jq -e '.since == "attach"' "c$i.json" >/dev/null || fail_later "session $i: since $(jq .since "c$i.json")"
		fi
		mt_end "c$i" detach
		rm -f "c$i".*.json
	else
		run_mt "x$i" -p "$pid" -x status
		if [ "$(rc_of "x$i")" != 0 ] || ! has "x$i.out" '^ *in use: '; then
			fail_later "session $i (memtrace -p $pid -x status): exit status $(rc_of "x$i")"
			show "x$i.err"
			bad=$((bad + 1))
		else
			rm -f "x$i".*
		fi
	fi
	[ $bad -lt 5 ] || { fail_later "giving up after 5 failed sessions"; break; }
	if [ $((i % 10)) = 5 ]; then
		scmd leak 2 || fail_later "leak between sessions"
	fi
	if [ $((i % 10)) = 1 ]; then
		sgot "got.$i"
		check_got_clean "got.$i" "after session $i" || bad=$((bad + 1))
		sping "after session $i" || break
	fi
done

[ "$(agent_loads "$pid")" = 1 ] || fail_later "after $loops sessions the agent is mapped $(agent_loads "$pid") times"
sworks "after $loops sessions"
tr=$(tracers "$pid")
[ -z "$tr" ] || fail_later "after $loops sessions the victim is traced by $tr"

attach_console last "$pid"
scmd leak 7 || fail_later "last session: leak"
if mt_report last last.json; then
	check_report_sane last.json "$prog" "$DEFAULT_UNWINDER" 32 || fail_later "last report: shape"
	got=$(group_of last.json "$prog" leak_on_request)
	[ "$got" = "7 280" ] || fail_later "last session: leak_on_request '${got:-nothing}', expected '7 280'"
fi
mt_end last detach
sgot got.last
check_got_clean got.last "after the last session"
sstop t
same_behaviour plain t || fail_later "the victim behaves differently for having been attached $((loops + 1)) times"
finish
