#!/bin/sh
# `make demo`: the sample leaking daemon runs on its own; memtrace attaches
# to it, asks memtrace-server (here on loopback, with this machine's own
# files as the sysroot) to decode, prints a report of what leaked while it
# watched, and detaches; the daemon runs on to its normal end. BUILD dir as
# $1 (default build).
set -eu
B=${1:-build}
victim="$B/tests/victims/demo_leaky"
work=$(mktemp -d "${TMPDIR:-/tmp}/memtrace-demo.XXXXXX")
srv=""
daemon=""
cleanup() {
	[ -z "$daemon" ] || kill "$daemon" 2>/dev/null || true
	[ -z "$srv" ] || kill "$srv" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "== memtrace demo"
echo "== $victim is a small key-value daemon with two leaks (see tests/victims/demo_leaky.c)."
echo "== On the 'host': memtrace-server with the build's debug symbols (here: this machine's own files)."
echo "\$ $B/memtrace-server --listen 127.0.0.1:0 --no-multicast /"
"$B/memtrace-server" --listen 127.0.0.1:0 --no-multicast / 2>"$work/server.log" &
srv=$!
port=""
for _ in $(seq 100); do
	port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$work/server.log")
	[ -n "$port" ] && break
	kill -0 "$srv" 2>/dev/null || break
	sleep 0.05
done
if [ -z "$port" ]; then
	cat "$work/server.log" >&2
	echo "demo: memtrace-server did not start" >&2
	exit 1
fi
echo "== On the 'device': the daemon runs (3000 requests, about 8 s); memtrace attaches to it."
"$victim" 3000 >"$work/daemon.out" &
daemon=$!
sleep 0.3
echo "\$ $B/memtrace -p $daemon --connect 127.0.0.1:$port -x 'sleep 2' -x status -x 'report -c 2'"
echo
"$B/memtrace" -p "$daemon" --connect "127.0.0.1:$port" -x 'sleep 2' -x status -x 'report -c 2'
echo
echo "== memtrace has detached; the daemon runs on to its end:"
wait "$daemon"
daemon=""
grep -v '^EXPECT' "$work/daemon.out"
