#!/bin/bash
# t-console-clear: `clear` forgets what was recorded so far.  A report after
# clear shows nothing older: not the ticker's two blocks leaked at its start
# (leak_big, leak_dump_pattern), only tick_leak blocks allocated since, and
# status shows less than leak_big's 100000 bytes in use.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim ticker)
bg_start c --json -o c.json \
	-x 'sleep 1' -x 'report --json -o before.json' -x clear -x 'sleep 1' \
	-x 'report --json -o after.json' -x status \
	"$prog" -f stop -s 60
WAIT_SECONDS=30 wait_for valid_json after.json || fail_later "report after clear: no valid file within 30 s"
touch stop
console_wait
expect_rc c 0 || fail_later "exit status"

if check_report_sane before.json "$prog" "$DEFAULT_UNWINDER" 32; then
	[ "$(group_of before.json "$prog" leak_big)" = "1 100000" ] || fail_later "before clear: leak_big missing"
fi
if check_report_sane after.json "$prog" "$DEFAULT_UNWINDER" 32; then
	for fn in leak_big leak_dump_pattern; do
		got=$(group_of after.json "$prog" $fn)
		[ -z "$got" ] || fail_later "after clear: $fn, older than the clear, still reported ($got)"
	done
	got=$(group_of after.json "$prog" tick_leak)
	[ -n "$got" ] || fail_later "after clear: no tick_leak blocks, though the ticker kept leaking"
	b=$(group_of before.json "$prog" tick_leak)
	if [ -n "$got" ] && [ -n "$b" ]; then
		total=$(($(awk '$2 == "tick_leak" { print $3 }' c.out)))
		[ "${got% *}" -lt "$total" ] ||
			fail_later "after clear: $got tick_leak blocks, as many as the ticker made in all ($total)"
	fi
	jq -e '.summary.in_use_bytes < 100000' after.json >/dev/null ||
		fail_later "after clear: summary says $(jq .summary.in_use_bytes after.json) bytes in use"
else
	fail_later "report after clear"
fi
inuse=$(sed -n 's/^ *in use: \([0-9]*\) bytes.*/\1/p' c.out | tail -n 1)
if [ -z "$inuse" ] || [ "$inuse" -ge 100000 ]; then
	fail_later "status after clear: in use ${inuse:-?} bytes"
fi
finish
