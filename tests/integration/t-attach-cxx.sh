#!/bin/bash
# t-attach-cxx: memtrace -p on a C++ program (tests/victims/attach_cxx.cc):
# the agent patches the operators' GOT slots (and libstdc++'s own, through
# which operator new calls malloc).  Containers, strings, shared pointers and
# an exception come and go after the attach; the report holds exactly the
# leaks through new under the functions that called it, each with frames[0]
# the caller of the operator; output and status are those of an untraced run.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_cxx) || exit 99
plain_run plain "$prog"
traced_run t "$prog"
check_traced plain t "$prog" exact
if valid_json t.json >/dev/null; then
	check_new_caller t.json "$prog" || fail_later "frames[0] of a leak through new"
fi
finish
