#!/bin/bash
# t-attach-seccomp-unwind: processes under seccomp filters that raise
# SIGSYS for the system calls libunwind makes in the process (the default
# unwinder, the tables, hands it what its rows cannot say): it tries mincore(2) once when it starts and checks
# addresses with it, or with msync(2) where mincore failed.  memtrace reads
# the filters (PTRACE_SECCOMP_GET_FILTER) and runs them on those calls:
#   - a filter against mincore only (attach_server no-mincore): the attach
#     goes on (libunwind starts inside the attach's remote calls, where the
#     SIGSYS is caught and the call fails, so it checks with msync), the
#     victim allocates 2,000 blocks on request while attached, and lives;
#     a second attach, the agent loaded (its libunwind may have chosen
#     mincore before the filter came), is refused: exit 8, naming mincore
#     and --unwind fp, the process untouched;
#   - a filter against both (no-mincore-msync): refused at once, nothing
#     loaded (exit 8, naming msync), the process untouched and answering;
#     with --unwind fp it is attached, its leaks judged, detached;
#   - both victims end with status 0 (SIGSYS would kill with 159) and
#     behave as untraced runs.
# 32-bit ARM's walk (libgcc's) makes no system call: skipped there.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

case $(uname -m) in arm*) skip "32-bit ARM's unwinder (libgcc's EHABI walk) makes no system call" ;; esac
[ "$(id -u)" = 0 ] || skip "reading a process's seccomp filter takes CAP_SYS_ADMIN (run as root)"
prog=$(victim attach_server) || exit 99

for mode in no-mincore no-mincore-msync; do
	sstart p-$mode "$prog" $mode
	grep -q '^Seccomp:[[:space:]]*2' "/proc/$VPID/status" ||
		skip "the seccomp filter did not install (kernel without seccomp filters?)"
	scmd hold 2000 || broken "attach_server $mode does not answer without memtrace"
	scmd drop || broken "attach_server $mode does not answer without memtrace"
	sstop p-$mode
	expect_rc p-$mode 0 || broken "attach_server $mode fails without memtrace"
done

# mincore only: libunwind falls back to msync.
sstart t "$prog" no-mincore
pid=$VPID
attach_console a "$pid" || finish
scmd hold 2000 || fail_later "no-mincore: hold while attached: no answer (killed by SIGSYS?)"
scmd drop || fail_later "no-mincore: drop while attached: no answer"
mt_end a detach
sping "no-mincore: after detach"
mt_refused again 8 'its seccomp filter may kill it for mincore .*--unwind fp' \
	"no-mincore: a second attach, the agent loaded" -p "$pid" -x status
victim_alive "$pid" && [ -z "$(tracers "$pid")" ] || fail_later "no-mincore: the refused second attach left the victim traced or dead"
sping "no-mincore: after the refusal"
sstop t
expect_rc t 0 || fail_later "no-mincore: the victim did not end well (SIGSYS kills with 159)"
same_behaviour p-no-mincore t || fail_later "no-mincore: the victim behaved differently traced"

# mincore and msync: refused before anything is loaded; frame pointers work.
sstart u "$prog" no-mincore-msync
pid=$VPID
mt_refused refused 8 'its seccomp filter may kill it for msync .*--unwind fp' \
	"no-mincore-msync: memtrace -p" -p "$pid" -x status
untouched "$pid" "no-mincore-msync: after the refusal"
sping "no-mincore-msync: after the refusal"
attach_console fp "$pid" --unwind fp || finish
scmd hold 2000 || fail_later "no-mincore-msync: hold while attached with --unwind fp: no answer"
scmd drop || fail_later "no-mincore-msync: drop while attached: no answer"
console_send "leaks --json -o fp.json"
WAIT_SECONDS=60 wait_for valid_json fp.json || fail_later "--unwind fp: leaks --json: no valid file"
mt_end fp detach
sping "no-mincore-msync: after the --unwind fp session"
sstop u
expect_rc u 0 || fail_later "no-mincore-msync: the victim did not end well (SIGSYS kills with 159)"
same_behaviour p-no-mincore-msync u || fail_later "no-mincore-msync: the victim behaved differently traced"
finish
