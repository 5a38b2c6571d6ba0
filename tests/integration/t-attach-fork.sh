#!/bin/bash
# t-attach-fork: the attached program forks while a thread allocates
# (tests/victims/attach_fork.c).  The child inherits the agent and the
# patched GOT but must run as if untraced: it allocates, leaks and exits 7
# in time (no lock held at fork time may hang it), and nothing it does is
# in the parent's report (exactly the parent's leaks, summary included).
# After detach the victim forks again.  Output and status of an untraced run.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_fork) || exit 99
plain_run plain "$prog"
traced_run t "$prog"
check_traced plain t "$prog" exact
finish
