#!/bin/bash
# t-gdb-console: the console's gdb and the core sent over the link, with the
# real gdbserver on the "device" and the real gdb in memtrace-server on the
# "host" (loopback).  The device runs a stripped core_victim -p -e under
# memtrace --connect (it leaks a struct core_item from core_leak_item every
# 50 ms and prints each, "core_item ADDR tag ITEM-N serial N ..."); the host
# has its unstripped build in a sysroot that mirrors the device.
#   gdb -c ID     the held thread is run back to core_leak_item, just after
#                 its malloc line, serial as the victim numbers it; `bt`
#                 shows core_leak_item then main; `print serial` that
#                 serial; `finish` returns the block memtrace said was
#                 allocated; `next` steps in main; shell, pipe, python,
#                 dump, call and `frame apply` are refused, naming the
#                 command; `continue` gives memtrace's console back and the
#                 victim goes on leaking (higher serials), memtrace's
#                 status still answers, gdbserver is gone;
#   coredump -c ID   when linked the core goes to the server, which opens it:
#                 `frames ID` shows core_leak_item at the malloc line,
#                 `blocks ID` the held block, `inspect ADDR --type struct
#                 core_item` ITEM-1's fields; the server (--cores kept)
#                 keeps it and the one of `coredump -n`, which gdb opens
#                 with every thread in its own function (corecheck.sh);
#                 `leaks --core` judges that one on the host: 4 threads'
#                 roots, every core_item still reachable (the list's head
#                 is a global);
#   the victim ends normally (status 0: no wait saw EINTR but epoll_wait's,
#   which any PTRACE_ATTACH causes: -e tolerates it, see core_victim.c);
#   memtrace -p whose script ends inside the gdb console: gdb detaches
#   first, memtrace detaches, the victim runs on and ends normally;
#   errors: gdb unlinked, a missing --gdbserver, frames with no view.
# shellcheck disable=SC2119 # console_end takes an optional time limit
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/link.sh
. "$(dirname "$0")/../lib/link.sh"

#
# In an ARM VM (tests/arm/vm.sh) the server is the host's, with gdb-multiarch:
# MEMTRACE_TEST_SERVER is its address, its sysroot mirrors the guest and
# holds the unstripped victims whose stripped copies are in
# MEMTRACE_TEST_STRIPPED (MEMTRACE_TEST_NO_SERVER says why there is none).
command -v gdbserver >/dev/null || skip "gdbserver is not installed (apt-get install gdbserver)"
[ -z "${MEMTRACE_TEST_NO_SERVER:-}" ] || skip "no memtrace-server to link to: $MEMTRACE_TEST_NO_SERVER"
prog=$(victim core_victim)
src=$TOP/tests/victims/core_victim.c
mkdir -p tmp
export TMPDIR=$PWD/tmp
if [ -n "${MEMTRACE_TEST_SERVER:-}" ]; then
	dev=${MEMTRACE_TEST_STRIPPED:-}/core_victim
	[ -x "$dev" ] || broken "no stripped core_victim at $dev"
	to=$MEMTRACE_TEST_SERVER
else
	[ -x "$SERVER" ] || skip "$SERVER not built (host only: a cross build has no memtrace-server)"
	command -v gdb >/dev/null || skip "gdb is not installed (apt-get install gdb)"
	command -v strip >/dev/null || skip "strip missing (binutils)"
	mkdir -p dev && strip -o dev/core_victim "$prog" || broken "strip $prog"
	dev=$PWD/dev/core_victim
	# The host's sysroots: root/, the program unstripped at its device path, then this machine's /
	# for the libraries and the agent as they are here (the server follows a link in a sysroot as
	# the device would, so root/lib -> /lib would lead back into root/: the links below are for
	# corecheck.sh's plain gdb).
	mkdir -p "root$(dirname "$dev")" && cp "$prog" "root$dev" || broken "sysroot"
	for d in lib lib64 usr; do [ -e /$d ] && ln -s /$d root/$d; done
	mkdir -p kept
	srv_start srv --listen 127.0.0.1:0 --no-multicast --cores kept -v root /
	srv_listening srv
	to=127.0.0.1:$SRV_PORT
fi
malloc_line=$(grep -n 'struct core_item \*it = malloc' "$src" | cut -d: -f1)
call_line=$(grep -n 'items = core_leak_item(++serial)' "$src" | cut -d: -f1)

# ---------------------------------------------------------------- the device
console_start h --connect "$to" "$dev" -p -e -i 50 -f "$PWD/stop" -s 90
wait_for test -e core_victim.started || fail_later "core_victim did not start"
wait_for has h.out '^core_item .* serial 2 ' || fail_later "core_victim printed no items"
pid=$(sed -n 1p core_victim.started 2>/dev/null)
# the agent as the process loaded it, in the sysroot too (gdb reads memtrace's tables through its symbols)
agent=$(grep -o '/[^ ]*libmemtrace-agent[^ ]*\.so' "/proc/${pid:-0}/maps" 2>/dev/null | head -n 1)
[ -n "$agent" ] || fail_later "no agent in /proc/${pid:-?}/maps"
[ -n "${MEMTRACE_TEST_SERVER:-}" ] || { mkdir -p "root$(dirname "$agent")" && ln -sf "$agent" "root$agent"; } ||
	fail_later "cannot put the agent $agent in the sysroot"
console_send 'frames 1'
console_item_id "$dev"

console_send "gdb -c $id -t 20"
WAIT_SECONDS=60 wait_for has h.out '^gdb console: ' || fail_later "gdb -c $id: no gdb console within 60 s"
for c in bt 'print serial' 'shell id' 'pipe bt | cat' 'python print(1)' 'dump memory x 0 1' \
	'call core_leak_once()' 'frame apply all p 1' 'finish' 'next'; do
	console_send "$c"
done
console_send 'continue'
WAIT_SECONDS=30 wait_for has h.out "^back in memtrace's console" || fail_later "continue: no 'back in memtrace's console' line"
console_send 'status'
wait_for has h.out '^server: ' || fail_later "status after gdb: no answer"
after=$(awk '$1 == "core_item" { n = $6 } END { print n + 0 }' h.out)
wait_for eval "[ \"\$(awk '\$1 == \"core_item\" { n = \$6 } END { print n + 0 }' h.out)\" -gt $((after + 3)) ]" ||
	fail_later "the victim did not go on leaking after gdb's continue"
gdbserver_left=$(pgrep -f "gdbserver --attach - ${pid:-x}\$" || true)
[ -z "$gdbserver_left" ] || fail_later "gdbserver still runs after continue: $gdbserver_left"

console_send "coredump -c $id -f core1"
WAIT_SECONDS=60 wait_for has h.out '^memtrace-server opened the core' || fail_later "coredump: the server did not open the core"
console_send "frames $id"
console_send "blocks $id"
item1=$(awk '$1 == "core_item" && $6 == 1 { print $2 }' h.out)
console_send "inspect ${item1:-0} --type 'struct core_item'"
console_send 'coredump -n -f core2'
WAIT_SECONDS=60 wait_for has h.out '^memtrace-server opened the core .*\.2$' ||
	fail_later "coredump -n: the server did not open the second core"
console_send 'leaks --core -c 0 --kind all --json -o coreleaks.json'
WAIT_SECONDS=60 wait_for valid_json coreleaks.json || fail_later "leaks --core: no valid coreleaks.json"
console_send 'sleep 1'
touch stop
console_end
expect_rc h 0 || { fail_later "core_victim's exit status (a wait saw EINTR, or an item went wrong)"; show h.out; }

# ---------------------------------------------------------------- what the console showed
site=$(grep -m1 'Temporary breakpoint 1, ' h.out)
serial=$(sed -n 's/.* in core_leak_item (serial=\([0-9]*\)).*/\1/p; s/.* in core_leak_item (serial=serial@entry=\([0-9]*\)).*/\1/p' <<<"$site")
[[ $site =~ \ in\ core_leak_item\ \(serial=.*\)\ at\ .*tests/victims/core_victim\.c:${malloc_line:-x}$ ]] ||
	fail_later "gdb -c: not stopped just after the malloc in core_leak_item: '$site'"
has h.out "^thread [0-9]+ \(.*\) allocated in context $id; running it to the return into core_leak_item$" ||
	fail_later "gdb -c: no line saying which thread allocated"
held=$(sed -n "s/^context $id allocated \(0x[0-9a-f]*\) (40 bytes) in thread [0-9]*$/\1/p" h.out)
[ -n "$held" ] || fail_later "gdb -c: no 'context $id allocated ADDR (40 bytes)' line"
has h.out '^#0 +0x[0-9a-f]+ in core_leak_item \(' || fail_later "bt: #0 is not core_leak_item"
has h.out '^#1 +0x[0-9a-f]+ in main \(' || fail_later "bt: #1 is not main"
has h.out "^\\\$1 = ${serial:-x}$" || fail_later "print serial: not \$1 = ${serial:-?}"
has h.out '^Run till exit from #0 ' || fail_later "finish: gdb's 'Run till exit' is missing"
has h.out "^Value returned is \\\$2 = \(struct core_item \*\) ${held:-x}$" ||
	fail_later "finish: the value returned is not the held block ${held:-?}"
has h.out "^$((call_line + 1))[[:space:]]" || fail_later "next: not on line $((call_line + 1)) of main"
for c in shell pipe python dump call 'frame apply'; do
	has h.err "'$c' is not allowed here: the gdb console runs only bt, " || fail_later "'$c' was not refused"
done
has h.err 'frames: no core and no gdb session yet' || fail_later "frames before any core: no clear error"
has h.out "^gdb detached; the program runs on$" || fail_later "continue: gdb did not say it detached"
has h.out "^== frames of context $id: thread 1 \(.*\), held at its allocation" ||
	fail_later "frames over the link: no heading for thread 1"
has h.out "^#[0-9]+ +0x[0-9a-f]+ in core_leak_item \(serial=[0-9]+\) at .*core_victim\.c:${malloc_line:-x}$" ||
	fail_later "frames over the link: core_leak_item at line ${malloc_line:-?} not shown"
has h.out '^  tag = "ITEM-1\\000' || fail_later "inspect --type over the link: ITEM-1's tag is not shown"
has h.out '^  serial = 1,$' || fail_later "inspect --type over the link: serial = 1 is not shown"
# leaks --core: the host judged the second core (in an ARM VM, a 32- or
# 64-bit ARM core): the four threads but the agent's as roots, and every
# core_item still reachable from the global list.
if valid_json coreleaks.json; then
	[ "$(jq -r '.scan.core' coreleaks.json)" = true ] || fail_later "leaks --core: scan.core is not true"
	[ "$(jq -r '.scan.threads' coreleaks.json)" = 4 ] ||
		fail_later "leaks --core: $(jq -r '.scan.threads' coreleaks.json) threads' roots, not the victim's 4"
	items=$(jq '[.contexts[] | select(any(.frames[]; .function == "core_leak_item"))] | first // {}' coreleaks.json)
	[ "$(jq -r '.still_reachable.blocks // 0' <<<"$items")" -ge 2 ] ||
		fail_later "leaks --core: core_leak_item's blocks are not still reachable: $items"
	[ "$(jq -r '(.definitely_lost.blocks // 0) + (.indirectly_lost.blocks // 0) + (.possibly_lost.blocks // 0)' <<<"$items")" = 0 ] ||
		fail_later "leaks --core: some of core_leak_item's blocks are judged lost: $items"
fi
# --cores: the host keeps both, and gdb sees every thread of the second
for n in 1 2; do
	has h.out "^memtrace-server opened the core \(.* MiB\) in gdb with .*; kept as /.*/core\.core_victim\.${pid:-x}\.$n$" ||
		fail_later "coredump over the link: the server does not say it kept core.core_victim.${pid:-?}.$n"
done
if [ -z "${MEMTRACE_TEST_SERVER:-}" ]; then
	# (in an ARM VM the host checks them: tests/arm/cores.sh)
	[ "$(find kept -type f | wc -l)" = 2 ] || fail_later "--cores: not two cores kept: $(ls kept)"
	out=$("$TOP/tests/lib/corecheck.sh" gdb "$prog" "kept/core.core_victim.${pid:-x}.2" root) ||
		{ fail_later "the kept core: $out"; show "kept/core.core_victim.${pid:-x}.2.gdb"; }
fi
[ "$FAILURES" -eq 0 ] || { show h.out; show h.err; [ ! -e srv.err ] || show srv.err; }

# ---------------------------------------------------------------- errors
run_mt nolink -x 'gdb' -x 'frames 1' "$dev" -s 2 -i 500
has nolink.err "gdb: memtrace-server answers this, and there is no link to one" ||
	{ fail_later "gdb unlinked: no clear error"; show nolink.err; }
run_mt nogs --connect "$to" --gdbserver /nonexistent/gdbserver -x 'gdb' "$dev" -s 2 -i 500
has nogs.err "gdb: --gdbserver /nonexistent/gdbserver: No such file or directory \(or take a core at the allocation instead: coredump -c ID\)" ||
	{ fail_later "a missing gdbserver: no clear error"; show nogs.err; }
# ---------------------------------------------------------------- attached, the script ends inside gdb
rm -f stop2 core_victim.started
"$dev" -e -i 50 -f "$PWD/stop2" -s 60 >plain2.out 2>&1 &
vpid=$!
wait_for test -e core_victim.started || fail_later "core_victim (plain) did not start"
run_mt att -p "$vpid" --connect "$to" -x 'gdb' -x 'bt'
expect_rc att 0 || { fail_later "memtrace -p ending inside the gdb console: not detached cleanly"; show att.err; }
has att.out "^gdb detached; the program runs on$" || fail_later "memtrace -p: the open gdb console was not closed first"
kill -0 "$vpid" 2>/dev/null || fail_later "the attached victim is gone after memtrace left"
touch stop2
wait "$vpid"
[ $? = 0 ] || { fail_later "the attached victim's exit status after gdb and memtrace left"; show plain2.out; }

if [ -z "${MEMTRACE_TEST_SERVER:-}" ]; then
	srv_stop srv
	! has srv.err "Sanitizer|runtime error" || { fail_later "sanitizer report in memtrace-server"; show srv.err; }
fi
finish
