#!/bin/bash
# t-signals: PROG dying of a signal (tests/victims/sigdie.c): memtrace exits
# with 128 + N and gives an exit report saying {"signal": N} with PROG's leak,
# for SIGTERM and SIGINT by raise(), SIGSEGV by kill(getpid()), SIGABRT by
# abort() and a real SIGSEGV (store to address 0).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim sigdie)
for case in TERM:15 INT:2 SEGV:11 ABRT:6 crash:11; do
	how=${case%:*}
	sig=${case#*:}
	run_plain "$how.plain" "$prog" "$how"
	expect_rc "$how.plain" $((128 + sig)) || broken "sigdie $how ends otherwise without memtrace"
	for unw in $DEFAULT_UNWINDERS; do
		tag=$how-$unw
		what="PROG dying of $how (signal $sig), --unwind $unw"
		run_traced "$tag" --unwind $unw "$prog" "$how"
		same_behaviour "$how.plain" "$tag" || {
			fail_later "$what: exit status or output differs under memtrace"
			continue
		}
		check_report_sane "$tag.json" "$prog" $unw 32 exit || {
			fail_later "$what: report"
			continue
		}
		jq -e --argjson s "$sig" '.exit.signal == $s and (.exit | has("code") | not) and .exit.report != false' \
			"$tag.json" >/dev/null ||
			fail_later "$what: exit in the report is $(jq -c .exit "$tag.json"), expected {\"signal\":$sig}"
		check_expect "$tag.json" "$tag.out" "$prog" || fail_later "$what: leak"
	done
done
finish
