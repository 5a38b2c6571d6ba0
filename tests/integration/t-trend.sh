#!/bin/bash
# t-trend: what keeps growing, over time. trend_shapes
# (tests/victims/trend_shapes.c) holds a 2 MiB cache that never grows, a
# queue that swings by 512 KiB, churn, and one small steady leak (64 bytes
# every 20 ms, leak_slowly). Attached with `--sample 0.5 --record FILE`:
#   - after 20 s of samples, `trend -c 0 --json` ranks leak_slowly first,
#     at 1,000-4,000 bytes a second (ticks of 10 ms and more: 3,200 at
#     most), growing for most of the time sampled; the cache and the queue
#     show no growth; the text form names it too;
#   - FILE holds a header, the stacks and a sample a line, each line JSON;
#   - memtrace killed (SIGKILL): the file stops at a whole sample (every
#     line still JSON); a new `memtrace -p --record FILE` on the process
#     takes it up: one header still and a "session" line, the leak's stack
#     under the same id, the samples going on (recorded_samples counts
#     both sessions'); the new session's trend (its own samples: the agent
#     tracks anew at each attach) ranks leak_slowly first again;
#   - `memtrace -p --console none --record FILE` runs unattended, sampling
#     into FILE, until SIGTERM, then detaches (status 143);
#   - the victim, after detach, ends as an untraced run does ("intact").
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim trend_shapes) || exit 99
vstart plain "$prog"
vstop plain
expect_rc plain 0 || broken "trend_shapes fails without memtrace"

samples() { grep -c '"type":"sample"' rec.jsonl 2>/dev/null || echo 0; }
at_least() { [ "$(samples)" -ge "$1" ]; }
# growth_of JSON FUNCTION: growth_bytes_per_s of the context whose first frame is FUNCTION.
growth_of() {
	jq -r --arg f "$2" '[.contexts[] | select((.frames[0].symbol // "") | startswith($f + "+"))
		| .growth_bytes_per_s] | first // "none"' "$1"
}
id_of() {
	jq -r --arg f "$2" '[.contexts[] | select((.frames[0].symbol // "") | startswith($f + "+")) | .id] | first // "none"' "$1"
}

vstart v "$prog"
attach_console c "$VPID" --sample 0.5 --record rec.jsonl || finish
# 40 samples: 20 s. Generous: a loaded machine samples late, never early.
WAIT_SECONDS=120 wait_for at_least 40 || fail_later "only $(samples) samples in 120 s"
console_send "trend -c 0 --json -o trend.json"
WAIT_SECONDS=60 wait_for valid_json trend.json || fail_later "trend --json: no valid file"
first=$(jq -r '.contexts[0].frames[0].symbol // "?"' trend.json)
case $first in leak_slowly+*) ;; *) fail_later "trend ranks $first first, not leak_slowly" ;; esac
leak=$(growth_of trend.json leak_slowly)
awk -v g="$leak" 'BEGIN { exit !(g >= 1000 && g <= 4000) }' ||
	fail_later "leak_slowly grows $leak bytes/s (expected 1,000 to 4,000)"
for f in fill_cache queue_push churn_once; do
	g=$(growth_of trend.json $f)
	[ "$g" = none ] && continue
	awk -v g="$g" -v l="$leak" 'BEGIN { exit !(g <= l / 10) }' || fail_later "$f shows growth: $g bytes/s (the leak $leak)"
done
grown=$(jq -r '[.contexts[] | select((.frames[0].symbol // "") | startswith("leak_slowly+"))][0].growing_ms' trend.json)
span=$(jq -r .span_ms trend.json)
awk -v g="$grown" -v s="$span" 'BEGIN { exit !(g >= s / 2) }' || fail_later "leak_slowly grew for $grown ms of $span"
note "trend: leak_slowly $leak B/s, growing $grown of $span ms; cache $(growth_of trend.json fill_cache), queue $(growth_of trend.json queue_push)"
console_send "trend -c 2"
WAIT_SECONDS=30 wait_for has c.out '^context [0-9]+: \+[0-9.]+ [KMG]?i?B/h, ' || fail_later "trend: no text line for a context"
leak_id=$(id_of trend.json leak_slowly)

# The record: every line JSON, one header, the leak's stack once.
check_record() {
	local bad
	bad=$(while IFS= read -r l; do jq -e . >/dev/null 2>&1 <<<"$l" || echo x; done <rec.jsonl | wc -l)
	[ "$bad" = 0 ] || fail_later "$1: $bad lines of the record are not JSON"
	[ "$(grep -c '"type":"record"' rec.jsonl)" = 1 ] || fail_later "$1: not one header in the record"
	[ "$(jq -c --argjson i "$leak_id" 'select(.type == "context" and .id == $i)' rec.jsonl | wc -l)" = 1 ] ||
		fail_later "$1: the leak's stack (id $leak_id) is not in the record once"
}
check_record "first session"

# memtrace killed: the record stops at a whole sample; a new session takes it up.
kill -KILL "$MT_PID"
console_wait 30
n1=$(samples)
check_record "after SIGKILL"
attach_console c2 "$VPID" --sample 0.5 --record rec.jsonl || finish
WAIT_SECONDS=120 wait_for at_least $((n1 + 40)) || fail_later "the second session took $(( $(samples) - n1 )) samples in 120 s"
console_send "trend -c 0 --json -o trend2.json"
WAIT_SECONDS=60 wait_for valid_json trend2.json || fail_later "trend --json (second session): no valid file"
[ "$(id_of trend2.json leak_slowly)" = "$leak_id" ] ||
	fail_later "the second session knows leak_slowly as $(id_of trend2.json leak_slowly), the record as $leak_id"
[ "$(jq -r .recorded_samples trend2.json)" -ge $((n1 + 40)) ] ||
	fail_later "the record holds $(jq -r .recorded_samples trend2.json) samples by the second trend, not those of both sessions ($n1 + 40)"
[ "$(grep -c '"type":"session"' rec.jsonl)" = 1 ] || fail_later "the record does not mark the second session once"
case $(jq -r '.contexts[0].frames[0].symbol // "?"' trend2.json) in
leak_slowly+*) ;;
*) fail_later "the second session ranks $(jq -r '.contexts[0].frames[0].symbol' trend2.json) first" ;;
esac
check_record "second session"
mt_end c2 detach

# Unattended: --console none runs until a signal, sampling into the record, then detaches.
n2=$(samples)
"$MEMTRACE" -p "$VPID" --console none --sample 0.5 --record rec.jsonl >bg.out 2>bg.err &
bg=$!
WAIT_SECONDS=60 wait_for at_least $((n2 + 4)) || fail_later "--console none: no samples recorded"
kill -TERM "$bg"
wait_pid_gone "$bg" 30 || fail_later "--console none: memtrace did not end on SIGTERM"
wait "$bg"
rc=$?
# 128 + SIGTERM: memtrace detached and ended as a signal asked (docs/user-guide.md, exit statuses).
[ "$rc" = 143 ] || fail_later "--console none: memtrace ended with status $rc after SIGTERM (143: detached on the signal)"
check_record "unattended session"
vstop v
same_behaviour plain v || fail_later "the victim behaved differently traced"
finish
