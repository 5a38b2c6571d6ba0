#!/bin/bash
# t-attach-err-nopid: memtrace -p on a process that does not exist exits 3
# with a message naming the pid: a pid just reaped, and one above
# /proc/sys/kernel/pid_max.  A -p that is no pid is bad usage (2): letters,
# a missing argument, -p together with a program to start.  None of these
# may touch a running attach_server (tests/victims/attach_server.c): it
# stays untraced, without agent, answering, with its untraced output.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_server) || exit 99
splain "$prog"

sstart t "$prog"
pid=$VPID

/bin/true &
gone=$!
wait $gone
[ ! -e "/proc/$gone" ] || broken "pid $gone still exists after wait"
max=$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 4194304)
for p in "$gone" $((max + 1)); do
	run_mt "nopid.$p" -p "$p" -x status
	expect_rc "nopid.$p" 3 || fail_later "memtrace -p $p (no such process): exit status"
	has "nopid.$p.err" "(^|[^0-9])$p([^0-9]|\$)" || { fail_later "memtrace -p $p: the message does not name $p"; show "nopid.$p.err"; }
done

run_mt usage1 -p abc -x status
expect_rc usage1 2 || fail_later "memtrace -p abc: exit status"
run_mt usage2 -p
expect_rc usage2 2 || fail_later "memtrace -p (no argument): exit status"
run_mt usage3 -p "$pid" /bin/true
expect_rc usage3 2 || fail_later "memtrace -p PID PROG: exit status"
for t in usage1 usage2 usage3; do
	[ -s $t.err ] || fail_later "$t: no message on stderr"
done

sunharmed "$pid" "after the failed attempts"
sstop t
same_behaviour plain t || fail_later "the victim behaves differently"
finish
