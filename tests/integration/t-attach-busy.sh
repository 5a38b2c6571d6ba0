#!/bin/bash
# t-attach-busy: two memtrace -p on one process at once.  While a first
# memtrace is attached to attach_server (tests/victims/attach_server.c), a
# second, with -x and with a console on a pipe, must exit 11 with a message
# that says "busy" and gives the first memtrace's pid, without injecting
# again (the agent mapped once) or disturbing the first session: it still
# answers, and its report shows exactly the blocks leaked in it.  Once the
# first has detached (status 0), a new memtrace -p attaches normally.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_server) || exit 99

splain "$prog" "leak 2" "leak 1"

sstart t "$prog"
pid=$VPID
attach_console first "$pid"
first=$MT_PID

# busy TAG: the second memtrace's verdict.
busy() {
	expect_rc "$1" 11 || fail_later "second memtrace -p ($1): exit status"
	has "$1.err" busy || { fail_later "second memtrace -p ($1): no \"busy\" in its message"; show "$1.err"; }
	has "$1.err" "(^|[^0-9])$first([^0-9]|\$)" ||
		{ fail_later "second memtrace -p ($1): its message does not name the first memtrace, pid $first"; show "$1.err"; }
	! has "$1.out" '^ *in use: ' || fail_later "second memtrace -p ($1) ran the console's status"
}
run_mt second -p "$pid" -x status
busy second
RUN_STDIN=/dev/null run_mt third -p "$pid"
busy third
printf 'status\nreport\n' >cmds
RUN_STDIN=cmds run_mt fourth -p "$pid"
busy fourth
[ "$(agent_loads "$pid")" = 1 ] || fail_later "the agent is mapped $(agent_loads "$pid") times after the refused attaches"

# The first session goes on.
scmd leak 2 || fail_later "leak during the first session"
two_status() { [ "$(grep -c '^ *in use: ' first.out)" -ge 2 ]; }
console_send status
WAIT_SECONDS=10 wait_for two_status ||
	fail_later "the first memtrace no longer answers status"
mt_report first first.json
if valid_json first.json; then
	got=$(group_of first.json "$prog" leak_on_request)
	[ "$got" = "2 80" ] || fail_later "first session: leak_on_request '${got:-nothing}', expected '2 80'"
fi
mt_end first detach

run_mt after -p "$pid" -x status
expect_rc after 0 || fail_later "memtrace -p after the first detached: exit status"
has after.out '^ *in use: ' || fail_later "memtrace -p after the first detached: no status"
scmd leak 1 || fail_later "leak after the sessions"
sworks "after the sessions"
sstop t
same_behaviour plain t || fail_later "the victim behaves differently for having been attached"
finish
