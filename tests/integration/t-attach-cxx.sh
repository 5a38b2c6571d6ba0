#!/bin/bash
# t-attach-cxx: memtrace -p on a C++ program (tests/victims/attach_cxx.cc):
# operator new calls malloc through libstdc++'s own GOT, which the agent
# must patch as well.  Containers, strings, shared pointers and an exception
# come and go after the attach; the report holds exactly the leaks through
# new under the functions that called it, each with frames[0] in libstdc++;
# output and status are those of an untraced run.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_cxx) || exit 99
plain_run plain "$prog"
traced_run t "$prog"
check_traced plain t "$prog" exact
if valid_json t.json >/dev/null; then
	bad=$(jq -r --arg m "$prog" "$JQ_DEFS"'.contexts[] | select(own($m) != null)
		| select((.frames[0].module // "") | test("/libstdc\\+\\+") | not)
		| "  context \(.id) (\(own($m) | fn)): frames[0] is \(.frames[0].symbol // .frames[0].addr) in \(.frames[0].module)"' t.json)
	[ -z "$bad" ] || fail_later "frames[0] of a leak through new is not in libstdc++:
$bad"
fi
finish
