#!/bin/bash
# t-unwind-tables: --unwind tables gives libunwind's stacks. The victim
# unwind_shapes (tests/victims/unwind_shapes.cc) allocates from recursion,
# mutual recursion, function pointers, alloca, a 64 KiB and a 1 MiB frame,
# a leaf, a signal handler, a destructor while a C++ exception is in flight,
# libc's qsort calling back, a dlopen'ed library calling back, and a thread;
# it is built at -O0, -O2 and -Os, with and without frame pointers. For each
# build: the program behaves as it does alone under both unwinders, the
# exit reports hold the same stacks (module and offset of every frame of
# every context), the deepest is the 20-level recursion on its full path,
# the blocks allocated in a signal handler, in a destructor run by an
# exception, in qsort's callback and in the library's callback have the
# function that raised, caught, sorted or called the library in their stack,
# and the tables walked the stacks themselves: status's "tables" shows the
# modules compiled, and only the stacks through a signal frame, the huge
# frame or the loader's start code were handed to libunwind.
# Then attached (tests/victims/attach_basic.c, memtrace -p --unwind tables):
# the report holds exactly the victim's leaks with their callers, the
# victim behaves as alone, the GOT is put back after detach.
# On 32-bit ARM the tables are compiled from .ARM.exidx and the reference
# is libgcc's EHABI walk (the "libunwind" backend there).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"


plugin=$(victim libplugin_shapes.so) || exit 99
case $(uname -m) in arm*) max_fb=5 ;; *) max_fb=4 ;; esac
stacks() {
	jq -r '[.contexts[] | [.frames[] | "\(.module | split("/") | last)+\(.offset)"] | join(" ")] | sort | .[]' "$1"
}

for v in O0 O2 O2-nofp Os-nofp; do
	prog=$(victim "unwind_shapes-$v") || exit 99
	run_plain "plain-$v" "$prog" "$plugin"
	expect_rc "plain-$v" 0 || broken "unwind_shapes-$v fails without memtrace"
	for unw in libunwind tables; do
		run_traced "$unw-$v" --unwind "$unw" "$prog" "$plugin"
		same_behaviour "plain-$v" "$unw-$v" || fail_later "$v, --unwind $unw: behaves differently under memtrace"
		valid_json "$unw-$v.json" || { fail_later "$v, --unwind $unw: no exit report"; continue; }
		stacks "$unw-$v.json" >"$unw-$v.stacks"
	done
	[ -s "libunwind-$v.stacks" ] || { fail_later "$v: libunwind's report has no stacks"; continue; }
	if ! cmp -s "libunwind-$v.stacks" "tables-$v.stacks"; then
		fail_later "$v: the tables' stacks differ from libunwind's (< libunwind, > tables)"
		diff "libunwind-$v.stacks" "tables-$v.stacks" | sed -n '1,20s/^/    /p'
	fi
	n=$(wc -l <"tables-$v.stacks")
	[ "$n" -ge 20 ] || fail_later "$v: only $n stacks in the report (expected a context per shape)"
	got=$(jq -r --arg m "$prog" "$JQ_DEFS"'[.contexts[] | [.frames[] | select(.module == $m) | fn
		| select(test("recurse"))] | length] | max' "tables-$v.json")
	[ "$got" -ge 20 ] || fail_later "$v: the deepest recursion shows $got frames of recurse, not 20 or more"
	grep -q 'libplugin_shapes.so+' "tables-$v.stacks" || fail_later "$v: no stack through the dlopen'ed library"
	# The block of each shape (by its size) on its way back to its caller:
	# through the signal frame, the exception's unwinding, qsort, the library.
	# (A sibling call at -O2 may leave the caller of the library out.)
	for want in "108 shapes" "109 catcher" "110 through_libc" "111 plugin_shapes_run"; do
		read -r size fn <<<"$want"
		got=$(jq -r --argjson s "$size" --arg f "$fn" "$JQ_DEFS"'[.contexts[]
			| select(.live_bytes == $s) | [.frames[] | fn | select(test($f))]
			| length] | map(select(. > 0)) | length' "tables-$v.json")
		[ "$got" -ge 1 ] || fail_later "$v: no stack of a $size-byte block reaches $fn"
	done
	read -r mods fb <<<"$(jq -r '.tables | "\(.modules) \(.fallback_stacks)"' "tables-$v.json")"
	[ "${mods:-null}" != null ] && [ "$mods" -ge 4 ] ||
		fail_later "$v: status's tables: '$mods' modules compiled (expected the program, its library, libc, libstdc++...)"
	# Two signal frames (main and the thread), the 1 MiB frame, and the
	# loader's start code under a constructor's allocation, at most; on
	# 32-bit ARM the 64 KiB frame too (past the rows' 16,383 words of 4 bytes).
	[ "${fb:-null}" != null ] && [ "$fb" -le "$max_fb" ] ||
		fail_later "$v: $fb stacks were handed to libunwind (expected $max_fb at most), the last at $(jq -c '[.tables.fallback_at[] | "\(.module | split("/") | last)+\(.offset)"]' "tables-$v.json")"
	# But the vDSO: arm64's has no .eh_frame_hdr, and the one frame of it a
	# walk meets is the signal trampoline, which libunwind walks anyway.
	without=$(jq -r '[.tables.modules_without_names[] | select(. != "linux-vdso.so.1")] | length' "tables-$v.json")
	[ "${without:-1}" = 0 ] ||
		fail_later "$v: $without modules without usable tables: $(jq -c '.tables.modules_without_names' "tables-$v.json")"
done

prog=$(victim attach_basic) || exit 99
plain_run plain-attach "$prog"
traced_run attach "$prog" -- --unwind tables
REPORT_UNWIND=tables check_traced plain-attach attach "$prog" exact
finish
