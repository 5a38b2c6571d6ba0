#!/bin/bash
# Attach latency: `memtrace -p` beside `heaptrack -p` on the same busy victim.
#
# For each tool, RUNS fresh victims (build/bench/churn: 2 threads allocating
# and freeing as fast as they can, so the attach happens mid-allocation). The
# figure is the wall time from starting the tool to the moment it reports its
# hooks live: memtrace's "attached to process" line (-v; printed after the
# agent has started, patched the GOTs and answered memtrace's hello),
# heaptrack's "injection finished" line. memtrace's own step timings (seize,
# dlopen, start, release) are printed beside.
#
#   BUILD=build RUNS=10 bench/attach.sh
set -u
B=${BUILD:-build}
RUNS=${RUNS:-10}
CHURN="$B/bench/churn"
MT="$B/memtrace"
for f in "$CHURN" "$MT"; do
	[ -x "$f" ] || { echo "attach.sh: $f missing (make all $B/bench/churn)" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'pkill -P $$ 2>/dev/null; rm -rf "$tmp"' EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# time_until PATTERN CMD...: ms from start until CMD prints a line matching PATTERN (stdout or stderr); -1 if never.
time_until() {
	local pat=$1; shift
	local t0 line
	t0=$(now_ms)
	while IFS= read -r line; do
		echo "$line" >>"$tmp/log"
		case "$line" in *$pat*) echo $(( $(now_ms) - t0 )); return 0 ;; esac
	done < <(timeout 20 "$@" 2>&1)
	echo -1
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }

run_tool() {
	local tool=$1 i pid ms
	: >"$tmp/$tool.ms"
	for i in $(seq "$RUNS"); do
		"$CHURN" -n 200000000 >/dev/null &
		pid=$!
		sleep 0.2
		if [ "$tool" = memtrace ]; then
			ms=$(time_until "attached to process" "$MT" -v -p "$pid" -x detach)
		else
			ms=$(time_until "injection finished" heaptrack -o "$tmp/ht.$pid" -p "$pid")
		fi
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		pkill -f "heaptrack_interpret.*$pid" 2>/dev/null
		echo "$ms" >>"$tmp/$tool.ms"
	done
}

echo "# attach latency, $(uname -sr), $(nproc) cpus, $(date -u +%F), victim: churn (2 threads allocating), runs=$RUNS"
run_tool memtrace
steps=$(grep -o 'seize [0-9.]*, safe point [0-9.]* in [0-9]* looks, dlopen [0-9.]*, start [0-9.]*, release [0-9.]*' "$tmp/log" | tail -1)
if command -v heaptrack >/dev/null; then run_tool heaptrack; fi
printf '%-10s %10s %10s %10s\n' tool median_ms min_ms max_ms
for tool in memtrace heaptrack; do
	[ -s "$tmp/$tool.ms" ] || continue
	printf '%-10s %10s %10s %10s\n' "$tool" "$(median <"$tmp/$tool.ms")" \
		"$(sort -n "$tmp/$tool.ms" | head -1)" "$(sort -n "$tmp/$tool.ms" | tail -1)"
done
echo "memtrace steps of the last run (ms): $steps"
m=$(median <"$tmp/memtrace.ms")
if grep -q -- '^-1$' "$tmp/memtrace.ms"; then
	echo "memtrace failed to attach in some runs" >&2
	exit 1
fi
echo "goal: hooks live in under 50 ms: $([ "$m" -lt 50 ] && echo met || echo NOT met)"

# Overhead after attach: churn sleeps 1 s, memtrace attaches meanwhile and
# stays until churn ends; compared with churn alone (alternating runs).
echo
echo "# per-allocation overhead after attach (churn -s 1: 2,000,200 allocations after the sleep)"
: >"$tmp/ovh"
for i in $(seq "$RUNS"); do
	t0=$(now_ms); "$CHURN" -s 1 >/dev/null; t1=$(now_ms)
	for unwind in fp libunwind; do
		t2=$(now_ms)
		"$CHURN" -s 1 >/dev/null &
		pid=$!
		sleep 0.3
		"$MT" -q --unwind "$unwind" -p "$pid" -x 'sleep 600' >/dev/null 2>&1 &
		wait "$pid"
		t3=$(now_ms)
		wait
		echo "$unwind $(( t1 - t0 )) $(( t3 - t2 ))" >>"$tmp/ovh"
	done
done
for unwind in fp libunwind; do
	base=$(awk -v u=$unwind '$1 == u {print $2}' "$tmp/ovh" | median)
	att=$(awk -v u=$unwind '$1 == u {print $3}' "$tmp/ovh" | median)
	echo "attached, --unwind $unwind: churn $att ms vs $base ms alone -> $(( (att - base) * 1000000 / 2000200 )) ns per allocation"
done
