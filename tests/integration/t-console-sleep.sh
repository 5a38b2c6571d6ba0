#!/bin/bash
# t-console-sleep: `sleep SEC` holds the console for SEC seconds while PROG
# runs: between a report taken before `sleep 2` and one taken after, the
# ticker (a leak every 5 ms) made well over a hundred new blocks, the newest
# allocation is at least 1.8 s later, and the two reports are at least 2 s
# apart by the clock.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim ticker)
bg_start s --json -o s.json -x 'sleep 1' -x 'report --json -o a.json' -x 'sleep 2' \
	-x 'report --json -o b.json' "$prog" -f stop -s 60
WAIT_SECONDS=30 wait_for test -e a.json
t0=$(now_ms)
WAIT_SECONDS=30 wait_for valid_json b.json || fail_later "no report after sleep within 30 s"
t1=$(now_ms)
touch stop
console_wait
expect_rc s 0 || fail_later "exit status"
if ! valid_json a.json || ! valid_json b.json; then
	finish
fi

ms=$((t1 - t0))
[ $ms -ge 1900 ] || fail_later "the reports around 'sleep 2' are $ms ms apart"
a=$(jq -r --arg m "$prog" "$JQ_DEFS"'[.contexts[] | select(own($m) | fn == "tick_leak")][0] | "\(.total_allocs) \(.last_ms)"' a.json)
b=$(jq -r --arg m "$prog" "$JQ_DEFS"'[.contexts[] | select(own($m) | fn == "tick_leak")][0] | "\(.total_allocs) \(.last_ms)"' b.json)
note "tick_leak allocations and last_ms before: $a, after: $b"
read -r na la <<<"$a"
read -r nb lb <<<"$b"
[ $((nb - na)) -ge 100 ] 2>/dev/null || fail_later "only $((nb - na)) ticks during 'sleep 2' (400 expected)"
[ $((lb - la)) -ge 1800 ] 2>/dev/null || fail_later "last_ms moved by $((lb - la)) ms during 'sleep 2'"
finish
