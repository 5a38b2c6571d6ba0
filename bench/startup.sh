#!/bin/bash
# startup.sh: what memtrace adds to a short program's start, from exec to
# exit report: `memtrace --json -o FILE PROG` run N times (default 50) for a
# C program that allocates nothing (/bin/true) and a small C++ one
# (build/tests/victims/cxx, whose libstdc++ allocates its emergency pool in a
# constructor). With two memtrace binaries (OLD NEW, each finding its agent
# beside it) their runs alternate, so load on the machine hits both alike.
#
#   bench/startup.sh [-n N] [MEMTRACE [MEMTRACE2]]
#
# Prints median, mean and min wall time in ms per program and memtrace, and
# the program alone for reference.
set -u
cd "$(dirname "$0")/.." || exit 2
n=50
if [ "${1:-}" = -n ]; then
	n=$2
	shift 2
fi
mts=("${@:-build/memtrace}")
progs=(/bin/true "$(readlink -f build/tests/victims/cxx)")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ms_since() {
	local now=${EPOCHREALTIME//[!0-9]/}
	echo $(((now - $1) / 10))
}

for p in "${progs[@]}"; do
	[ -x "$p" ] || { echo "startup.sh: $p is not built (make test-bins)" >&2; exit 2; }
	for ((i = 0; i < n; i++)); do
		t=${EPOCHREALTIME//[!0-9]/}
		"$p" >/dev/null 2>&1
		ms_since "$t" >>"$tmp/plain"
		for k in "${!mts[@]}"; do
			t=${EPOCHREALTIME//[!0-9]/}
			"${mts[$k]}" --json -o "$tmp/r.json" "$p" </dev/null >/dev/null 2>&1 ||
				echo "startup.sh: ${mts[$k]} $p failed" >&2
			ms_since "$t" >>"$tmp/mt$k"
		done
	done
	printf '%s (%d runs): wall ms, median / mean / min\n' "$p" "$n"
	for f in plain $(for k in "${!mts[@]}"; do echo "mt$k"; done); do
		case $f in plain) what="alone" ;; *) what=${mts[${f#mt}]} ;; esac
		sort -n "$tmp/$f" | awk -v w="$what" '{ v[NR] = $1; s += $1 }
			END { printf "  %-40s %6.2f / %6.2f / %6.2f\n", w, v[int((NR + 1) / 2)] / 100, s / NR / 100, v[1] / 100 }'
		rm -f "$tmp/$f"
	done
done
