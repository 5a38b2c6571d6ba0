# shellcheck shell=bash disable=SC2154,SC2034
#
# link.sh: helpers for the tests of memtrace's link to memtrace-server
# (tests/integration/t-link-*.sh), sourced after common.sh (and attach.sh,
# when a test attaches).
#
# The "device" runs stripped copies of the victims from dev/; the "host"
# has the unstripped builds at the same paths under the sysroot sys/, as in
# t-server-decode.  The server is the AddressSanitizer build when $MEMTRACE
# is.
#
#   link_setup             $SERVER, $dev (dev/server_leak, stripped) and its
#                          unstripped copy in sys/, the lines the victim
#                          states ($call_line, $malloc_line, $plain_line) and
#                          its plain run (plain.out, plain.rc)
#   dev_copy NAME          a stripped copy of victim NAME in dev/, the
#                          unstripped one in sys/; $DEV is the dev path
#   srv_start TAG ARGS...  memtrace-server ARGS in the background (TAG.out,
#                          TAG.err); $SRV_PID
#   srv_listening TAG      wait for its "listening on ADDR:PORT": $SRV_PORT
#   srv_local TAG          srv_start TAG on 127.0.0.1, any free port, no
#                          multicast, sysroot sys/; then srv_listening
#   srv_stop TAG [SIG]     signal it (TERM), wait for it to end
#   mt_listening TAG       wait for memtrace's "listening on ADDR:PORT" in
#                          TAG.err: $MT_PORT
#   no_server TAG WHAT WARNING MS ARGS...  memtrace ARGS $dev where no
#                          server answers: server_leak as in its plain run,
#                          a raw report, WARNING on stderr, within MS ms
#   expect_decoded WHAT JSON   the two leaks of server_leak decoded as the
#                          victim states (function, file:line, inlined)
#   expect_decoded_text WHAT FILE  the same in a text report
#   expect_raw WHAT JSON   no frame decoded
#   fn_decoded WHAT JSON FUNCTION FILE  the first frame of the context whose
#                          first frame is FUNCTION (by the server) is decoded
#                          to FUNCTION in a file named FILE, with a line

SERVER=$BUILD/memtrace-server
case $MEMTRACE in */asan/*) SERVER=$BUILD/asan/memtrace-server ;; esac

SRV_PIDS=()

# Kill what a test left running: servers, memtrace, attached victims.
cleanup_link() {
	local p
	for p in "${SRV_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	if declare -F cleanup_attach >/dev/null; then
		cleanup_attach
	else
		cleanup_mt
	fi
	return 0
}
trap cleanup_link EXIT

link_setup() {
	[ -x "$SERVER" ] || skip "$SERVER not built (host only: a cross build has no memtrace-server)"
	command -v strip >/dev/null || skip "strip missing (binutils)"
	dev_copy server_leak
	dev=$DEV
	run_plain plain "$dev"
	[ "$(rc_of plain)" != 126 ] || skip "cannot run programs from $PWD (noexec?)"
	expect_rc plain 0 || broken "server_leak fails without memtrace"
	call_line=$(awk '$1 == "INLINED" { print $3 }' plain.out)
	malloc_line=$(awk '$1 == "INLINED" { print $5 }' plain.out)
	plain_line=$(awk '$1 == "SOURCE" { print $4 }' plain.out)
	if [ -z "$call_line" ] || [ -z "$malloc_line" ] || [ -z "$plain_line" ]; then
		broken "server_leak printed no INLINED/SOURCE line"
	fi
}

dev_copy() {
	local prog
	prog=$(victim "$1") || exit 99
	DEV=$PWD/dev/$1
	mkdir -p dev "sys$PWD/dev" || broken "mkdir"
	strip -o "$DEV" "$prog" || broken "strip $prog"
	cp "$prog" "sys$DEV" || broken "cp $prog"
}

srv_start() {
	local tag=$1
	shift
	note "memtrace-server $* (in the background)"
	"$SERVER" "$@" </dev/null >"$tag.out" 2>"$tag.err" &
	SRV_PID=$!
	SRV_PIDS+=("$SRV_PID")
}

srv_listening() {
	if ! WAIT_SECONDS=10 wait_for has "$1.err" 'listening on [^ ]*:[0-9]+'; then
		show "$1.err"
		broken "memtrace-server did not say where it listens within 10 s"
	fi
	SRV_PORT=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$1.err" | head -n 1)
}

srv_local() {
	srv_start "$1" --listen 127.0.0.1:0 --no-multicast sys
	srv_listening "$1"
}

srv_stop() {
	kill -"${2:-TERM}" "$SRV_PID" 2>/dev/null
	wait_pid_gone "$SRV_PID" 10 || kill -KILL "$SRV_PID" 2>/dev/null
	wait "$SRV_PID" 2>/dev/null
}

mt_listening() {
	if ! WAIT_SECONDS=10 wait_for has "$1.err" '^memtrace: listening on [^ ]*:[0-9]+'; then
		fail_later "memtrace --listen did not say where it listens within 10 s"
		show "$1.err"
		return 1
	fi
	MT_PORT=$(sed -n 's/^memtrace: listening on [^ ]*:\([0-9][0-9]*\) .*/\1/p' "$1.err" | head -n 1)
}

# leak_of JSON BYTES FIELD: FIELD (a jq path) of frames[0] of the context of BYTES live bytes.
leak_of() {
	jq -r --argjson b "$2" "first(.contexts[] | select(.live_bytes == \$b)) | .frames[0] | $3" "$1"
}

no_server() {
	local tag=$1 what=$2 warning=$3 max=$4 t0 t
	shift 4
	t0=$(now_ms)
	run_traced "$tag" "$@" "$dev"
	t=$(($(now_ms) - t0))
	note "$what: memtrace took $t ms in all"
	same_behaviour plain "$tag" || fail_later "$what: server_leak behaves differently"
	expect_raw "$what" "$tag.json"
	has "$tag.err" "$warning" || { fail_later "$what: no warning saying so"; show "$tag.err"; }
	[ "$t" -lt "$max" ] || fail_later "$what: memtrace took $t ms"
}

expect_decoded() {
	local what=$1 f=$2 got
	valid_json "$f" || { fail_later "$what: no report"; return 1; }
	got=$(leak_of "$f" 48 '"\(.decode) \(.function) \(.line) \(.inlined[0].function) \(.inlined[0].line)"')
	[ "$got" = "ok server_leak_inlined $call_line make_record $malloc_line" ] || {
		fail_later "$what: the inlined leak decoded as '$got', want 'ok server_leak_inlined $call_line make_record $malloc_line'"
		return 1
	}
	got=$(leak_of "$f" 48 '"\(.file) \(.inlined[0].file)"')
	case $got in */tests/victims/server_leak.c" "*/tests/victims/server_leak.c) ;;
	*) fail_later "$what: the files of the inlined leak are '$got'" ;; esac
	got=$(leak_of "$f" 32 '"\(.decode) \(.function) \(.line) \(.inlined | length)"')
	[ "$got" = "ok server_leak_plain $plain_line 0" ] || {
		fail_later "$what: the plain leak decoded as '$got', want 'ok server_leak_plain $plain_line 0'"
		return 1
	}
}

expect_decoded_text() {
	local what=$1 f=$2 ok=0
	has "$f" "make_record at [^ ]*/server_leak\.c:$malloc_line \(inlined\)" || {
		fail_later "$what: no 'make_record at .../server_leak.c:$malloc_line (inlined)' line"
		ok=1
	}
	has "$f" "^ +server_leak_inlined at [^ ]*/server_leak\.c:$call_line \(" || {
		fail_later "$what: no 'server_leak_inlined at .../server_leak.c:$call_line' line"
		ok=1
	}
	has "$f" "#0 +0x[0-9a-f]+ +server_leak_plain at [^ ]*/server_leak\.c:$plain_line " || {
		fail_later "$what: the plain leak is not shown decoded"
		ok=1
	}
	[ $ok = 0 ] || show "$f"
	return $ok
}

expect_raw() {
	local what=$1 f=$2 n
	valid_json "$f" || { fail_later "$what: no report"; return 1; }
	n=$(jq '[.contexts[].frames[] | select(has("decode") or has("function") or has("inlined"))] | length' "$f")
	[ "$n" = 0 ] || { fail_later "$what: $n frames are decoded in a report that should be raw"; return 1; }
	jq -e '[.contexts[].frames[]] | length > 0' "$f" >/dev/null || fail_later "$what: a raw report without frames"
}

fn_decoded() {
	local what=$1 f=$2 fn=$3 file=$4 got
	valid_json "$f" || { fail_later "$what: no report"; return 1; }
	got=$(jq -r --arg fn "$fn" 'first(.contexts[] | select(.frames[0].function == $fn)) | .frames[0]
		| "\(.decode) \(.function) \(.file) \(.line)"' "$f")
	case $got in "ok $fn "*/"$file "[0-9]*) return 0 ;; esac
	fail_later "$what: the leak of $fn decoded as '$got', want 'ok $fn .../$file LINE'"
	jq -c '[.contexts[] | .frames[0] | {function, file, line, decode, decode_error}]' "$f" | head -c 600
	echo
	return 1
}
