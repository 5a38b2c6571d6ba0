#!/bin/bash
# t-console-stdin: console commands read from standard input, a pipe, with
# --console - (without it, a standard input that is not a terminal is
# PROG's: t-stdin-prog).
#  1. "sleep 1", "status", "report -c 1 -o one.txt", a bad command, "quit", then
#     "report -o late.txt": the commands before quit run, the bad one gives
#     a message and the session goes on, nothing after quit runs; memtrace
#     then waits for PROG to end (the ticker, 2 s) and gives the exit report.
#  2. EOF without quit: the console ends, memtrace stays until PROG ends
#     (it must still be running while PROG is), then the exit report.
#  3. A last line without a newline before EOF still counts as a line.
# Each exit report must match the ticker's EXPECT lines.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim ticker)

printf 'sleep 1\nstatus\nreport -c 1 -o one.txt\nfrobnicate\nstatus\nquit\nreport -o late.txt\n' >cmds1
RUN_STDIN=cmds1 run_traced q --console - "$prog" -s 2
expect_rc q 0 || fail_later "1: exit status"
[ "$(grep -c '^ *in use: ' q.out)" = 2 ] || fail_later "1: expected 2 status outputs before quit"
grep -qw leak_big one.txt 2>/dev/null || fail_later "1: report -c 1 -o one.txt did not run"
has q.err frobnicate || fail_later "1: no message for the bad command"
[ ! -e late.txt ] || fail_later "1: a command after quit ran"
check_victim_run q "$prog" "$DEFAULT_UNWINDER" || fail_later "1: exit report"

console_start eof --json -o eof.json "$prog" -f stop -s 60
wait_for test -e ticker.started || fail_later "2: the ticker did not start"
console_send status
wait_for has eof.out '^ *in use: ' || fail_later "2: status did not answer"
console_close
sleep 1
kill -0 "$MT_PID" 2>/dev/null || fail_later "2: memtrace ended at console EOF while PROG was running"
[ ! -s eof.json ] || fail_later "2: exit report written while PROG still runs"
touch stop
console_wait
expect_rc eof 0 || fail_later "2: exit status"
check_victim_run eof "$prog" "$DEFAULT_UNWINDER" || fail_later "2: exit report"

printf 'report -o nonl.txt' >cmds3
RUN_STDIN=cmds3 run_traced nonl --console - "$prog" -s 1
expect_rc nonl 0 || fail_later "3: exit status"
[ -s nonl.txt ] || fail_later "3: a last line without newline was not run"
finish
