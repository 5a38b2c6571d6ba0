#!/bin/bash
# t-attach-cxx-own: memtrace -p on a C++ program that replaces operator new
# and delete with a pool of its own (tests/victims/attach_cxx_own.cc).
# libstdc++ allocates from the pool through its GOT slot while the program
# frees directly: the agent must leave the program's own operators
# unhooked (as start mode binds them), or every string libstdc++ grows
# stays in the report as a leak.  The forms the program did not replace
# (new[], delete[]) are still hooked; the report holds exactly the
# victim's two leaks, output and status are an untraced run's, every
# malloc-family and operator slot the agent may hook is hooked while
# attached and put back after detach.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_cxx_own) || exit 99
plain_run plain "$prog"
traced_run t "$prog"
check_traced plain t "$prog" exact
finish
