#!/bin/bash
# t-server-inverse: the roles inverted, from the server's side: memtrace
# --listen on the device, memtrace-server -c dialing it (a target behind NAT).
# tests/tools/linkpeer plays the listening memtrace: it accepts one
# connection, checks the hello's role and token, answers, then sends its
# requests. Checked:
#   - with -c alone the server does not listen; it says "dialing ADDR:PORT";
#   - its hello: role "server", its version, no token unless given one;
#   - a decode request from the listener is answered decoded (the leaking
#     function, file:line, the inlined helper), bye ends the link;
#   - when the link ends, the server dials again and serves the next
#     listener on that port; before anything listens there it keeps trying,
#     every second, saying so once;
#   - --token: sent in the hello (accepted by a listener wanting it); a
#     listener that refuses the hello is logged with its reason;
#   - -c with --listen: both.
# "A && B || fail": a failure of either step is the one to report.
# shellcheck disable=SC2015
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
. "$(dirname "$0")/../lib/server.sh"
command -v strip >/dev/null || skip "strip missing (binutils)"
# listener TAG [-t TOKEN] [PORT] STEPS...: linkpeer playing memtrace --listen in the
# background (LIS_PID); LPORT is its port once it listens.
listener() {
	local tag=$1 tok=() port=0
	shift
	[ "$1" != -t ] || { tok=(-t "$2"); shift 2; }
	case $1 in [0-9]*) port=$1; shift ;; esac
	"$LINKPEER" -w 15 "${tok[@]}" listen "127.0.0.1:$port" "$@" >"$tag.out" 2>"$tag.err" &
	LIS_PID=$!
	wait_for has "$tag.out" "^listening " || { show "$tag.err"; broken "linkpeer listen did not start"; }
	LPORT=$(awk '$1 == "listening" { print $2 }' "$tag.out")
}
# hello_of TAG FIELDS: FIELDS (jq) of the hello the listener TAG received.
hello_of() {
	sed -n 's/^hello //p' "$1.out" | jq -r "$2" 2>/dev/null
}

stripped_report

# ---------------------------------------------------------------- dial, serve, dial again
listener lis1 decode=raw.json bye expect-close
srv_start srv -v -c "127.0.0.1:$LPORT" sys
has srv.err "^memtrace-server: dialing 127\.0\.0\.1:$LPORT \(memtrace --listen there\)$" || fail_later "no 'dialing' line"
! has srv.err "listening on" || fail_later "with -c alone the server listens"
wait "$LIS_PID"
[ "$(hello_of lis1 '"\(.v) \(.id) \(.cmd) \(.role) \(.version) \(has("token"))"')" = "1 1 hello server 0.2.0 false" ] ||
	fail_later "the server's hello: $(grep '^hello' lis1.out)"
[ "$(sed -n 3p lis1.out)" = accepted ] || fail_later "the listener did not accept the hello: $(cat lis1.out)"
got=$(sed -n 4p lis1.out | jq -r '.report | first(.contexts[] | select(.live_bytes == 48)) | .frames[0]
	| "\(.decode) \(.function):\(.line) \(.inlined[0].function):\(.inlined[0].line) \(.file)"' 2>/dev/null)
case $got in
"ok server_leak_inlined:$call_line make_record:$malloc_line "*/tests/victims/server_leak.c) ;;
*) fail_later "the listener's decode came back as '$got' ($(sed -n 4p lis1.out | cut -c1-200))" ;;
esac
[ "$(sed -n 5p lis1.out | jq -c .ok)" = true ] && [ "$(sed -n 6p lis1.out)" = closed ] ||
	fail_later "bye did not end the link: $(sed -n '5,$p' lis1.out)"
has srv.err "^memtrace-server: 127\.0\.0\.1:$LPORT: linked: memtrace 0\.2\.0, pid [0-9]+ \(/usr/bin/linkpeer\) on testhost$" ||
	fail_later "no log line of the link"

# The next memtrace listening there is served too.
t0=$(now_ms)
listener lis2 "$LPORT" ping bye
wait "$LIS_PID"
t1=$(now_ms)
[ "$(sed -n 3p lis2.out)" = accepted ] && [ "$(sed -n 4p lis2.out | jq -c .ok)" = true ] ||
	fail_later "after the link ended, the next listener was not served: $(cat lis2.out)"
[ $((t1 - t0)) -lt 5000 ] || fail_later "the server dialed again after $((t1 - t0)) ms"
srv_stop TERM

# ---------------------------------------------------------------- nothing listening yet
# A port that was just free: the server tries, then connects once something listens.
listener gone 0
kill "$LIS_PID"
wait "$LIS_PID" 2>/dev/null
port=$LPORT
srv_start early -v -c "127.0.0.1:$port" sys
sleep 2.5
t0=$(now_ms)
listener lis3 "$port" ping
wait "$LIS_PID"
t1=$(now_ms)
[ "$(sed -n 4p lis3.out | jq -c .ok)" = true ] || fail_later "the listener that came late was not served: $(cat lis3.out)"
[ $((t1 - t0)) -lt 3000 ] || fail_later "the late listener was dialed after $((t1 - t0)) ms (want within a second or two)"
[ "$(grep -c "Connection refused.*trying again every 1 s" early.err)" = 1 ] ||
	fail_later "the failed connects were not said once: $(grep -c 'Connection refused' early.err) lines"
srv_stop TERM

# ---------------------------------------------------------------- tokens
listener lis4 -t "tok 1" ping
srv_start tok -v -c "127.0.0.1:$LPORT" --token "tok 1" sys
wait "$LIS_PID"
[ "$(hello_of lis4 .token)" = "tok 1" ] && [ "$(sed -n 3p lis4.out)" = accepted ] &&
	[ "$(sed -n 4p lis4.out | jq -c .ok)" = true ] || fail_later "with --token: $(cat lis4.out)"
srv_stop TERM
listener lis5 -t "another" ping
srv_start tokbad -v -c "127.0.0.1:$LPORT" --token "tok 1" sys
wait "$LIS_PID"
[ "$(sed -n 3p lis5.out)" = refused ] || fail_later "the listener did not refuse the wrong token: $(cat lis5.out)"
wait_for has tokbad.err "the hello was refused: token refused" ||
	fail_later "the refusal is not logged with its reason: $(cat tokbad.err)"
srv_stop TERM

# ---------------------------------------------------------------- -c and --listen
listener lis6 ping
srv_start both -c "127.0.0.1:$LPORT" --listen 127.0.0.1:0 --no-multicast sys
has both.err "dialing 127\.0\.0\.1:$LPORT" || fail_later "-c and --listen: no 'dialing' line"
lp direct connect "127.0.0.1:$PORT" hello ping
[ "$(line direct 2 | jq -c .ok)" = true ] || fail_later "-c and --listen: the listening side does not serve"
wait "$LIS_PID"
[ "$(sed -n 4p lis6.out | jq -c .ok)" = true ] || fail_later "-c and --listen: the dialed side does not serve"
srv_stop TERM
finish
