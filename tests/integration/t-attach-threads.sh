#!/bin/bash
# t-attach-threads: memtrace -p while eight threads allocate and free as fast
# as they can, before, during and after the attach
# (tests/victims/attach_threads.c).  The GOT slots change under the threads'
# feet; the report must still hold exactly each thread's leak under its
# leak_t<i> (summary included: no block made before the attach and freed
# after, or moved by realloc across it, may stay counted), no block may be
# damaged, and output and status are those of an untraced run.  Both the
# PIE and the -noplt build (GLOB_DAT slots, full RELRO).  Then -p with the
# id of one of its threads: memtrace attaches to the process (the report
# names the process's pid) and detaches.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

for v in "" -noplt; do
	prog=$(victim "attach_threads$v") || exit 99
	attach_compare "$v" exact "$prog"
done

vstart tid "$prog"
tid=
for t in /proc/"$VPID"/task/*; do
	[ "${t##*/}" = "$VPID" ] || tid=${t##*/}
done
if [ -z "$tid" ]; then
	fail_later "-p TID: the victim has no thread but its main one"
else
	run_mt tid.mt -p "$tid" -x status -x 'report -c 0 --json -o tid.json'
	expect_rc tid.mt 0 || fail_later "-p TID ($tid, a thread of $VPID): exit status"
	jq -e --argjson p "$VPID" '.pid == $p' tid.json >/dev/null 2>&1 ||
		fail_later "-p TID: the report is not of process $VPID (pid $(jq .pid tid.json 2>/dev/null))"
fi
vgo tid
vwait_file tid leaked || fail_later "-p TID: the victim did not go on"
vstop tid
expect_rc tid 0 || fail_later "-p TID: the victim's exit status"
finish
