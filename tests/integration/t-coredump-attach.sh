#!/bin/bash
# t-coredump-attach: coredump with memtrace -p.  core_victim
# (tests/victims/core_victim.c) runs on its own; memtrace attaches, finds
# core_leak_item's context in `report --json`, writes `coredump -c ID` (the
# held thread first: its bt in gdb has core_leak_item above the allocator)
# and `coredump -n --gz` (gunzipped, gdb lists the victim's 5 threads, each
# in its own function), then detaches.  The victim, whose threads wait in
# nanosleep, read and epoll_wait all the while, notices nothing: no EINTR,
# no tracer left, exit status 0.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

command -v gdb >/dev/null || skip "gdb is not installed (the core is checked with it)"
prog=$(victim core_victim)
"$prog" -f stop -s 60 </dev/null >v.out 2>v.err &
VPID=$!
VPIDS+=("$VPID")
wait_for test -e core_victim.started || broken "core_victim did not start"
attach_console a "$VPID" || { kill "$VPID"; finish; }
# The victim leaks every 100 ms: its context exists after the first since the attach.
item=
for _ in 1 2 3 4 5 6 7 8 9 10; do
	sleep 0.2
	mt_report a ids.json || break
	item=$(jq -r --arg m "$prog" "$JQ_DEFS"'.contexts[] | select(own($m) | fn == "core_leak_item") | .id' ids.json 2>/dev/null)
	[ -z "$item" ] || break
done
[ -n "$item" ] || fail_later "no context for core_leak_item in ids.json"
console_send "coredump -c ${item:-1} -f held.core"
console_send 'coredump -n --gz -f all.core.gz'
wait_for has a.out '^core written to all.core.gz' || fail_later "no 'core written to all.core.gz' line"
mt_end a detach
no_tracer "$VPID" || fail_later "a tracer is left on the victim"
touch stop
wait "$VPID"
rc=$?
[ "$rc" = 0 ] || fail_later "the victim exited with $rc (1: a wait saw EINTR)"
has v.out 'core_(sleeper|reader|poller):' && fail_later "a waiting thread of the victim was disturbed"
has v.out '^core_victim: stopped$' || fail_later "the victim did not finish its work"

has a.out "^core written to held.core \(5 threads, [0-9.]+ MiB, context ${item:-x} held at 0x[0-9a-f]+ size 40 in thread $VPID\)$" ||
	fail_later "coredump -c: no 'core written to held.core (5 threads, ..., context ${item:-?} held ... in thread $VPID)' line"
if [ -s held.core ]; then
	gdb -nx -batch -iex 'set debuginfod enabled off' -ex 'bt' "$prog" held.core >held.gdb 2>&1
	bt=$(grep -E '^#[0-9]+ ' held.gdb)
	alloc=$(grep -nE ' (agent_malloc|malloc) ' <<<"$bt" | head -n 1 | cut -d: -f1)
	leak=$(grep -nE ' core_leak_item ' <<<"$bt" | head -n 1 | cut -d: -f1)
	[ -n "$alloc" ] && [ -n "$leak" ] && [ "$alloc" -lt "$leak" ] ||
		{ fail_later "bt of the held thread does not show core_leak_item above malloc"; show held.gdb; }
else
	fail_later "no held.core"
fi
if gunzip -c all.core.gz >all.core 2>/dev/null; then
	gdb -nx -batch -iex 'set debuginfod enabled off' -ex 'thread apply all bt' "$prog" all.core >all.gdb 2>&1
	[ "$(grep -cE '^Thread [0-9]+ \(Thread .*LWP [0-9]+\)' all.gdb)" = 5 ] || fail_later "all.core: not 5 threads"
	# "#3  0x... in f (" or, for a frame gdb shows as inlined, "#10 f (".
	for f in main control_main core_sleeper core_reader core_poller; do
		grep -qE "^#[0-9]+ +(.* )?$f \(" all.gdb || fail_later "all.core: no thread in $f"
	done
	[ "$FAILURES" -eq 0 ] || show all.gdb
else
	fail_later "all.core.gz is not a gzip stream"
fi
[ "$FAILURES" -eq 0 ] || { show a.out; show a.err; }
finish
