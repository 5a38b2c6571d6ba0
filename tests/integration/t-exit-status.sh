#!/bin/bash
# t-exit-status: memtrace exits with PROG's status and reports PROG's leak
# however PROG ended (tests/victims/exitcode.c): exit(N), return N from main,
# and exit(N) from a second thread while main waits; N = 0, 3, 255.  The exit
# report says {"code": N}.  (_exit: t-exit-underscore.)
#
# When a thread calls exit, that thread is still alive, and the TLS vector
# glibc calloc'ed for it at pthread_create is live too: a block of a size
# only glibc knows, charged to vt_thread_start.  For that case only the
# leak_before_exit group is compared.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim exitcode)
for how in exit return thread; do
	for code in 0 3 255; do
		tag=$how-$code
		run_plain "$tag.plain" "$prog" $code $how
		expect_rc "$tag.plain" $code || broken "exitcode $code $how exits otherwise without memtrace"
		run_traced "$tag" "$prog" $code $how
		what="PROG ending with $how($code)"
		same_behaviour "$tag.plain" "$tag" || {
			fail_later "$what: exit status or output differs under memtrace"
			continue
		}
		check_report_sane "$tag.json" "$prog" "$DEFAULT_UNWINDER" 32 exit || {
			fail_later "$what: report"
			continue
		}
		jq -e --argjson c $code '.exit == {"code": $c}' "$tag.json" >/dev/null ||
			fail_later "$what: exit in the report is $(jq -c .exit "$tag.json"), expected {\"code\":$code}"
		if [ $how = thread ]; then
			got=$(report_groups "$tag.json" "$prog" | grep '^leak_before_exit ')
			[ "$got" = "leak_before_exit 1 123" ] ||
				fail_later "$what: leak_before_exit: expected 1 block of 123 bytes, report has '${got:-nothing}'"
		else
			check_expect "$tag.json" "$tag.out" "$prog" || fail_later "$what: leak"
		fi
	done
done
finish
