#!/bin/bash
# t-attach-cxx-alloc: memtrace -p on a C++ program that uses every form of
# the operators new and delete (tests/victims/attach_cxx_ops.cc), running
# on glibc's allocator, and on tcmalloc and jemalloc preloaded into it
# (Debian's libtcmalloc-minimal4 and libjemalloc2), whose operators never
# call malloc: the agent must patch the operators' own GOT slots.  Blocks
# made by new before the attach are deleted after it, two threads allocate
# and delete through every form while the slots change, new and malloc
# blocks are freed by the other family, bad_alloc goes through the
# operators and a new_handler gives memory back; the report must hold
# exactly the victim's leaks, one per form of new with its size, each with
# frames[0] the function that called new, and nothing that was deleted.
# The GOT census: every operator slot of the program hooked while attached,
# every slot back after detach; output and status are an untraced run's.
# Both the PIE build and the -noplt one (GLOB_DAT slots, full RELRO); under
# emulation (MEMTRACE_TEST_QUICK, the ARM VMs) the PIE build only (the VMs
# run t-attach-basic's -noplt), tcmalloc and jemalloc only (t-attach-cxx and
# t-attach-cxx-own attach to C++ on glibc there), and the threads churn a
# tenth as long after go.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

allocs="glibc tcmalloc jemalloc"
[ "${MEMTRACE_TEST_QUICK:-0}" = 0 ] || allocs="tcmalloc jemalloc"
for alloc in $allocs; do
	VICTIM_PRELOAD=$(alloc_lib "$alloc") || broken "$VICTIM_PRELOAD"
	variants=("" -noplt)
	ops=20000
	[ "${MEMTRACE_TEST_QUICK:-0}" = 0 ] || { variants=(""); ops=2000; }
	for v in "${variants[@]}"; do
		prog=$(victim "attach_cxx_ops$v") || exit 99
		plain_run "plain-$alloc$v" "$prog" "$ops"
		has "plain-$alloc$v.out" "^cxx_ops: allocator $alloc\$" ||
			broken "attach_cxx_ops$v does not run on $alloc (LD_PRELOAD=$VICTIM_PRELOAD): $(head -n 1 "plain-$alloc$v.out")"
		traced_run "t-$alloc$v" "$prog" "$ops"
		check_traced "plain-$alloc$v" "t-$alloc$v" "$prog" exact
		if valid_json "t-$alloc$v.json" >/dev/null; then
			check_new_caller "t-$alloc$v.json" "$prog" || fail_later "$alloc$v: frames[0] of a leak through new"
		fi
	done
done
finish
