#!/bin/bash
# t-console-errors: a console command that is unknown or badly used gives a
# message naming the command (the unknown word itself for an unknown
# command) and the session goes on: later commands still work, PROG is not
# disturbed, memtrace still exits with PROG's status.  Bad commands:
# frobnicate, report -c abc, report --bogus, dump (no -c), dump -c 999999
# (no such context), dump -c, sleep abc, kill NOSUCHSIGNAL, leaks --kind
# lost, leaks -c abc.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim ticker)
bad=(frobnicate 'report -c abc' 'report --bogus' dump 'dump -c 999999' 'dump -c' 'sleep abc' 'kill NOSUCHSIGNAL'
	'leaks --kind lost' 'leaks -c abc')
args=()
for cmd in "${bad[@]}"; do
	args+=(-x "$cmd")
done
bg_start e --json -o e.json -x 'sleep 1' "${args[@]}" -x 'report --json -o after.json' -x status \
	"$prog" -f stop -s 60
WAIT_SECONDS=30 wait_for valid_json after.json ||
	fail_later "report after the bad commands: no valid file within 30 s (the session did not go on)"
touch stop
console_wait
expect_rc e 0 || fail_later "exit status: bad console commands changed it"

# The messages, on stderr or stdout, in the order of the commands: one for
# each, naming its command.
cat e.err e.out >all.txt
for cmd in "${bad[@]}"; do
	word=${cmd%% *}
	grep -v '^EXPECT\|^ticker:' all.txt | grep -qiw -- "$word" ||
		fail_later "'$cmd': no message naming '$word'"
done
[ "$(grep -c . e.err)" -ge "${#bad[@]}" ] ||
	fail_later "stderr has $(grep -c . e.err) lines for ${#bad[@]} bad commands"
check_status e.out || fail_later "status after the bad commands"
check_report_sane after.json "$prog" "$DEFAULT_UNWINDER" 32 || fail_later "report after the bad commands"
check_victim_run e "$prog" "$DEFAULT_UNWINDER" || fail_later "exit report"
[ "$FAILURES" -eq 0 ] || show e.err
finish
