#!/bin/bash
# t-leaks-busy: `leaks` on processes that live in the allocator harms
# nothing. busy_alloc (tests/victims/busy_alloc.c) runs one, two or four
# threads in tight malloc/calloc/realloc/free loops without a system call
# (a thread is nearly always stopped inside glibc's allocator, holding an
# arena or half-way through a list) and checks every block's pattern
# before it resizes or frees it. Attached, `leaks` runs again and again
# (10 times each; 3 under emulation, MEMTRACE_TEST_QUICK):
#   - every one answers, with the four summary lines;
#   - whenever the heap walk was refused (a thread inside the allocator
#     every time the process was let run a moment), the output says why;
#     at least one scan of each victim judged the blocks from before the
#     attach (the walk retries until the arenas are quiet);
#   - after detach the victim stops and exits 0: every block kept its
#     pattern, its output is an untraced run's.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim busy_alloc) || exit 99
runs=10
kinds="m mm mmmm"
[ -z "${MEMTRACE_TEST_QUICK:-}" ] || { runs=3; kinds="m mm"; }

# The untraced run: what every traced one must print (busy_alloc names its kinds).
vstart plain "$prog" mm
kill -TERM "$VPID"
vwait_end plain
[ "$(cat plain.rc)" = 0 ] || { show plain.out; broken "busy_alloc fails without memtrace"; }

for k in $kinds; do
	vstart "v$k" "$prog" "$k"
	attach_console "c$k" "$VPID" || continue
	walked=0
	for i in $(seq 1 "$runs"); do
		rm -f "l$k-$i.json"
		console_send "leaks --json -o l$k-$i.json"
		if ! WAIT_SECONDS=60 wait_for valid_json "l$k-$i.json"; then
			fail_later "$k: leaks $i: no answer"
			show "c$k.err"
			break
		fi
		if [ "$(jq -r '.scan.before_attach' "l$k-$i.json")" = true ]; then
			walked=$((walked + 1))
		elif [ "$(jq -r '.scan.note // ""' "l$k-$i.json")" = "" ]; then
			fail_later "$k: leaks $i: blocks from before the attach not judged, and no note says why"
		fi
	done
	note "$k: $walked of $runs scans walked the heap; stopped $(jq -r '.scan.stopped_ms' "l$k-1.json") ms the first time"
	[ "$walked" -ge 1 ] || fail_later "$k: no scan could walk glibc's heap"
	mt_end "c$k" detach
	kill -TERM "$VPID"
	vwait_end "v$k"
	if [ "$(cat "v$k.rc")" != 0 ]; then
		fail_later "$k: the victim's checks failed after the scans (status $(cat "v$k.rc"))"
		show "v$k.out"
	elif ! cmp -s plain.out <(sed "s/^busy_alloc: $k\$/busy_alloc: mm/" "v$k.out"); then
		fail_later "$k: the victim's output differs from an untraced run"
		show "v$k.out"
	fi
done
finish
