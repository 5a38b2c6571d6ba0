#!/bin/bash
# t-agent-slow-peer: a slow or idle client of the agent's socket never holds
# up the others.  With memtrace attached to attach_server:
#   1. a client (tests/tools/agentpeer) sends a header and 10 bytes of a
#      100-byte request and stops; a second connection's request is
#      answered at once (under 1 s; the agent used to wait 5 s for the rest
#      of the first), and so is memtrace's own `status`; an oversized
#      request is answered with an error, and its connection goes on;
#   2. a client that sends requests as fast as it can and reads none of
#      the replies (they fill its socket): a second connection and
#      memtrace's `status` are answered at once (the agent used to block
#      in the reply's write for up to 60 s), and the flooding client is
#      hung up on at its hello deadline, its replies up to then readable;
#   3. the half-sent client is hung up on after 5 s (the frame's deadline),
#      and a client that says nothing at all is hung up on too (no hello
#      within 5 s), so idle connections cannot fill the agent's 4 places.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

PEER=$BUILD/tests/tools/agentpeer
[ -x "$PEER" ] || broken "$PEER not built (make test-bins)"
prog=$(victim attach_server) || exit 99
sstart t "$prog"
attach_console c "$VPID"

# 1. a second request while the first client stalls mid-frame
"$PEER" "$VPID" half sleep=0.3 second=status sleep=1 >half.out 2>&1
show half.out
ms=$(sed -n 's/^second \([0-9]*\) .*/\1/p' half.out)
[ -n "$ms" ] || fail_later "no answer to the second connection while the first stalls"
[ -z "$ms" ] || [ "$ms" -lt 1000 ] ||
	fail_later "the second connection waited $ms ms for its answer while the first stalls mid-frame"
grep -q '^second [0-9]* .*say hello first' half.out || fail_later "the second connection's answer is not the agent's"

# memtrace's own status, while a client stalls for 3 s
statuses_over() {
	[ "$(grep -c '^ *in use: ' c.out)" -gt "$1" ]
}
# status_quick WHILE: memtrace's status is answered within 2 s WHILE
# another client misbehaves.
status_quick() {
	local n t0 took
	n=$(grep -c '^ *in use: ' c.out)
	t0=$(now_ms)
	console_send status
	WAIT_SECONDS=10 wait_for statuses_over "$n"
	took=$(($(now_ms) - t0))
	note "memtrace's status answered in $took ms $1"
	[ "$took" -lt 2000 ] || fail_later "memtrace's status took $took ms $1"
}
"$PEER" "$VPID" half sleep=3 >stall.out 2>&1 &
stall=$!
sleep 0.3
status_quick "while another client stalls mid-frame"
wait "$stall"

# an oversized request is dropped as it comes and answered; the
# connection goes on
"$PEER" "$VPID" big=200000 send=status >big.out 2>&1
show big.out
grep -q 'message too large: 200000 bytes' big.out || fail_later "an oversized request: no error"
grep -q 'say hello first' big.out || fail_later "an oversized request: the connection did not go on"

# 2. a client that never reads its replies
"$PEER" "$VPID" flood=20000 sleep=3 second=status drain >flood.out 2>&1 &
flood=$!
WAIT_SECONDS=20 wait_for grep -q '^flooded' flood.out || fail_later "the flooding client did not get stuck"
status_quick "while another client reads none of its replies"
wait "$flood"
show flood.out
k=$(sed -n 's/^flooded \([0-9]*\)$/\1/p' flood.out)
[ "${k:-0}" -gt 100 ] || fail_later "the flooding client sent only ${k:-no} requests"
ms=$(sed -n 's/^second \([0-9]*\) .*/\1/p' flood.out)
[ -n "$ms" ] && [ "$ms" -lt 1000 ] ||
	fail_later "a second connection waited ${ms:-over 10000} ms while a client reads none of its replies"
grep -q '^drained [1-9][0-9]* closed$' flood.out ||
	fail_later "the client that read none of its replies: not hung up on, or none of its replies came"

# 3. the stalled and the silent clients are hung up on
"$PEER" "$VPID" half sleep=8 send=status >late.out 2>&1 &
late=$!
"$PEER" "$VPID" sleep=8 send=status >silent.out 2>&1
wait "$late"
show late.out
grep -q '^closed$\|not sent whole in time: hanging up' late.out || fail_later "a client that stalled mid-frame for 8 s was not hung up on"
show silent.out
grep -q '^closed$\|no hello in time: hanging up' silent.out || fail_later "a client that said no hello for 8 s was not hung up on"

sping "after the slow clients"
console_send status
console_end 30
expect_rc c 0 || fail_later "memtrace -p then EOF: exit status"
sstop t
finish
