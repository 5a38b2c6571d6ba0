#!/bin/bash
# hostile-peers.sh: memtrace-server under a crowd of hostile peers (issue
# 15): bench/hostile.c's 200 peers at once for SECONDS (30), of which 80 are
# well behaved and the rest say no hello, give no token, send a byte every
# 500 ms, or announce messages over the limits. Prints what each kind got,
# the well-behaved requests answered and their latency (p50, p99, max),
# and the server's resident memory before, after, and at its peak; the
# server must then stop cleanly on SIGTERM (status 0). Not part of `make
# check` (it loads the machine for its whole time).
#
#   bench/hostile-peers.sh [SECONDS] [PEERS]     (BUILD=build; SERVER= another server)
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
SERVER=${SERVER:-$BUILD/memtrace-server}
SECS=${1:-30}
PEERS=${2:-200}
cd "$(dirname "$0")/.." || exit 2
make -s "$BUILD/bench/hostile" "$SERVER" >/dev/null || exit 2
dir=$(mktemp -d) || exit 2
trap 'rm -rf "$dir"' EXIT

rss() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# 128 places: the well behaved (80), the slow (20) and half the oversized (15) hold the token.
"$SERVER" --listen 127.0.0.1:0 --no-multicast --token bench-token --max-clients 128 2>"$dir/srv.err" &
pid=$!
port=$(server_port "$dir/srv.err")
[ -n "$port" ] || { cat "$dir/srv.err"; kill "$pid"; exit 1; }
before=$(rss "$pid" VmRSS)
echo "memtrace-server $("$SERVER" --version | cut -d' ' -f2), pid $pid, port $port: $PEERS peers for $SECS s"
"$BUILD/bench/hostile" -p "$port" -t bench-token -n "$PEERS" -s "$SECS"
after=$(rss "$pid" VmRSS)
peak=$(rss "$pid" VmHWM)
kill -TERM "$pid"
wait "$pid"
rc=$?
echo "server RSS: before ${before} kB, after ${after} kB, peak ${peak} kB; exit status on SIGTERM $rc"
echo "server log: $(grep -c 'no hello within' "$dir/srv.err") hello times out, $(grep -c 'the oldest is closed' "$dir/srv.err") pushed out over --max-pending, $(grep -c 'token refused\|no token' "$dir/srv.err") token refusals (at -v; 0 at the default level)"
[ $rc = 0 ]
