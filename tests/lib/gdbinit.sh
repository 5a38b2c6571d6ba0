# shellcheck shell=bash
#
# gdbinit.sh: helpers for the tests of gdbinit/memtrace.gdb
# (tests/integration/t-gdbinit-*.sh), sourced after common.sh.  They run
# the real gdb with the script and compare what it prints with memtrace's
# own report of the same moment.

command -v gdb >/dev/null || skip "gdb is not installed (apt-get install gdb)"
GDBINIT=$TOP/gdbinit/memtrace.gdb
[ -f "$GDBINIT" ] || broken "$GDBINIT is missing"
GDB_TIMEOUT=${GDB_TIMEOUT:-60}

# gdb_run TAG GDB-ARGS...: gdb -batch with the script loaded first, then
# GDB-ARGS (-p PID or PROG CORE, then -ex commands); output in TAG.out
# (standard error in TAG.err), how long it took in TAG.ms.
gdb_run() {
	local tag=$1 t0 rc
	shift
	note "gdb -batch -x memtrace.gdb $*"
	t0=$(now_ms)
	timeout -k 5 "$GDB_TIMEOUT" gdb -batch -nx -q -x "$GDBINIT" "$@" </dev/null >"$tag.out" 2>"$tag.err"
	rc=$?
	echo $(($(now_ms) - t0)) >"$tag.ms"
	note "  took $(cat "$tag.ms") ms, exit status $rc"
	[ $rc -ne 124 ] || fail_later "gdb $* did not end within $GDB_TIMEOUT s"
	return $rc
}

# gdb_contexts OUT: "id live_bytes live_blocks total_allocs total_bytes peak"
# per context that memtrace-report (or whoalloc) printed, in order.
gdb_contexts() {
	sed -n 's/^context \([0-9]*\): \([0-9-]*\) bytes in \([0-9-]*\) blocks still allocated (\([0-9]*\) allocations, \([0-9]*\) bytes in total, peak \([0-9-]*\) bytes)$/\1 \2 \3 \4 \5 \6/p' "$1"
}

# gdb_frames OUT: "id index addr function" per frame ("-" for no symbol).
gdb_frames() {
	awk '/^context [0-9]+: / { id = $2 + 0 }
	     /^    #[0-9]+ +0x[0-9a-f]+/ {
		i = substr($1, 2); fn = "-"
		if (match($0, /<[^>+]*/)) fn = substr($0, RSTART + 1, RLENGTH - 1)
		print id, i, $2, fn }' "$1"
}

# check_gdb_report OUT REPORT PROG: memtrace-report printed the contexts of
# REPORT (a report --json), in its order, with its figures and frame
# addresses, and the functions of the frames in PROG are the report's.
check_gdb_report() {
	local out=$1 report=$2 prog=$3 ok=0

	jq -r '.contexts[] | "\(.id) \(.live_bytes) \(.live_blocks) \(.total_allocs) \(.total_bytes) \(.peak_live_bytes)"' \
		"$report" >want.ctx
	gdb_contexts "$out" >got.ctx
	if [ ! -s want.ctx ] || ! cmp -s want.ctx got.ctx; then
		printf 'contexts (id bytes blocks allocs total peak): report %s (<), gdb %s (>):\n' "$report" "$out"
		diff want.ctx got.ctx | sed -n '1,20s/^/    /p'
		ok=1
	fi
	jq -r '.contexts[] | .id as $id | .frames | to_entries[] | "\($id) \(.key) \(.value.addr)"' "$report" >want.addr
	gdb_frames "$out" | awk '{ print $1, $2, $3 }' >got.addr
	if ! cmp -s want.addr got.addr; then
		printf 'frame addresses (id index addr): report (<), gdb (>):\n'
		diff want.addr got.addr | sed -n '1,20s/^/    /p'
		ok=1
	fi
	jq -r --arg m "$prog" "$JQ_DEFS"'.contexts[] | .id as $id | .frames | to_entries[]
		| select(.value.module == $m) | "\($id) \(.key) \(.value | fn)"' "$report" | sort >want.fn
	gdb_frames "$out" | awk '{ print $1 " " $2, $4 }' | sort >got.fnall
	awk 'NR == FNR { k[$1 " " $2] = $3; next } { print $1, $2, (($1 " " $2) in k ? k[$1 " " $2] : "(no frame)") }' \
		got.fnall want.fn >got.fn
	if [ ! -s want.fn ] || ! cmp -s want.fn got.fn; then
		printf 'functions of the frames in %s (id index function): report (<), gdb (>):\n' "$prog"
		diff want.fn got.fn | sed -n '1,20s/^/    /p'
		ok=1
	fi
	[ $ok -eq 0 ] || show "$out"
	return $ok
}

# check_gdb_status OUT REPORT: memtrace-status printed `status`'s lines with
# the figures of REPORT's summary.
check_gdb_status() {
	local out=$1 report=$2 want got

	check_status "$out" || return 1
	want=$(jq -r '.summary | "in use: \(.in_use_bytes) bytes in \(.in_use_blocks) blocks",
		"total: \(.total_allocs) allocations, \(.total_frees) frees, \(.total_bytes) bytes allocated",
		"contexts: \(.contexts) with live blocks, \(.contexts_total) in all"' "$report")
	got=$(grep -E '^(in use|total|contexts):' "$out")
	[ "$want" = "$got" ] && return 0
	printf 'memtrace-status: expected (from %s):\n%s\ngot:\n%s\n' "$report" "$want" "$got" | sed 's/^/    /'
	return 1
}
