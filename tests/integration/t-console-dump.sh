#!/bin/bash
# t-console-dump: dump -c ID shows the bytes of a live block, with the console
# read from a pipe.  The context IDs come from a `report --json -o FILE` in the
# same session: the ticker (tests/victims/ticker.c) fills its 64-byte block
# from leak_dump_pattern with "MEMTRACE-DUMP-TEST" repeated, leak_big's block
# with 'B'.  The hex bytes must be in the output (ASCII column or not, byte
# order as in memory).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim ticker)
console_start d --json -o d.json "$prog" -f stop -s 60
wait_for test -e ticker.started || fail_later "the ticker did not start"
console_send 'report --json -o ids.json'
if wait_for valid_json ids.json; then
	pat=$(jq -r --arg m "$prog" "$JQ_DEFS"'.contexts[] | select(own($m) | fn == "leak_dump_pattern") | .id' ids.json)
	big=$(jq -r --arg m "$prog" "$JQ_DEFS"'.contexts[] | select(own($m) | fn == "leak_big") | .id' ids.json)
else
	fail_later "report --json -o ids.json: no valid file"
fi
if [ -n "${pat:-}" ] && [ -n "${big:-}" ]; then
	console_send "dump -c $pat"
	console_send "dump -c $big"
	console_send 'report --json -o done.json'
	wait_for test -s done.json || fail_later "the console stopped answering after dump"
else
	fail_later "no context for leak_dump_pattern or leak_big in ids.json"
fi
touch stop
console_end "$MT_TIMEOUT"
expect_rc d 0 || fail_later "exit status"

# all whitespace out: the hex of the bytes, as dumped, runs together
hex=$(tr -d ' \t\n' <d.out | tr 'A-F' 'a-f')
memtrace_hex=4d454d5452414345 # "MEMTRACE"
case $hex in
*"$memtrace_hex"*) ;;
*) fail_later "dump -c ${pat:-?}: the bytes of \"MEMTRACE\" ($memtrace_hex) are not in the output" ;;
esac
case $hex in
*4242424242424242*) ;;
*) fail_later "dump -c ${big:-?}: the bytes of leak_big's block (42 42 ...) are not in the output" ;;
esac
[ "$FAILURES" -eq 0 ] || show d.out
check_victim_run d "$prog" "$DEFAULT_UNWINDER" || fail_later "exit report"
finish
