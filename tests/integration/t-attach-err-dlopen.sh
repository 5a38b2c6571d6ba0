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

sstart plain "$prog"
scmd leak 1 || broken "attach_server does not answer without memtrace"
sstop plain
expect_rc plain 0 || broken "attach_server fails without memtrace"

sstart t "$prog"
pid=$VPID
run_mt dlopen -p "$pid" -L "$PWD/bad/$AGENT_BASENAME" -x status
expect_rc dlopen 9 || fail_later "memtrace -p with an agent whose dlopen fails: exit status"
has dlopen.err "$missing" || { fail_later "the message does not name $missing (dlerror's text)"; show dlopen.err; }
has dlopen.err 'cannot open shared object file' || { fail_later "the message does not carry dlerror's text"; show dlopen.err; }
untouched "$pid" "after the failed dlopen"
sping "after the failed dlopen"
sloader "after the failed dlopen"
beating "after the failed dlopen"

attach_console ok "$pid"
scmd leak 1 || fail_later "leak in the session after the failed dlopen"
if mt_report ok ok.json; then
	got=$(group_of ok.json "$prog" leak_on_request)
	[ "$got" = "1 40" ] || fail_later "after the failed dlopen: leak_on_request '${got:-nothing}', expected '1 40'"
fi
mt_end ok detach
sstop t
same_behaviour plain t || fail_later "the victim behaves differently"
finish
