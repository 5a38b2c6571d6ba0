#!/bin/bash
# t-server-channels: one peer cannot push out another's channels
# (docs/protocol.md, "Channels"). Peer A links, opens a channel naming its
# link (the "link" of its hello's reply) and waits; peer B links and opens
# 12 channels of its own link and 20 naming no link (as a memtrace before
# 0.3 does), more than any set of waiting channels holds. A's core request
# then finds its channel (before the fix, B's 16 had closed it: "no channel
# of that key"). B's own oldest channels are the ones closed: its request
# naming its first channel gets "no channel of that key". A channel naming
# a link that does not exist is refused at its hello.
# "A && B || fail": a failure of either step is the one to report.
# shellcheck disable=SC2015
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
. "$(dirname "$0")/../lib/server.sh"

key() { printf '%032x' "$1"; }

srv_start srv -v --listen 127.0.0.1:0 --no-multicast
KA=$(key 4096)
timeout -k 5 60 "$LINKPEER" -w 40 connect "127.0.0.1:$PORT" hello chan="$KA" await=b.done corechan="$KA:64" \
	>a.out 2>a.err &
pa=$!
two_lines() { [ "$(wc -l <a.out)" -ge 2 ]; }
wait_for two_lines || fail_later "peer A's channel was not answered: $(cat a.out)"
link=$(line a 1 | jq -r .link)
[[ $link =~ ^[0-9a-f]{32}$ ]] || fail_later "the hello's reply gives no link id: $(line a 1)"
[ "$(line a 2 | jq -c .ok)" = true ] || fail_later "peer A's channel was refused: $(line a 2)"

steps=()
for i in $(seq 12); do steps+=("chan=$(key "$i")"); done
for i in $(seq 100 119); do steps+=("chan-nolink=$(key "$i")"); done
lp b connect "127.0.0.1:$PORT" hello "${steps[@]}" corechan="$(key 1):64"
[ "$(grep -c '"ok":true' b.out)" -ge 33 ] || fail_later "peer B's channels were not all answered: $(head -c 600 b.out)"
case $(tail -n 1 b.out | jq -r .error) in
*"no channel of that key"*) ;;
*) fail_later "peer B's oldest channel was not the one closed for its newer ones: $(tail -n 1 b.out)" ;;
esac
touch b.done
wait "$pa"
got=$(line a 3 | jq -r '.error // "ok"' 2>/dev/null)
case $got in
"core: received"*) ;;
*) fail_later "peer A's core did not find its channel after peer B's 32: $got" ;;
esac
has srv.err "channels of 127\.0\.0\.1:[0-9]+ wait already: the oldest is closed" ||
	fail_later "no warning of B's own channel closed"

# A channel naming no live link is refused at once.
timeout -k 5 30 "$LINKPEER" connect "127.0.0.1:$PORT" send="{\"v\":1,\"id\":1,\"cmd\":\"hello\",\"role\":\"memtrace\",\"channel\":\"$(key 7)\",\"link\":\"$(key 8)\"}" \
	expect-close >stray.out 2>stray.err
case "$(line stray 1 | jq -r .error)" in
*"no link of that id"*) [ "$(line stray 2)" = closed ] || fail_later "the stray channel was not closed" ;;
*) fail_later "a channel naming no link: $(cat stray.out)" ;;
esac
srv_stop TERM
finish
