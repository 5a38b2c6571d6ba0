#!/bin/bash
# bench/ab.sh: the per-allocation cost of two agent builds side by side, on
# bench/churn.c in start mode, for a change to the hooks' fast path.
#
#     bench/ab.sh AGENT_A AGENT_B [UNWIND...]
#
# Runs `memtrace -L AGENT --unwind U -o /dev/null churn` with A and B
# alternately, PAIRS (default 10) counted pairs after one warm-up pair, for
# each unwinder (default: fp libunwind), and prints per unwinder the medians
# of wall and CPU (user + system) time per allocation for A and for B, and
# B minus A, then the same for the fastest run of each (wall): on a machine
# others load, the best of many short runs is the figure that noise moves
# least (STAT=min prints only that one).
#
# Environment: BUILD (default build), PAIRS, THREADS, ITERS, WINDOW (churn's
# -t -n -w).  The figures of docs/architecture.md ("Giving the memory back")
# come from PAIRS=40 THREADS=1 ITERS=200000.  Exit status 1 when a run failed (status, checksum).
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

BUILD=${BUILD:-build}
PAIRS=${PAIRS:-10}
churn_defaults
[ $# -ge 2 ] || { sed -n '3,20s/^# \{0,1\}//p' "$0" >&2; exit 2; }
A=$(readlink -f "$1") B=$(readlink -f "$2")
shift 2
UNWINDERS=("$@")
[ ${#UNWINDERS[@]} -gt 0 ] || UNWINDERS=(fp libunwind)
BUILD=$(cd "$BUILD" && pwd) || exit 1
TIMEIT=$BUILD/bench/timeit CHURN=$BUILD/bench/churn MEMTRACE=$BUILD/memtrace
for f in "$A" "$B" "$TIMEIT" "$CHURN" "$MEMTRACE"; do
	[ -e "$f" ] || { echo "ab.sh: $f is missing (make all test-bins bench programs)" >&2; exit 1; }
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/memtrace-ab.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
ALLOCS=$((THREADS * (ITERS + ITERS / 10000)))
ARGS=(-t "$THREADS" -n "$ITERS" -w "$WINDOW")
EXPECT=$("$CHURN" "${ARGS[@]}") || { echo "ab.sh: churn fails on its own" >&2; exit 1; }

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# one AGENT UNWIND TAG: one run; wall ns and CPU us appended to TMP/TAG.{wall,cpu}.
one() {
	local out st wall user sys
	out=$("$TIMEIT" "$TMP/t" "$MEMTRACE" -L "$1" --unwind "$2" -o /dev/null "$CHURN" "${ARGS[@]}" </dev/null 2>"$TMP/err")
	st=$?
	if [ "$st" != 0 ] || [ "$out" != "$EXPECT" ]; then
		echo "ab.sh: run with $1 --unwind $2 failed (status $st): $(tail -c 300 "$TMP/err")" >&2
		return 1
	fi
	read -r wall user sys _ <"$TMP/t"
	[ -n "$3" ] || return 0
	echo "$wall" >>"$TMP/$3.wall"
	echo $((user + sys)) >>"$TMP/$3.cpu"
}

failed=0
base_wall=() base_cpu=()
for ((i = 0; i <= PAIRS; i++)); do
	"$TIMEIT" "$TMP/t" "$CHURN" "${ARGS[@]}" >/dev/null </dev/null
	read -r w u s _ <"$TMP/t"
	[ "$i" -gt 0 ] && { echo "$w" >>"$TMP/base.wall"; echo $((u + s)) >>"$TMP/base.cpu"; }
done
bw=$(median <"$TMP/base.wall") bc=$(median <"$TMP/base.cpu")
bmin=$(sort -n "$TMP/base.wall" | head -n 1) bcmin=$(sort -n "$TMP/base.cpu" | head -n 1)
printf 'churn -t %s -n %s -w %s: %s allocations; %s pairs; plain run %.1f ms wall, %.1f ms CPU\n' \
	"$THREADS" "$ITERS" "$WINDOW" "$ALLOCS" "$PAIRS" "$(awk -v v="$bw" 'BEGIN { print v / 1e6 }')" \
	"$(awk -v v="$bc" 'BEGIN { print v / 1e3 }')"
printf '%-10s %12s %12s %12s | %12s %12s %12s\n' unwinder "A wall ns" "B wall ns" "B-A" "A CPU ns" "B CPU ns" "B-A"
for u in "${UNWINDERS[@]}"; do
	rm -f "$TMP"/a.* "$TMP"/b.*
	for ((i = 0; i <= PAIRS; i++)); do
		tag_a='' tag_b=''
		[ "$i" -gt 0 ] && tag_a=a tag_b=b
		# Alternate which goes first, so neither always follows the other.
		if [ $((i % 2)) = 0 ]; then
			one "$A" "$u" "$tag_a" && one "$B" "$u" "$tag_b" || failed=1
		else
			one "$B" "$u" "$tag_b" && one "$A" "$u" "$tag_a" || failed=1
		fi
	done
	[ "$failed" = 0 ] || break
	awk -v aw="$(median <"$TMP/a.wall")" -v bwl="$(median <"$TMP/b.wall")" \
		-v ac="$(median <"$TMP/a.cpu")" -v bcp="$(median <"$TMP/b.cpu")" \
		-v w0="$bw" -v c0="$bc" -v n="$ALLOCS" -v u="$u" 'BEGIN {
		a = (aw - w0) / n; b = (bwl - w0) / n; ca = (ac - c0) * 1000 / n; cb = (bcp - c0) * 1000 / n
		printf "%-10s %12.1f %12.1f %+12.1f | %12.1f %12.1f %+12.1f  (medians)\n", u, a, b, b - a, ca, cb, cb - ca }'
	awk -v aw="$(sort -n "$TMP/a.wall" | head -n 1)" -v bwl="$(sort -n "$TMP/b.wall" | head -n 1)" \
		-v ac="$(sort -n "$TMP/a.cpu" | head -n 1)" -v bcp="$(sort -n "$TMP/b.cpu" | head -n 1)" \
		-v w0="$bmin" -v c0="$bcmin" -v n="$ALLOCS" -v u="$u" 'BEGIN {
		a = (aw - w0) / n; b = (bwl - w0) / n; ca = (ac - c0) * 1000 / n; cb = (bcp - c0) * 1000 / n
		printf "%-10s %12.1f %12.1f %+12.1f | %12.1f %12.1f %+12.1f  (fastest runs)\n", u, a, b, b - a, ca, cb, cb - ca }'
done
exit $failed
