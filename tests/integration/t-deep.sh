#!/bin/bash
# t-deep: callstack depth (tests/victims/deep.c recurses 100 levels and
# leaks at the bottom).  With the default depth 32, and with -d 1, 8 and 64,
# the leak's callstack has exactly that many frames, all in recurse, and is
# marked truncated, under both unwinders.  A leak from a shallow stack
# (leak_shallow < main) is not truncated, and starts leak_shallow, main.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

plain_victim deep

for unw in $DEFAULT_UNWINDERS; do
	for d in default 1 8 64; do
		tag=$unw-$d
		if [ $d = default ]; then
			run_traced "$tag" --unwind "$unw" "$prog"
			depth=32
		else
			run_traced "$tag" --unwind "$unw" -d "$d" "$prog"
			depth=$d
		fi
		what="--unwind $unw, depth $d"
		same_behaviour plain "$tag" || fail_later "$what: deep behaves differently under memtrace"
		check_report_sane "$tag.json" "$prog" "$unw" "$depth" exit || {
			fail_later "$what: report shape"
			continue
		}
		check_expect "$tag.json" "$tag.out" "$prog" || fail_later "$what: leaks"
		got=$(jq -r --arg m "$prog" "$JQ_DEFS"'[.contexts[] | select(own($m) | fn == "recurse")][0]
			| "\(.frames | length) \(.truncated) \([.frames[] | fn] | unique | join(","))"' "$tag.json")
		[ "$got" = "$depth true recurse" ] ||
			fail_later "$what: recurse's leak: expected '$depth frames, truncated, all recurse', got '$got' (frames, truncated, functions)"
		got=$(jq -r --arg m "$prog" "$JQ_DEFS"'[.contexts[] | select(own($m) | fn == "leak_shallow")][0]
			| "\(.truncated) \([.frames[:2][] | fn] | join(","))"' "$tag.json")
		if [ "$depth" -ge 8 ]; then
			[ "$got" = "false leak_shallow,main" ] ||
				fail_later "$what: leak_shallow's leak: expected 'not truncated, leak_shallow,main...', got '$got'"
		else
			[ "$got" = "true leak_shallow" ] ||
				fail_later "$what: leak_shallow's leak: expected 'truncated, leak_shallow', got '$got'"
		fi
	done
done
finish
