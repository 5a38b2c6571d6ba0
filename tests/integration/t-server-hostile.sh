#!/bin/bash
# t-server-hostile: a slow or hostile peer never harms the others, and the
# server never reads a file outside its sysroots whatever a peer asks.
#
# While a well-behaved peer pings every 100 ms (each answer must come within
# 1 s), hostile peers, each on its own connection: garbage bytes (taken as a
# length over 1 GiB: an error reply, then closed); a JSON that is not an
# object, a wrong "v", an unknown cmd, not JSON, a core on a channel that
# never said hello, frames and a gdb command with no core or gdb session
# (error replies, the link goes on); a length over 64 MiB with its body (error reply, body skipped, the
# next request on the same connection answered); a length over 1 GiB
# (closed); over 64 KiB before the hello (closed); a message stalled halfway
# (closed when the stall time runs out); a decode of a large report whose
# reply is never read (closed when the unread time runs out); a core whose
# channel closes early (an error naming the bytes that came, nothing left in
# --cores) and a whole one that is not a core (kept, the error names the
# file; the link goes on). The time
# limits are shortened to 2 s by MEMTRACE_SERVER_TIMEOUTS_MS. The server is
# alive at the end, and every error was logged naming its peer.
#
# Then module paths that try to leave the sysroot: "/../../etc/passwd"
# (refused), a link in the sysroot that climbs out of it and one with an
# absolute target, both to a canary outside (the unstripped victim): not
# found, no function of the canary named, and strace (when it runs) shows
# no open of anything outside.
# "A && B || fail": a failure of either step is the one to report.
# shellcheck disable=SC2015
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

# shellcheck source-path=SCRIPTDIR source=../lib/server.sh
. "$(dirname "$0")/../lib/server.sh"

# error_of TAG N: the "id error" of line N of TAG.out.
error_of() {
	line "$1" "$2" | jq -r '"\(.id) \(.error)"' 2>/dev/null
}

prog=$(victim server_leak)
mkdir -p sys/usr/bin outside || broken "mkdir"
cp "$prog" sys/usr/bin/server_leak && cp "$prog" outside/canary || broken "cp"

mkdir -p kept || broken "mkdir"
MEMTRACE_SERVER_TIMEOUTS_MS=10000,2000,2000 srv_start srv -v --listen 127.0.0.1:0 --no-multicast --cores kept sys
addr=127.0.0.1:$PORT

# ---------------------------------------------------------------- the well-behaved peer
lp good -w 5 connect "$addr" hello pings=80:100 bye &
good_pid=$!

# ---------------------------------------------------------------- the others, all at once
pids=()
lp garbage connect "$addr" "raw=GET / HTTP/1.0" recv expect-close &
pids+=($!)
lp json connect "$addr" hello "send=[1,2]" 'send={"v":2,"id":5,"cmd":"ping"}' 'send={"v":1,"id":6,"cmd":"frob"}' \
	"send=not json" 'send={"v":1,"id":7}' 'send={"v":1,"id":8,"cmd":"core","channel":"0123456789abcdef0123","size":10}' \
	'send={"v":1,"id":9,"cmd":"frames","ctx":1}' 'send={"v":1,"id":10,"cmd":"gdb-exec","command":"shell id"}' ping &
pids+=($!)
lp big connect "$addr" hello len=67108865 zeros=67108865 recv ping &
pids+=($!)
lp huge connect "$addr" hello len=1073741825 recv expect-close &
pids+=($!)
lp early connect "$addr" len=65537 recv expect-close &
pids+=($!)
lp stall -w 10 connect "$addr" hello len=100 raw=abc expect-close &
pids+=($!)
lp cut -w 20 connect "$addr" hello core=100000:1000 core=5000:5000 ping &
pids+=($!)
lp unread -r 4096 connect "127.0.0.1:$PORT" hello synth=30000 hold=5 &
pids+=($!)
wait_pid_gone "$good_pid" 25 || fail_later "the well-behaved peer did not finish in 25 s"
wait "${pids[@]}" "$good_pid"

case $(tail -n 2 good.out | head -n 1) in
"pings 80 max_ms "*)
	worst=$(tail -n 2 good.out | head -n 1 | awk '{ print $4 }')
	[ "$worst" -lt 1000 ] || fail_later "the well-behaved peer waited $worst ms for a ping's answer (want < 1000)"
	note "the well-behaved peer's slowest ping answer: $worst ms"
	;;
*) fail_later "the well-behaved peer was not answered: $(tail -n 3 good.out)" ;;
esac

[ "$(error_of garbage 1)" = "0 a message of 1195725856 bytes: the stream is out of step (garbage?): closing" ] &&
	[ "$(line garbage 2)" = closed ] || fail_later "garbage bytes: $(cat garbage.out)"
[ "$(error_of json 2)" = "0 a message that is not a JSON object" ] &&
	[ "$(error_of json 3)" = "5 protocol version 2: this memtrace-server speaks version 1" ] &&
	[ "$(error_of json 4)" = "6 unknown command 'frob' (this memtrace-server 0.2.0 knows decode, sample, unwind, ping, bye, core, frames, blocks, inspect and gdb-*)" ] &&
	[[ "$(error_of json 5)" = "0 a message that is not JSON (error near byte 0 of 8)" ]] &&
	[ "$(error_of json 6)" = "7 no \"cmd\" in the request" ] &&
	[ "$(error_of json 7)" = "8 core: no channel of that key has said hello (or it waited more than 10 s)" ] &&
	[ "$(error_of json 8)" = "9 frames: no core and no gdb session yet (coredump, or gdb, first)" ] &&
	[ "$(error_of json 9)" = "10 gdb-exec: no core and no gdb session yet (coredump, or gdb, first)" ] &&
	[ "$(line json 10 | jq -c '[.ok]')" = '[true]' ] || fail_later "bad JSON requests: $(cat json.out)"
[ "$(error_of big 2)" = "0 a message of 67108865 bytes, over the limit of 67108864: skipped" ] &&
	[ "$(line big 3 | jq -c .ok)" = true ] || fail_later "over 64 MiB, then a ping: $(cut -c1-200 big.out)"
[ "$(error_of huge 2)" = "0 a message of 1073741825 bytes: the stream is out of step (garbage?): closing" ] &&
	[ "$(line huge 3)" = closed ] || fail_later "over 1 GiB: $(cat huge.out)"
[ "$(error_of early 1)" = "0 a message of 65537 bytes before the hello, which is at most 65536: closing" ] &&
	[ "$(line early 2)" = closed ] || fail_later "over 64 KiB before the hello: $(cat early.out)"
[ "$(line stall 2)" = closed ] || fail_later "a stalled message: the connection was not closed ($(cat stall.out))"
# a core cut short leaves nothing in --cores; a whole one that is no core is kept, and the error names it
kept=$PWD/kept/core.server_leak.4242.1
[ "$(line cut 2 | jq -c .ok)" = true ] &&
	[ "$(line cut 3 | jq -r .error)" = "core: receiving it: the device closed the channel after 1000 of 100000 bytes" ] &&
	[ "$(line cut 4 | jq -c .ok)" = true ] &&
	[[ "$(line cut 5 | jq -r .error)" == "core: received; kept as $kept, but gdb cannot open it: "* ]] &&
	[ "$(line cut 6 | jq -c .ok)" = true ] || fail_later "cores that are cut short or not cores: $(cat cut.out)"
[ "$(ls kept)" = core.server_leak.4242.1 ] && [ "$(stat -c %s "$kept")" = 5000 ] ||
	fail_later "--cores kept: not only the whole 5000 bytes: $(ls -l kept)"

for re in "out of step \(garbage\?\)" "not a JSON object" "protocol version 2" "unknown command 'frob'" \
	"not JSON" "over the limit of 67108864" "before the hello" "a message stalled halfway for 2 s: closing" \
	"a reply left unread for 2 s: closing"; do
	has srv.err "^memtrace-server: warning: 127\.0\.0\.1:[0-9]+: .*$re" || fail_later "no warning '$re' naming the peer"
done

# ---------------------------------------------------------------- the sysroot is not left
up=$(echo "$PWD/sys/usr/bin" | sed -e 's|^/||' -e 's|[^/][^/]*|..|g')
ln -s "../../../outside/canary" sys/usr/bin/canary && ln -s "$PWD/outside/canary" sys/usr/bin/canary-abs ||
	broken "ln"
[ "$(readlink -f sys/usr/bin/canary)" = "$PWD/outside/canary" ] || broken "the link does not reach outside/"
# Frames at each function of the victim, in each of those modules: decoded, they would name its functions.
frames=$(nm --defined-only "$prog" | awk '$2 ~ /^[tT]$/ && $3 ~ /^server_leak/ { print "0x" $1 }' |
	jq -R -s -c --arg ups "/$up" 'split("\n") | map(select(length > 0)) | [.[] as $o
		| ("/../../etc/passwd", "/usr/bin/canary", "/usr/bin/canary-abs", "/usr/bin/server_leak",
		   ($ups + "/outside/canary"))
		| {addr: $o, module: ., offset: $o}]')
echo "{\"version\":1,\"contexts\":[{\"id\":1,\"frames\":$frames}]}" >escape.json
valid_json escape.json || broken "escape.json"

strace_log=
if command -v strace >/dev/null && strace -f -o /dev/null true 2>/dev/null; then
	strace_log=$PWD/strace.log
	strace -f -e trace=open,openat,openat2,readlink,readlinkat -o "$strace_log" -p "$SRV_PID" 2>strace.err &
	strace_pid=$!
	wait_for has strace.err "attached" || note "strace did not say it attached: $(head -c 300 strace.err)"
fi
lp esc connect "$addr" hello decode=escape.json
[ -n "$strace_log" ] && { kill -INT "$strace_pid" 2>/dev/null; wait "$strace_pid" 2>/dev/null; }
line esc 2 | jq .report >esc.json 2>/dev/null && valid_json esc.json || fail_later "escape: no decoded report"
status() {
	jq -r --arg m "$1" '[.contexts[].frames[] | select(.module == $m) | .decode] | unique | join(" ")' esc.json
}
[ "$(status /../../etc/passwd)" = refused ] || fail_later "module /../../etc/passwd: '$(status /../../etc/passwd)', want refused"
[ "$(status "/$up/outside/canary")" = refused ] || fail_later "module /../..(...)/outside/canary: not refused"
[ "$(status /usr/bin/canary)" = not_found ] || fail_later "a link climbing out of the sysroot: '$(status /usr/bin/canary)', want not_found"
[ "$(status /usr/bin/canary-abs)" = not_found ] || fail_later "an absolute link out of the sysroot: '$(status /usr/bin/canary-abs)'"
[ "$(status /usr/bin/server_leak)" = ok ] || fail_later "the victim inside the sysroot was not decoded: '$(status /usr/bin/server_leak)'"
got=$(jq -r '[.contexts[].frames[] | select(.module != "/usr/bin/server_leak") | .function // empty] | join(" ")' esc.json)
[ -z "$got" ] || fail_later "frames outside the sysroot were decoded (the canary was read): $got"
has srv.err "leads outside the sysroot" || fail_later "no warning that a link leads outside the sysroot"
if [ -n "$strace_log" ]; then
	if grep -q 'server_leak' "$strace_log"; then
		bad=$(grep -E 'open[a-z0-9]*\(.*("[^"]*outside[^"]*"|/etc/passwd)' "$strace_log" | grep -v ENOENT)
		[ -z "$bad" ] || fail_later "the server opened files outside its sysroot:
$bad"
		note "strace: $(grep -c 'open' "$strace_log") opens, none outside the sysroot"
	else
		note "strace saw no open of the sysroot's files (attached too late?): $(head -c 300 strace.err)"
	fi
fi

# ---------------------------------------------------------------- still alive
lp last connect "$addr" hello ping
[ "$(line last 2 | jq -c .ok)" = true ] || fail_later "the server does not answer any more: $(cat last.out)"
srv_stop TERM
finish
