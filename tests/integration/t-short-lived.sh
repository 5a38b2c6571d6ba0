#!/bin/bash
# t-short-lived: a program that ends at once still gets its exit report,
# every time.  Start-up and exit race in the agent and in memtrace (the
# agent connects, memtrace resumes it, the program may be gone by the time
# the reply travels), so one run proves little: exitcode (one leak) and
# /bin/true (bash -c true where true is busybox) run 20 times each, and
# every run must end with PROG's status and a complete exit report (for
# exitcode, matching its EXPECT line).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

MT_QUIET=1
# runs NAME PROG CODE [ARGS...]: 20 runs that must end with CODE; says which ones went wrong, and how.
runs() {
	local name=$1 prog=$2 code=$3 i tag bad=()
	shift 3
	note "20 times: memtrace --json -o $name-N.json $prog $*"
	for i in $(seq 1 20); do
		tag=$name-$i
		run_traced "$tag" "$prog" "$@"
		if ! expect_rc "$tag" "$code" >/dev/null ||
			! check_report_sane "$tag.json" "$(readlink -f "$prog")" "$DEFAULT_UNWINDER" 32 exit >/dev/null ||
			{ [ "$name" = exitcode ] && ! check_expect "$tag.json" "$tag.out" "$prog" >/dev/null; }; then
			bad+=("$tag")
		fi
	done
	[ ${#bad[@]} -eq 0 ] && return
	note "bad runs: ${bad[*]}; the first one:"
	show "${bad[0]}.err"
	show "${bad[0]}.json"
	fail_later "$name: ${#bad[@]} of 20 runs without a proper exit report"
}

runs exitcode "$(victim exitcode)" 3 3
# /bin/true, unless it is busybox (the ARM VMs): static, memtrace refuses it.
case $(readlink -f /bin/true) in
*busybox*) runs true "$(command -v bash)" 0 -c true ;;
*) runs true /bin/true 0 ;;
esac
finish
