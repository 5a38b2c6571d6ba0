#!/bin/bash
# t-server-gdb-sysroot: the host's gdb opens no file outside the sysroot,
# whatever the device names.  On the "device", a stripped core_victim runs
# with a library preloaded by a path that climbs out of any sysroot:
# $PWD/dev/../../(many)/$PWD/host/libsecret.so, a copy of libplugin_leak.so
# that stands for any file of the host.  memtrace -p attaches to it, linked
# to memtrace-server (under strace -f), whose sysroot root/ holds the
# program and the agent only.  Before the fix, gdb joined the sysroot and
# that name and opened the host's file; its symbols then answered.  Now:
#   coredump -n, then inspect '&plugin_leak_blocks'   gdb has no such symbol;
#   gdb (live, through gdbserver), print plugin_leak_blocks and info symbol
#                 plugin_leak_blocks   no such symbol; the program's own
#                 symbols still answer (print core_global), and the agent's
#                 (found in the sysroot by the server) let the core open;
#   strace: no file under host/ was opened by the server or its gdb, and
#   every name opened under root/ resolved inside root/;
#   nothing but gdb (and its `iconv -l`), the shell ($SHELL) of gdb's
#   `target remote |` and the server's own relay was executed.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/link.sh
. "$(dirname "$0")/../lib/link.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/strace.sh
. "$(dirname "$0")/../lib/strace.sh"

need_traced_gdb
prog=$(victim core_victim)
lib=$(victim libplugin_leak.so)
mkdir -p dev tmp host && strip -o dev/core_victim "$prog" && cp "$lib" host/libsecret.so || broken "setup"
dev=$PWD/dev/core_victim
export TMPDIR=$PWD/tmp
mkdir -p "root$(dirname "$dev")" && cp "$prog" "root$dev" || broken "sysroot"
# Deep enough to climb to / from any sysroot the server could join it to.
climb=$PWD/dev
for _ in $(seq 40); do climb=$climb/..; done
secret=$climb$PWD/host/libsecret.so
[ -e "$secret" ] || broken "$secret does not lead to host/libsecret.so"

srv_start_traced srv --listen 127.0.0.1:0 --no-multicast -v root
srv_listening srv

rm -f core_victim.started
LD_PRELOAD=$secret "$dev" -e -i 50 -f "$PWD/stop" -s 90 >victim.out 2>&1 &
vpid=$!
VPIDS+=("$vpid")
wait_for test -e core_victim.started || fail_later "core_victim did not start"
grep -q "host/libsecret.so" "/proc/$vpid/maps" 2>/dev/null || fail_later "the victim did not load $secret"
console_start h -p "$vpid" --connect "127.0.0.1:$SRV_PORT"
console_send 'status'
wait_for has h.out '^server: ' || fail_later "status: no answer"
agent=$(grep -o '/[^ ]*libmemtrace-agent[^ ]*\.so' "/proc/$vpid/maps" 2>/dev/null | head -n 1)
{ [ -n "$agent" ] && mkdir -p "root$(dirname "$agent")" && cp "$agent" "root$agent"; } ||
	fail_later "cannot copy the agent (${agent:-not in /proc/$vpid/maps}) into the sysroot"
console_send 'coredump -n -f core1'
WAIT_SECONDS=60 wait_for has h.out '^memtrace-server opened the core' || fail_later "coredump: the server did not open the core"
console_send "inspect '&plugin_leak_blocks' --bytes 8"
console_send "inspect '&core_global' --bytes 8"
live=
if command -v gdbserver >/dev/null; then
	live=1
	console_send 'gdb'
	WAIT_SECONDS=60 wait_for has h.out '^gdb console: ' || fail_later "gdb: no gdb console within 60 s"
	console_send 'print plugin_leak_blocks'
	console_send 'info symbol plugin_leak_blocks'
	console_send 'print core_global'
	console_send 'continue'
	WAIT_SECONDS=30 wait_for has h.out "^back in memtrace's console" || fail_later "continue: no 'back in memtrace's console' line"
fi
console_send 'detach'
console_end
touch stop
wait "$vpid" 2>/dev/null
srv_stop srv

has h.err 'No symbol "plugin_leak_blocks" in current context' ||
	fail_later "inspect &plugin_leak_blocks: gdb knows the host file's symbol (or said something else)"

has h.out '[|]MEMTRACE[|]' || fail_later "inspect &core_global: the program's own symbol does not answer"
if [ -n "$live" ]; then
	! has h.out '<plugin_leak_blocks>|plugin_leak_blocks in section' ||
		fail_later "the live gdb knows plugin_leak_blocks: it read the host's file"
	has h.out '^\$[0-9]+ = "MEMTRACE-CORE-GLOBAL"' || fail_later "print core_global (live): the program's symbols do not answer"
fi
traced_opens srv >opens
[ -s opens ] || fail_later "strace saw no open at all: is the trace empty?"
bad=$(grep -e "host/libsecret" -e " -> $PWD/host/" opens)
[ -z "$bad" ] || fail_later "memtrace-server or its gdb opened the host's file: $bad"
bad=$(awk -v r="$PWD/root/" 'index($1, r) == 1 && index($3, r) != 1' opens)
[ -z "$bad" ] || fail_later "a name in the sysroot opened a file outside it: $bad"
traced_execs srv >execs
# gdb, the `iconv -l` it runs at its start, the shell of its `target remote | CMD`, the server's relay
others=$(grep -v -E -e '/gdb$' -e '/iconv$' -e '/(ba|da)?sh$' execs | grep -vx "$SERVER")
[ -z "$others" ] || fail_later "memtrace-server or its gdb executed: $others"
[ "$FAILURES" -eq 0 ] || { show h.out; show h.err; show srv.err; }
finish
