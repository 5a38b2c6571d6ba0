#!/bin/bash
# t-link-lost: the link never holds the traced program hostage.
#   - the server killed (SIGKILL) in the middle of a session: memtrace says
#     once that it is gone and reports are raw from then on (status says
#     so), the console goes on, later reports and the exit report are raw,
#     and the program ends as it would;
#   - --connect to a port nobody listens on: a warning, a raw report, the
#     program's output and status unchanged, and no wait;
#   - memtrace -p PID --connect: the console report of an attached process
#     is decoded; after detach the process runs on and ends well.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/link.sh
. "$(dirname "$0")/../lib/link.sh"

link_setup
srv_local srv
to=127.0.0.1:$SRV_PORT

# ---------------------------------------------------------------- killed mid-session
dev_copy ticker
ticker=$DEV
console_start con --connect "$to" --json -o exit.json "$ticker" -f "$PWD/stop" -s 25
WAIT_SECONDS=20 wait_for test -s ticker.started || fail_later "ticker did not start under memtrace"
console_send "report -c 0 --json -o before.json"
console_send status
WAIT_SECONDS=30 wait_for valid_json before.json || fail_later "no report before the kill"
srv_stop srv KILL
console_send "report -c 0 --json -o after.json"
console_send "report -c 1"
console_send status
# shellcheck disable=SC2317 # called through wait_for
statuses() { [ "$(grep -c '^server: ' con.out 2>/dev/null)" -ge "$1" ]; }
WAIT_SECONDS=30 wait_for statuses 2 ||
	fail_later "no status after the server was killed"
WAIT_SECONDS=10 wait_for valid_json after.json || fail_later "no report after the kill"
: >stop
console_end
expect_rc con 0 || fail_later "killed server: memtrace's exit status is not ticker's"
fn_decoded "report before the kill" before.json leak_big ticker.c
expect_raw "report after the kill" after.json
expect_raw "exit report after the kill" exit.json
n=$(grep -c "memtrace-server at $to is gone" con.err)
[ "$n" = 1 ] || { fail_later "the server's end is said $n times, not once"; show con.err; }
has con.err "is gone \([^)]+\); reports are not decoded from now on" ||
	{ fail_later "the warning does not say reports are raw from now on"; show con.err; }
has con.out "^server: none \(reports raw\): memtrace-server at $to is gone" ||
	{ fail_later "status after the kill does not say the server is gone"; show con.out; }
has con.out "^ *#0 +0x[0-9a-f]+ +\?\? +\($ticker\+0x" ||
	{ fail_later "the text report after the kill is not raw"; show con.out; }
has con.out '^ticker: stopped after [0-9]+ ticks$' || fail_later "ticker's own output is missing"

# ---------------------------------------------------------------- nobody there
# The killed server's port: nothing listens there now.
no_server nobody "--connect to a closed port" "warning: cannot connect to $to: Connection refused" 3000 \
	--connect "$to"

# ---------------------------------------------------------------- attached
aprog=$(victim attach_server)
mkdir -p "sys$(dirname "$aprog")" || broken "mkdir"
cp "$aprog" "sys$aprog" || broken "cp attach_server"
srv_local srv2
sstart att "$aprog"
if attach_console att.mt "$VPID" --connect "127.0.0.1:$SRV_PORT"; then
	scmd leak 3 || fail_later "attached: leak"
	mt_report att.mt att.json && fn_decoded "attached: report" att.json leak_on_request attach_server.c
	mt_end att.mt detach
	has att.mt.out "^server: memtrace-server [^ ]+ at 127\.0\.0\.1:$SRV_PORT \(reports decoded\)$" ||
		{ fail_later "attached: status does not say the link is up"; show att.mt.out; }
fi
sping "after detach"
beating "after detach"
sstop att
expect_rc att 0 || fail_later "attach_server did not end well after the session"
srv_stop srv2
finish
