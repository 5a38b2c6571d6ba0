#!/bin/bash
# t-attach-blocked: threads asleep in read() on a pipe, epoll_wait(),
# nanosleep() and pthread_cond_wait() across the attach
# (tests/victims/attach_blocked.c).  Once memtrace answers, the test writes
# to both pipes, then says go (the victim then signals the condition): each
# call must return once, with exactly what was sent (no EINTR, no lost or
# extra wakeup), nanosleep after its full time; the threads' leaks are in
# the report, output and status are those of an untraced run, and memtrace
# left every thread as it was (no thread stopped or traced after detach).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

write_pipes() {
	printf 'read-after-attach\n' >"$1.d/pipe.read"
	printf 'epoll-after-attach\n' >"$1.d/pipe.epoll"
}
BEFORE_GO=write_pipes

prog=$(victim attach_blocked) || exit 99
plain_run plain "$prog"
traced_run t "$prog"
check_traced plain t "$prog" exact
finish
