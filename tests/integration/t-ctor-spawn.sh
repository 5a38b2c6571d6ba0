#!/bin/bash
# t-ctor-spawn: processes started by a library constructor that runs before
# the agent's own, while the environment still holds memtrace's variables
# and the agent's LD_PRELOAD entry (tests/victims/ctor_spawn.c, linked with
# tests/victims/linked_spawn.c): a copy of the program run with fork and
# execve before anything allocated, and a child forked after the
# constructor's first allocation that goes on into main.  memtrace started
# neither: each must run untraced, with a clean environment and no agent
# waiting for a memtrace (the victim checks, so its output is the plain
# run's), and the program's report holds the constructor's leak.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim ctor_spawn)
lib=$(victim liblinked_spawn.so)
run_plain plain "$prog"
expect_rc plain 0 || broken "ctor_spawn fails without memtrace"

run_traced mt "$prog"
same_behaviour plain mt || fail_later "ctor_spawn or the processes its constructor started behave differently under memtrace"
! has mt.err 'did not answer|no exit report' || {
	show mt.err
	fail_later "memtrace did not get the program's report"
}
if check_report_sane mt.json "$prog" "$DEFAULT_UNWINDER" 32 exit; then
	got=$(report_groups mt.json "$lib")
	exp=$(expect_groups mt.out)
	[ "$got" = "$exp" ] ||
		fail_later "the library's leaks: expected '$exp', the report has '$got' (function blocks bytes)"
	[ -z "$(report_groups mt.json "$prog")" ] ||
		fail_later "the program leaks nothing, the report says: $(report_groups mt.json "$prog")"
else
	fail_later "report shape"
fi
finish
