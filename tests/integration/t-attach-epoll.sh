#!/bin/bash
# t-attach-epoll: a loop that goes back into epoll_wait every couple of
# milliseconds (tests/victims/epoll_loop.c) must never see EINTR from an
# attach. The kernel never restarts epoll_wait after a stop, so memtrace
# leaves a thread blocked in it alone, stops one that is about to enter it
# at the entry, and makes the wait again when its stop cut one short (the
# thread entered the wait between memtrace's look at it and the stop).
# Fresh attaches, half to the loop alone (its own thread must then be
# stopped and called in) and half with a sleeping thread beside it; each
# runs `status` and detaches, then the victim is stopped with SIGTERM and
# must exit 0: no EINTR, no other failure. Before, about one first attach
# in 20 let an EINTR through.
# Attaches: $EPOLL_RUNS (default 100; 20 under emulation, MEMTRACE_TEST_QUICK).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim epoll_loop) || exit 99
runs=${EPOLL_RUNS:-100}
[ -z "${MEMTRACE_TEST_QUICK:-}" ] || runs=${EPOLL_RUNS:-20}
VPID=

cleanup() {
	[ -z "$VPID" ] || kill -KILL "$VPID" 2>/dev/null
	cleanup_mt
}
trap cleanup EXIT

# start TAG MODE: the victim in the background, ready.
start() {
	mkdir "$1.d"
	"$prog" "$1.d" "$2" >"$1.out" 2>"$1.err" &
	VPID=$!
	if ! WAIT_SECONDS=20 wait_for test -s "$1.d/ready"; then
		show "$1.err"
		broken "epoll_loop $2 did not get ready"
	fi
}

# stop TAG: SIGTERM, its exit status in TAG.rc.
stop() {
	kill -TERM "$VPID"
	wait "$VPID"
	echo $? >"$1.rc"
	VPID=
}

for mode in solo pair; do
	start plain-$mode $mode
	sleep 0.1
	stop plain-$mode
	[ "$(rc_of plain-$mode)" = 0 ] || { show plain-$mode.out; broken "epoll_loop $mode fails without memtrace"; }
done

failed=0 eintr=0
t0=$(now_ms)
for i in $(seq 1 "$runs"); do
	mode=solo
	[ $((i % 2)) = 0 ] || mode=pair
	tag=$mode-$i
	start "$tag" $mode
	MT_QUIET=1 run_mt "$tag.mt" -p "$VPID" -x status
	if [ "$(rc_of "$tag.mt")" != 0 ]; then
		failed=$((failed + 1))
		note "attach $i ($mode): memtrace exit $(rc_of "$tag.mt"): $(tail -n 1 "$tag.mt.err")"
	fi
	stop "$tag"
	if [ -s "$tag.d/eintr" ]; then
		eintr=$((eintr + 1))
		fail_later "attach $i ($mode): epoll_wait failed with EINTR $(cat "$tag.d/eintr") time(s)"
	elif [ "$(rc_of "$tag")" != 0 ]; then
		fail_later "attach $i ($mode): the victim exited $(rc_of "$tag")"
		show "$tag.out"
	elif ! cmp -s "$tag.out" "plain-$mode.out"; then
		fail_later "attach $i ($mode): the victim's output differs from an untraced run"
		show "$tag.out"
	else
		rm -rf "$tag".*
	fi
done
note "$runs fresh attaches in $(($(now_ms) - t0)) ms: $eintr saw EINTR, $failed attaches failed"
[ $((failed * 50)) -le "$runs" ] || fail_later "$failed of $runs attaches failed (at most 1 in 50 may)"
finish
