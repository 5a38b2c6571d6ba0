#!/bin/bash
# t-link-listen: the roles inverted: memtrace --listen 127.0.0.1:0 (it says
# the port it got on stderr) waits, without holding up the program or the
# console, for memtrace-server -c to dial in (tests/lib/link.sh: stripped
# ticker on the "device", unstripped in the server's sysroot).
#   - before the dial-in, status says memtrace waits, and a report is raw;
#   - once the server dialed in, status says so, console reports and the
#     exit report are decoded;
#   - a second server that dials in meanwhile is refused (busy), and the
#     link goes on;
#   - the linked server killed: memtrace says it is gone and goes on; a new
#     server that dials in then is taken;
#   - ticker's output is there and its exit status is 0.
# shellcheck disable=SC2119 # console_end takes an optional time limit
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/link.sh
. "$(dirname "$0")/../lib/link.sh"

link_setup
dev_copy ticker
ticker=$DEV

# status_until PATTERN WHAT: ask status until a new line of con.out (after
# those there when called) matches (10 s).
status_until() {
	local n=50 mark
	mark=$(wc -l <con.out)
	while [ $n -gt 0 ]; do
		console_send status
		sleep 0.2
		tail -n +$((mark + 1)) con.out | grep -Eq -- "$1" && return 0
		n=$((n - 1))
	done
	fail_later "$2: no status line matching /$1/ within 10 s"
	show con.out
	show con.err
	return 1
}

console_start con -v --listen 127.0.0.1:0 --json -o exit.json "$ticker" -f "$PWD/stop" -s 25
mt_listening con || { console_end; finish; }
WAIT_SECONDS=20 wait_for test -s ticker.started || fail_later "ticker did not start under memtrace --listen"
status_until "^server: waiting on 127\.0\.0\.1:$MT_PORT for memtrace-server to dial in \(reports raw\)$" "before a dial-in"
console_send "report -c 0 --json -o raw.json"

srv_start srv -c "127.0.0.1:$MT_PORT" --no-multicast sys
first=$SRV_PID
status_until "^server: memtrace-server [^ ]+ at 127\.0\.0\.1:[0-9]+, dialed in \(reports decoded\)$" "after the dial-in"
has con.err 'memtrace-server [^ ]+ at 127\.0\.0\.1:[0-9]+ dialed in' || fail_later "no message that the server dialed in"
console_send "report -c 0 --json -o dec.json"

# A second server while linked: refused, the first stays.
srv_start srv2 -c "127.0.0.1:$MT_PORT" --no-multicast sys
WAIT_SECONDS=10 wait_for has con.err 'refused memtrace-server at [^ ]+: busy' ||
	{ fail_later "a second server dialing in was not refused as busy"; show con.err; }
srv_stop srv2
console_send "report -c 0 --json -o dec2.json"
console_send status
WAIT_SECONDS=30 wait_for valid_json dec2.json || fail_later "no report after the second dial-in"

# The first killed: gone, and the next dial-in is taken.
SRV_PID=$first
srv_stop srv KILL
WAIT_SECONDS=10 wait_for has con.err 'memtrace-server at [^ ]+ is gone' ||
	{ fail_later "no warning that the killed server is gone"; show con.err; }
status_until "^server: waiting on 127\.0\.0\.1:$MT_PORT for memtrace-server" "after the server was killed"
console_send "report -c 0 --json -o raw2.json"
srv_start srv3 -c "127.0.0.1:$MT_PORT" --no-multicast sys
status_until "^server: memtrace-server [^ ]+ at 127\.0\.0\.1:[0-9]+, dialed in \(reports decoded\)$" \
	"a new dial-in after the first server was gone"
console_send "report -c 0 --json -o dec3.json"
console_send status
WAIT_SECONDS=30 wait_for valid_json dec3.json || fail_later "no report after the new dial-in"

: >stop
console_end
expect_rc con 0 || fail_later "exit status"
expect_raw "report before the dial-in" raw.json
fn_decoded "report after the dial-in" dec.json leak_big ticker.c
fn_decoded "report after a refused second dial-in" dec2.json leak_big ticker.c
expect_raw "report after the server was killed" raw2.json
fn_decoded "report after a new dial-in" dec3.json leak_big ticker.c
fn_decoded "exit report" exit.json tick_leak ticker.c
for re in '^ticker: started$' '^ticker: stopped after [0-9]+ ticks$' '^EXPECT leak_big 1 100000$'; do
	has con.out "$re" || fail_later "ticker's output under memtrace has no line matching /$re/"
done
srv_stop srv3
finish
