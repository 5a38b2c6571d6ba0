#!/bin/bash
# t-attach-err-squat: a local user who binds the agent's two socket names
# for a process before memtrace attaches (tests/tools/agentpeer squat)
# must not leave root's `memtrace -p` pointing at an empty stderr: memtrace
# exits 7 with a message that says the names are taken by another process
# and how to find it, the agent is unloaded, and the target runs on as it
# was (untouched, answering, its untraced output). Before, the agent failed
# without a word and memtrace said "its reason is on the process's stderr".
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_server) || exit 99
PEER=$BUILD/tests/tools/agentpeer
[ -x "$PEER" ] || broken "no $PEER (make test-bins)"
SQUAT=

cleanup() {
	[ -z "$SQUAT" ] || kill "$SQUAT" 2>/dev/null
	cleanup_attach
}
trap cleanup EXIT

splain "$prog"

sstart t "$prog"
pid=$VPID
"$PEER" squat "$pid" >squat.out 2>squat.err &
SQUAT=$!
wait_for has squat.out '^squatting' || { show squat.err; broken "agentpeer could not squat"; }
mt_refused taken 7 "memtrace-agent\\.$pid.*bound by another process" "memtrace -p with the names taken" \
	-p "$pid" -x status
has taken.err 'ss -xlp' || fail_later "the message does not say how to find who holds them"
! has taken.out '^ *in use: ' || fail_later "memtrace ran status"

untouched "$pid" "after the refused attach"
sping "after the refused attach"
sstop t
same_behaviour plain t || fail_later "the victim behaves differently"
finish
