# shellcheck shell=bash disable=SC2016
#
# common.sh: helpers sourced by the integration tests (tests/integration/t-*.sh).
#
# A test runs with its current directory a fresh temporary directory and this
# environment (tests/run.sh sets it):
#   MEMTRACE  the memtrace binary under test     VICTIMS  the built victims
#   TOP       the source tree                    BUILD    the build directory
# It exits 0 pass, 1 fail, 77 skip, 99 broken harness.  Its output is the log
# the runner shows when it fails, so helpers say what they compared.
#
# Runs leave their traces in the current directory under a TAG:
#   TAG.out  the program's standard output (memtrace's own output too, but
#            the exit report goes to TAG.json)
#   TAG.err  standard error, TAG.rc the exit status, TAG.json the report.
#
# The victim convention (docs/protocol.md): a victim prints
# "EXPECT <function> <blocks> <bytes>" for each leak it makes on purpose;
# check_expect compares those lines with the report.

set -u
# A write to a console whose memtrace already ended must fail, not kill us.
trap '' PIPE

# ---------------------------------------------------------------- outcomes

fail() {
	printf 'FAIL: %s\n' "$*"
	exit 1
}

skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

broken() {
	printf 'BROKEN: %s\n' "$*"
	exit 99
}

note() {
	printf '# %s\n' "$*"
}

# Record a failure and go on, so one run shows every problem; finish ends
# the test with the verdict.
FAILURES=0
fail_later() {
	printf 'FAIL: %s\n' "$*"
	FAILURES=$((FAILURES + 1))
}

finish() {
	if [ "$FAILURES" -gt 0 ]; then
		printf '%d check(s) failed\n' "$FAILURES"
		exit 1
	fi
	exit 0
}

# ---------------------------------------------------------------- setup

for _v in MEMTRACE VICTIMS TOP BUILD; do
	[ -n "${!_v:-}" ] || broken "$_v is not set (run the tests through tests/run.sh)"
done
unset _v
command -v jq >/dev/null || broken "jq is not installed (apt-get install jq, or make deps)"
[ -x "$MEMTRACE" ] || broken "memtrace binary '$MEMTRACE' does not exist or is not executable (not built?)"
VICTIMS=$(readlink -f "$VICTIMS")

# The unwinders this architecture has: no frame-pointer walk on 32-bit ARM
# or MIPS, and no compact tables on MIPS (libunwind is its default).
HAVE_TABLES=1
case $(uname -m) in
arm*) HAVE_FP=0 ;;
mips*) HAVE_FP=0 HAVE_TABLES=0 ;;
*) HAVE_FP=1 ;;
esac
# The C library the victims run on, and whether a walk gets out of it to
# the caller of a C library function that allocates (strdup): not on 32-bit
# ARM, whose glibc marks most of its code "cannot unwind", nor on MIPS,
# whose glibc has tables for a quarter of its code, nor under Debian's
# musl, whose libc.so has no unwind tables at all (lost_callers).
if grep -qa '/ld-musl-' "$VICTIMS/noleak" 2>/dev/null; then
	VICTIM_LIBC=musl
	LIBC_UNWINDS=0
else
	VICTIM_LIBC=glibc
	LIBC_UNWINDS=$HAVE_FP
fi
# What a report names when --unwind is not given (auto): the compact tables,
# which start wherever glibc has _dl_find_object (2.35: Debian 12 and its
# VMs); libunwind where there are none.
if [ $HAVE_TABLES = 1 ]; then
	DEFAULT_UNWINDER=tables
	DEFAULT_UNWINDERS="tables libunwind"
else
	DEFAULT_UNWINDER=libunwind
	DEFAULT_UNWINDERS=libunwind
fi
[ $HAVE_FP = 0 ] || DEFAULT_UNWINDERS="tables fp libunwind"

# How long one memtrace run may take before the test gives up on it.
MT_TIMEOUT=${MT_TIMEOUT:-60}

# victim NAME: absolute path of a built victim (the path the report names).
victim() {
	local p="$VICTIMS/$1"

	[ -x "$p" ] || broken "victim '$1' not built ($p missing)"
	readlink -f "$p"
}

rc_of() {
	cat "$1.rc"
}

# Show a file in the log, indented, at most 40 lines.
show() {
	local f=$1

	printf '    --- %s\n' "$f"
	if [ -s "$f" ]; then
		sed -n '1,40s/^/    | /p' "$f"
		[ "$(wc -l <"$f")" -le 40 ] || printf '    | ... (%d lines)\n' "$(wc -l <"$f")"
	else
		printf '    (empty)\n'
	fi
}

# alloc_lib ALLOCATOR: the library a user preloads for ALLOCATOR (tcmalloc:
# Debian's libtcmalloc-minimal4, jemalloc: libjemalloc2), found beside this
# shell's libc (the multiarch directory; in the ARM VMs /lib/TRIPLET), or
# status 1 and a message naming the package; glibc: nothing to preload.
alloc_lib() {
	local file pkg libc dir d
	case $1 in
	glibc) return 0 ;;
	tcmalloc) file=libtcmalloc_minimal.so.4 pkg=libtcmalloc-minimal4 ;;
	jemalloc) file=libjemalloc.so.2 pkg=libjemalloc2 ;;
	*) broken "alloc_lib: no allocator '$1'" ;;
	esac
	libc=$(sed -n 's|^.* \(/[^ ]*/libc\.so\.6\)$|\1|p' "/proc/$$/maps" | head -n 1)
	dir=$(dirname "${libc:-/lib/none/libc.so.6}")
	for d in "$dir" "/usr/lib/${dir##*/}" "/lib/${dir##*/}"; do
		[ -e "$d/$file" ] && { printf '%s\n' "$d/$file"; return 0; }
	done
	printf '%s not found beside %s: install %s (scripts/deps.sh; the ARM VMs: scripts/sysroot.sh --guest)\n' \
		"$file" "${libc:-libc}" "$pkg"
	return 1
}

# ---------------------------------------------------------------- running

# plain_victim NAME: $prog, the victim NAME, and its run without memtrace
# (run_plain plain), which must exit 0.
plain_victim() {
	prog=$(victim "$1") || exit 99
	run_plain plain "$prog"
	expect_rc plain 0 || broken "$1 fails without memtrace"
}

# run_plain TAG PROG [ARGS...]: the program alone, no memtrace.
run_plain() {
	local tag=$1
	shift
	timeout -k 5 "$MT_TIMEOUT" "$@" <"${RUN_STDIN:-/dev/null}" >"$tag.out" 2>"$tag.err"
	echo $? >"$tag.rc"
}

# run_mt TAG [MEMTRACE ARGS...]: memtrace with exactly these arguments,
# standard input from $RUN_STDIN (/dev/null): PROG's, or with -p or
# --console - the console's (which /dev/null ends at once).
# The command line goes to the log unless MT_QUIET is set.
run_mt() {
	local tag=$1 rc
	shift
	[ -n "${MT_QUIET:-}" ] || note "memtrace $*"
	timeout -k 5 "$MT_TIMEOUT" "$MEMTRACE" "$@" <"${RUN_STDIN:-/dev/null}" >"$tag.out" 2>"$tag.err"
	rc=$?
	echo $rc >"$tag.rc"
	[ $rc -ne 124 ] || fail_later "memtrace $* did not end within $MT_TIMEOUT s"
}

# run_traced TAG [MEMTRACE OPTIONS...] PROG [ARGS...]: memtrace with the JSON
# exit report in TAG.json, so that TAG.out holds what the program printed.
run_traced() {
	local tag=$1
	shift
	rm -f "$tag.json"
	run_mt "$tag" --json -o "$tag.json" "$@"
}

# same_behaviour PLAIN TRACED: same standard output, same exit status.
same_behaviour() {
	local a=$1 b=$2 ok=0

	if ! cmp -s "$a.out" "$b.out"; then
		printf 'output differs between the plain run (<) and the traced run (>):\n'
		diff "$a.out" "$b.out" | sed -n '1,40s/^/    /p'
		ok=1
	fi
	if [ "$(rc_of "$a")" != "$(rc_of "$b")" ]; then
		printf 'exit status differs: plain %s, traced %s\n' "$(rc_of "$a")" "$(rc_of "$b")"
		ok=1
	fi
	[ $ok -eq 0 ] || { show "$b.err"; }
	return $ok
}

# expect_rc TAG CODE: the run ended with CODE.
expect_rc() {
	local got
	got=$(rc_of "$1")
	[ "$got" = "$2" ] && return 0
	printf 'exit status of %s: expected %s, got %s\n' "$1" "$2" "$got"
	show "$1.err"
	return 1
}

# valid_json FILE: FILE exists and holds one JSON document.
valid_json() {
	if [ ! -s "$1" ]; then
		printf '%s: missing or empty\n' "$1"
		return 1
	fi
	if ! jq -e . "$1" >/dev/null 2>&1; then
		printf '%s: not valid JSON:\n' "$1"
		show "$1"
		return 1
	fi
}

# ---------------------------------------------------------------- reports

# The jq helpers every report check uses.  fn: the function name of a frame
# ("leak+0x1c" -> "leak"); own(m): the first frame in module m; hex: a
# "0x..." string as a number (exact up to 2^53, enough for user addresses).
JQ_DEFS='
def fn: if .symbol == null then "(no symbol at \(.offset))"
	else .symbol | sub("\\+0x[0-9a-fA-F]+$"; "") end;
def own($m): first(.frames[] | select(.module == $m)) // null;
def hex: ascii_downcase | ltrimstr("0x") | explode
	| reduce .[] as $c (0; . * 16 + (if $c >= 97 then $c - 87 else $c - 48 end));
'

# ctx_of REPORT PROG FN: the ids of the contexts in the JSON report REPORT
# whose first frame in PROG is function FN.
ctx_of() {
	jq -r --arg m "$2" --arg f "$3" "$JQ_DEFS"'.contexts[] | select(own($m) | fn == $f) | .id' "$1"
}

# report_groups REPORT PROG: "function blocks bytes" per victim function,
# contexts grouped by their first frame in PROG (the victim convention).
report_groups() {
	jq -r --arg m "$2" "$JQ_DEFS"'
		[.contexts[] | own($m) as $f | select($f != null)
		 | {name: ($f | fn), b: .live_blocks, y: .live_bytes}]
		| group_by(.name)[]
		| "\(.[0].name) \(map(.b) | add) \(map(.y) | add)"' "$1" | LC_ALL=C sort
}

# expect_groups OUT: the same from the EXPECT lines a victim printed.
expect_groups() {
	awk '$1 == "EXPECT" { b[$2] += $3; y[$2] += $4 }
	     END { for (f in b) print f, b[f], y[f] }' "$1" | LC_ALL=C sort | lost_callers "$1"
}

# lost_callers OUT: filter "FUNCTION ..." lines, dropping the functions the
# victim's output OUT marks "VIA_LIBC FUNCTION" (victim.h vt_via_libc: the
# allocation is made inside a C library function) where the agent cannot
# walk out of the C library (LIBC_UNWINDS=0): on 32-bit ARM, Debian's libc
# marks most of its code "cannot unwind", and Debian's musl has no tables, so
# the caller of strdup is lost and the block is reported under libc
# (docs/user-guide.md, "ARM devices", "musl"). Both sides of a comparison go
# through it.
lost_callers() {
	if [ $LIBC_UNWINDS = 1 ]; then
		cat
		return
	fi
	awk -v lost=" $(awk '$1 == "VIA_LIBC" { printf "%s ", $2 }' "$1") " 'index(lost, " " $1 " ") == 0'
}

# join_groups EXPECTED GOT: the two "function blocks bytes" lists side by
# side, "function blocks bytes blocks bytes", "-" where one has nothing
# (join(1) -a1 -a2 -e -, which busybox lacks).
join_groups() {
	{
		printf '%s\n' "$1" | sed 's/^/E /'
		printf '%s\n' "$2" | sed 's/^/G /'
	} | awk 'NF == 4 { k[$2]; if ($1 == "E") e[$2] = $3 " " $4; else g[$2] = $3 " " $4 }
		END { for (n in k) print n, (n in e ? e[n] : "- -"), (n in g ? g[n] : "- -") }' | LC_ALL=C sort
}

# symtab PROG: nm --defined-only PROG, or PROG.nm when it exists (the ARM
# VMs have no nm: tests/arm/vm.sh writes those files on the host).
symtab() {
	if [ -f "$1.nm" ]; then
		cat "$1.nm"
	else
		nm --defined-only "$1"
	fi
}

# check_expect REPORT OUT PROG: every EXPECT line matches the report (blocks
# and bytes, summed per function) and no other function of PROG holds live
# blocks.  Prints expected against got for each function that differs.
check_expect() {
	local report=$1 out=$2 prog=$3 exp got bad

	valid_json "$report" || return 1
	exp=$(expect_groups "$out")
	got=$(report_groups "$report" "$prog" | lost_callers "$out") || {
		printf 'could not read the contexts of %s\n' "$report"
		return 1
	}
	if [ -z "$exp" ]; then
		printf 'broken victim: %s has no EXPECT line\n' "$out"
		return 1
	fi
	bad=$(join_groups "$exp" "$got" |
		awk '$2 != $4 || $3 != $5 {
			e = $2 == "-" ? "nothing" : $2 " blocks " $3 " bytes"
			g = $4 == "-" ? "nothing" : $4 " blocks " $5 " bytes"
			if ($2 == "-") printf "  %s: not expected to leak, report has %s\n", $1, g
			else printf "  %s: expected %s, report has %s\n", $1, e, g
		}')
	if [ -n "$bad" ]; then
		printf 'report %s does not match the EXPECT lines of %s:\n%s\n' "$report" "$out" "$bad"
		printf '  (expected | got, per function of %s)\n' "$prog"
		join_groups "$exp" "$got" |
			awk '{ printf "    %-28s %8s %10s | %8s %10s\n", $1, $2, $3, $4, $5 }'
		return 1
	fi
}

# check_totals REPORT OUT PROG: looser than check_expect: the victim's live
# blocks and bytes in all (contexts with a frame in PROG) equal the sum of its
# EXPECT lines.  For stacks that lose the caller's frame (see t-cxx).
check_totals() {
	local report=$1 out=$2 prog=$3 exp got

	valid_json "$report" || return 1
	exp=$(awk '$1 == "EXPECT" { b += $3; y += $4 } END { print b + 0, y + 0 }' "$out")
	got=$(jq -r --arg m "$prog" "$JQ_DEFS"'
		[.contexts[] | select(own($m) != null)]
		| "\(map(.live_blocks) | add // 0) \(map(.live_bytes) | add // 0)"' "$report")
	[ "$exp" = "$got" ] && return 0
	printf 'live blocks and bytes of %s in all: EXPECT lines say %s, report has %s\n' "$prog" "$exp" "$got"
	report_groups "$report" "$prog" | sed 's/^/    report: /'
	return 1
}

# check_first_frame REPORT PROG: every context with a frame in PROG has it
# first: frames[0] is the code that called the allocator, and a C victim
# calls malloc itself.  No agent frame either.
check_first_frame() {
	local bad
	bad=$(jq -r --arg m "$2" "$JQ_DEFS"'
		.contexts[] | select(own($m) != null) | select(.frames[0].module != $m)
		| "  context \(.id): frames[0] is \(.frames[0].symbol // "?") in \(.frames[0].module // "?"), "
		  + "not the victim function \(own($m) | fn)"' "$1")
	[ -z "$bad" ] && return 0
	printf 'callstacks do not start at the caller of the allocator:\n%s\n' "$bad"
	return 1
}

# check_new_caller REPORT PROG: in a C++ victim, every context with a frame
# in PROG starts at the code that called operator new: PROG's own, or
# libstdc++'s where it allocates for PROG (std::string::reserve); never the
# operator or the allocator itself (the agent hooks the operators).
check_new_caller() {
	local bad
	bad=$(jq -r --arg m "$2" "$JQ_DEFS"'
		.contexts[] | select(own($m) != null) | .frames[0] as $f
		| select(($f.module == $m or (($f.module // "") | test("/libstdc\\+\\+"))
			  and (($f.symbol // "") | test("^_Zn[wa]") | not)) | not)
		| "  context \(.id) (\(own($m) | fn)): frames[0] is \($f.symbol // $f.addr) in \($f.module // "?")"' "$1")
	[ -z "$bad" ] && return 0
	printf 'callstacks through new do not start at the caller of the operator:\n%s\n' "$bad"
	return 1
}

# check_report_sane REPORT PROG UNWINDER DEPTH [exit]: the report has the
# shape of the contract; with "exit", also the exit-report rules.
check_report_sane() {
	local report=$1 prog=$2 unw=$3 depth=$4 kind=${5:-} bad

	valid_json "$report" || return 1
	bad=$(jq -r --arg prog "$prog" --arg unw "$unw" --argjson depth "$depth" \
		--arg kind "$kind" "$JQ_DEFS"'
		def num: type == "number" and . >= 0 and . == floor;
		def hexs: type == "string" and test("^0x[0-9a-f]+$");
		def why($ok; $msg): if $ok then empty else $msg end;
		why(.version == 1; "version is \(.version), not 1"),
		why(.pid | num and . > 0; "pid is \(.pid)"),
		why(.program == $prog; "program is \(.program), not \($prog)"),
		why(.since | type == "string"; "since is missing"),
		why(.unwinder == $unw; "unwinder is \(.unwinder), not \($unw)"),
		why(.depth == $depth; "depth is \(.depth), not \($depth)"),
		(if $kind == "exit" then
			why(.exit | type == "object" and ((.code | num) or (.signal | num));
			    "exit is \(.exit | tojson), not {code} or {signal}"),
			why(.since == "start"; "since is \(.since | tojson) in an exit report, not \"start\"")
		 else empty end),
		why(.summary | type == "object"; "summary is missing"),
		(.summary // {} | to_entries[]
		 | why(.value | num; "summary.\(.key) is \(.value | tojson)")),
		(["in_use_bytes", "in_use_blocks", "total_allocs", "total_frees", "total_bytes", "contexts"][]
		 as $k | why(.summary | has($k); "summary.\($k) is missing")),
		why(.contexts | type == "array"; "contexts is not an array"),
		(if (.contexts | type) == "array" then
			# the exit report lists every context with live blocks (a
			# console report may list only the largest ones, and its
			# summary and contexts are not one snapshot of a running PROG)
			(if $kind == "exit" then
				why(.summary.in_use_blocks == (.contexts | map(.live_blocks) | add // 0);
				    "summary.in_use_blocks \(.summary.in_use_blocks) is not the sum of live_blocks \(.contexts | map(.live_blocks) | add // 0)"),
				why(.summary.in_use_bytes == (.contexts | map(.live_bytes) | add // 0);
				    "summary.in_use_bytes \(.summary.in_use_bytes) is not the sum of live_bytes \(.contexts | map(.live_bytes) | add // 0)")
			 else empty end),
			why(.contexts | map(.live_bytes) | . == (sort | reverse);
			    "contexts not sorted by live_bytes descending"),
			why(.contexts | map(.id) | length == (unique | length); "context ids not unique"),
			(.contexts[] | . as $c | "context \(.id)" as $n |
				why(.id | num; "\($n): id is \(.id | tojson)"),
				(["live_blocks", "live_bytes", "total_allocs", "total_bytes", "peak_live_bytes",
				  "first_ms", "last_ms"][] as $k
				 | why($c[$k] | num; "\($n): \($k) is \($c[$k] | tojson)")),
				(if $kind == "exit" then why(.live_blocks > 0; "\($n): live_blocks 0 in an exit report")
				 else empty end),
				why(.total_allocs >= .live_blocks; "\($n): total_allocs < live_blocks"),
				why(.total_bytes >= .live_bytes; "\($n): total_bytes < live_bytes"),
				why(.peak_live_bytes >= .live_bytes; "\($n): peak_live_bytes < live_bytes"),
				why(.first_ms <= .last_ms; "\($n): first_ms > last_ms"),
				why(.truncated | type == "boolean"; "\($n): truncated is \(.truncated | tojson)"),
				why(.frames | type == "array" and length > 0; "\($n): no frames"),
				why((.frames | length) <= $depth; "\($n): \(.frames | length) frames, depth is \($depth)"),
				why(.truncated != true or (.frames | length) == $depth;
				    "\($n): truncated with \(.frames | length) frames, depth is \($depth)"),
				(.frames[]? |
					why(.addr | hexs; "\($n): frame addr \(.addr | tojson)"),
					why(.offset | hexs; "\($n): frame offset \(.offset | tojson)"),
					why(.module == null or (.module | type == "string" and startswith("/"));
					    "\($n): frame module \(.module | tojson)"),
					why(.symbol == null or (.symbol | type == "string" and test("\\+0x[0-9a-f]+$"));
					    "\($n): frame symbol \(.symbol | tojson)"),
					# build_id: only in a module that has one, lowercase hex bytes
					why((has("build_id") | not) or (.module != null and (.build_id | type == "string"
						and test("^([0-9a-f]{2}){2,64}$")));
					    "\($n): frame build_id \(.build_id | tojson) (module \(.module | tojson))"),
					why((.module // "") | test("libmemtrace-agent") | not;
					    "\($n): frame in the agent itself: \(.symbol // .addr)")))
		 else empty end)' "$report" 2>&1)
	[ -z "$bad" ] && return 0
	printf 'report %s breaks the contract:\n' "$report"
	printf '%s\n' "$bad" | sed -n '1,30s/^/  /p'
	return 1
}

# check_symbols REPORT PROG: the frames in PROG agree with its ELF file:
# "symbol" name+0xN is at "offset" by PROG's symbol table, and addr - offset
# (the load bias) is the same for all of them.
check_symbols() {
	local report=$1 prog=$2 bad
	bad=$(jq -r --arg m "$prog" --rawfile nm <(symtab "$prog") "$JQ_DEFS"'
		($nm | split("\n") | map(split(" ") | select(length == 3) | {key: .[2], value: (.[0] | hex)})
		 | from_entries) as $sym
		| [.contexts[].frames[] | select(.module == $m)] as $fr
		| ($fr | map((.addr | hex) - (.offset | hex)) | unique) as $bias
		| (if ($bias | length) > 1 then "load bias (addr - offset) differs between frames: \($bias)" else empty end),
		  ($fr[] | select(.symbol != null)
		   | (.symbol | capture("^(?<n>.*)\\+0x(?<o>[0-9a-fA-F]+)$")) as $s
		   | if $sym[$s.n] == null then "symbol \(.symbol): no \($s.n) in the symbol table"
		     elif $sym[$s.n] + ("0x" + $s.o | hex) != (.offset | hex)
		     then "symbol \(.symbol) is at \($sym[$s.n] + ("0x" + $s.o | hex)), offset says \(.offset | hex)"
		     else empty end)' "$report" 2>&1 | sort -u)
	[ -z "$bad" ] && return 0
	printf 'frames of %s do not agree with its symbol table:\n' "$prog"
	printf '%s\n' "$bad" | sed -n '1,20s/^/  /p'
	return 1
}

# check_victim_run TAG PROG UNWINDER [DEPTH]: the usual set for a victim
# traced with --json: contract shape, symbols, EXPECT lines, first frames.
check_victim_run() {
	local tag=$1 prog=$2 unw=$3 depth=${4:-32}

	check_report_sane "$tag.json" "$prog" "$unw" "$depth" exit || return 1
	check_symbols "$tag.json" "$prog" &&
		check_expect "$tag.json" "$tag.out" "$prog" &&
		check_first_frame "$tag.json" "$prog"
}

# ---------------------------------------------------------------- console

# console_start TAG [MEMTRACE ARGS...]: memtrace in the background reading
# its console from a FIFO on its standard input (--console -: a PROG started
# by memtrace would have it otherwise); console_send writes one command line
# to it, console_end closes it (EOF) and waits for memtrace.  Output in
# TAG.out, TAG.err, exit status in TAG.rc.
MT_PID=
console_start() {
	local tag=$1
	shift
	CONSOLE_TAG=$tag
	rm -f "$tag.in"
	mkfifo "$tag.in" || broken "mkfifo $tag.in"
	note "memtrace --console - $* (console on a pipe)"
	"$MEMTRACE" --console - "$@" <"$tag.in" >"$tag.out" 2>"$tag.err" &
	MT_PID=$!
	exec 7>"$tag.in"
}

console_send() {
	note "console> $*"
	printf '%s\n' "$*" >&7 || fail_later "could not send '$*' to the console (memtrace gone?)"
}

# console_item_id MODULE: through the console, a report into ids.json; in
# $id the first context whose innermost frame is in MODULE and that holds
# more than one live block (core_victim's core_leak_item), else 1 and a
# failure.
console_item_id() {
	console_send 'report -c 0 --json -o ids.json'
	wait_for valid_json ids.json || fail_later "report --json -o ids.json: no valid file"
	id=$(jq -r --arg m "$1" 'first(.contexts[] | select(.frames[0].module == $m and .live_blocks > 1)) | .id' \
		ids.json 2>/dev/null)
	[ -n "$id" ] && [ "$id" != null ] || { id=1 && fail_later "ids.json: no context for core_leak_item"; }
}

# core_console_end TAG PROG: after its coredumps the console TAG still
# answers; then core_victim PROG (run with -f stop) ends cleanly, its
# waiting threads undisturbed by the cores, and its exit report holds.
core_console_end() {
	local tag=$1 prog=$2
	console_send 'report --json -o after.json'
	wait_for test -s after.json || fail_later "the console stopped answering after coredump"
	touch stop
	console_end "$MT_TIMEOUT"
	expect_rc "$tag" 0 || fail_later "exit status (1: a wait in the victim saw EINTR)"
	has "$tag.out" 'core_(sleeper|reader|poller):' && fail_later "a waiting thread of the victim was disturbed"
	check_victim_run "$tag" "$prog" "$DEFAULT_UNWINDER" || fail_later "exit report"
}

# console_end [SECONDS]: EOF on the console, then memtrace must end.
console_end() {
	console_close
	console_wait "${1:-$MT_TIMEOUT}"
}

console_close() {
	exec 7>&-
}

# console_wait [SECONDS]: memtrace ends within SECONDS; its status in TAG.rc.
console_wait() {
	local limit=${1:-$MT_TIMEOUT} rc
	if ! wait_pid_gone "$MT_PID" "$limit"; then
		fail_later "memtrace did not end within $limit s"
		kill -KILL "$MT_PID" 2>/dev/null
	fi
	wait "$MT_PID"
	rc=$?
	echo $rc >"$CONSOLE_TAG.rc"
	MT_PID=
}

# bg_start TAG [MEMTRACE ARGS...]: memtrace in the background with -x
# commands, standard input /dev/null; console_wait waits for it.
bg_start() {
	local tag=$1
	shift
	CONSOLE_TAG=$tag
	note "memtrace $* (in the background)"
	"$MEMTRACE" "$@" </dev/null >"$tag.out" 2>"$tag.err" &
	MT_PID=$!
}

wait_pid_gone() {
	local pid=$1 n=$(($2 * 10))
	while kill -0 "$pid" 2>/dev/null; do
		[ $n -gt 0 ] || return 1
		n=$((n - 1))
		sleep 0.1
	done
}

# wait_for COND_COMMAND... : retry for up to WAIT_SECONDS (20) until it succeeds.
wait_for() {
	local n=$((${WAIT_SECONDS:-20} * 20))
	until "$@" >/dev/null 2>&1; do
		[ $n -gt 0 ] || return 1
		n=$((n - 1))
		sleep 0.05
	done
}

# now_ms: milliseconds of the wall clock (bash's EPOCHREALTIME: busybox's
# date has no %N).
now_ms() {
	local us=${EPOCHREALTIME//[!0-9]/}
	echo $((us / 1000))
}

# has FILE ERE: FILE has a line matching the extended regex.
has() {
	grep -Eq -- "$2" "$1" 2>/dev/null
}

# Kill what a test left running (a console memtrace) when it exits early.
cleanup_mt() {
	[ -n "${MT_PID:-}" ] && kill -KILL "$MT_PID" 2>/dev/null
	return 0
}
trap cleanup_mt EXIT

# ---------------------------------------------------------------- the usual test

# victim_test NAME [ARGS...]: NAME untraced, then traced with each unwinder:
# same output and exit status, a report of the contract's shape whose
# contexts match the EXPECT lines, starting at the victim function.
victim_test() {
	local name=$1 prog unw
	shift
	prog=$(victim "$name") || exit 99
	run_plain plain "$prog" "$@"
	[ "$(rc_of plain)" != 124 ] || broken "$name $* does not end within $MT_TIMEOUT s even without memtrace"
	for unw in ${UNWINDERS:-$DEFAULT_UNWINDERS}; do
		run_traced "$unw" --unwind "$unw" "$prog" "$@"
		same_behaviour plain "$unw" ||
			fail_later "--unwind $unw: $name behaves differently under memtrace"
		check_victim_run "$unw" "$prog" "$unw" ||
			fail_later "--unwind $unw: the exit report of $name is wrong"
	done
}

# group_of REPORT PROG FUNCTION: "blocks bytes" of FUNCTION's group, or nothing.
group_of() {
	report_groups "$1" "$2" | awk -v f="$3" '$1 == f { print $2, $3 }'
}

# check_status FILE: FILE holds the lines `status` prints (contract).
check_status() {
	local f=$1 ok=0 re
	for re in '^ *in use: [0-9]+ bytes in [0-9]+ blocks' \
		'^ *total: [0-9]+ allocations, [0-9]+ frees, [0-9]+ bytes allocated' \
		'^ *agent memory: [0-9]+ bytes' '^ *contexts: [0-9]+'; do
		has "$f" "$re" || {
			printf 'no line matching /%s/ in %s\n' "$re" "$f"
			ok=1
		}
	done
	return $ok
}

# srv_usage TAG WANT ARGS...: memtrace-server ($SERVER) ARGS is a usage error
# (exit status 2) saying WANT.
srv_usage() {
	local tag=$1 want=$2
	shift 2
	timeout -k 5 20 "$SERVER" "$@" >"$tag.out" 2>"$tag.err"
	echo $? >"$tag.rc"
	expect_rc "$tag" 2 && has "$tag.err" "$want" || fail_later "memtrace-server $*: not a usage error saying '$want'"
}
