#!/bin/bash
# t-noleak: a program that frees everything it allocates, from several
# threads and through libc helpers (tests/victims/noleak.c).  The exit report
# must show no block in use and no context; allocations and frees are counted
# (the victim made about 90000 of them), and as nothing is left, as many
# frees as allocations.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

plain_victim noleak
for unw in $DEFAULT_UNWINDERS; do
	run_traced "$unw" --unwind "$unw" "$prog"
	same_behaviour plain "$unw" || fail_later "--unwind $unw: noleak behaves differently under memtrace"
	check_report_sane "$unw.json" "$prog" "$unw" 32 exit || fail_later "--unwind $unw: report shape"
	valid_json "$unw.json" || continue
	jq -e '.summary.in_use_blocks == 0 and .summary.in_use_bytes == 0 and .contexts == []' \
		"$unw.json" >/dev/null || {
		fail_later "--unwind $unw: blocks left in use: $(jq -c .summary "$unw.json")"
		jq -r '.contexts[:5][] | "  \(.live_blocks) blocks, \(.live_bytes) bytes: " +
			([.frames[:6][] | .symbol // .addr] | join(" < "))' "$unw.json"
	}
	jq -e '.summary.total_allocs >= 80000' "$unw.json" >/dev/null ||
		fail_later "--unwind $unw: total_allocs $(jq .summary.total_allocs "$unw.json"), the victim made about 90000"
	jq -e '.summary.total_allocs == .summary.total_frees' "$unw.json" >/dev/null ||
		fail_later "--unwind $unw: nothing left in use, yet total_allocs $(jq .summary.total_allocs "$unw.json") != total_frees $(jq .summary.total_frees "$unw.json")"
	jq -e '.exit == {"code": 0}' "$unw.json" >/dev/null ||
		fail_later "--unwind $unw: exit is $(jq -c .exit "$unw.json"), expected {\"code\":0}"
done
finish
