#!/bin/bash
# bench/run.sh: memtrace's per-allocation overhead beside heaptrack, and the
# agent's memory per live block.  `make bench` runs it with BUILD set; see
# bench/README.md for what is measured and how.
#
# Environment: BUILD (default build), RUNS (counted pairs per heaptrack row,
# default 5), FAST_RUNS (counted pairs per sub-second row, default 2*RUNS),
# THREADS, ITERS, WINDOW (churn's -t -n -w), LIVE (liveblocks' -n),
# KEEP=1 keeps the work directory (reports, heaptrack files) and names it.
#
# Exit status: 0 when every run worked, 1 when a run failed (crash, non-zero
# exit, wrong checksum, missing or unreadable report) or a program is missing.
# Missing a goal is printed, not an error.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

BUILD=${BUILD:-build}
RUNS=${RUNS:-5}
churn_defaults
LIVE=${LIVE:-1000000}

GOAL_NS=100            # ns per allocation, memtrace --unwind fp
GOAL_BYTES=48          # agent bytes per live block
LEAK_SIZE=1234         # must match bench/churn.c
LEAK_EVERY=10000

for v in RUNS THREADS ITERS WINDOW LIVE FAST_RUNS; do
	[ "$v" = FAST_RUNS ] && FAST_RUNS=${FAST_RUNS:-$((2 * RUNS))}
	case ${!v} in
	'' | *[!0-9]*) echo "run.sh: $v must be a number, got '${!v}'" >&2; exit 2 ;;
	esac
done
if [ "$RUNS" -lt 1 ] || [ "$FAST_RUNS" -lt 1 ]; then
	echo "run.sh: RUNS and FAST_RUNS must be at least 1" >&2
	exit 2
fi

BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "run.sh: no build directory" >&2; exit 1; }
TIMEIT=$BUILD/bench/timeit
CHURN=$BUILD/bench/churn
LIVEBLOCKS=$BUILD/bench/liveblocks
MEMTRACE=$BUILD/memtrace
AGENT=$BUILD/libmemtrace-agent.so

failed=0
notes=()
note() { notes+=("$*"); }
fail() { echo "run.sh: $*" >&2; note "FAILED: $*"; failed=1; }

for p in "$TIMEIT" "$CHURN" "$LIVEBLOCKS"; do
	[ -x "$p" ] || { echo "run.sh: $p is missing: run 'make bench'" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "run.sh: jq is missing: run scripts/deps.sh" >&2; exit 1; }

have_memtrace=1
if [ ! -x "$MEMTRACE" ] || [ ! -f "$AGENT" ]; then
	have_memtrace=0
	fail "$MEMTRACE or $AGENT is missing: run 'make all'"
fi

# heaptrack's pieces live in a private directory: ask dpkg where.
HT=$(command -v heaptrack || true)
HT_PRINT=$(command -v heaptrack_print || true)
HT_PRELOAD=$(dpkg -L libheaptrack 2>/dev/null | grep '/libheaptrack_preload\.so$' | head -n 1)
HT_INTERPRET=$(dpkg -L libheaptrack 2>/dev/null | grep '/heaptrack_interpret$' | head -n 1)
have_heaptrack=1
if [ -z "$HT" ] || [ -z "$HT_PRINT" ] || [ ! -f "$HT_PRELOAD" ]; then
	have_heaptrack=0
	note "heaptrack rows not run: heaptrack is not installed (scripts/deps.sh --bench)"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/memtrace-bench.XXXXXX") || exit 1
if [ "${KEEP:-0}" = 1 ]; then
	trap 'echo "run.sh: files kept in $TMP" >&2' EXIT
else
	trap 'rm -rf "$TMP"' EXIT
fi

CHURN_ARGS=(-t "$THREADS" -n "$ITERS" -w "$WINDOW")
LEAKS=$((THREADS * (ITERS / LEAK_EVERY)))
LEAK_BYTES=$((LEAKS * LEAK_SIZE))
ALLOCS=$((THREADS * ITERS + LEAKS))
[ "$ALLOCS" -gt 0 ] || { echo "run.sh: no allocations with ITERS=$ITERS" >&2; exit 2; }

# ------------------------------------------------------------------ helpers

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0;
	else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
max() { sort -n | tail -n 1; }

# run_one KIND EXPECT CMD...: run CMD under timeit with stdin from /dev/null.
# KIND strict: stdout must be exactly EXPECT; KIND mixed: stdout may hold the
# tool's own lines but exactly one checksum line, equal to EXPECT (heaptrack
# prints its progress there).  Sets R_WALL (ns) R_CPU (us) R_RSS (KiB); 1 on failure.
run_one() {
	local kind=$1 expect=$2 st got
	shift 2
	"$TIMEIT" "$TMP/time" "$@" </dev/null >"$TMP/stdout" 2>"$TMP/stderr"
	st=$?
	if [ ! -s "$TMP/time" ]; then
		fail "timeit did not measure: $*"
		return 1
	fi
	read -r R_WALL R_USER R_SYS R_RSS st <"$TMP/time"
	R_CPU=$((R_USER + R_SYS))
	if [ "$st" != 0 ]; then
		fail "exit status $st: $* (stderr: $(tail -c 400 "$TMP/stderr" | tr '\n' ' '))"
		return 1
	fi
	if [ "$kind" = strict ]; then
		got=$(cat "$TMP/stdout")
	else
		got=$(grep -E '^(checksum|live) ' "$TMP/stdout")
	fi
	if [ -n "$expect" ] && [ "$got" != "$expect" ]; then
		fail "wrong output from: $* (expected '$expect', got '$(printf %s "$got" | head -c 300 | tr '\n' '|')')"
		return 1
	fi
	return 0
}

# Reference output, from a plain run that is not timed.
"$CHURN" "${CHURN_ARGS[@]}" >"$TMP/ref" </dev/null || { echo "run.sh: churn failed" >&2; exit 1; }
EXPECT=$(cat "$TMP/ref")
case $EXPECT in
"checksum "*) ;;
*) echo "run.sh: churn printed '$EXPECT', not one checksum line" >&2; exit 1 ;;
esac

# ------------------------------------------------------------------ leak checks

# memtrace: the contexts whose stacks pass through leak_inner must hold all
# the deliberate leaks, and their four innermost frames must be the true stack.
check_memtrace_report() {
	local json=$1 unwinder=$2 out
	if ! out=$(jq -r --arg u "$unwinder" '
		def fname: (.symbol // "?") | sub("\\+0x[0-9a-fA-F]+$"; "");
		[.contexts[] | select(any(.frames[]; (.symbol // "") | startswith("leak_inner+")))] as $c
		| [ (.version == 1), (.unwinder == $u), (.exit.code == 0),
		    (.summary.in_use_blocks | type == "number") ] as $ok
		| "\($ok | map(tostring) | join(",")) \($c | map(.live_blocks) | add // 0) \($c | map(.live_bytes) | add // 0) \($c | length) \([ $c[] | [.frames[0:4][] | fname] | join("<-") ] | unique | join(";"))"
		' "$json" 2>&1); then
		fail "unreadable JSON report $json: $out"
		LEAK_RESULT="report unreadable"
		return 1
	fi
	local ok blocks bytes n stacks
	read -r ok blocks bytes n stacks <<<"$out"
	IFS=, read -r ok_ver ok_unw ok_exit ok_sum <<<"$ok"
	[ "$ok_ver" = true ] || note "memtrace --unwind $unwinder: report \"version\" is not 1 ($(jq -c .version "$json"))"
	[ "$ok_unw" = true ] || note "memtrace --unwind $unwinder: report \"unwinder\" is $(jq -c .unwinder "$json"), expected \"$unwinder\""
	[ "$ok_exit" = true ] || note "memtrace --unwind $unwinder: report \"exit\" is $(jq -c .exit "$json"), expected {\"code\":0}"
	[ "$ok_sum" = true ] || note "memtrace --unwind $unwinder: report has no summary.in_use_blocks"
	local want="alloc_leaf<-leak_inner<-leak_site<-churn_worker"
	if [ "$blocks" = "$LEAKS" ] && [ "$bytes" = "$LEAK_BYTES" ] && [ "$stacks" = "$want" ]; then
		LEAK_RESULT="yes: $blocks blocks, $bytes B, $want"
	else
		LEAK_RESULT="NO: $blocks blocks, $bytes B in $n contexts, stack ${stacks:-none} (want $LEAKS, $LEAK_BYTES B, $want)"
	fi
	return 0
}

# heaptrack: heaptrack_print's leak list must hold "<bytes> leaked over
# <LEAKS> calls from:" followed by leak_inner, leak_site, churn_worker.
heaptrack_size() {
	awk -v b="$1" 'BEGIN { if (b < 1000) printf "%dB", b;
		else if (b < 1000000) printf "%.2fK", b / 1000;
		else if (b < 1000000000) printf "%.2fM", b / 1000000;
		else printf "%.2fG", b / 1000000000 }'
}
check_heaptrack_file() {
	local file=$1 want hit
	if ! "$HT_PRINT" -f "$file" -l -p 0 -a 0 -T 0 >"$TMP/ht.print" 2>&1; then
		fail "heaptrack_print -f $file failed: $(tail -c 300 "$TMP/ht.print" | tr '\n' ' ')"
		LEAK_RESULT="heaptrack_print failed"
		return 1
	fi
	want="$(heaptrack_size "$LEAK_BYTES") leaked over $LEAKS calls from:"
	hit=$(awk -v want="$want" '
		{ sub(/^ +/, "") }
		found && /^(leak_inner|leak_site|churn_worker)$/ { stack = stack (stack == "" ? "" : "<-") $0; next }
		found && /^(at|in) / { next }
		found { print stack; done = 1; exit }
		$0 == want { found = 1; stack = "" }
		END { if (found && !done) print stack }' "$TMP/ht.print" | head -n 1)
	if [ "$hit" = "leak_inner<-leak_site<-churn_worker" ]; then
		LEAK_RESULT="yes: $want alloc_leaf<-$hit"
	else
		LEAK_RESULT="NO: no \"$want\" from leak_inner<-leak_site<-churn_worker in heaptrack_print -l"
	fi
}

# LeakSanitizer: its report on stderr must hold "Direct leak of <bytes>
# byte(s) in <LEAKS> object(s)" allocated from the true stack.
check_lsan_stderr() {
	local want hit
	want="Direct leak of $LEAK_BYTES byte(s) in $LEAKS object(s) allocated from:"
	hit=$(awk -v want="$want" '
		$0 == want { found = 1; next }
		found && $1 ~ /^#[1-4]$/ { stack = stack (stack == "" ? "" : "<-") $4; next }
		found && $1 ~ /^#/ { next }
		found { print stack; found = 0 }' "$1" | head -n 1)
	if [ "$hit" = "alloc_leaf<-leak_inner<-leak_site<-churn_worker" ]; then
		LEAK_RESULT="yes: $LEAK_BYTES B in $LEAKS objects, $hit"
	else
		LEAK_RESULT="NO: no \"$want\" from alloc_leaf<-leak_inner<-leak_site<-churn_worker"
	fi
}

# ------------------------------------------------------------------ rows

ROWS=()
ROWFMT='%-27s %7s %7s %8s %-16s %6s %8s %8s  %s'
# shellcheck disable=SC2059
row() { ROWS+=("$(printf "$ROWFMT" "$@")"); }
sec() { awk -v ns="$1" 'BEGIN { printf "%.3f", ns / 1e9 }'; }

# measure PAIRS KIND OUTPUT CMD...: PAIRS+1 alternating pairs (tool, plain);
# the first pair is the warm-up.  OUTPUT (and OUTPUT.*), the tool's output file,
# is removed before each tool run so every report checked is a fresh one.
# Sets M_WALL M_BASE M_CPU M_RSS M_NS M_CPU_NS; 1 when a run failed.
measure() {
	local pairs=$1 kind=$2 output=$3 i
	shift 3
	: >"$TMP/w.tool"; : >"$TMP/w.base"; : >"$TMP/cpu"; : >"$TMP/cpu.base"; : >"$TMP/rss"
	for ((i = 0; i <= pairs; i++)); do
		rm -f "$output" "$output".*
		sync
		run_one "$kind" "$EXPECT" "$@" || return 1
		cp "$TMP/stderr" "$TMP/tool.stderr"
		if [ "$i" -gt 0 ]; then
			echo "$R_WALL" >>"$TMP/w.tool"; echo "$R_CPU" >>"$TMP/cpu"; echo "$R_RSS" >>"$TMP/rss"
		fi
		# Write back what the tool left in the page cache (heaptrack's raw
		# stream is 74 MB) now, not during the baseline run.
		sync
		run_one strict "$EXPECT" "$CHURN" "${CHURN_ARGS[@]}" || return 1
		if [ "$i" -gt 0 ]; then
			echo "$R_WALL" >>"$TMP/w.base"; echo "$R_CPU" >>"$TMP/cpu.base"
		fi
	done
	M_WALL=$(median <"$TMP/w.tool")
	M_BASE=$(median <"$TMP/w.base")
	M_CPU=$(median <"$TMP/cpu")
	M_RSS=$(max <"$TMP/rss")
	M_CPU_NS=$(awk -v t="$M_CPU" -v b="$(median <"$TMP/cpu.base")" -v n="$ALLOCS" \
		'BEGIN { v = (t - b) * 1000 / n; if (v > -0.05 && v < 0.05) v = 0; printf "%.1f", v }')
	M_NS=$(awk -v t="$M_WALL" -v b="$M_BASE" -v n="$ALLOCS" 'BEGIN { v = (t - b) / n; if (v > -0.05 && v < 0.05) v = 0; printf "%.1f", v }')
	return 0
}

emit() { # NAME GOAL LEAKS
	row "$1" "$(sec "$M_WALL")" "$(sec "$M_BASE")" "$M_NS" "$2" \
		"$(awk -v us="$M_CPU" 'BEGIN { printf "%.2f", us / 1e6 }')" "$M_CPU_NS" "$M_RSS" "$3"
}

goal_ns() { awk -v v="$1" -v g="$GOAL_NS" 'BEGIN { printf "<=%d ns: %s", g, (v <= g ? "met" : "NOT met") }'; }

echo "memtrace bench: $(uname -sr) $(uname -m), $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "churn -t $THREADS -n $ITERS -w $WINDOW: $ALLOCS allocations, $LEAKS deliberate leaks ($LEAK_BYTES bytes); output: $EXPECT"
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
echo "load average at start: ${load:-unknown} (other work on the machine shows up in base_s and widens the spread)"
echo "method: alternating pairs (tool, plain) after 1 warm-up pair, $FAST_RUNS pairs for sub-second rows, $RUNS for heaptrack; medians; ns/alloc = (tool - plain) / $ALLOCS"
echo

# plain against plain: the noise floor of the method.
if measure "$FAST_RUNS" strict "$TMP/none" "$CHURN" "${CHURN_ARGS[@]}"; then
	emit "plain" "" "-"
else
	row "plain" FAILED
fi

if [ "$have_memtrace" = 1 ]; then
	for u in fp libunwind tables; do
		json=$TMP/$u.json
		if measure "$FAST_RUNS" strict "$json" \
			"$MEMTRACE" -L "$AGENT" --unwind "$u" --json -o "$json" "$CHURN" "${CHURN_ARGS[@]}"; then
			if [ -s "$json" ]; then
				check_memtrace_report "$json" "$u"
			else
				fail "memtrace --unwind $u --json -o $json wrote no report"
				LEAK_RESULT="no report"
			fi
			g=""; [ "$u" = fp ] && g=$(goal_ns "$M_NS")
			emit "memtrace --unwind $u" "$g" "$LEAK_RESULT"
		else
			row "memtrace --unwind $u" FAILED
		fi
	done
else
	row "memtrace --unwind fp" "not run"
	row "memtrace --unwind libunwind" "not run"
	row "memtrace --unwind tables" "not run"
fi

if [ "$have_heaptrack" = 1 ]; then
	if measure "$RUNS" strict "$TMP/ht.raw" \
		env LD_PRELOAD="$HT_PRELOAD" DUMP_HEAPTRACK_OUTPUT="$TMP/ht.raw" "$CHURN" "${CHURN_ARGS[@]}"; then
		# The leak check needs the raw stream interpreted; that is not timed.
		if [ -n "$HT_INTERPRET" ] && "$HT_INTERPRET" <"$TMP/ht.raw" >"$TMP/ht.interpreted" 2>"$TMP/ht.err"; then
			check_heaptrack_file "$TMP/ht.interpreted"
		else
			LEAK_RESULT="not checked (heaptrack_interpret failed: $(tail -c 200 "$TMP/ht.err" | tr '\n' ' '))"
		fi
		emit "heaptrack in-target only" "" "$LEAK_RESULT"
	else
		row "heaptrack in-target only" FAILED
	fi
	if measure "$RUNS" mixed "$TMP/ht-full" "$HT" -o "$TMP/ht-full" "$CHURN" "${CHURN_ARGS[@]}"; then
		f=
		for g in "$TMP"/ht-full.*; do [ -f "$g" ] && f=$g; done
		if [ -n "$f" ]; then
			check_heaptrack_file "$f"
		else
			fail "heaptrack -o $TMP/ht-full wrote no file"
			LEAK_RESULT="no output file"
		fi
		emit "heaptrack full" "" "$LEAK_RESULT"
	else
		row "heaptrack full" FAILED
	fi
else
	row "heaptrack in-target only" "not run"
	row "heaptrack full" "not run"
fi

# memtrace's fixed cost (start, injection, exit report) is inside the
# figures above; churn -n 0 shows how much of them it is.
if [ "$have_memtrace" = 1 ]; then
	"$CHURN" -t "$THREADS" -n 0 >"$TMP/ref0" </dev/null
	E0=$(cat "$TMP/ref0")
	: >"$TMP/f.tool"; : >"$TMP/f.base"
	for ((i = 0; i <= FAST_RUNS; i++)); do
		run_one strict "$E0" "$MEMTRACE" -L "$AGENT" --unwind fp --json -o "$TMP/zero.json" "$CHURN" -t "$THREADS" -n 0 || break
		[ "$i" -gt 0 ] && echo "$R_WALL" >>"$TMP/f.tool"
		run_one strict "$E0" "$CHURN" -t "$THREADS" -n 0 || break
		[ "$i" -gt 0 ] && echo "$R_WALL" >>"$TMP/f.base"
	done
	[ "$i" -gt "$FAST_RUNS" ] && FIXED=$(awk -v t="$(median <"$TMP/f.tool")" -v b="$(median <"$TMP/f.base")" -v n="$ALLOCS" \
		'BEGIN { printf "%.1f ms (memtrace %.1f ms, plain %.1f ms), i.e. %.1f ns of each ns/alloc figure", (t - b) / 1e6, t / 1e6, b / 1e6, (t - b) / n }')
fi

# LeakSanitizer is not a goal row: it re-measures the prior-art anchor
# (47 ns/alloc) on this build of churn, so the goal can be read against it.
LSAN=$(ldconfig -p 2>/dev/null | awk '$1 == "liblsan.so.0" && /x86-64|x86_64|AArch64|ARM/ { print $NF; exit }')
if [ -n "$LSAN" ] && [ -f "$LSAN" ]; then
	if measure "$FAST_RUNS" strict "$TMP/none" env LD_PRELOAD="$LSAN" LSAN_OPTIONS=exitcode=0 "$CHURN" "${CHURN_ARGS[@]}"; then
		check_lsan_stderr "$TMP/tool.stderr"
		emit "LeakSanitizer (reference)" "" "$LEAK_RESULT"
	else
		row "LeakSanitizer (reference)" FAILED
	fi
else
	note "LeakSanitizer row not run: liblsan.so.0 not found (Debian package liblsan0)"
fi

# shellcheck disable=SC2059
printf "$ROWFMT\n" config wall_s base_s ns/alloc goal cpu_s cpu_ns peak_KiB "leaks found"
printf '%s\n' "${ROWS[@]}"
[ -n "${FIXED:-}" ] && echo "memtrace fixed cost per run (churn -n 0, --unwind fp): $FIXED"
echo "anchors (docs: prior-art notes, same workload, this kind of machine): heaptrack in-target 365 ns/alloc, LeakSanitizer 47 ns/alloc"

# ------------------------------------------------------------------ live blocks

echo
echo "liveblocks -n $LIVE: blocks of 16-64 bytes kept live to exit; agent bytes per live block from the JSON exit report"
LROWS=()
lrow() { LROWS+=("$(printf '%-27s %13s %13s %9s %13s %9s %10s  %s' "$@")"); }
if run_one strict "" "$LIVEBLOCKS" -n "$LIVE"; then
	LEXPECT=$(cat "$TMP/stdout")
	plain_rss=$R_RSS
	lrow "plain" "-" "-" "-" "-" "-" "$plain_rss KiB" ""
	if [ "$have_memtrace" = 1 ]; then
		for u in fp libunwind tables; do
			json=$TMP/live-$u.json
			if ! run_one strict "$LEXPECT" "$MEMTRACE" -L "$AGENT" --unwind "$u" --json -o "$json" "$LIVEBLOCKS" -n "$LIVE"; then
				lrow "memtrace --unwind $u" FAILED
				continue
			fi
			if ! vals=$(jq -r '[.summary.in_use_blocks, (.agent.memory_bytes // "none"), (.agent.blocks_bytes // "none"), (has("agent"))] | map(tostring) | join(" ")' "$json" 2>&1); then
				fail "unreadable JSON report $json: $vals"
				lrow "memtrace --unwind $u" "report unreadable"
				continue
			fi
			read -r blocks mem bb hasagent <<<"$vals"
			[ "$blocks" = "$LIVE" ] || note "memtrace --unwind $u liveblocks: summary.in_use_blocks is $blocks, expected $LIVE"
			[ "$hasagent" = true ] || note "memtrace --unwind $u liveblocks: the report has no \"agent\" object (expected \"agent\": {\"memory_bytes\": N, \"blocks_bytes\": N, ...})"
			per() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9]+$/ && b > 0) printf "%.1f", a / b; else print "n/a" }'; }
			pm=$(per "$mem" "$blocks"); pb=$(per "$bb" "$blocks")
			rss=$(awk -v t="$R_RSS" -v p="$plain_rss" -v b="$blocks" 'BEGIN { if (b > 0) printf "%.1f", (t - p) * 1024 / b; else print "n/a" }')
			g=$(awk -v v="$pm" -v g="$GOAL_BYTES" 'BEGIN { if (v == "n/a") printf "<=%d B/block: n/a", g;
				else printf "<=%d B/block: %s", g, (v + 0 <= g ? "met" : "NOT met") }')
			lrow "memtrace --unwind $u" "$blocks" "$mem" "$pm" "$bb" "$pb" "$rss" "$g"
		done
	else
		lrow "memtrace" "not run"
	fi
else
	lrow "plain" FAILED
fi
printf '%-27s %13s %13s %9s %13s %9s %10s  %s\n' config in_use_blocks memory_bytes B/block blocks_bytes B/block "RSS+/block" goal
printf '%s\n' "${LROWS[@]}"

if [ "${#notes[@]}" -gt 0 ]; then
	echo
	echo "notes:"
	printf '  %s\n' "${notes[@]}"
fi
exit "$failed"
