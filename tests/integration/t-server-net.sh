#!/bin/bash
# t-server-net: memtrace-server serving over TCP. A report memtrace wrote for
# a stripped program (tests/victims/server_leak.c, as in t-server-decode) is
# sent by a scripted peer (tests/tools/linkpeer) as a decode request to a
# server on 127.0.0.1:0, with the unstripped build in the sysroot:
#   - the listening address with its real port is printed at start;
#   - hello, ping, decode, bye answered in order, with the request's ids; the
#     decoded report names the leaking functions, file:line and the inlined
#     helper, exactly as `memtrace-server --report` decodes the same file;
#     after bye the server closes;
#   - a second connection gets the same (cached) answer;
#   - a port already taken: exit status 1, and the message says what to do;
#   - usage errors of the network options; --cores that is no writable
#     directory: exit 1 saying why; SIGINT ends the server, status 0.
# With the [asan] memtrace, the AddressSanitizer build of memtrace-server runs
# (and its stderr must hold no sanitizer report).
# "A && B || fail": a failure of either step is the one to report.
# shellcheck disable=SC2015
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
. "$(dirname "$0")/../lib/server.sh"
command -v strip >/dev/null || skip "strip missing (binutils)"

# ---------------------------------------------------------------- the device's report
prog=$(victim server_leak)
mkdir -p dev || broken "mkdir"
dev=$PWD/dev/server_leak
strip -o "$dev" "$prog" || broken "strip $prog"
run_plain plain "$prog"
call_line=$(awk '$1 == "INLINED" { print $3 }' plain.out)
malloc_line=$(awk '$1 == "INLINED" { print $5 }' plain.out)
plain_line=$(awk '$1 == "SOURCE" { print $4 }' plain.out)
[ -n "$call_line" ] && [ -n "$plain_line" ] || broken "server_leak printed no INLINED/SOURCE line"
run_traced raw "$dev"
[ "$(rc_of raw)" = 0 ] && valid_json raw.json || { show raw.err; broken "no report of the stripped server_leak"; }
mkdir -p "sys$(dirname "$dev")" && cp "$prog" "sys$dev" || broken "sysroot"
# The offline decoding of the same report: what the network must give too.
"$SERVER" --report raw.json --json sys >offline.json 2>offline.err && valid_json offline.json ||
	broken "memtrace-server --report raw.json failed"

# ---------------------------------------------------------------- served
srv_start srv -v --listen 127.0.0.1:0 --no-multicast sys
[ -n "$PORT" ] && [ "$PORT" != 0 ] && has srv.err "^memtrace-server: listening on 127\.0\.0\.1:$PORT$" ||
	fail_later "no 'listening on 127.0.0.1:PORT' line with the real port"
! has srv.err "discovery on" || fail_later "--no-multicast, yet discovery is on"

lp dec connect "127.0.0.1:$PORT" hello ping decode=raw.json bye ping
[ "$(line dec 1 | jq -c '[.id, .ok, .role]')" = '[1,true,"server"]' ] || fail_later "hello: $(line dec 1)"
[ "$(line dec 2 | jq -c '[.id, .ok]')" = '[2,true]' ] || fail_later "ping: $(line dec 2)"
line dec 3 | jq .report >net.json 2>/dev/null
[ "$(line dec 3 | jq -c '[.id, .ok]' 2>/dev/null)" = '[3,true]' ] && valid_json net.json ||
	fail_later "decode: no report in the reply: $(line dec 3 | cut -c1-300)"
# leak BYTES FIELDS: FIELDS (jq) of frames[0] of the context of BYTES live bytes, in net.json.
leak() {
	jq -r --argjson b "$1" "first(.contexts[] | select(.live_bytes == \$b)) | .frames[0] | $2" net.json 2>/dev/null
}
got=$(leak 48 '"\(.decode) \(.function) \(.line) \(.inlined[0].function) \(.inlined[0].line)"')
[ "$got" = "ok server_leak_inlined $call_line make_record $malloc_line" ] ||
	fail_later "the inlined leak decoded as '$got', want 'ok server_leak_inlined $call_line make_record $malloc_line'"
case $(leak 48 .file) in */tests/victims/server_leak.c) ;; *) fail_later "file of the leak: '$(leak 48 .file)'" ;; esac
got=$(leak 32 '"\(.function):\(.line) \(.inlined | length)"')
[ "$got" = "server_leak_plain:$plain_line 0" ] || fail_later "the plain leak decoded as '$got'"
[ "$(leak 48 .host_file)" = "$(readlink -f "sys$dev")" ] || fail_later "host_file: $(leak 48 .host_file)"
cmp -s <(jq -S . net.json) <(jq -S . offline.json) ||
	fail_later "the decoded report differs from memtrace-server --report's: $(diff <(jq -S . net.json) <(jq -S . offline.json) | head -5)"
[ "$(line dec 4 | jq -c '[.id, .ok]')" = '[4,true]' ] || fail_later "bye: $(line dec 4)"
[ "$(line dec 5)" = closed ] || fail_later "after bye the connection is not closed: '$(line dec 5)'"
has srv.err "^memtrace-server: 127\.0\.0\.1:[0-9]+: hello accepted: memtrace 0\.2\.0, pid [0-9]+ \(/usr/bin/linkpeer\) on testhost$" ||
	fail_later "no log line of the hello accepted, naming the peer"

# Again on another connection: the same answer, from the caches.
lp again connect "127.0.0.1:$PORT" hello decode=raw.json
cmp -s <(line again 2 | jq -S .report) <(jq -S . offline.json) || fail_later "a second decode differs"

# ---------------------------------------------------------------- refusals at start and usage
timeout -k 5 20 "$SERVER" --listen "127.0.0.1:$PORT" --no-multicast sys >inuse.out 2>inuse.err
echo $? >inuse.rc
expect_rc inuse 1 && has inuse.err "127\.0\.0\.1:$PORT: Address already in use" && has inuse.err ":0 for any free one" ||
	fail_later "a port in use: not exit 1 with the cause and what to do"

srv_stop INT
has srv.err "SIGINT: stopping" || fail_later "no log line of the stop"

srv_usage u-report "not with --report" --report raw.json --listen :0 sys
srv_usage u-tokens "give one" --token a --token-file raw.json sys
srv_usage u-max "--max-clients '0'" --max-clients 0 sys
srv_usage u-listen "--listen" --listen 127.0.0.1:99999 sys
srv_usage u-connect "which host" -c :4000 sys
srv_usage u-token "control character" --token "$(printf 'a\tb')" sys
srv_usage u-cores "--cores is for serving, not with --report" --report raw.json --cores . sys
# --cores DIR that cannot take cores: exit 1 at start, saying why
for d in nodir raw.json; do
	timeout -k 5 20 "$SERVER" --listen 127.0.0.1:0 --no-multicast --cores "$d" sys >"cores-$d.out" 2>"cores-$d.err"
	echo $? >"cores-$d.rc"
	why="No such file or directory"
	[ "$d" = nodir ] || why="not a directory"
	expect_rc "cores-$d" 1 && has "cores-$d.err" "^memtrace-server: --cores $d: $why \(give a directory this user can write\)$" ||
		fail_later "--cores $d: not exit 1 saying '$why'"
done
"$SERVER" --help >help.out 2>&1
for o in --listen --connect --multicast-group --no-multicast --token --token-file --max-clients --cores --report --json; do
	has help.out "^ +(-c, )?$o" || fail_later "--help does not describe $o"
done
finish
