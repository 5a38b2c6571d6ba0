#!/bin/bash
# t-server-clients: many peers at once. 50 scripted peers
# (tests/tools/linkpeer) connect together, each sends the same decode
# request (a report memtrace wrote for the stripped tests/victims/server_leak,
# the unstripped build in the sysroot) and each must get the right decoded
# report; twice, and the server's resident memory must not grow from the
# first round to the second (bounded: the decoder's caches are full after
# the first). Then --max-clients: the peer over the limit gets "server busy"
# and is closed, and once a place is free a new peer is served.
# "A && B || fail": a failure of either step is the one to report.
# shellcheck disable=SC2015
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
. "$(dirname "$0")/../lib/server.sh"
command -v strip >/dev/null || skip "strip missing (binutils)"

rss_kb() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$SRV_PID/status"
}

stripped_report

srv_start srv --listen 127.0.0.1:0 --no-multicast sys
lp warm connect "127.0.0.1:$PORT" hello decode=raw.json
[ "$(line warm 2 | jq -c .ok)" = true ] || fail_later "a first decode failed: $(line warm 2 | cut -c1-300)"

# round N: 50 peers at once, each with its own decode; every reply checked.
N=50
round() {
	local r=$1 i t0 t1 bad=0 got pids=()
	t0=$(now_ms)
	for i in $(seq $N); do
		lp "r$r-$i" connect "127.0.0.1:$PORT" hello decode=raw.json bye expect-close &
		pids+=($!)
	done
	wait "${pids[@]}"
	t1=$(now_ms)
	for i in $(seq $N); do
		got=$(line "r$r-$i" 2 | jq -r --argjson id 2 'select(.id == $id and .ok) | .report
			| first(.contexts[] | select(.live_bytes == 48)) | .frames[0]
			| "\(.function) \(.line) \(.inlined[0].function)"' 2>/dev/null)
		if [ "$got" != "server_leak_inlined $call_line make_record" ] || [ "$(line "r$r-$i" 4)" != closed ]; then
			[ $bad -gt 0 ] || fail_later "round $r, peer $i: '$got' ($(cut -c1-200 "r$r-$i.out"))"
			bad=$((bad + 1))
		fi
	done
	[ $bad = 0 ] || fail_later "round $r: $bad of $N peers without the right reply"
	note "round $r: $N peers, each a decode of $(wc -c <raw.json) bytes, answered in $((t1 - t0)) ms; server RSS $(rss_kb) kB"
}
round 1
rss1=$(rss_kb)
round 2
round 3
rss3=$(rss_kb)
# The AddressSanitizer build keeps freed memory in quarantine for a while: more room there.
limit=4096
case $SERVER in */asan/*) limit=65536 ;; esac
[ $((rss3 - rss1)) -le $limit ] || fail_later "the server's RSS grew by $((rss3 - rss1)) kB from round 1 to round 3 (limit $limit kB)"
srv_stop TERM

# ---------------------------------------------------------------- --max-clients
srv_start busy -v --listen 127.0.0.1:0 --no-multicast --max-clients 2 sys
lp hold1 connect "127.0.0.1:$PORT" hello hold=3 ping &
h1=$!
lp hold2 connect "127.0.0.1:$PORT" hello hold=3 ping &
h2=$!
wait_for test -s hold2.out && wait_for test -s hold1.out || fail_later "the first two peers were not answered"
lp third connect "127.0.0.1:$PORT" hello ping
[ "$(line third 1 | jq -r .error)" = "server busy: 2 clients already, the most --max-clients allows" ] &&
	[ "$(line third 2)" = closed ] || fail_later "the peer over --max-clients: $(cat third.out)"
wait "$h1" "$h2"
[ "$(line hold1 2 | jq -c .ok)" = true ] && [ "$(line hold2 2 | jq -c .ok)" = true ] ||
	fail_later "the first two peers were not served to the end: $(cat hold1.out hold2.out)"
lp fourth connect "127.0.0.1:$PORT" hello ping bye
[ "$(line fourth 2 | jq -c .ok)" = true ] || fail_later "a place was free again, yet: $(cat fourth.out)"
has busy.err "warning: 127\.0\.0\.1:[0-9]+: server busy: 2 clients already, the most --max-clients allows: refused" || fail_later "no warning of the busy refusal"
srv_stop TERM
finish
