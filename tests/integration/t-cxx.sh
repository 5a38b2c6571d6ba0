#!/bin/bash
# t-cxx: C++ allocation through operator new and libstdc++
# (tests/victims/cxx.cc).  Same output traced, under both unwinders.
# Under libunwind each leak must sit under the function that called new, and
# frames[0] must be the code that called operator new (the agent hooks the
# operators): the victim's, or libstdc++'s where it allocates for it.
# Debian builds libstdc++ without frame pointers, so the frame-pointer
# unwinder loses the caller of libstdc++'s own allocations: under --unwind fp
# only totals are compared, the blocks and bytes in use, which must be those
# of the libunwind run (same program, same allocations).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

plain_victim cxx

run_traced lu --unwind libunwind "$prog"
same_behaviour plain lu || fail_later "--unwind libunwind: cxx behaves differently under memtrace"
if check_report_sane lu.json "$prog" libunwind 32 exit; then
	check_symbols lu.json "$prog" || fail_later "--unwind libunwind: symbols"
	check_expect lu.json lu.out "$prog" || fail_later "--unwind libunwind: leaks not where the victim says"
	check_new_caller lu.json "$prog" || fail_later "--unwind libunwind: frames[0] of a leak through new"
else
	fail_later "--unwind libunwind: report shape"
fi

if [ $HAVE_FP = 1 ]; then
	run_traced fp --unwind fp "$prog"
	same_behaviour plain fp || fail_later "--unwind fp: cxx behaves differently under memtrace"
	check_report_sane fp.json "$prog" fp 32 exit || fail_later "--unwind fp: report shape"
	if valid_json fp.json && valid_json lu.json; then
		a=$(jq -c '.summary | [.in_use_blocks, .in_use_bytes]' lu.json)
		b=$(jq -c '.summary | [.in_use_blocks, .in_use_bytes]' fp.json)
		[ "$a" = "$b" ] ||
			fail_later "--unwind fp: [blocks, bytes] in use $b, the libunwind run has $a"
	fi
fi
finish
