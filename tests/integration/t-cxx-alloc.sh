#!/bin/bash
# t-cxx-alloc: start mode on a C++ program that uses every form of the
# operators new and delete (tests/victims/cxx_ops.cc: plain, array,
# nothrow, aligned and sized; new freed by free and malloc by delete;
# bad_alloc thrown through the operators; a new_handler giving memory back),
# under glibc's allocator, and under tcmalloc and jemalloc preloaded the way
# a user does it, `LD_PRELOAD=LIB memtrace PROG` (memtrace puts the agent
# before LIB, whose operators then are the real ones).  tcmalloc's and
# jemalloc's operators never call malloc: unless the agent hooks the
# operators themselves, their blocks are missed or freed unseen.  With each
# allocator and each unwinder: the output and status of an untraced run, and
# an exit report holding exactly the victim's leaks, one per form of new,
# each with its size under the function that leaked it as frames[0];
# nothing that was deleted.  Not under the AddressSanitizer build of
# memtrace for tcmalloc and jemalloc: ASan's runtime cannot run memtrace
# itself with another allocator preloaded (t-attach-cxx-alloc preloads them
# into the victim alone).
# Under emulation (MEMTRACE_TEST_QUICK, the ARM VMs) the victim's first
# round trip is a tenth as long.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim cxx_ops)
rounds=100
[ "${MEMTRACE_TEST_QUICK:-0}" = 0 ] || rounds=10
for alloc in glibc tcmalloc jemalloc; do
	lib=$(alloc_lib "$alloc") || broken "$lib"
	case $MEMTRACE in
	*asan*)
		if [ -n "$lib" ]; then
			note "$alloc: not with the AddressSanitizer build of memtrace (LD_PRELOAD=$lib would preload it into memtrace too)"
			continue
		fi
		;;
	esac
	LD_PRELOAD=$lib run_plain "plain-$alloc" "$prog" "$rounds"
	expect_rc "plain-$alloc" 0 || broken "cxx_ops fails under $alloc without memtrace"
	has "plain-$alloc.out" "^cxx_ops: allocator $alloc\$" ||
		broken "cxx_ops does not run on $alloc with LD_PRELOAD=$lib: $(head -n 1 "plain-$alloc.out")"
	for unw in $DEFAULT_UNWINDERS; do
		tag=$alloc-$unw
		LD_PRELOAD=$lib run_traced "$tag" --unwind "$unw" "$prog" "$rounds"
		same_behaviour "plain-$alloc" "$tag" || fail_later "$alloc, --unwind $unw: cxx_ops behaves differently under memtrace"
		check_victim_run "$tag" "$prog" "$unw" || fail_later "$alloc, --unwind $unw: the exit report is wrong"
	done
done
finish
