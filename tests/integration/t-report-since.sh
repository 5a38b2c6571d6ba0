#!/bin/bash
# t-report-since: reports over time. trend_shapes (tests/victims/
# trend_shapes.c) attached:
#   - `report -c 0 --json -o a.json`, two seconds, `report --since a.json
#     --json`: leak_slowly's context is matched by its callstack (not new),
#     grew by what its live bytes say it grew (now minus then) and by at
#     least 2 KiB; the summary's change is the in-use difference; the text
#     form says the same; a file that is no report is refused, naming it;
#   - `report --folded -o f.txt`: one line a context, "frame;...;frame
#     BYTES" from the outermost frame to the allocating one: the lines of
#     leak_slowly and fill_cache end with them, under main, with their live
#     bytes (fill_cache's: the 64 KiB entries it replaced since the attach);
#   - `report --pprof -o heap.pb.gz`: a gzip'ed pprof profile that Debian's
#     `go tool pprof` reads: its four sample types (inuse_space,
#     inuse_objects, alloc_space, alloc_objects), leak_slowly and
#     fill_cache among the functions by inuse_space; without -o it is
#     refused, saying why;
#   - the victim behaves as an untraced run.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim trend_shapes) || exit 99
vstart plain "$prog"
vstop plain

vstart v "$prog"
attach_console c "$VPID" || finish
console_send "report -c 0 --json -o a.json"
WAIT_SECONDS=30 wait_for valid_json a.json || fail_later "report --json -o a.json: no valid file"
console_send "sleep 2"
console_send "report --since a.json --json -o d.json"
WAIT_SECONDS=30 wait_for valid_json d.json || fail_later "report --since --json: no valid file"
console_send "report --since a.json -c 2"
console_send "report --folded -o f.txt"
console_send "report --pprof -o heap.pb.gz"
console_send "report --pprof"
echo '{"not": "a report"}' >bad.json
console_send "report --since bad.json"
WAIT_SECONDS=30 wait_for test -s f.txt || fail_later "report --folded -o f.txt: no file"
WAIT_SECONDS=30 wait_for test -s heap.pb.gz || fail_later "report --pprof -o heap.pb.gz: no file"
WAIT_SECONDS=30 wait_for has c.err 'report --pprof: the profile is binary' || fail_later "report --pprof without -o: no message"
WAIT_SECONDS=30 wait_for has c.err 'report --since bad.json: not a report' || fail_later "a file that is no report: no message naming it"
mt_end c detach
vstop v
same_behaviour plain v || fail_later "the victim behaved differently traced"

leak() { jq -c --arg f "$2" '[.contexts[] | select((.frames[0].symbol // "") | startswith($f + "+"))][0]' "$1"; }
then=$(leak a.json leak_slowly | jq -r '.live_bytes // 0')
got=$(leak d.json leak_slowly)
[ "$(jq -r .new <<<"$got")" = false ] || fail_later "leak_slowly is not matched with its context of a.json: $got"
now=$(jq -r .live_bytes <<<"$got")
delta=$(jq -r .live_bytes_delta <<<"$got")
[ "$delta" = "$((now - then))" ] || fail_later "leak_slowly grew $delta bytes; its live bytes went from $then to $now"
[ "$delta" -ge 2048 ] || fail_later "leak_slowly grew only $delta bytes in 2 s"
sum=$(jq -r '.summary.in_use_bytes_delta' d.json)
[ "$sum" = "$(( $(jq -r .summary.in_use_bytes d.json) - $(jq -r .summary.in_use_bytes a.json) ))" ] ||
	fail_later "the summary's change ($sum) is not the difference of the in-use bytes"
has c.out '^context [0-9]+: \+[0-9]+ bytes \(\+[0-9]+ blocks\), [0-9]+ bytes in [0-9]+ blocks now$' ||
	fail_later "report --since (text): no context line"

# Folded: every line FRAMES BYTES; leak_slowly's and fill_cache's end with them, under main.
grep -vqE '^[^ ]+ [0-9]+$' f.txt && fail_later "report --folded: a line is not 'frame;...;frame BYTES': $(grep -vE '^[^ ]+ [0-9]+$' f.txt | head -1)"
grep -qE '(^|;)main;leak_slowly [0-9]+$' f.txt || fail_later "report --folded: no line for leak_slowly under main"
# The entries replaced since the attach (one every 50 ms at most): whole 64 KiB entries.
fc=$(sed -n 's/^.*;main;fill_cache \([0-9]*\)$/\1/p' f.txt)
[ -n "$fc" ] && [ "$fc" -ge 65536 ] && [ $((fc % 65536)) = 0 ] ||
	fail_later "report --folded: fill_cache's line holds '${fc:-nothing}', not whole entries of 64 KiB"
[ "$FAILURES" -eq 0 ] || show f.txt

# pprof, read by Go's own tool.
if command -v go >/dev/null; then
	export HOME=$PWD GOCACHE=$PWD/gocache GOFLAGS=-mod=mod
	go tool pprof -raw heap.pb.gz >raw.txt 2>raw.err || { fail_later "go tool pprof -raw: exit status $?"; show raw.err; }
	for t in inuse_space/bytes inuse_objects/count alloc_space/bytes alloc_objects/count; do
		grep -q "$t" raw.txt || fail_later "the profile has no sample type $t"
	done
	go tool pprof -top -nodefraction=0 -nodecount=1000 -sample_index=inuse_space heap.pb.gz >top.txt 2>top.err || fail_later "go tool pprof -top failed"
	for fn in leak_slowly fill_cache; do
		grep -qE " $fn$" top.txt || fail_later "go tool pprof -top (inuse_space) lists no $fn"
	done
	[ "$FAILURES" -eq 0 ] || show top.txt
else
	fail_later "go is missing (make deps installs golang-go)"
fi
finish
