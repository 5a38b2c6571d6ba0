#!/bin/bash
# t-attach-err-noexec: the agent on a filesystem mounted noexec cannot be
# mapped executable in the target: memtrace -p -L there must exit 7 with a
# message that says noexec, and leave the target (attach_server,
# tests/victims/attach_server.c) untouched: running, untraced, no agent
# mapped, a new thread can dlopen, answering, its untraced output.  A tmpfs mounted noexec in the
# test directory holds the copy (skipped if this cannot mount: not root,
# or no mount permission in this container).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

agent=$BUILD/$AGENT_BASENAME
[ -f "$agent" ] || broken "no agent at $agent"
prog=$(victim attach_server) || exit 99

mkdir -p nx
mount -t tmpfs -o noexec,size=16m memtrace-test-noexec nx 2>mount.err ||
	skip "cannot mount a noexec tmpfs here: $(head -n 1 mount.err)"
ATTACH_CLEANUP_EXTRA="umount '$PWD/nx' 2>/dev/null"
cp "$agent" "nx/$AGENT_BASENAME" || broken "cannot copy the agent to the noexec mount"

splain "$prog"

sstart t "$prog"
pid=$VPID
mt_refused noexec 7 'noexec' "memtrace -p with the agent on a noexec mount" -p "$pid" -L "$PWD/nx/$AGENT_BASENAME" -x status
sunharmed "$pid" "after the agent on a noexec mount"
sstop t
same_behaviour plain t || fail_later "the victim behaves differently"
umount nx || fail_later "cannot unmount the noexec tmpfs"
ATTACH_CLEANUP_EXTRA=
finish
