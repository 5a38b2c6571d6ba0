#!/bin/bash
# t-attach-exit-leaks: `memtrace -p PID --leaks`: a process that ends while
# attached gets its leak verdicts at its end, as in start mode
# (t-leaks-debian). attach_exit (tests/victims/attach_exit.c) leaks 6
# blocks after the attach and ends as each way says:
#   - main returns, exit(), _exit(): the exit report (--json -o FILE) has
#     "leaks", which judged the pre-attach blocks too ("before_attach"),
#     and whose contexts, grouped by their first frame in the victim, hold
#     the EXPECT lines' blocks with one verdict (below), and no other;
#   - SIGTERM at its default action: no verdicts ("leaks": null, said on
#     stderr), the report still there;
#   - in every way the victim ends with the status of an untraced run
#     (the hold at exit changes nothing), and memtrace exits 1 (the
#     process ended while attached).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_exit) || exit 99

# leak_groups REPORT KIND: "function blocks bytes" of the leaks contexts
# with blocks of KIND, grouped by their first frame in the victim.
leak_groups() {
	jq -r --arg m "$prog" --arg k "$2" "$JQ_DEFS"'
		[.leaks.contexts[] | own($m) as $f | select($f != null and .[$k].blocks > 0)
		 | {name: ($f | fn), b: .[$k].blocks, y: .[$k].bytes}]
		| group_by(.name)[]
		| "\(.[0].name) \(map(.b) | add) \(map(.y) | add)"' "$1" | LC_ALL=C sort
}

for way in return exit _exit TERM; do
	want_rc=5
	[ $way != TERM ] || want_rc=143
	vstart "p_$way" "$prog" "$way" 5
	vgo "p_$way"
	vwait_file "p_$way" leaked || broken "attach_exit $way did not say leaked without memtrace"
	vstop "p_$way" || broken "attach_exit $way did not end without memtrace"
	expect_rc "p_$way" $want_rc || broken "attach_exit $way: status without memtrace"

	tag=j_$way
	vstart "$tag" "$prog" "$way" 5
	bg_start "$tag.mt" -p "$VPID" --leaks=all --json -o "$tag.json" -x status -x 'sleep 120'
	WAIT_SECONDS=30 wait_for has "$tag.mt.out" '^ *in use: ' || fail_later "$tag: memtrace -p -x: no status"
	vgo "$tag"
	vwait_file "$tag" leaked || fail_later "$tag: the victim did not say leaked within 30 s"
	vstop "$tag" || fail_later "$tag: the victim did not end within 30 s of stop"
	console_wait 30
	expect_rc "$tag.mt" 1 || fail_later "$way: memtrace -p --leaks when the process ended: exit status"
	same_behaviour "p_$way" "$tag" || fail_later "$way: the victim behaves differently under memtrace -p --leaks"
	valid_json "$tag.json" || { show "$tag.mt.err"; fail_later "$way: no exit report"; continue; }
	if [ $way = TERM ]; then
		jq -e '.leaks == null and .exit.signal == 15' "$tag.json" >/dev/null ||
			fail_later "TERM: expected \"leaks\": null, got $(jq -c '{exit, leaks: (.leaks | type)}' "$tag.json")"
		has "$tag.mt.err" 'no leak verdicts: the program was killed by signal 15' ||
			{ show "$tag.mt.err"; fail_later "TERM: memtrace does not say why there are no verdicts"; }
		continue
	fi
	if ! jq -e '.leaks.summary and .leaks.scan.before_attach == true' "$tag.json" >/dev/null; then
		show "$tag.mt.err"
		fail_later "$way: no verdicts judging the pre-attach blocks too: $(jq -c '.leaks.scan' "$tag.json")"
		continue
	fi
	# The victim's kept array is never read, so the compiler keeps no store
	# to it: its 6 blocks are held by nothing, definitely lost (as memcheck
	# would say of the same binary). Were the stores kept, they would all be
	# still reachable: either way all 6 get the one verdict, none another.
	exp=$(expect_groups "$tag.out")
	[ -n "$exp" ] || broken "attach_exit printed no EXPECT line"
	kind=
	for k in definitely_lost still_reachable; do
		[ "$(leak_groups "$tag.json" $k)" != "$exp" ] || kind=$k
	done
	if [ -z "$kind" ]; then
		fail_later "$way: the EXPECT lines' blocks ('$exp') are not all definitely lost or all still reachable"
		for k in definitely_lost indirectly_lost possibly_lost still_reachable; do
			note "  $k: $(leak_groups "$tag.json" $k | tr '\n' ';')"
		done
	fi
	for k in definitely_lost indirectly_lost possibly_lost still_reachable; do
		[ "$k" != "$kind" ] || continue
		other=$(leak_groups "$tag.json" $k)
		[ -z "$other" ] || fail_later "$way: blocks of the victim's functions also judged $k: $other"
	done
	note "$way: $(jq -c '.leaks.summary' "$tag.json")"
done
finish
