#!/bin/bash
# t-exit-underscore: PROG ending with _exit(N) (tests/victims/exitcode.c),
# which runs no atexit handler and no destructor.  memtrace must still exit
# with N, and give the exit report with PROG's leak: the contract names
# SIGKILL as the only end without one.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim exitcode)
for code in 0 5; do
	tag=_exit-$code
	run_plain "$tag.plain" "$prog" $code _exit
	expect_rc "$tag.plain" $code || broken "exitcode $code _exit exits otherwise without memtrace"
	run_traced "$tag" "$prog" $code _exit
	what="PROG ending with _exit($code)"
	same_behaviour "$tag.plain" "$tag" || fail_later "$what: exit status or output differs under memtrace"
	check_report_sane "$tag.json" "$prog" "$DEFAULT_UNWINDER" 32 exit || {
		fail_later "$what: no proper exit report"
		show "$tag.err"
		continue
	}
	jq -e --argjson c $code '.exit == {"code": $c}' "$tag.json" >/dev/null ||
		fail_later "$what: exit in the report is $(jq -c .exit "$tag.json"), expected {\"code\":$code}"
	check_expect "$tag.json" "$tag.out" "$prog" || fail_later "$what: leak"
done
finish
