#!/bin/bash
# t-attach-fork-child: the attached process forks a child that sleeps 15 s
# without exec, then the parent quits.  memtrace must notice the parent's
# end at once: the child must not keep the agent's control sockets (the
# fork handler forgets them).  Before that fix memtrace waited for the
# child, 15 s.  The limit, 8 s, is far under 15 and leaves room for a
# loaded machine and the AddressSanitizer build.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_server) || exit 99
sstart t "$prog"
attach_console c "$VPID"
scmd leak 2 || fail_later "leak while attached"
scmd fork 15 || fail "the victim does not answer fork"
child=${ACK#forked }
case $child in '' | *[!0-9]*) fail "the victim could not fork: $ACK" ;; esac
VPIDS+=("$child")
note "child $child sleeps 15 s"
t0=$(now_ms)
sstop t
console_wait 20
took=$(($(now_ms) - t0))
note "memtrace ended ${took} ms after the parent was told to quit"
expect_rc c 1 || fail_later "memtrace -p when the parent quit: exit status"
has c.out '^== memtrace exit report \(the program exited with code 0\)' || fail_later "no exit report"
[ "$took" -lt 8000 ] || fail_later "memtrace took $took ms to notice the parent's end (the forked child kept the agent's sockets?)"
kill -0 "$child" 2>/dev/null || fail_later "the child did not live on"
finish
