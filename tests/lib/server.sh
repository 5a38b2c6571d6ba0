# shellcheck shell=bash
# server.sh: what the t-server-* tests share (source after common.sh):
# memtrace-server (the AddressSanitizer build with the [asan] memtrace) and
# the scripted link peer tests/tools/linkpeer, skipping when either is not
# built; srv_start/srv_stop run a server in the background; lp runs the
# peer; line reads its answers (srv_usage, in common.sh, checks a usage error);
# stripped_report makes the device's stripped server_leak, its sysroot twin
# and raw report.

SERVER=$BUILD/memtrace-server
case $MEMTRACE in */asan/*) SERVER=$BUILD/asan/memtrace-server ;; esac
LINKPEER=$BUILD/tests/tools/linkpeer
[ -x "$SERVER" ] || skip "$SERVER not built (host only: a cross build has no memtrace-server)"
[ -x "$LINKPEER" ] || skip "$LINKPEER not built (make test-bins)"

# ---------------------------------------------------------------- server helpers
# srv_start TAG ARGS...: memtrace-server ARGS in the background, stderr in
# TAG.err; waits for its "listening on" line (or "dialing" with -c alone)
# and sets PORT to the port it listens on.
SRV_PID=
srv_start() {
	SRV_TAG=$1
	shift
	note "memtrace-server $*"
	"$SERVER" "$@" >"$SRV_TAG.out" 2>"$SRV_TAG.err" &
	SRV_PID=$!
	wait_for srv_up || { show "$SRV_TAG.err"; broken "memtrace-server $* did not start"; }
	kill -0 "$SRV_PID" 2>/dev/null || { show "$SRV_TAG.err"; broken "memtrace-server $* ended at once"; }
	PORT=$(sed -n 's/^memtrace-server: listening on .*:\([0-9]*\)$/\1/p' "$SRV_TAG.err")
}
# shellcheck disable=SC2317 # called through wait_for
srv_up() {
	has "$SRV_TAG.err" "^memtrace-server: (listening on|dialing) " || ! kill -0 "$SRV_PID" 2>/dev/null
}
# srv_stop [SIGNAL]: the server ends within 5 s with status 0, with no sanitizer report.
srv_stop() {
	local rc
	kill -"${1:-TERM}" "$SRV_PID"
	wait_pid_gone "$SRV_PID" 5 || { fail_later "memtrace-server did not end on SIG${1:-TERM}"; kill -KILL "$SRV_PID"; }
	wait "$SRV_PID"
	rc=$?
	[ $rc = 0 ] || { fail_later "memtrace-server ended with status $rc on SIG${1:-TERM}"; show "$SRV_TAG.err"; }
	! has "$SRV_TAG.err" "Sanitizer|runtime error" || { fail_later "sanitizer report"; show "$SRV_TAG.err"; }
	SRV_PID=
}
trap 'cleanup_mt; [ -z "$SRV_PID" ] || kill -KILL "$SRV_PID" 2>/dev/null' EXIT
# lp TAG ARGS...: linkpeer ARGS, output in TAG.out (one line per reply), TAG.err.
lp() {
	local tag=$1
	shift
	timeout -k 5 30 "$LINKPEER" "$@" >"$tag.out" 2>"$tag.err"
}
# stripped_report: $dev, a stripped copy of server_leak in dev/ with its
# unstripped twin at the same path under the sysroot sys/; its raw report
# raw.json (raw.out, raw.err); the lines it states, $call_line and
# $malloc_line (INLINED).
stripped_report() {
	local prog
	prog=$(victim server_leak) || exit 99
	mkdir -p dev || broken "mkdir"
	dev=$PWD/dev/server_leak
	strip -o "$dev" "$prog" || broken "strip $prog"
	run_traced raw "$dev"
	[ "$(rc_of raw)" = 0 ] && valid_json raw.json || { show raw.err; broken "no report of the stripped server_leak"; }
	mkdir -p "sys$(dirname "$dev")" && cp "$prog" "sys$dev" || broken "sysroot"
	call_line=$(awk '$1 == "INLINED" { print $3 }' raw.out)
	# shellcheck disable=SC2034 # for the test that sources this
	malloc_line=$(awk '$1 == "INLINED" { print $5 }' raw.out)
	[ -n "$call_line" ] || broken "server_leak printed no INLINED line"
}

# line TAG N: line N of TAG.out.
line() {
	sed -n "$2p" "$1.out"
}
