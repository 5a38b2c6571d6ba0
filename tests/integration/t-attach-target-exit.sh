#!/bin/bash
# t-attach-target-exit: the process ends while memtrace -p is attached:
# memtrace must notice by itself (its console still open, or its -x list
# still sleeping), print the exit report (t-attach-exit-report checks its
# contents) and exit 1, and the process ends as it would have
# (attach_server, tests/victims/attach_server.c: quit -> status 0 and the
# same output as untraced; SIGTERM -> killed by SIGTERM).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_server) || exit 99

splain "$prog" "leak 2"

# 1. console session; the victim quits
sstart t1 "$prog"
attach_console c1 "$VPID"
scmd leak 2 || fail_later "leak while attached"
sstop t1
same_behaviour plain t1 || fail_later "the victim behaves differently when it ends attached"
console_wait 15
expect_rc c1 1 || fail_later "memtrace -p when the process quit while attached (console open): exit status"
has c1.out '^== memtrace exit report \(the program exited with code 0\)' || fail_later "console session: no exit report"
console_close

# 2. -x session sleeping; the victim quits
sstart t2 "$prog"
bg_start c2 -p "$VPID" -x status -x 'sleep 60'
WAIT_SECONDS=30 wait_for has c2.out '^ *in use: ' || fail_later "-x session: no status"
scmd leak 2 || fail_later "leak while attached"
sstop t2
same_behaviour plain t2 || fail_later "the victim behaves differently when it ends attached (-x)"
console_wait 15
expect_rc c2 1 || fail_later "memtrace -p -x 'sleep 60' when the process quit: exit status"

# 3. console session; the victim is killed by SIGTERM
sstart t3 "$prog"
attach_console c3 "$VPID"
kill -TERM "$VPID"
exec 8>&-
vwait_end t3 10 || fail_later "the victim did not die of SIGTERM"
expect_rc t3 143 || fail_later "the victim's status after SIGTERM while attached"
console_wait 15
expect_rc c3 1 || fail_later "memtrace -p when the process was killed while attached: exit status"
has c3.out '^== memtrace exit report \(the program was killed by signal 15 ' || fail_later "SIGTERM: no exit report"
console_close
finish
