#!/bin/bash
# t-link-connect: memtrace --connect to a memtrace-server on loopback has its
# reports decoded on the "host" (tests/lib/link.sh: a stripped victim runs,
# its unstripped build is in the server's sysroot).
#   - the JSON exit report (-o FILE) of server_leak: the leaking functions,
#     file:line and the always-inlined helper as the victim states them; the
#     raw fields keep the contract; the victim's output and status as
#     without memtrace;
#   - the text exit report on standard output shows the same;
#   - the console (on a pipe, ticker running): `report --json` decoded,
#     `report --raw --json` not, text `report` decoded, `status` says the
#     link is up; the exit report of that run decoded too.
# shellcheck disable=SC2119 # console_end takes an optional time limit
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/link.sh
. "$(dirname "$0")/../lib/link.sh"

link_setup
srv_local srv
to=127.0.0.1:$SRV_PORT

# ---------------------------------------------------------------- exit report, JSON
run_traced json --connect "$to" "$dev"
same_behaviour plain json || fail_later "--connect: server_leak behaves differently under memtrace"
if expect_decoded "exit report (--json)" json.json; then
	check_report_sane json.json "$dev" "$DEFAULT_UNWINDER" 32 exit || fail_later "the decoded exit report breaks the raw contract"
fi
[ ! -s json.err ] || { fail_later "--connect with a server: memtrace wrote on stderr"; show json.err; }

# ---------------------------------------------------------------- exit report, text
run_mt text --connect "$to" "$dev"
expect_rc text 0 || fail_later "text: exit status"
expect_decoded_text "text exit report" text.out
grep -q '^EXPECT server_leak_inlined 1 48$' text.out || fail_later "text: the victim's output is missing"

# ---------------------------------------------------------------- console
dev_copy ticker
ticker=$DEV
console_start con --connect "$to" --json -o con-exit.json "$ticker" -f "$PWD/stop" -s 25
WAIT_SECONDS=20 wait_for test -s ticker.started || fail_later "ticker did not start under memtrace"
console_send "report -c 0 --json -o con-dec.json"
console_send "report -c 0 --raw --json -o con-raw.json"
console_send "report -c 1"
console_send "status"
WAIT_SECONDS=30 wait_for has con.out '^server: ' || fail_later "status: no 'server:' line within 30 s"
: >stop
console_end
expect_rc con 0 || fail_later "console run: exit status"
fn_decoded "console report --json" con-dec.json leak_big ticker.c
expect_raw "console report --raw --json" con-raw.json
has con.out "^ *#0 +0x[0-9a-f]+ +leak_big at [^ ]*/ticker\.c:[0-9]+ \($ticker\+0x" ||
	{ fail_later "console text report: leak_big not shown decoded"; show con.out; }
has con.out "^server: memtrace-server [^ ]+ at 127\.0\.0\.1:$SRV_PORT \(reports decoded\)$" ||
	{ fail_later "status: the server line does not say the link is up"; show con.out; }
fn_decoded "console run's exit report" con-exit.json leak_big ticker.c
fn_decoded "console run's exit report" con-exit.json tick_leak ticker.c
has con.out '^ticker: stopped after [0-9]+ ticks$' || fail_later "ticker's own output is missing"

srv_stop srv
finish
