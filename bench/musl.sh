#!/bin/bash
# bench/musl.sh: memtrace on musl beside memtrace on glibc, on this x86_64
# host: the per-allocation cost on bench/churn.c (start mode, each libc's
# churn traced by that libc's memtrace and agent) and the attach latency to
# a waiting victim, for each unwinder.
#
#     bench/musl.sh    (after make all build/bench/churn, make musl-bins and
#                       make CC=musl-gcc BUILD=build/x86_64-linux-musl build/x86_64-linux-musl/bench/churn)
#
# Runs PAIRS (default 10) counted pairs of plain and traced churn after one
# warm-up pair per unwinder, and prints the median of (traced - plain) wall
# time per allocation, and the median attach time memtrace reports (-v) over
# ATTACHES (default 10) attaches to tests/victims/attach_blocked.
# Environment: BUILD (default build), PAIRS, ATTACHES, THREADS, ITERS, WINDOW.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

BUILD=$(cd "${BUILD:-build}" && pwd) || exit 1
PAIRS=${PAIRS:-10}
ATTACHES=${ATTACHES:-10}
churn_defaults
MUSL=$BUILD/x86_64-linux-musl
for d in "$BUILD" "$MUSL"; do
	for p in memtrace bench/churn tests/victims/attach_blocked; do
		[ -x "$d/$p" ] || { echo "musl.sh: $d/$p is missing (the header of bench/musl.sh says how to build it)" >&2; exit 1; }
	done
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
allocs=$((THREADS * ITERS))

ns() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# per_alloc DIR UNWIND: median ns per allocation that tracing adds.
per_alloc() {
	local d=$1 u=$2 i t0 t1 t2
	: >"$tmp/d"
	for i in $(seq 0 "$PAIRS"); do
		t0=$(ns)
		"$d/bench/churn" -t "$THREADS" -n "$ITERS" -w "$WINDOW" >/dev/null || return 1
		t1=$(ns)
		"$d/memtrace" --unwind "$u" -o /dev/null "$d/bench/churn" -t "$THREADS" -n "$ITERS" -w "$WINDOW" \
			>/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
		t2=$(ns)
		[ "$i" = 0 ] || echo $(((t2 - t1) - (t1 - t0))) >>"$tmp/d"
	done
	awk -v n="$allocs" '{ print $1 / n }' "$tmp/d" | median
}

# attach_ms DIR: median attach time (ms) memtrace reports.
attach_ms() {
	local d=$1 i pid
	mkdir -p "$tmp/v"
	: >"$tmp/a"
	for i in $(seq "$ATTACHES"); do
		rm -rf "$tmp/v"/*
		"$d/tests/victims/attach_blocked" "$tmp/v" </dev/null >/dev/null 2>&1 &
		pid=$!
		for _ in $(seq 200); do [ -e "$tmp/v/ready" ] && break; sleep 0.05; done
		echo detach | "$d/memtrace" -v --console - -p "$pid" >/dev/null 2>"$tmp/err"
		sed -n 's/.*attached to process [0-9]* in \([0-9.]*\) ms.*/\1/p' "$tmp/err" >>"$tmp/a"
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[ -s "$tmp/a" ] && median <"$tmp/a"
}

printf '%-8s %-10s %s\n' libc unwinder 'ns per allocation (median of traced - plain)'
for u in tables libunwind fp; do
	printf '%-8s %-10s %s\n' glibc "$u" "$(per_alloc "$BUILD" "$u")"
	printf '%-8s %-10s %s\n' musl "$u" "$(per_alloc "$MUSL" "$u")"
done
printf '%-8s attach ms (median of %d, memtrace -v)\n' libc "$ATTACHES"
printf '%-8s %s\n' glibc "$(attach_ms "$BUILD")"
printf '%-8s %s\n' musl "$(attach_ms "$MUSL")"
