#!/bin/bash
# shellcheck disable=SC2059 # $fmt: one row format for the header and the rows
# The cost of `leaks` on a live process (issue 17): how long the process is
# stopped for the scan, how long the whole command takes and what memory the
# scan needs, beside valgrind's `leak_check full` through vgdb on the same
# program and heap.
#
# For each heap shape (SHAPES, NAME:BLOCKS:SIZE; bench/leaks_heap.c makes
# half of the blocks before the attach and half after, lists and trees
# reachable from globals, lost lists and singles, blocks held only through
# interior pointers):
#   memtrace: leaks_heap is started, memtrace attaches (`memtrace --console -
#     -p PID`, commands on a FIFO), leaks_heap makes its second half, then
#     `leaks --json -o FILE` runs RUNS times (a copy of the process judged),
#     each followed by `leaks --no-fork` (the process stopped throughout:
#     its stop time and total are the nf_ columns). From each file's "scan":
#     stopped_ms, root_bytes + block_bytes (what was read), scan_memory_bytes
#     (the scan's own memory); from outside: the wall time from sending the
#     command to the file's last write, and memtrace's peak RSS (VmHWM) over
#     its RSS before the first `leaks`.
#   valgrind: leaks_heap under `valgrind --vgdb=yes --vgdb-prefix=PRIVATE
#     --leak-check=no`, all its blocks made, then `vgdb leak_check full` RUNS
#     times, each timed (wall, vgdb's start to its exit).
# The verdicts each tool gives (blocks per kind) are printed beside what
# leaks_heap states it made, so both are seen judging the same heap.
#
# Goals (issue 17): stopped at most 100 ms per 100 MiB scanned; the scan's
# memory at most 10% of the heap scanned (block_bytes).
#
#   BUILD=build RUNS=3 bench/leaks.sh
#   SHAPES="10MiB:10240:1024" VALGRIND=0 bench/leaks.sh   # one shape, memtrace only
#   PERF=/tmp/lk VALGRIND=0 bench/leaks.sh   # and one more leaks per shape under perf
# PERF=DIR: after the timed runs, one more `leaks` per shape, untimed, under
# `perf stat` (memtrace's process_vm_readv, ptrace and all system calls) and
# `perf record -g` (DIR/NAME.perf.data; the top functions are printed);
# PERF_CALL="--call-graph dwarf" for callers through glibc (its qsort has
# no frame pointers).
# Needs `make test-bins` (memtrace, the agent, build/bench/leaks_heap) and
# valgrind (VALGRIND=0 leaves it out). One run at a time: each tool is
# measured alone on the machine.
set -u
B=${BUILD:-build}
RUNS=${RUNS:-3}
SHAPES=${SHAPES:-10MiB:10240:1024 100MiB:102400:1024 1M-blocks:1000000:100}
VALGRIND=${VALGRIND:-1}
PERF=${PERF:-}
PERF_CALL=${PERF_CALL:--g}
MT="$B/memtrace"
HEAP="$B/bench/leaks_heap"
for f in "$MT" "$HEAP"; do
	[ -x "$f" ] || { echo "leaks.sh: $f missing (make test-bins)" >&2; exit 2; }
done
if [ "$VALGRIND" = 1 ] && ! command -v vgdb >/dev/null; then
	echo "leaks.sh: valgrind missing (apt-get install valgrind), or VALGRIND=0" >&2
	exit 2
fi
command -v jq >/dev/null || { echo "leaks.sh: jq missing" >&2; exit 2; }
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
pids_cleanup_on_exit

now_ns() { date +%s%N; }
now_us() { echo "${EPOCHREALTIME/./}"; }
# stamp: each line of standard input as "MICROSECONDS LINE", written as it comes.
stamp() { local l; while IFS= read -r l; do printf '%s %s\n' "$(now_us)" "$l"; done; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
# stats: "median min max" of the numbers on standard input.
stats() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)], a[1], a[NR]; else print "- - -"}'; }
# wait_until SECONDS CMD...: polls CMD every 20 ms; status 1 on timeout.
wait_until() {
	local end=$(( $(date +%s) + $1 ))
	shift
	until "$@"; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.02
	done
}
count_at_least() { [ "$(grep -c "$2" "$1" 2>/dev/null)" -ge "$3" ]; }
# nth_stamp FILE WORDS N: the stamp of the Nth line of FILE whose text starts with WORDS.
nth_stamp() { awk -v w="$2" -v n="$3" 'substr($0, index($0, " ") + 1, length(w)) == w && ++k == n {print $1; exit}' "$1"; }
kb_of() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }

# leaks_timed DIR FILE N [OPTIONS]: `leaks OPTIONS --json -o FILE` on the
# console (fd 7) of DIR, the Nth of the session: the µs from the command to
# the console's line saying the file is written.
leaks_timed() {
	local d=$1 f=$2 n=$3 t0 t1
	shift 3
	t0=$(now_us)
	echo "leaks $* --json -o $f" >&7
	wait_until 600 count_at_least "$d/c.out" '^[0-9]* leaks written to ' "$n" || {
		echo "memtrace: leaks $* (the ${n}th) gave no file" >&2; cat "$d/c.err" >&2; return 1; }
	t1=$(nth_stamp "$d/c.out" "leaks written to" "$n")
	echo "$(( t1 - t0 ))"
}

# One shape under memtrace: writes to $tmp/NAME.mt.row "stopped_med stopped_min stopped_max
# total_med_us scanned_bytes heap_bytes scan_mem_bytes rss_plus_kib blocks";
# details to $tmp/NAME.mt. Not in a subshell: PIDS must know its processes.
run_memtrace() {
	local name=$1 blocks=$2 size=$3 d vpid mpid t0 t1 f rss0 hwm
	d="$tmp/$name.mt.d"
	mkdir -p "$d"
	"$HEAP" "$d" "$blocks" "$size" >"$d/heap.out" 2>"$d/heap.err" &
	vpid=$!
	PIDS="$PIDS $vpid"
	wait_until 600 test -s "$d/ready" || { echo "leaks_heap $name: no ready" >&2; return 1; }
	mkfifo "$d/c.in"
	# Each line of memtrace's console is stamped when it comes (the console
	# flushes after each command): the file's mtime is the kernel's coarse
	# clock, a tick behind.
	"$MT" --console - -p "$vpid" <"$d/c.in" 2>"$d/c.err" > >(stamp >"$d/c.out") &
	mpid=$!
	PIDS="$PIDS $mpid"
	exec 7>"$d/c.in"
	echo status >&7
	wait_until 60 count_at_least "$d/c.out" '^[0-9]* in use: ' 1 || { echo "memtrace -p: no answer" >&2; cat "$d/c.err" >&2; return 1; }
	touch "$d/go"
	wait_until 600 test -s "$d/leaked" || { echo "leaks_heap $name: no leaked" >&2; return 1; }
	rss0=$(kb_of "$mpid" VmRSS)
	for r in $(seq "$RUNS"); do
		f="$d/l$r.json"
		leaks_timed "$d" "$f" "$(( 2 * r - 1 ))" >>"$d/total_us" || return 1
		jq -r '.scan | "\(.stopped_ms) \(.root_bytes) \(.block_bytes) \(.scan_memory_bytes) \(.blocks)"' "$f" >>"$d/scan"
		jq -e '.scan.snapshot' "$f" >/dev/null || echo "# $name: run $r judged stopped: $(jq -r .scan.snapshot_note "$f")" >>"$d/notes"
		sleep 0.5
		# The same, the process stopped throughout (as before copies).
		f="$d/n$r.json"
		us=$(leaks_timed "$d" "$f" "$(( 2 * r ))" --no-fork) || return 1
		echo "$(jq -r .scan.stopped_ms "$f") $us" >>"$d/nofork"
		sleep 0.5
	done
	hwm=$(kb_of "$mpid" VmHWM)
	[ -n "$PERF" ] && profile "$name" "$d" "$mpid" "$(( 2 * RUNS + 1 ))"
	echo detach >&7
	exec 7>&-
	wait "$mpid"
	touch "$d/stop"
	wait "$vpid"
	{
		echo "# $name memtrace: leaks_heap stated: $(cat "$d/leaked")"
		jq -r --arg n "$name" '.summary | "# \($n) memtrace verdicts: definite \(.definitely_lost.blocks) indirect \(.indirectly_lost.blocks) possible \(.possibly_lost.blocks) reachable \(.still_reachable.blocks)"' "$d/l1.json"
		echo "# $name memtrace runs (stopped_ms root_bytes block_bytes scan_memory_bytes blocks; total_us):"
		paste -d' ' "$d/scan" "$d/total_us" | sed 's/^/#   /'
		echo "# $name memtrace --no-fork runs (stopped_ms total_us):"
		sed 's/^/#   /' "$d/nofork"
		cat "$d/notes" 2>/dev/null
	} >"$tmp/$name.mt"
	echo "$(awk '{print $1}' "$d/scan" | stats) $(median <"$d/total_us") \
$(awk '{print $2 + $3}' "$d/scan" | median) $(awk '{print $3}' "$d/scan" | median) \
$(awk '{print $4}' "$d/scan" | median) $(( ${hwm:-0} - ${rss0:-0} )) $(awk '{print $5}' "$d/scan" | median) \
$(awk '{print $1}' "$d/nofork" | median) $(awk '{print $2}' "$d/nofork" | median)" >"$tmp/$name.mt.row"
}

# profile NAME DIR MPID N: the Nth `leaks` of the session, untimed, under
# `perf stat` (memtrace's system calls by kind) and `perf record -g`; the
# calls and the top of the profile to $tmp/NAME.perf, perf.data kept in $PERF.
profile() {
	local name=$1 d=$2 mpid=$3 n=$4 sp rp
	mkdir -p "$PERF"
	perf stat -x, -o "$PERF/$name.stat" -e 'syscalls:sys_enter_process_vm_readv,syscalls:sys_enter_ptrace,raw_syscalls:sys_enter' \
		-p "$mpid" >/dev/null 2>&1 &
	sp=$!
	# shellcheck disable=SC2086 # PERF_CALL: perf's options, split
	perf record $PERF_CALL -o "$PERF/$name.perf.data" -p "$mpid" >/dev/null 2>&1 &
	rp=$!
	PIDS="$PIDS $sp $rp"
	sleep 1
	echo "leaks --json -o $d/perf.json" >&7
	wait_until 600 count_at_least "$d/c.out" '^[0-9]* leaks written to ' "$n"
	kill -INT "$sp" "$rp" 2>/dev/null
	wait "$sp" "$rp" 2>/dev/null
	{
		echo "# $name perf: one leaks (stopped $(jq -r .scan.stopped_ms "$d/perf.json") ms under perf), memtrace's system calls:"
		awk -F, '$1 ~ /^[0-9]+$/ {printf "#   %12s %s\n", $1, $3}' "$PERF/$name.stat"
		echo "# $name perf: self time by function (perf report --no-children), top 12:"
		perf report -i "$PERF/$name.perf.data" --no-children --stdio --sort sym -g none 2>/dev/null |
			grep '%' | head -12 | sed 's/^ */#   /'
	} >"$tmp/$name.perf"
}

# One shape under valgrind: writes to $tmp/NAME.vg.row "leak_check_med_us
# build_s"; details to $tmp/NAME.vg.
run_valgrind() {
	local name=$1 blocks=$2 size=$3 d vpid t0 t1 b0
	d="$tmp/$name.vg.d"
	mkdir -p "$d"
	touch "$d/go"
	b0=$(now_ns)
	valgrind --vgdb=yes --vgdb-prefix="$d/vgdb" --leak-check=no --log-file="$d/vg.log" \
		"$HEAP" "$d" "$blocks" "$size" >"$d/heap.out" 2>"$d/heap.err" &
	vpid=$!
	PIDS="$PIDS $vpid"
	wait_until 1800 test -s "$d/leaked" || { echo "valgrind leaks_heap $name: no leaked" >&2; return 1; }
	t1=$(now_ns)
	for r in $(seq "$RUNS"); do
		t0=$(now_ns)
		timeout 600 vgdb --vgdb-prefix="$d/vgdb" --pid="$vpid" leak_check full >"$d/lc$r.out" 2>&1 ||
			{ echo "vgdb leak_check $r failed" >&2; tail "$d/lc$r.out" >&2; return 1; }
		echo "$(( ($(now_ns) - t0) / 1000 ))" >>"$d/lc_us"
		sleep 0.5
	done
	touch "$d/stop"
	wait "$vpid"
	{
		echo "# $name valgrind verdicts: $(grep -E '(definitely|indirectly|possibly) lost:|still reachable:' "$d/lc1.out" |
			sed -E 's/^==[0-9]+== +//; s/ \(\+[0-9,]+\)//g; s/ +/ /g' | tr '\n' ';')"
		echo "# $name valgrind leak_check full runs (us): $(tr '\n' ' ' <"$d/lc_us")"
	} >"$tmp/$name.vg"
	echo "$(median <"$d/lc_us") $(( (t1 - b0) / 1000000000 ))" >"$tmp/$name.vg.row"
}

echo "# leaks: memtrace \`leaks --json\` beside valgrind \`vgdb leak_check full\`, $(uname -sr), $(nproc) cpus, load $(cut -d' ' -f1 /proc/loadavg), $(date -u +%F), runs=$RUNS"
fmt='%-10s %8s %8s %8s %9s %10s %9s %9s %9s %9s %10s %10s %10s\n'
hdr=$(printf "$fmt" shape blocks stop_med stop_min stop_max total_ms scan_MiB ms/100MiB scan_mem% rss+_MiB nf_stop_ms nf_total_ms vg_lc_ms)
res=
for shape in $SHAPES; do
	IFS=: read -r name blocks size <<<"$shape"
	mt=
	run_memtrace "$name" "$blocks" "$size" && mt=$(cat "$tmp/$name.mt.row")
	vg="- -"
	if [ "$VALGRIND" = 1 ]; then
		run_valgrind "$name" "$blocks" "$size" && vg=$(cat "$tmp/$name.vg.row")
	fi
	# shellcheck disable=SC2086
	set -- $mt
	if [ $# -ge 11 ]; then
		row=$(awk -v n="$name" -v smed="$1" -v smin="$2" -v smax="$3" -v tot="$4" -v scanned="$5" \
			-v heap="$6" -v mem="$7" -v rss="$8" -v blk="$9" -v nfs="${10}" -v nft="${11}" -v vg="${vg%% *}" -v f="$fmt" 'BEGIN {
			mib = scanned / 1048576
			printf f, n, blk, sprintf("%.1f", smed), sprintf("%.1f", smin), sprintf("%.1f", smax),
				sprintf("%.1f", tot / 1000), sprintf("%.1f", mib), sprintf("%.1f", smed / mib * 100),
				sprintf("%.1f", mem / heap * 100), sprintf("%.1f", rss / 1024),
				sprintf("%.1f", nfs), sprintf("%.1f", nft / 1000),
				vg == "-" ? "-" : sprintf("%.1f", vg / 1000) }')
	else
		row=$(printf "$fmt" "$name" FAILED - - - - - - - - - - "${vg%% *}")
	fi
	res="$res$row"$'\n'
	[ "$VALGRIND" = 1 ] && echo "# $name: valgrind built the heap in ${vg#* } s" >>"$tmp/$name.vg"
done
echo "$hdr"
printf '%s' "$res"
echo "# stop_*: the process stopped (ms, scan.stopped_ms), a copy judged; total_ms: the \`leaks\` command, sent to file written;"
echo "# nf_*: the same with \`leaks --no-fork\` (the process stopped for the whole scan), medians;"
echo "# scan_MiB: root_bytes + block_bytes; scan_mem%: scan_memory_bytes / block_bytes; rss+: memtrace's VmHWM over its RSS before"
echo "# goals: ms/100MiB <= 100, scan_mem% <= 10"
for shape in $SHAPES; do
	name=${shape%%:*}
	cat "$tmp/$name.mt" "$tmp/$name.perf" "$tmp/$name.vg" 2>/dev/null
done
