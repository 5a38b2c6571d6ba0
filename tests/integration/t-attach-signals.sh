#!/bin/bash
# t-attach-signals: a program with its own SIGUSR1 and SIGRTMIN+1 handlers
# (tests/victims/attach_signals.c) gets SIGUSR1 before the attach, all the
# while memtrace -p attaches (one after the other, each as soon as the
# handler ran), and after; and SIGRTMIN+1 in bursts meanwhile (real-time
# signals queue, so none may be lost even while the process is stopped).
# It must count each exactly once, each from kill() (si_code SI_USER: not
# swallowed and sent again by the injector), and find its signal mask, its
# handlers and an empty pending set as before.  Report, output and status
# as usual.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

SENT=0
LETTERS=abcdefghijklmnopqrstuvwxyz
# usr1 TAG: one SIGUSR1, and wait until the victim's handler has run: it
# writes 'a' + count % 26 into its FIFO (open on fd 9).
usr1() {
	local tag=$1 c want
	SENT=$((SENT + 1))
	want=${LETTERS:$((SENT % 26)):1}
	kill -USR1 "$SIGPID"
	if ! read -r -n 1 -t 10 c <&9; then
		fail_later "$tag: SIGUSR1 number $SENT not handled within 10 s"
		return 1
	fi
	[ "$c" = "$want" ] && return 0
	fail_later "$tag: SIGUSR1 number $SENT: the handler says '$c', expected '$want' (a signal lost or handled twice)"
	return 1
}

RT=$(kill -l RTMIN+1)
RT_SENT=0
# rt TAG N: N SIGRTMIN+1 without waiting; those kill() took are counted.
rt() {
	local i
	for ((i = 0; i < $2; i++)); do
		kill -s "$RT" "$SIGPID" 2>/dev/null && RT_SENT=$((RT_SENT + 1))
	done
}

# attached TAG: memtrace's first status line is out (no process spawned:
# this is polled between signals).
attached() {
	local line=
	read -r line 2>/dev/null <"$1.mt.out"
	case $line in *"in use: "*) return 0 ;; esac
	return 1
}

prog=$(victim attach_signals) || exit 99

# Untraced: 10 signals.
SENT=0
vstart plain "$prog"
SIGPID=$VPID
exec 9<"plain.d/usr1.fifo"
for _ in 1 2 3 4 5 6 7 8 9 10; do usr1 plain || break; done
rt plain 300
vgo plain "$SENT $RT_SENT"
vwait_file plain leaked || broken "attach_signals did not say leaked without memtrace"
vstop plain || broken "attach_signals did not end without memtrace"
expect_rc plain 0 || broken "attach_signals fails without memtrace"
exec 9<&-

# Traced, three times (each a fresh process, so a fresh injection): 5
# before, as many as fit while memtrace attaches (SIGUSR1 one after the
# other, each as soon as the last was handled, 5 SIGRTMIN+1 with each), 5
# after.
for t in t1 t2 t3; do
	SENT=0
	RT_SENT=0
	vstart $t "$prog"
	SIGPID=$VPID
	exec 9<"$t.d/usr1.fifo"
	for _ in 1 2 3 4 5; do usr1 $t || break; done
	console_start $t.mt -p "$VPID"
	console_send status
	during=0
	while ! attached $t && [ $during -lt 5000 ] && kill -0 "$MT_PID" 2>/dev/null; do
		rt $t 5
		usr1 $t || break
		during=$((during + 1))
	done
	WAIT_SECONDS=30 wait_for has $t.mt.out '^ *in use: ' || fail_later "$t: memtrace -p: no answer to status"
	note "$t: $during SIGUSR1 and $((during * 5)) SIGRTMIN+1 sent while memtrace was attaching"
	for _ in 1 2 3 4 5; do usr1 $t || break; done
	rt $t 50
	note "$t: $SENT SIGUSR1 and $RT_SENT SIGRTMIN+1 in all"
	vgo $t "$SENT $RT_SENT"
	if vwait_file $t leaked; then
		mt_report $t.mt $t.json
	else
		fail_later "$t: the victim did not say leaked"
	fi
	mt_end $t.mt detach
	vstop $t || fail_later "$t: the victim did not end after stop"
	exec 9<&-
	check_traced plain $t "$prog" exact
done
finish
