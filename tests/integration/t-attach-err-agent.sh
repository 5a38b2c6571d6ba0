#!/bin/bash
# t-attach-err-agent: memtrace -p with an unusable agent library exits 7 and
# names the file, before touching the process: -L to a file that does not
# exist, -L to a copy of the agent whose ELF header says another machine
# (aarch64 on x86_64, x86_64 elsewhere), -L to a text file.  The target
# (attach_server, tests/victims/attach_server.c) stays untouched: running,
# untraced, no agent, a new thread can dlopen, answering, its untraced
# output.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

agent=$BUILD/$AGENT_BASENAME
[ -f "$agent" ] || broken "no agent at $agent"
prog=$(victim attach_server) || exit 99

# A copy with e_machine (bytes 18-19, little-endian here) set to another
# machine: 183 (aarch64), or 62 (x86_64) if this is aarch64.
mkdir -p wrongarch notelf
cp "$agent" "wrongarch/$AGENT_BASENAME"
machine=$(od -An -t u2 -j 18 -N 2 "$agent" | tr -d ' ')
if [ "$machine" = 183 ]; then
	printf '\076\000'
else
	printf '\267\000'
fi | dd of="wrongarch/$AGENT_BASENAME" bs=1 seek=18 conv=notrunc status=none
[ "$(od -An -t u2 -j 18 -N 2 "wrongarch/$AGENT_BASENAME" | tr -d ' ')" != "$machine" ] || broken "could not patch e_machine"
printf 'not an ELF file\n' >"notelf/$AGENT_BASENAME"

splain "$prog"

sstart t "$prog"
pid=$VPID
for case in "missing /nonexistent/$AGENT_BASENAME" "wrongarch $PWD/wrongarch/$AGENT_BASENAME" \
	"notelf $PWD/notelf/$AGENT_BASENAME"; do
	name=${case%% *}
	path=${case#* }
	run_mt "$name" -p "$pid" -L "$path" -x status
	expect_rc "$name" 7 || fail_later "memtrace -p -L $path ($name): exit status"
	has "$name.err" "$path" || { fail_later "$name: the message does not name $path"; show "$name.err"; }
	untouched "$pid" "after the $name agent"
	sping "after the $name agent"
done
beating "after the failed attempts"
sloader "after the failed attempts"
sstop t
same_behaviour plain t || fail_later "the victim behaves differently"
finish
