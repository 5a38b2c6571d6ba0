#!/bin/bash
# t-attach-err-dlopen: an agent whose dlopen fails in the target: a copy of
# the agent whose first DT_NEEDED library is renamed to one that does not
# exist (same length, so only that string changes).  memtrace -p must exit
# 9 with dlerror's text (the missing library's name and "cannot open shared
# object file"), and leave the target (attach_server,
# tests/victims/attach_server.c) untouched: running, untraced, no agent
# mapped, the loader free (a new thread can dlopen), answering, allocating
# on; a normal attach afterwards works and the
# output is the untraced one.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

agent=$BUILD/$AGENT_BASENAME
[ -f "$agent" ] || broken "no agent at $agent"
command -v perl >/dev/null || skip "perl is needed to edit the agent's dynamic string table"
prog=$(victim attach_server) || exit 99

needed=$(readelf -d "$agent" | sed -n 's/.*(NEEDED).*\[\(lib[^]]*\)\]/\1/p' | head -n 1)
[ -n "$needed" ] || broken "the agent has no DT_NEEDED library to rename"
missing="libQ${needed#lib?}"
[ ${#missing} = ${#needed} ] || broken "renaming $needed went wrong: $missing"
mkdir -p bad
NEEDED=$needed MISSING=$missing perl -0777 -pe 's/\0\Q$ENV{NEEDED}\E\0/\0$ENV{MISSING}\0/g' \
	"$agent" >"bad/$AGENT_BASENAME"
readelf -d "bad/$AGENT_BASENAME" | grep -q "\\[$missing\\]" || broken "could not rename $needed in the copy"
note "the copy needs $missing instead of $needed"

splain "$prog" "leak 1"

sstart t "$prog"
pid=$VPID
mt_refused dlopen 9 "$missing" "memtrace -p with an agent whose dlopen fails" -p "$pid" -L "$PWD/bad/$AGENT_BASENAME" -x status
has dlopen.err 'cannot open shared object file' || { fail_later "the message does not carry dlerror's text"; show dlopen.err; }
sunharmed "$pid" "after the failed dlopen"

sleak_seen "$prog" "$pid" 1 "after the failed dlopen"
sstop t
same_behaviour plain t || fail_later "the victim behaves differently"
finish
