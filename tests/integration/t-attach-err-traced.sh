#!/bin/bash
# t-attach-err-traced: memtrace -p on a process another tracer holds must
# exit 5 with a message naming the tracer's pid, and leave the target as it
# was: still traced by that tracer only, no agent, answering.  Tracers:
# tests/victims/ptrace_holder (PTRACE_SEIZE of the main thread), and
# strace -f -p if installed (every thread).  Once the tracer is gone, a
# normal attach/leak/report/detach works; the victim (attach_server) keeps
# its untraced output.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_server) || exit 99
holder=$(victim ptrace_holder) || exit 99
splain "$prog" "leak 2"

TRACER=
ATTACH_CLEANUP_EXTRA='[ -z "$TRACER" ] || kill -KILL "$TRACER" 2>/dev/null'

# refused NAME: memtrace -p must say "already traced by $TRACER".
refused() {
	local name=$1 tr
	mt_refused "$name" 5 "(^|[^0-9])$TRACER([^0-9]|\$)" "memtrace -p on a process traced by $name" \
		-p "$pid" -x status
	victim_alive "$pid" || fail_later "$name: the target is not running (state $(state_of "$pid"))"
	tr=$(tracers "$pid" | grep -vx "$TRACER")
	[ -z "$tr" ] || fail_later "$name: the target is also traced by $tr"
	[ "$(agent_loads "$pid")" = 0 ] || fail_later "$name: the agent was loaded into the target"
	sworks "while traced by $name"
}

sstart t "$prog"
pid=$VPID

"$holder" "$pid" holder.ready 2>holder.err &
TRACER=$!
wait_for test -s holder.ready || broken "ptrace_holder did not seize the victim: $(cat holder.err)"
refused ptrace_holder
kill -KILL "$TRACER"
wait "$TRACER" 2>/dev/null
TRACER=

if command -v strace >/dev/null; then
	strace -f -q -o /dev/null -p "$pid" 2>strace.err &
	TRACER=$!
	traced() { [ -n "$(tracers "$pid")" ]; }
	WAIT_SECONDS=10 wait_for traced
	if [ "$(tracers "$pid")" = "$TRACER" ]; then
		refused strace
	else
		note "strace did not attach (tracers: '$(tracers "$pid")'): $(cat strace.err)"
	fi
	kill -TERM "$TRACER"
	wait "$TRACER" 2>/dev/null
	TRACER=
else
	note "strace not installed: only ptrace_holder"
fi

WAIT_SECONDS=10 wait_for no_tracer "$pid" || broken "the tracers did not let go of the victim"
sleak_seen "$prog" "$pid" 2 "after the tracers left"
sping "at the end"
sstop t
same_behaviour plain t || fail_later "the victim behaves differently"
finish
