#!/bin/bash
# t-text-report: the exit report without --json goes to stdout after PROG's
# output and names the functions that leaked (demo_leaky: entry_new,
# format_stats; malloc_family: one function per allocator) and not a
# function that leaked nothing (grow_alloc, whose block moved to
# grow_realloc).  PROG's output comes through unchanged, first.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

for v in demo_leaky malloc_family; do
	prog=$(victim $v)
	run_plain $v.plain "$prog"
	run_mt $v "$prog"
	expect_rc $v "$(rc_of $v.plain)" || fail_later "$v: exit status"
	size=$(wc -c <$v.plain.out)
	head -c "$size" $v.out | cmp -s - $v.plain.out ||
		fail_later "$v: stdout does not start with PROG's own output"
	tail -c +$((size + 1)) $v.out >$v.report
	[ -s $v.report ] || { fail_later "$v: no exit report after PROG's output"; continue; }
	# shellcheck disable=SC2013 # function names are single words
	for fn in $(awk '$1 == "EXPECT" { print $2 }' $v.plain.out); do
		grep -qw -- "$fn" $v.report || fail_later "$v: the text report does not name $fn"
	done
done
! grep -qw grow_alloc malloc_family.report ||
	fail_later "malloc_family: the text report names grow_alloc, whose block realloc moved to grow_realloc"
[ -s demo_leaky.report ] && { note "demo_leaky's text report:"; show demo_leaky.report; }
finish
