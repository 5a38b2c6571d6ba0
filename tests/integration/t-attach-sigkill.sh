#!/bin/bash
# t-attach-sigkill: memtrace -p killed with SIGKILL at random moments, the
# injection included, must never harm the target.  Each round starts a
# fresh attach_server (tests/victims/attach_server.c) so that every round
# injects, runs `memtrace -v -p PID -x status -x 'sleep 5'`, and kills it
# after a random delay: half the rounds 0-150 ms (sleep), half a busy loop
# of 0-4000 shell steps (a few ms: the injection itself).  Then the target
# must be running, traced by nobody, answer, allocate on with no damaged
# block, let a new thread dlopen (no loader lock left held), have at most
# one agent mapped, and within 12 s no GOT slot pointing into the agent
# (the agent detaches by itself when memtrace vanishes; 12 s leaves room
# for an agent that waits memtrace's default --timeout of 10 s for a
# memtrace that never connected).  In the last round a normal
# attach/leak/report/detach must then work (a refusal as busy is allowed
# for 3 s after the kill, while the agent notices), and the victim's output
# and status are those of an untraced run.  The log says how many kills
# came before the attach completed (-v's "attached" line).
# Rounds: $ATTACH_KILLS (default 24, the same with the ASan build: ~25 s);
# delays from $ATTACH_SEED (default: random, printed in the log).
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_server) || exit 99
rounds=${ATTACH_KILLS:-24}
seed=${ATTACH_SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$seed
note "$rounds rounds, ATTACH_SEED=$seed"

splain "$prog" "leak 3"

# got_clean_now FILE: the server's census says no slot is hooked.
got_clean_now() {
	sgot "$1" && [ "$(got_field "$1" hooked)" = 0 ]
}

# attach_retry TAG PID: attach, retrying while the agent still says busy.
attach_retry() {
	local tag=$1 pid=$2 n=0
	while :; do
		console_start "$tag" -p "$pid"
		console_send status
		if WAIT_SECONDS=30 wait_for has "$tag.out" '^ *in use: '; then
			return 0
		fi
		console_close
		console_wait 10
		if [ "$(rc_of "$tag")" = 11 ] && [ $n -lt 30 ]; then
			n=$((n + 1))
			sleep 0.1
			continue
		fi
		fail_later "$tag: memtrace -p does not attach after the kill (status $(rc_of "$tag"))"
		show "$tag.err"
		return 1
	done
}

before=0
after=0
for ((r = 1; r <= rounds; r++)); do
	sstart "v$r" "$prog"
	pid=$VPID
	if [ $((r % 2)) = 1 ]; then
		delay="$((RANDOM % 151)) ms"
	else
		delay="$((RANDOM % 4001)) steps"
	fi
	"$MEMTRACE" -v -p "$pid" -x status -x 'sleep 5' </dev/null >"k$r.out" 2>"k$r.err" &
	mt=$!
	case $delay in
	*ms) sleep "$(printf '0.%03d' "${delay% ms}")" ;;
	*) for ((j = 0; j < ${delay% steps}; j++)); do :; done ;;
	esac
	kill -KILL $mt 2>/dev/null
	wait $mt 2>/dev/null
	if has "k$r.err" 'attached to process'; then
		after=$((after + 1))
		phase=attached
	else
		before=$((before + 1))
		phase="before the attach completed"
	fi
	what="round $r (killed after $delay, $phase)"
	# memtrace's helper may still be detaching when memtrace is reaped.
	if ! WAIT_SECONDS=5 wait_for victim_alive "$pid"; then
		fail_later "$what: the target is not running (state $(state_of "$pid"))"
		show "v$r.err"
		continue
	fi
	WAIT_SECONDS=3 wait_for no_tracer "$pid"
	tr=$(tracers "$pid")
	[ -z "$tr" ] || fail_later "$what: the target is still traced by $tr"
	sping "$what" || { show "k$r.err"; continue; }
	beating "$what"
	sloader "$what"
	[ "$(agent_loads "$pid")" -le 1 ] || fail_later "$what: the agent is mapped $(agent_loads "$pid") times"
	if ! WAIT_SECONDS=12 wait_for got_clean_now "got.$r"; then
		fail_later "$what: GOT slots still point into the agent 12 s after memtrace died: $(cat "got.$r")"
	fi
	if [ $r = "$rounds" ]; then
		# the last one: a normal session must work on what the kills left
		if attach_retry last "$pid"; then
			scmd leak 3 || fail_later "last session: leak"
			if mt_report last last.json; then
				got=$(group_of last.json "$prog" leak_on_request)
				[ "$got" = "3 120" ] || fail_later "last session: leak_on_request '${got:-nothing}', expected '3 120'"
			fi
			mt_end last detach
		fi
		[ "$(agent_loads "$pid")" = 1 ] || fail_later "after the last session the agent is mapped $(agent_loads "$pid") times"
		sstop "v$r"
		same_behaviour plain "v$r" || fail_later "$what: the victim behaves differently"
	else
		# the others end as they would have without memtrace, less the leak
		scmd quit || fail_later "$what: no answer to quit"
		exec 8>&-
		vwait_end "v$r" 10 || fail_later "$what: the victim did not end after quit"
		expect_rc "v$r" 0 || { fail_later "$what: the victim's exit status"; show "v$r.out"; }
		[ ! -s "v$r.err" ] || { fail_later "$what: the victim wrote to stderr"; show "v$r.err"; }
	fi
done
note "$before kills before the attach completed, $after after"
finish
