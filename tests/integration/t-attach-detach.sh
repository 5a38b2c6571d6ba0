#!/bin/bash
# t-attach-detach: every way a memtrace -p session ends detaches and leaves
# the program working: `detach`, `quit`, end of console input, the end of
# the -x list (status 0 for those), SIGINT, SIGTERM and SIGHUP to memtrace
# (status 128+N).  For each way a fresh attach_server
# (tests/victims/attach_server.c) gets two sessions ended that way: the
# first injects the agent, the second reconnects to it.  While attached,
# every malloc-family GOT slot of the program points into the agent and a
# report shows exactly the blocks leaked in that session (since "attach");
# once memtrace has exited, no slot points into the agent, no thread is
# traced, the victim answers and its allocating thread runs on.  The agent
# is mapped once.  The victim's output and status are those of an untraced
# run given the same commands.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_server) || exit 99

# The untraced run: the same leaks, in the same order.
splain "$prog" "leak 1" "leak 2"

# session TAG PID WAY K: one session ended by WAY, K blocks leaked in it.
session() {
	local tag=$1 pid=$2 way=$3 k=$4 got tr
	if [ "$way" = xend ]; then
		# -x: attached once status is out; the report comes after the sleep
		bg_start "$tag" -p "$pid" -x status -x 'sleep 1' -x "report -c 0 --json -o $tag.json"
		WAIT_SECONDS=30 wait_for has "$tag.out" '^ *in use: ' || fail_later "$tag: no status from memtrace -p -x"
	else
		attach_console "$tag" "$pid" || return 1
	fi
	sgot "$tag.got.attached"
	check_got_hooked "$tag.got.attached" "$tag: while attached"
	scmd leak "$k" || fail_later "$tag: no answer to leak while attached"
	[ "$way" = xend ] || mt_report "$tag" "$tag.json"
	case $way in
	detach | quit | eof)
		mt_end "$tag" "$way"
		;;
	xend)
		console_wait
		expect_rc "$tag" 0 || fail_later "$tag: memtrace -p at the end of its -x list: exit status"
		;;
	*)
		kill -s "$way" "$MT_PID"
		console_close
		console_wait
		expect_rc "$tag" $((128 + $(kill -l "$way"))) || fail_later "$tag: memtrace -p ended by SIG$way: exit status"
		;;
	esac
	if valid_json "$tag.json"; then
		jq -e '.since == "attach"' "$tag.json" >/dev/null || fail_later "$tag: report since $(jq .since "$tag.json")"
		got=$(group_of "$tag.json" "$prog" leak_on_request)
		[ "$got" = "$k $((40 * k))" ] ||
			fail_later "$tag: the report has '${got:-nothing}' under leak_on_request, expected '$k $((40 * k))' (this session's leaks only)"
	else
		fail_later "$tag: no report"
	fi
	sgot "$tag.got.after"
	check_got_clean "$tag.got.after" "$tag: after memtrace ended by $way"
	sworks "$tag: after memtrace ended by $way"
	tr=$(tracers "$pid")
	[ -z "$tr" ] || fail_later "$tag: after memtrace ended by $way, the victim is still traced by $tr"
}

for way in detach quit eof xend INT TERM HUP; do
	sstart "v$way" "$prog"
	pid=$VPID
	session "$way-1" "$pid" "$way" 1
	session "$way-2" "$pid" "$way" 2
	[ "$(agent_loads "$pid")" = 1 ] ||
		fail_later "$way: the agent is mapped $(agent_loads "$pid") times, expected once (one injection, then a reconnection)"
	sstop "v$way"
	same_behaviour plain "v$way" || fail_later "$way: the victim behaves differently for having been attached"
done
finish
