#!/bin/bash
# t-leaks-cxx: context 0's lost blocks are grouped by what their first word
# points to, and a C++ object's first word names its class.  leaks_cxx
# (tests/victims/leaks_cxx.cc) loses 3 net::Session and 2 Plain objects
# before the attach and states one "GROUP SIZE vtable for CLASS+0xOFF
# definite BLOCKS BYTES" line per class.  Attached, after it says leaked:
#   - `leaks --json`: context 0's groups with a symbol are exactly those
#     lines (the vtables' ELF names turned into "vtable for CLASS", nested
#     names included), and the text shows them under context 0;
#   - `coredump -n`, judged offline by memtrace-server --core --leaks
#     (gdb names the words on the host): the same groups;
#   - the victim behaves exactly as untraced.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim leaks_cxx) || exit 99

vstart plain "$prog"
vgo plain
vwait_file plain leaked || broken "leaks_cxx did not say leaked"
vstop plain
sed -n 's/^GROUP //p' plain.out | sort >want.txt
[ "$(wc -l <want.txt)" = 2 ] || broken "leaks_cxx did not state two GROUP lines"

vstart v "$prog"
attach_console c "$VPID" || finish
vgo v
vwait_file v leaked || { fail_later "leaks_cxx did not say leaked while attached"; finish; }
console_send "leaks --json -o live.json"
console_send "leaks"
console_send "coredump -n -f v.core"
WAIT_SECONDS=60 wait_for has c.out '^core written to v.core' || fail_later "coredump -n: no core written"
mt_end c detach
vstop v
same_behaviour plain v || fail_later "the victim behaved differently traced"

groups() {
	jq -r '.contexts[] | select(.id == 0) | .groups[] | select(.signature.symbol != null)
		| "\(.size) \(.signature.symbol) definite \(.definitely_lost.blocks) \(.definitely_lost.bytes)"' "$1" | sort
}
valid_json live.json || fail_later "leaks --json -o live.json: no valid file"
groups live.json >live.txt
cmp -s want.txt live.txt || { fail_later "live: context 0's groups are not leaks_cxx's (< stated, > leaks)"; diff want.txt live.txt | sed 's/^/    /'; }
while read -r size _ _ cls _ n _; do
	has c.out "^ +$size bytes each, first word -> vtable for ${cls//+/\\+} \($prog\): definitely lost [0-9]+ bytes in $n blocks$" ||
		fail_later "leaks text: no group line for $cls"
done <want.txt

if [ -x "$BUILD/memtrace-server" ] && command -v gdb >/dev/null; then
	server=$BUILD/memtrace-server
	case $MEMTRACE in */asan/*) server=$BUILD/asan/memtrace-server ;; esac
	# This machine is the device: its own files are the sysroot.
	timeout -k 5 60 "$server" --core v.core --exe "$prog" --leaks --json / >core.json 2>core.err
	echo $? >core.rc
	expect_rc core 0 && valid_json core.json || { fail_later "memtrace-server --core --leaks failed"; show core.err; }
	groups core.json >core.txt
	cmp -s want.txt core.txt || { fail_later "core: context 0's groups are not leaks_cxx's (< stated, > core)"; diff want.txt core.txt | sed 's/^/    /'; }
else
	note "the core half is left out: no memtrace-server or no gdb here"
fi
[ "$FAILURES" -eq 0 ] || { show c.out; show c.err; }
finish
