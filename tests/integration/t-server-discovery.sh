#!/bin/bash
# t-server-discovery: memtrace-server answers discovery (docs/protocol.md,
# "Discovery") on loopback, on a random UDP port of the group so that tests
# running at once do not hear each other:
#   - "discovery on GROUP:PORT" is printed at start;
#   - a query gets one unicast answer from 127.0.0.1 with the server's TCP
#     port, its version, the query's nonce and "token": false (true with
#     --token, whose value is never sent);
#   - garbage datagrams, and queries that are not well formed, get nothing,
#     and a good query after them is still answered;
#   - 200 queries at once get at most 50 answers (50 a second);
#   - --no-multicast: no discovery line, no answer; with -c and no --listen,
#     no discovery either (there is no port to give).
# "A && B || fail": a failure of either step is the one to report.
# shellcheck disable=SC2015
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
. "$(dirname "$0")/../lib/server.sh"

GROUP=239.255.42.3:$((20000 + RANDOM % 40000))
mkdir sys || broken "mkdir"

# answer TAG FIELDS: FIELDS (jq) of the first answer in TAG.out, after its source address.
answer() {
	awk '$1 == "answer" { print $2; sub(/^answer [^ ]+ /, ""); print; exit }' "$1.out" | {
		read -r from && printf '%s ' "$from" && jq -r "$2" 2>/dev/null
	}
}

srv_start srv -vv --listen 127.0.0.1:0 --multicast-group "$GROUP" sys
has srv.err "^memtrace-server: discovery on $GROUP$" || fail_later "no 'discovery on $GROUP' line"
lp q1 -w 2 discover "$GROUP"
got=$(answer q1 '"\(.v) \(.server) \(.version) \(.port) \(.token) \(.nonce)"')
case $got in
"127.0.0.1:"*" 1 memtrace-server 0.2.0 $PORT false "[0-9]*) ;;
*) fail_later "the answer to a query: '$got', want '127.0.0.1:N 1 memtrace-server 0.2.0 $PORT false NONCE' ($(cat q1.out))" ;;
esac
[ "$(tail -n 1 q1.out)" = "answers 1" ] || fail_later "one query, answers: $(tail -n 1 q1.out)"

# Nothing for what is not a well-formed query (all sent at once, each waiting 1 s for an answer).
n=0
pids=()
for d in "garbage" "" "[1,2]" '{"v":1,"cmd":"discover"}' '{"v":2,"cmd":"discover","nonce":"1"}' \
	'{"v":1,"cmd":"hello","nonce":"1"}' '{"v":1,"cmd":"discover","nonce":""}' \
	'{"v":1,"cmd":"discover","nonce":"\u0007"}' '{"v":1,"cmd":"discover","nonce":1}' \
	"{\"v\":1,\"cmd\":\"discover\",\"nonce\":\"$(head -c 65 /dev/zero | tr '\0' 7)\"}" \
	"{\"v\":1,\"cmd\":\"discover\",\"nonce\":\"1\",\"pad\":\"$(head -c 1100 /dev/zero | tr '\0' x)\"}"; do
	n=$((n + 1))
	printf '%s' "$d" >"g$n.dgram"
	lp "g$n" -w 1 dgram "$GROUP" "$d" &
	pids+=($!)
done
wait "${pids[@]}"
for i in $(seq $n); do
	[ "$(cat "g$i.out")" = "no reply" ] || fail_later "datagram '$(head -c 60 "g$i.dgram")' was answered: $(cat "g$i.out")"
done
# The control: the same way, a good query is answered.
lp g0 -w 2 dgram "$GROUP" '{"v":1,"cmd":"discover","nonce":"42"}'
has g0.out '^reply 127\.0\.0\.1:[0-9]+ \{.*"nonce":"42"' || fail_later "a good query sent as the garbage was: $(cat g0.out)"
[ "$(grep -c 'that is no query: ignored' srv.err)" -ge 10 ] || fail_later "the ignored datagrams were not logged (debug)"

# At most 50 answers a second.
lp flood -w 1 discover "$GROUP" 200
got=$(tail -n 1 flood.out | awk '{ print $2 }')
[ "$got" -ge 1 ] && [ "$got" -le 50 ] || fail_later "200 queries at once got $got answers, want 1 to 50"
note "200 queries at once: $got answers"
has srv.err "more than 50 queries a second" || fail_later "the rate limit was not logged"
sleep 1.1
lp after -w 2 discover "$GROUP"
[ "$(tail -n 1 after.out)" = "answers 1" ] || fail_later "a second after the flood, no answer: $(cat after.out)"
srv_stop TERM

# A token: said to be wanted, never sent.
srv_start tok --listen 127.0.0.1:0 --multicast-group "$GROUP" --token "do-not-send" sys
lp q2 -w 2 discover "$GROUP"
[ "$(answer q2 '"\(.port) \(.token)"' | cut -d' ' -f2-)" = "$PORT true" ] || fail_later "with --token: $(cat q2.out)"
! grep -q "do-not-send" q2.out || fail_later "the token was sent in the answer"
srv_stop TERM

# --no-multicast: nothing.
srv_start off --listen 127.0.0.1:0 --multicast-group "$GROUP" --no-multicast sys
! has off.err "discovery on" || fail_later "--no-multicast, yet 'discovery on'"
lp q3 -w 1 discover "$GROUP"
[ "$(tail -n 1 q3.out)" = "answers 0" ] || fail_later "--no-multicast, yet answered: $(cat q3.out)"
srv_stop TERM

# -c without --listen: no port to give, so no discovery.
srv_start dial -c 127.0.0.1:9 --multicast-group "$GROUP" sys
lp q4 -w 1 discover "$GROUP"
[ "$(tail -n 1 q4.out)" = "answers 0" ] && ! has dial.err "listening on|discovery on" ||
	fail_later "-c alone: the server listens or answers discovery: $(cat dial.err q4.out)"
srv_stop TERM
finish
