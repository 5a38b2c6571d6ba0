#!/bin/bash
# t-console-file: --console names where console commands come from.
#  1. --console FILE (a regular file) while PROG keeps its own standard
#     input (a pipe): the commands run (status, report -o), PROG reads its
#     line, the exit report comes.
#  2. --console - : commands from standard input, a pipe (today's pipe
#     console, now asked for by name); PROG does not get that input.
#  3. --console FIFO: memtrace does not wait for a writer to start PROG;
#     commands written later run; EOF closes the console, memtrace then
#     waits for PROG.
#  4. -x then --console: the -x commands run first, then the console's.
#  5. Attached (-p), standard input is the console, a pipe included.
#  6. Bad --console: a missing file, a directory, an empty name: exit 2
#     with a message naming it, nothing started.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim ticker)
BASH_BIN=$(command -v bash) || skip "no bash"

note "1. --console FILE, PROG's stdin a pipe"
printf 'status\nreport -c 1 -o one.txt\n' >cmds1
# PROG (bash) reads one line of its standard input, then waits for f.stop.
printf 'for-prog\n' | {
	"$MEMTRACE" --console cmds1 --json -o f.json "$BASH_BIN" -c \
		'IFS= read -r l; echo "prog:$l" >prog.line; while [ ! -e f.stop ]; do sleep 0.05; done' >f.out 2>f.err &
	MT_PID=$!
	wait_for test -s one.txt || fail_later "1: report -c 1 -o one.txt from the console file did not run"
	touch f.stop
	wait "$MT_PID"
	echo $? >f.rc
	MT_PID=
}
expect_rc f 0 || fail_later "1: exit status"
[ "$(cat prog.line 2>/dev/null)" = prog:for-prog ] || fail_later "1: PROG did not get its standard input ($(cat prog.line 2>/dev/null))"
has f.out '^ *in use: ' || { fail_later "1: no status output"; show f.out; }
valid_json f.json || fail_later "1: no exit report"

note "2. --console -"
printf 'status\nreport -c 1 -o two.txt\nquit\n' >cmds2
RUN_STDIN=cmds2 run_traced dash --console - "$prog" -s 1
expect_rc dash 0 || fail_later "2: exit status"
has dash.out '^ *in use: ' || fail_later "2: no status output"
[ -s two.txt ] || fail_later "2: report -o two.txt did not run"
check_victim_run dash "$prog" "$DEFAULT_UNWINDER" || fail_later "2: exit report"

note "3. --console FIFO, its writer comes later"
mkfifo ff
"$MEMTRACE" --console ff --json -o fifo.json "$prog" -f fifo.stop -s 60 </dev/null >fifo.out 2>fifo.err &
MT_PID=$!
CONSOLE_TAG=fifo
# The program runs although nobody writes to the FIFO yet.
wait_for test -e ticker.started || fail_later "3: the program did not start before a writer opened the FIFO"
exec 9>ff
printf 'status\n' >&9
wait_for has fifo.out '^ *in use: ' || fail_later "3: status written to the FIFO did not run"
exec 9>&-
sleep 0.5
kill -0 "$MT_PID" 2>/dev/null || fail_later "3: memtrace ended at the FIFO's EOF while PROG runs"
touch fifo.stop
console_wait
expect_rc fifo 0 || fail_later "3: exit status"
check_victim_run fifo "$prog" "$DEFAULT_UNWINDER" || fail_later "3: exit report"

note "4. -x, then --console"
printf 'report -c 1 -o four-console.txt\n' >cmds4
run_traced four -x 'report -c 1 -o four-x.txt' --console cmds4 "$prog" -s 1
expect_rc four 0 || fail_later "4: exit status"
[ -s four-x.txt ] || fail_later "4: the -x command did not run"
[ -s four-console.txt ] || fail_later "4: the console's command did not run after -x"
check_victim_run four "$prog" "$DEFAULT_UNWINDER" || fail_later "4: exit report"

note "5. attached: standard input is the console, a pipe too"
aprog=$(victim attach_basic) || exit 99
vstart a "$aprog"
printf 'status\ndetach\n' | timeout -k 5 "$MT_TIMEOUT" "$MEMTRACE" -p "$VPID" >a.mt.out 2>a.mt.err
echo $? >a.mt.rc
expect_rc a.mt 0 || fail_later "5: exit status"
has a.mt.out '^ *in use: ' || { fail_later "5: no status from the piped console"; show a.mt.err; }
vgo a
vwait_file a leaked || fail_later "5: the victim did not go on"
vstop a

note "6. bad --console"
run_mt missing --console no-such-file "$prog" -s 1
expect_rc missing 2 || fail_later "6: missing file: exit status"
has missing.err '^memtrace: --console no-such-file: No such file or directory' || fail_later "6: missing file: message"
mkdir adir
run_mt dir --console adir "$prog" -s 1
expect_rc dir 2 || fail_later "6: directory: exit status"
has dir.err '^memtrace: --console adir: is a directory' || fail_later "6: directory: message"
run_mt empty --console '' "$prog" -s 1
expect_rc empty 2 || fail_later "6: empty name: exit status"
has empty.err '^memtrace: --console wants a file' || fail_later "6: empty name: message"
run_mt twice --console - --console - "$prog" -s 1
expect_rc twice 2 || fail_later "6: given twice: exit status"
for t in missing dir empty twice; do
	[ ! -s "$t.out" ] || { fail_later "6: $t: the program ran"; show "$t.out"; }
done
finish
