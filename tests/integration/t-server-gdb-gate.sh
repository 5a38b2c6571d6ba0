#!/bin/bash
# t-server-gdb-gate: what a device sends for `inspect` reaches the host's gdb
# only through the gate (server/gdbcmd.h): an address is a number or a
# symbol's name, a type a C type name; anything else is refused before gdb
# sees it.  The "device" runs a stripped core_victim -p under memtrace
# --connect and sends `coredump -n`; the host's memtrace-server, under strace
# -f, opens that core in its gdb.  Then, on the device's console:
#   inspect '$_strlen("abcdefghijklmnopq")'   refused ("is not an address"):
#                 before the gate the host's gdb evaluated it and answered
#                 "0x11: not in the core's memory" (on gdb 14, $_shell runs
#                 a command the same way);
#   inspect ITEM-1 --type 'char *) (0 + $_strlen(...)) + (char'   refused
#                 ("not a C type name"): before, gdb read address 0x11;
#   inspect '$pc', inspect 'items[0]'   refused;
#   inspect ITEM-1 --type 'struct core_item'   still ITEM-1's fields;
#   inspect '&core_global' --bytes 20   a symbol still works: its bytes;
#   strace: the server and its children executed nothing but gdb (and
#   the `iconv -l` gdb runs at its start).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/link.sh
. "$(dirname "$0")/../lib/link.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/strace.sh
. "$(dirname "$0")/../lib/strace.sh"

need_traced_gdb
prog=$(victim core_victim)
mkdir -p dev tmp && strip -o dev/core_victim "$prog" || broken "strip $prog"
dev=$PWD/dev/core_victim
export TMPDIR=$PWD/tmp
# The host's sysroot: the program unstripped at its device path (the agent is copied in below).
mkdir -p "root$(dirname "$dev")" && cp "$prog" "root$dev" || broken "sysroot"
srv_start_traced srv --listen 127.0.0.1:0 --no-multicast -v root
srv_listening srv

console_start h --connect "127.0.0.1:$SRV_PORT" "$dev" -p -i 50 -f "$PWD/stop" -s 90
wait_for test -e core_victim.started || fail_later "core_victim did not start"
wait_for has h.out '^core_item .* serial 2 ' || fail_later "core_victim printed no items"
pid=$(sed -n 1p core_victim.started 2>/dev/null)
agent=$(grep -o '/[^ ]*libmemtrace-agent[^ ]*\.so' "/proc/${pid:-0}/maps" 2>/dev/null | head -n 1)
{ [ -n "$agent" ] && mkdir -p "root$(dirname "$agent")" && cp "$agent" "root$agent"; } ||
	fail_later "cannot copy the agent (${agent:-not in /proc/${pid:-?}/maps}) into the sysroot"
item1=$(awk '$1 == "core_item" && $6 == 1 { print $2 }' h.out)
console_send 'coredump -n -f core1'
WAIT_SECONDS=60 wait_for has h.out '^memtrace-server opened the core' || fail_later "coredump: the server did not open the core"
console_send "inspect '\$_strlen(\"abcdefghijklmnopq\")'"
console_send "inspect ${item1:-0} --type 'char *) (0 + \$_strlen(\"abcdefghijklmnopq\")) + (char'"
console_send "inspect '\$pc'"
console_send "inspect 'items[0]'"
console_send "inspect ${item1:-0} --type 'struct core_item'"
console_send "inspect '&core_global' --bytes 20"
console_send 'sleep 1'
touch stop
console_end
expect_rc h 0 || fail_later "core_victim's exit status"
srv_stop srv

has h.err "inspect.*'\\\$_strlen\(\"abcdefghijklmnopq\"\)' is not an address" ||
	fail_later "inspect \$_strlen(...): not refused as an address"
has h.err "inspect.*'char \*\) \(0 \+ \\\$_strlen.*' is not a C type name" ||
	fail_later "inspect --type 'char *) (... \$_strlen ...': not refused as a type"
has h.err "inspect.*'\\\$pc' is not an address" || fail_later "inspect \$pc: not refused"
has h.err "inspect.*'items\[0\]' is not an address" || fail_later "inspect items[0]: not refused"
! has h.out '0x11' && ! has h.err '0x11' || fail_later "the host's gdb evaluated \$_strlen (0x11 in the answer)"
has h.out '^  tag = "ITEM-1\\000' || fail_later "inspect --type 'struct core_item': ITEM-1's tag is not shown"
has h.out '^== 0x[0-9a-f]+: in no live block memtrace knows of; 20 bytes from there$' &&
	has h.out '[|]MEMTRACE-CORE-GL[|]' || fail_later "inspect &core_global: its bytes are not shown"
traced_execs srv >execs
[ -s execs ] || fail_later "strace saw no exec at all (not even gdb): is the trace empty?"
# gdb itself runs `iconv -l` once at its start, to list the charsets: a fixed command, nothing of the device's
others=$(grep -v -e '/gdb$' -e '/iconv$' execs | grep -vx "$SERVER")
[ -z "$others" ] || fail_later "memtrace-server or its gdb executed: $others"
[ "$FAILURES" -eq 0 ] || { show h.out; show h.err; show srv.err; }
! has srv.err "Sanitizer|runtime error" || { fail_later "sanitizer report in memtrace-server"; show srv.err; }
finish
