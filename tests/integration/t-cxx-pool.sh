#!/bin/bash
# t-cxx-pool: start mode records what libstdc++'s constructor allocates: the
# emergency exception pool (72704 bytes on x86_64 with GCC 12's libstdc++),
# one block allocated before the agent's own constructor runs and still in
# use at exit.  The C++ victim is tests/victims/cxx.cc.
#
# Under libunwind the exit report must have exactly one context whose first
# frame is in libstdc++ and which has no frame in the program, holding one
# block, its stack going on into the dynamic loader (which called the
# constructor; not required on 32-bit ARM, whose ld.so has almost no unwind
# tables).  Under --unwind fp (no frame pointers in libstdc++: new's
# callers are lost too) a context of libstdc++'s own must hold a block of
# that size.  Where valgrind is installed (not in the ARM VMs) its memcheck
# is the oracle: the pool's record (libstdc++ called from the loader) has the
# same size, and the bytes and blocks in use at exit are the same as
# memtrace's in all.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/valgrind.sh
. "$(dirname "$0")/../lib/valgrind.sh"

plain_victim cxx

vg=0
if have_valgrind; then
	vg_oracle vg "$prog"
	vg_pool=$(vg_records vg | awk -F '\t' '$4 ~ /libstdc\+\+/ && $4 ~ /_dl_init|\/ld-/ { b += $2; y += $1 }
		END { if (b) print y, b }')
	[ -n "$vg_pool" ] || {
		show vg.vg
		broken "valgrind shows no block allocated by libstdc++ from the loader (no emergency pool?)"
	}
	note "valgrind: libstdc++'s pool is $vg_pool (bytes blocks); in use at exit $(vg_in_use vg)"
	vg=1
else
	note "valgrind is not installed: the pool's size is not checked"
fi

# pool_contexts REPORT: the contexts that start in libstdc++ and never pass
# through the program, as [{id, live_blocks, live_bytes, loader}] (loader:
# a frame in the dynamic loader).
pool_contexts() {
	jq -c --arg m "$prog" "$JQ_DEFS"'[.contexts[] | select(own($m) == null)
		| select((.frames[0].module // "") | test("/libstdc\\+\\+"))
		| {id, live_blocks, live_bytes, loader: any(.frames[]; (.module // "") | test("/ld-[^/]*$"))}]' "$1"
}

# libunwind first: its true stacks tell the pool from blocks whose caller
# the frame-pointer walk loses (operator new has no frame pointer).
pool_size=
for unw in libunwind $([ $HAVE_FP = 0 ] || echo fp); do
	run_traced "$unw" --unwind "$unw" "$prog"
	same_behaviour plain "$unw" || fail_later "--unwind $unw: cxx behaves differently under memtrace"
	check_report_sane "$unw.json" "$prog" "$unw" 32 exit || {
		fail_later "--unwind $unw: report shape"
		continue
	}
	pool=$(pool_contexts "$unw.json")
	if [ "$unw" = libunwind ]; then
		note "libstdc++'s own contexts: $pool"
		if [ "$(jq length <<<"$pool")" != 1 ]; then
			fail_later "--unwind libunwind: expected one context allocated by libstdc++ outside the program, found $pool"
			continue
		fi
		jq -e '.[0].live_blocks == 1' <<<"$pool" >/dev/null ||
			fail_later "--unwind libunwind: the pool's context holds $(jq '.[0].live_blocks' <<<"$pool") blocks, not 1"
		# 32-bit ARM: Debian's ld.so has .ARM.exidx entries for a few
		# functions only, so the EHABI walk may end before it.
		jq -e '.[0].loader' <<<"$pool" >/dev/null || [ $HAVE_FP = 0 ] ||
			fail_later "--unwind libunwind: the pool's stack does not reach the dynamic loader"
		pool_size=$(jq -r '.[0] | "\(.live_bytes) \(.live_blocks)"' <<<"$pool")
		got=$pool_size
	else
		# Some context of libstdc++'s own holds the pool's one block.
		got=$(jq -r --arg s "${pool_size% *}" '.[] | select(.live_blocks == 1 and .live_bytes == ($s | tonumber))
			| "\(.live_bytes) \(.live_blocks)"' <<<"$pool" 2>/dev/null | head -n 1)
		[ -n "$got" ] || [ -z "$pool_size" ] ||
			fail_later "--unwind fp: no context of libstdc++'s holds the pool ($pool_size, bytes blocks): $pool"
	fi
	[ $vg = 1 ] || continue
	[ -z "$got" ] || [ "$got" = "$vg_pool" ] ||
		fail_later "--unwind $unw: the pool is $got (bytes blocks) in memtrace's report, $vg_pool in valgrind's"
	got=$(jq -r '.summary | "\(.in_use_bytes) \(.in_use_blocks)"' "$unw.json")
	[ "$got" = "$(vg_in_use vg)" ] ||
		fail_later "--unwind $unw: in use at exit: memtrace $got, valgrind $(vg_in_use vg) (bytes blocks)"
done
finish
