#!/bin/bash
# Attaching to processes that live in the allocator and the loader:
# `memtrace -p` beside `heaptrack -p` on the same victims.
#
# For each victim of tests/victims/busy_alloc.c (KINDS: one thread, two and
# eight threads in malloc/calloc/realloc/free loops without a system call,
# the allocator beside a dlopen/dlclose loop and beside dl_iterate_phdr
# callbacks that allocate) and each tool, RUNS fresh victims, each attached
# once: memtrace -p PID -x detach; heaptrack -p PID, which stays until the
# victim ends. After the attach (memtrace: after the detach) the victim runs
# for 0.2 s, then SIGTERM: it checks every block's pattern and exits 0, or
# 1 for a damaged block or a failed call; killed by a signal it died.
#
# Per victim and tool: attaches that succeeded, victims that died, victims
# whose checks failed (or hung: no exit within 10 s of SIGTERM), the time
# from the tool's start to its hooks being live (memtrace -v: "attached to
# process"; heaptrack: "injection finished"), median and max; for memtrace
# also the search for a safe point (median, max) and the looks it took.
#
#   BUILD=build RUNS=200 KINDS="m mm mmmmmmmm md mi" TOOLS="memtrace heaptrack" bench/safepoint.sh
set -u
B=${BUILD:-build}
RUNS=${RUNS:-200}
KINDS=${KINDS:-m mm mmmmmmmm md mi}
TOOLS=${TOOLS:-memtrace heaptrack}
VICTIM="$B/tests/victims/busy_alloc"
PLUGIN="$B/tests/victims/libplugin_leak.so"
MT="$B/memtrace"
for f in "$VICTIM" "$PLUGIN" "$MT"; do
	[ -e "$f" ] || { echo "safepoint.sh: $f missing (make test-bins)" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'pkill -KILL -P $$ 2>/dev/null; rm -rf "$tmp"' EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
max() { sort -n | tail -1; }

# One attach: prints "ok|fail MS VICTIM_STATUS [SAFEPOINT_MS LOOKS]".
one() {
	local tool=$1 kind=$2 d pid t0 ms=-1 ok=fail vrc sp="" line hpid
	d=$(mktemp -d "$tmp/v.XXXX")
	"$VICTIM" "$d" "$kind" "$PLUGIN" >"$d/out" 2>"$d/err" &
	pid=$!
	for _ in $(seq 400); do [ -s "$d/ready" ] && break; sleep 0.01; done
	t0=$(now_ms)
	if [ "$tool" = memtrace ]; then
		timeout 60 "$MT" -v -p "$pid" -x detach >"$d/mt.out" 2>"$d/mt.err" && ok=ok
		line=$(grep -m1 'attached to process' "$d/mt.err")
		if [ -n "$line" ]; then
			ms=$(echo "$line" | sed -n 's/.* in \([0-9.]*\) ms (.*/\1/p')
			sp=$(echo "$line" | sed -n 's/.*safe point \([0-9.]*\) in \([0-9]*\) looks.*/\1 \2/p')
		fi
	else
		# A session of its own: heaptrack's script leaves helpers (subshells,
		# its interpreter) that its own pid does not take down with it.
		setsid heaptrack -o "$d/ht" -p "$pid" >"$d/ht.log" 2>&1 &
		hpid=$!
		for _ in $(seq 600); do
			grep -q 'injection finished' "$d/ht.log" 2>/dev/null && { ok=ok; ms=$(( $(now_ms) - t0 )); break; }
			kill -0 "$hpid" 2>/dev/null || break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.02
		done
	fi
	sleep 0.2
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		vrc=hung
		wait "$pid" 2>/dev/null
	else
		wait "$pid"
		vrc=$?
	fi
	[ "$tool" = heaptrack ] && { kill -TERM -- "-$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null
		kill -KILL -- "-$hpid" 2>/dev/null; }
	echo "$ok ${ms:--1} $vrc $sp"
	if [ "$ok" != ok ] && [ "$tool" = memtrace ]; then
		echo "$kind: $(grep -v '^memtrace: thread\|^memtrace: [a-z_]* at\|seized\|code map' "$d/mt.err" | tail -1)" >>"$tmp/why"
	fi
	rm -rf "$d"
}

echo "# attach to allocator-bound victims, $(uname -sr), $(nproc) cpus, load $(cut -d' ' -f1 /proc/loadavg), $(date -u +%F), runs=$RUNS"
printf '%-9s %-10s %6s %6s %6s %7s %7s %9s %9s %9s\n' victim tool attached died damaged lat_med lat_max sp_med_ms sp_max_ms looks_max
for kind in $KINDS; do
	for tool in $TOOLS; do
		command -v "$tool" >/dev/null || [ "$tool" = memtrace ] || continue
		: >"$tmp/res"
		for _ in $(seq "$RUNS"); do one "$tool" "$kind" >>"$tmp/res"; done
		att=$(grep -c '^ok' "$tmp/res")
		died=$(awk '$3 ~ /^[0-9]+$/ && $3 >= 128' "$tmp/res" | wc -l)
		dmg=$(awk '$3 == "hung" || ($3 ~ /^[0-9]+$/ && $3 > 0 && $3 < 128)' "$tmp/res" | wc -l)
		lat=$(awk '$1 == "ok" {print $2}' "$tmp/res")
		spv=$(awk 'NF >= 5 {print $4}' "$tmp/res")
		looks=$(awk 'NF >= 5 {print $5}' "$tmp/res")
		printf '%-9s %-10s %6s %6s %6s %7s %7s %9s %9s %9s\n' "$kind" "$tool" "$att/$RUNS" "$died" "$dmg" \
			"$(echo "$lat" | median)" "$(echo "$lat" | max)" \
			"$( [ -n "$spv" ] && echo "$spv" | median || echo -)" "$( [ -n "$spv" ] && echo "$spv" | max || echo -)" \
			"$( [ -n "$looks" ] && echo "$looks" | max || echo -)"
	done
done
if [ -s "$tmp/why" ]; then
	echo "# why memtrace did not attach:"
	sort "$tmp/why" | uniq -c
fi
