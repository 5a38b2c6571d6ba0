#!/bin/bash
# t-server-pending: connections that never say hello cannot lock out the
# peer with the token (docs/server.md, "Limits"). With --token, --max-clients
# 3 and --max-pending 8: two token holders link first; then 20 connections
# open and say nothing, more than both limits. The two linked peers are
# still served; a token holder that comes now is accepted and served (the
# silent ones never took a client's place: before the fix, it got "server
# busy"); the silent connections beyond --max-pending are closed at once,
# oldest first, and the rest when the hello time runs out (shortened to
# 2 s by MEMTRACE_SERVER_TIMEOUTS_MS); the places are still limited: a
# fourth token holder gets "server busy".
# "A && B || fail": a failure of either step is the one to report.
# shellcheck disable=SC2015
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
. "$(dirname "$0")/../lib/server.sh"

MEMTRACE_SERVER_TIMEOUTS_MS=2000,30000,30000 srv_start srv -v -v --listen 127.0.0.1:0 --no-multicast \
	--token s3cret --max-clients 3 --max-pending 8

# held TAG: a linked peer that waits (up to 60 s) for flood.done, then pings.
held() {
	timeout -k 5 90 "$LINKPEER" -w 60 connect "127.0.0.1:$PORT" hello=s3cret await=flood.done ping >"$1.out" 2>"$1.err"
}
# Two linked peers, kept until the flood is over.
held a &
pa=$!
held b &
pb=$!
wait_for has a.out '"ok":true' && wait_for has b.out '"ok":true' || fail_later "the first two peers were not linked"

# 20 silent connections: each waits (up to 30 s, -w) for the server to close it.
pids=()
for i in $(seq 20); do
	timeout -k 5 40 "$LINKPEER" -w 30 connect "127.0.0.1:$PORT" expect-close >"idle$i.out" 2>"idle$i.err" &
	pids+=($!)
done
# Every one was accepted (the server's debug line), and the pool overflowed.
connected() { [ "$(grep -c ': connected$' srv.err)" -ge 22 ]; }
wait_for connected || fail_later "the server did not accept the 20 silent connections: $(grep -c ': connected$' srv.err)"
wait_for has srv.err "connections have not said hello, the most --max-pending allows: the oldest is closed" ||
	fail_later "no connection was closed for a new one over --max-pending"

# The token holder gets in, and is served, whatever the silent ones do.
lp c connect "127.0.0.1:$PORT" hello=s3cret ping
[ "$(line c 1 | jq -c '[.ok, .role]' 2>/dev/null)" = '[true,"server"]' ] &&
	[ "$(line c 2 | jq -c '[.id, .ok]' 2>/dev/null)" = '[2,true]' ] ||
	fail_later "the token holder was not served beside 20 silent connections: $(cat c.out)"

# The places are still counted: c is gone; d takes the third and holds it, and e is one too many.
held d &
pd=$!
wait_for has d.out '"ok":true' || fail_later "a third linked peer was refused: $(cat d.out)"
lp e connect "127.0.0.1:$PORT" hello=s3cret ping
[ "$(line e 1 | jq -r .error 2>/dev/null)" = "server busy: 3 clients already, the most --max-clients allows" ] &&
	[ "$(line e 2)" = closed ] || fail_later "the peer over --max-clients: $(cat e.out)"

# Every silent connection is closed: 12 or more at once for newer ones, the rest at the hello time.
all_closed() { [ "$(cat idle*.out | grep -c '^closed$')" = 20 ]; }
WAIT_SECONDS=30 wait_for all_closed ||
	fail_later "silent connections still open: $(cat idle*.out | grep -c '^open$') open, $(cat idle*.out | grep -c '^closed$') closed"
wait "${pids[@]}"
has srv.err "no hello within 2 s: closing" || fail_later "no silent connection reached the hello time"

# The linked peers were served to the end.
touch flood.done
wait "$pa" "$pb" "$pd"
for t in a b d; do
	[ "$(line $t 2 | jq -c .ok 2>/dev/null)" = true ] || fail_later "linked peer $t was not served after the flood: $(cat $t.out)"
done
srv_stop TERM
finish
