#!/bin/bash
# t-coredump-hold: `coredump -c ID` in start mode, ID being core_leak_item's
# context (from `report --json`): tests/victims/core_victim.c leaks a struct
# core_item from core_leak_item every 100 ms while three threads wait in
# nanosleep, read and epoll_wait.  The core is written with the held thread
# first: in gdb, thread 1 is the LWP memtrace named, its `bt` has
# core_leak_item above the allocator and the agent's frames, the block at the
# address memtrace printed is readable as a struct core_item, the previous
# item (the global `items`) holds "ITEM-<serial - 1>" and its magic, and
# core_global reads "MEMTRACE-CORE-GLOBAL".  Then: -t on a context that never
# allocates again cancels (no file), bad IDs and options are refused with a
# message, and the console goes on.  The victim notices no EINTR, exits 0,
# and its exit report matches its EXPECT lines.
# The hold waits for the agent's `held` event, not for a `status` polled on
# a timer: memtrace runs under strace (its requests and the events it reads,
# with times; not the victim), and from `hold` to `release` it reads the
# event and then sends one `status`; during -t 0.3 it sends nothing, and
# `unhold` goes out 0.3 s after `hold`.  Without strace that part is not run.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

command -v gdb >/dev/null || skip "gdb is not installed (the core is checked with it)"
prog=$(victim core_victim)
if command -v strace >/dev/null; then
	# LeakSanitizer cannot run under ptrace: the ASan memtrace's leak check is off here.
	printf '#!/bin/sh\nASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 exec strace -o st.log -ttt -s 400 -e trace=sendto,recvfrom -e signal=none "%s" "$@"\n' \
		"$MEMTRACE" >mt-strace && chmod +x mt-strace || broken "cannot write mt-strace"
	MEMTRACE=$PWD/mt-strace console_start h --json -o h.json "$prog" -f stop -s 60
else
	note "strace is not installed: whether the hold polls is not checked"
	console_start h --json -o h.json "$prog" -f stop -s 60
fi
wait_for test -e core_victim.started || fail_later "core_victim did not start"
console_send 'report -c 0 --json -o ids.json'
wait_for valid_json ids.json || fail_later "report --json -o ids.json: no valid file"
item=$(ctx_of ids.json "$prog" core_leak_item 2>/dev/null)
once=$(ctx_of ids.json "$prog" core_leak_once 2>/dev/null)
[ -n "$item" ] && [ -n "$once" ] || fail_later "no context for core_leak_item or core_leak_once in ids.json"
console_send "coredump -c ${item:-1} -f held.core"
WAIT_SECONDS=20 wait_for has h.out '^core written to held.core' || fail_later "coredump -c ${item:-?}: no 'core written' line"
console_send "coredump -c ${once:-1} -t 0.3 -f never.core"
WAIT_SECONDS=20 wait_for has h.err 'cancelled, no core written' || fail_later "coredump -c ${once:-?} -t 0.3: not cancelled"
console_send 'coredump -c 999999'
console_send 'coredump -n -c 1'
console_send 'coredump -f x.core'
core_console_end h "$prog"

# "core written to held.core (5 threads, 5.6 MiB, context 4 held at 0x... size 40 in thread 123)"
line=$(grep '^core written to held.core' h.out)
addr=$(sed -n 's/.* held at \(0x[0-9a-f]*\) size 40 in thread [0-9]*)$/\1/p' <<<"$line")
tid=$(sed -n 's/.* in thread \([0-9]*\))$/\1/p' <<<"$line")
[ -n "$addr" ] && [ -n "$tid" ] || fail_later "the 'core written' line does not say where and in which thread: $line"
[ -e never.core ] && fail_later "coredump -t that timed out left never.core"
ls -a | grep -q 'tmp[0-9]' && fail_later "a temporary file was left: $(ls -a)"
has h.err 'coredump -c [0-9]+: cancelled, no core written: no allocation in that context within the time' ||
	fail_later "coredump -c ${once:-?} -t 0.3: no message saying it timed out"
has h.err 'no context 999999' || fail_later "coredump -c 999999: no message naming the bad context"
[ "$(grep -c 'say when: -n (now) or -c ID' h.err)" = 2 ] || fail_later "-n with -c, or neither: no clear message"

if [ -e st.log ]; then
	# The trace, one line per message: "TIME send CMD" or "TIME event NAME".
	awk '$2 ~ /^sendto\(/ && match($0, /\\"cmd\\":\\"[a-z-]+/) {
		print $1, "send", substr($0, RSTART + 10, RLENGTH - 10)
	}
	$2 ~ /^recvfrom\(/ && match($0, /\\"event\\":\\"[a-z]+/) {
		print $1, "event", substr($0, RSTART + 12, RLENGTH - 12)
	}' st.log >msgs
	seq1=$(awk '$3 == "hold" { on = 1 } on { printf "%s ", $3 } on && $3 == "release" { exit }' msgs)
	[ "$seq1" = "hold held status release " ] ||
		fail_later "coredump -c ${item:-?}: from hold to release memtrace saw '$seq1', not 'hold held status release' (a status before the event is a poll)"
	seq2=$(awk '$3 == "hold" { n++ } n == 2 { printf "%s ", $3 } n == 2 && $3 == "unhold" { exit }' msgs)
	[ "$seq2" = "hold unhold " ] ||
		fail_later "coredump -c ${once:-?} -t 0.3: from hold to unhold memtrace saw '$seq2', not 'hold unhold' (a status while waiting is a poll)"
	waited=$(awk '$3 == "hold" { n++; if (n == 2) t = $1 }
		n == 2 && $3 == "unhold" { printf "%d", ($1 - t) * 1000; exit }' msgs)
	# -t counts from just before `hold` is sent: a few ms less between the two sends.
	[ -n "$waited" ] && [ "$waited" -ge 290 ] && [ "$waited" -lt 3300 ] ||
		fail_later "coredump -c ${once:-?} -t 0.3: unhold went out ${waited:-?} ms after hold, not 0.3 s"
	[ "$FAILURES" -eq 0 ] || show msgs
fi

if [ -s held.core ]; then
	gdb -nx -batch -iex 'set debuginfod enabled off' -ex 'info threads' -ex 'bt' \
		-ex 'print core_global' -ex 'print items->tag' -ex 'print items->magic' \
		-ex 'frame function core_leak_item' -ex 'print serial' \
		-ex "print *(struct core_item *)${addr:-0}" "$prog" held.core >gdb.out 2>&1
	grep -Eq "^\* 1 +Thread .*LWP ${tid:-x}\)" gdb.out || fail_later "thread 1 of the core is not LWP ${tid:-?}, the held thread"
	# bt: the agent's and the allocator's frames first, then core_leak_item, then main
	bt=$(grep -E '^#[0-9]+ ' gdb.out | sed -n '1,20p')
	alloc=$(grep -nE ' (agent_malloc|malloc) ' <<<"$bt" | head -n 1 | cut -d: -f1)
	leak=$(grep -nE ' core_leak_item ' <<<"$bt" | head -n 1 | cut -d: -f1)
	[ -n "$alloc" ] && [ -n "$leak" ] && [ "$alloc" -lt "$leak" ] ||
		fail_later "bt of thread 1 does not show core_leak_item above malloc"
	grep -q 'in main ' <<<"$bt" || fail_later "bt of thread 1 does not reach main"
	has gdb.out '= "MEMTRACE-CORE-GLOBAL"' || fail_later "core_global is not readable in the core"
	has gdb.out '= 1296387395$' || fail_later "items->magic is not CORE_MAGIC"
	serial=$(sed -n 's/^\$[0-9]* = \([0-9]*\)$/\1/p' gdb.out | sed -n 2p)
	prev=$(sed -n 's/^\$[0-9]* = "ITEM-\([0-9]*\)\\000.*/\1/p' gdb.out)
	[ -n "$serial" ] && [ -n "$prev" ] && [ $((prev + 1)) = "$serial" ] ||
		fail_later "items->tag is not ITEM-<serial - 1> (serial ${serial:-?}, tag ITEM-${prev:-?})"
	has gdb.out '= \{tag = .*serial = .*magic = .*weight = ' || fail_later "the held block is not readable as a struct core_item"
	has gdb.out 'Cannot access memory' && fail_later "memory missing from the core"
	[ "$FAILURES" -eq 0 ] || show gdb.out
else
	fail_later "no held.core"
fi
[ "$FAILURES" -eq 0 ] || { show h.out; show h.err; }
finish
