#!/bin/bash
# t-console-x: console commands given with -x, while PROG runs
# (tests/victims/ticker.c: leak_big 100000 bytes, leak_dump_pattern 64
# bytes, then tick_leak 32 bytes every 5 ms).  status prints the contract's
# lines; report -c 1 shows only the largest context (text and --json);
# report --json -o FILE writes the contract's JSON with the three leaks;
# help names every command.  Then the console ends, memtrace waits for PROG
# and its exit report matches the ticker's EXPECT lines, tick count included.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim ticker)
bg_start x --json -o x.json \
	-x 'sleep 1' -x status -x 'report -c 1 -o one.txt' -x 'report -c 1 --json -o one.json' \
	-x 'report --json -o all.json' -x 'report -o all.txt' -x help -x 'report --json -o last.json' \
	"$prog" -f stop -s 60
WAIT_SECONDS=30 wait_for valid_json last.json || fail_later "the -x commands did not all run within 30 s"
touch stop
console_wait
expect_rc x 0 || fail_later "exit status"

check_status x.out || fail_later "status: not the contract's lines"
inuse=$(sed -n 's/^ *in use: \([0-9]*\) bytes.*/\1/p' x.out | head -n 1)
[ "${inuse:-0}" -ge 100064 ] || fail_later "status: in use ${inuse:-?} bytes, the ticker has 100064 or more"

if [ -s one.txt ]; then
	grep -qw leak_big one.txt || fail_later "report -c 1: does not name leak_big, the largest context"
	! grep -qwE 'tick_leak|leak_dump_pattern' one.txt || fail_later "report -c 1: shows more than one context"
else
	fail_later "report -c 1 -o one.txt: no file"
fi

if check_report_sane one.json "$prog" "$DEFAULT_UNWINDER" 32; then
	got=$(jq -r --arg m "$prog" "$JQ_DEFS"'[.contexts[] | own($m) | fn] | join(",")' one.json)
	[ "$got" = leak_big ] || fail_later "report -c 1 --json: contexts $got, expected leak_big alone"
else
	fail_later "report -c 1 --json -o one.json"
fi

if check_report_sane all.json "$prog" "$DEFAULT_UNWINDER" 32; then
	check_symbols all.json "$prog" || fail_later "report --json: symbols"
	[ "$(group_of all.json "$prog" leak_big)" = "1 100000" ] || fail_later "report --json: leak_big wrong"
	[ "$(group_of all.json "$prog" leak_dump_pattern)" = "1 64" ] || fail_later "report --json: leak_dump_pattern wrong"
	[ -n "$(group_of all.json "$prog" tick_leak)" ] || fail_later "report --json: no tick_leak"
	jq -e 'has("exit") | not' all.json >/dev/null || fail_later "report --json while PROG runs has an \"exit\" member"
else
	fail_later "report --json -o all.json"
fi
for fn in leak_big leak_dump_pattern tick_leak; do
	grep -qw "$fn" all.txt 2>/dev/null || fail_later "report -o all.txt: does not name $fn"
done

for cmd in help status monitor report clear dump sleep kill quit; do
	grep -qw "$cmd" x.out || fail_later "help: does not name the command $cmd"
done

check_victim_run x "$prog" "$DEFAULT_UNWINDER" || fail_later "exit report"
pid=$(cat ticker.started 2>/dev/null)
for f in all.json x.json; do
	[ "$(jq .pid $f 2>/dev/null)" = "$pid" ] || fail_later "$f: pid $(jq .pid $f 2>/dev/null), PROG's pid is $pid"
done
finish
