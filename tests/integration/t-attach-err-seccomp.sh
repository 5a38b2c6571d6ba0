#!/bin/bash
# t-attach-err-seccomp: a process whose seccomp filter traps (SIGSYS) every
# mmap or mprotect asking for PROT_EXEC (attach_server seccomp,
# tests/victims/attach_server.c), which a dlopen of the agent must do:
# memtrace -p must exit 8 with a message that names seccomp, and leave the
# process untouched: not killed by the SIGSYS, untraced, no agent mapped
# (nothing of it left half loaded), the loader free (a new thread can
# dlopen: the loader's lock was not left held by an aborted dlopen),
# answering, allocating on, its output and status those of an untraced run.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_server) || exit 99

sstart_seccomp() {
	vstart "$1" "$prog" seccomp
	STAG=$1
	exec 8<>"$1.d/cmd" || broken "cannot open $1.d/cmd"
}

sstart_seccomp plain
grep -q '^Seccomp:[[:space:]]*2' "/proc/$VPID/status" || skip "the seccomp filter did not install (kernel without seccomp filters?)"
scmd leak 1 || broken "attach_server seccomp does not answer without memtrace"
sstop plain
expect_rc plain 0 || broken "attach_server seccomp fails without memtrace"

sstart_seccomp t
pid=$VPID
mt_refused seccomp 8 'seccomp' "memtrace -p on a process whose seccomp filter traps exec mappings" -p "$pid" -x status
untouched "$pid" "after the seccomp refusal"
if grep -q "/$AGENT_BASENAME" "/proc/$pid/maps"; then
	fail_later "parts of the agent are left mapped in the process:"
	grep "/$AGENT_BASENAME" "/proc/$pid/maps" | sed 's/^/    /'
fi
sworks "after the seccomp refusal"
scmd leak 1 || fail_later "leak after the seccomp refusal"
sstop t
same_behaviour plain t || fail_later "the victim behaves differently"
finish
