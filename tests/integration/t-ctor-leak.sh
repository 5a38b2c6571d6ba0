#!/bin/bash
# t-ctor-leak: start mode records from the very first allocation, also those
# made by the constructor of a library the program is linked with, which the
# loader runs before the agent's own constructor (tests/victims/ctor_leak.c,
# linked with tests/victims/linked_ctor.c).
#
# Under each unwinder the exit report must hold exactly the leaks the victim
# and its library state (the constructor's 1000 bytes from ctor_leak, called
# by the constructor linked_ctor_init; a block the constructor allocated and
# main grew with realloc; main's own), grouped by their first frame in the
# program or the library; the block the constructor kept and main freed must
# be gone.  Where valgrind is installed (not in the ARM VMs) its memcheck is
# the oracle: the same bytes and blocks in use at exit, the same numbers of
# allocations and frees, and the same blocks per calling function.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/valgrind.sh
. "$(dirname "$0")/../lib/valgrind.sh"

prog=$(victim ctor_leak)
lib=$(victim liblinked_ctor.so)
run_plain plain "$prog"
expect_rc plain 0 || broken "ctor_leak fails without memtrace"
has plain.out '^EXPECT ctor_leak 1 1000$' || broken "the library's constructor did not state its leak"

# "function blocks bytes" per first frame in the program or its library.
groups_prog_lib() {
	jq -r --arg p "$prog" --arg l "$lib" "$JQ_DEFS"'
		[.contexts[] | first(.frames[] | select(.module == $p or .module == $l)) as $f
		 | {name: ($f | fn), b: .live_blocks, y: .live_bytes}]
		| group_by(.name)[] | "\(.[0].name) \(map(.b) | add) \(map(.y) | add)"' "$1" | LC_ALL=C sort
}

# "function blocks bytes" per frames[0], the caller of the allocator.
groups_caller() {
	jq -r "$JQ_DEFS"'[.contexts[] | {name: (.frames[0] | fn), b: .live_blocks, y: .live_bytes}]
		| group_by(.name)[] | "\(.[0].name) \(map(.b) | add) \(map(.y) | add)"' "$1" | LC_ALL=C sort
}

# compare_groups WHAT EXPECTED GOT: say where they differ.
compare_groups() {
	[ "$2" = "$3" ] && return 0
	printf '%s differ (function, blocks, bytes: expected | memtrace):\n' "$1"
	join_groups "$2" "$3" | awk '{ printf "    %-24s %4s %6s | %4s %6s\n", $1, $2, $3, $4, $5 }'
	return 1
}

vg=0
if have_valgrind; then
	vg_oracle vg "$prog"
	vg=1
else
	note "valgrind is not installed: the report is checked against the EXPECT lines only"
fi

for unw in $DEFAULT_UNWINDERS; do
	run_traced "$unw" --unwind "$unw" "$prog"
	same_behaviour plain "$unw" || fail_later "--unwind $unw: ctor_leak behaves differently under memtrace"
	check_report_sane "$unw.json" "$prog" "$unw" 32 exit || {
		fail_later "--unwind $unw: report shape"
		continue
	}
	check_symbols "$unw.json" "$prog" || fail_later "--unwind $unw: symbols of the program"
	check_symbols "$unw.json" "$lib" || fail_later "--unwind $unw: symbols of the library"
	compare_groups "leaks stated by the victim and by memtrace" \
		"$(expect_groups "$unw.out")" "$(groups_prog_lib "$unw.json")" ||
		fail_later "--unwind $unw: the report does not hold what the victim and its library leaked"

	# The constructor's leak, with the constructor in its callstack.
	stack=$(jq -r --arg l "$lib" "$JQ_DEFS"'.contexts[] | select(.frames[0].module == $l)
		| select(.frames[0] | fn == "ctor_leak") | [.frames[:2][] | fn] | join(" < ")' "$unw.json")
	[ "$stack" = "ctor_leak < linked_ctor_init" ] ||
		fail_later "--unwind $unw: the constructor's leak has the stack '$stack', not 'ctor_leak < linked_ctor_init'"

	[ $vg = 1 ] || continue
	got=$(jq -r '.summary | "\(.in_use_bytes) \(.in_use_blocks)"' "$unw.json")
	[ "$got" = "$(vg_in_use vg)" ] ||
		fail_later "--unwind $unw: in use at exit: memtrace $got, valgrind $(vg_in_use vg) (bytes blocks)"
	got=$(jq -r '.summary | "\(.total_allocs) \(.total_frees) \(.total_bytes)"' "$unw.json")
	[ "$got" = "$(vg_totals vg)" ] ||
		fail_later "--unwind $unw: allocations, frees, bytes: memtrace $got, valgrind $(vg_totals vg)"
	vgg=$(vg_records vg | awk -F '\t' '{ b[$3] += $2; y[$3] += $1 } END { for (f in b) print f, b[f], y[f] }' |
		LC_ALL=C sort)
	compare_groups "valgrind's and memtrace's blocks per calling function" "$vgg" "$(groups_caller "$unw.json")" ||
		fail_later "--unwind $unw: the report is not valgrind's verdict"
done
finish
