#!/bin/bash
# bench/server-ping.sh: how long a well-behaved peer of memtrace-server waits
# for a ping's answer while other peers have large reports decoded (issue 15,
# item 10; bench/README.md has figures).
#
#   BUILD=build bench/server-ping.sh [SERVER]
#
# PEERS (20) peers each send ROUNDS (2) decode requests of a report of FRAMES
# (40000) frames (tests/tools/linkpeer's synth=N: one context, every frame in
# a module no sysroot has, so each frame costs a lookup and grows the reply)
# and read each reply; meanwhile one more peer pings PINGS (1000) times,
# PING_MS (10) ms apart, and says its slowest answer. Prints that figure, how
# long the big peers took, and the server's peak RSS. SERVER defaults to
# $BUILD/memtrace-server (give $BUILD/asan/memtrace-server for the ASan one).
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

BUILD=${BUILD:-build}
SERVER=${1:-$BUILD/memtrace-server}
LINKPEER=$BUILD/tests/tools/linkpeer
PEERS=${PEERS:-20}
FRAMES=${FRAMES:-40000}
ROUNDS=${ROUNDS:-2}
PINGS=${PINGS:-1000}
PING_MS=${PING_MS:-10}
for f in "$SERVER" "$LINKPEER"; do
	[ -x "$f" ] || { echo "server-ping.sh: $f not built (make test-bins)" >&2; exit 1; }
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/server-ping.XXXXXX") || exit 1
srv=
cleanup() {
	[ -z "$srv" ] || kill -KILL "$srv" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
mkdir -p "$dir/sys"
"$SERVER" --listen 127.0.0.1:0 --no-multicast "$dir/sys" 2>"$dir/srv.err" &
srv=$!
port=$(server_port "$dir/srv.err")
[ -n "$port" ] || { cat "$dir/srv.err" >&2; exit 1; }

steps=(hello)
for _ in $(seq "$ROUNDS"); do
	steps+=("synth=$FRAMES" recv)
done
t0=$(date +%s%N)
pids=()
for i in $(seq "$PEERS"); do
	"$LINKPEER" -w 300 connect "127.0.0.1:$port" "${steps[@]}" >"$dir/big$i.out" 2>&1 &
	pids+=($!)
done
"$LINKPEER" -w 30 connect "127.0.0.1:$port" hello "pings=$PINGS:$PING_MS" bye >"$dir/good.out" 2>&1
wait "${pids[@]}"
t1=$(date +%s%N)
ok=$(cat "$dir"/big*.out | grep -c '"ok":true,"report"')
rss=$(awk '/^VmHWM/ { print $2 }' "/proc/$srv/status")
kill -TERM "$srv"
wait "$srv"
rc=$?
srv=
echo "server:     $SERVER"
echo "load:       $PEERS peers x $ROUNDS reports of $FRAMES frames: $ok of $((PEERS * ROUNDS)) decoded in $(((t1 - t0) / 1000000)) ms"
echo "good peer:  $(grep '^pings' "$dir/good.out" || echo 'no answer')"
echo "server:     peak RSS ${rss:-?} kB, exit status $rc on SIGTERM"
