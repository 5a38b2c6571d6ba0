#!/bin/sh
# `make demo`: run the sample leaking daemon under memtrace, ask for a report
# while it runs, and show the exit report. BUILD dir as $1 (default build).
set -eu
B=${1:-build}
victim="$B/tests/victims/demo_leaky"
echo "== memtrace demo"
echo "== $victim is a small key-value daemon with two leaks (see tests/victims/demo_leaky.c)."
echo "== memtrace starts it, takes a report while it runs, and prints the exit report."
echo "== \$ $B/memtrace -x 'sleep 0.5' -x status -x 'report -c 2' $victim"
echo
exec "$B/memtrace" -x 'sleep 0.5' -x status -x 'report -c 2' "$victim"
