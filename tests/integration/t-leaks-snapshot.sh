#!/bin/bash
# t-leaks-snapshot: `leaks` judges a copy of the process, which the agent's
# control thread forks while memtrace holds every other thread stopped
# (agent/snapshot.h), and nothing of the copy outlives the scan, whatever
# happens to memtrace:
#   - the copy stays a copy-on-write image while it is judged: its private
#     memory (Private_Dirty, sampled until it is gone) stays under a tenth of
#     the victim's (memtrace reads it without pinning its pages, which
#     would make the kernel copy each one);
#   - memtrace killed (SIGKILL) while it judges the copy of a heap of a
#     million blocks: the copy dies with it (PTRACE_O_EXITKILL) and the
#     agent reaps it, so the victim is left with no child; it answers, its
#     allocating thread runs on undamaged, and a new session judges it (a
#     copy again: scan.snapshot);
#   - a process whose seccomp filter raises SIGSYS for clone(2) without
#     CLONE_VM (threads yes, processes no: attach_server no-fork): memtrace
#     reads the filter, makes no copy and judges the process stopped,
#     saying why (scan.snapshot_note names seccomp); the process lives;
#   - both victims end with status 0 and behave as an untraced run.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_server) || exit 99
# A million blocks: the judge of their copy takes about half a second here
# (bench/leaks.sh), long enough to see the copy and kill memtrace meanwhile.
N=1000000
splain "$prog" "hold $N" drop

children_of() { cat /proc/"$1"/task/*/children 2>/dev/null | tr -s ' \n' ' '; }
no_children() { [ -z "$(children_of "$1" | tr -d ' ')" ]; }

# 1. memtrace killed while the copy is judged.
sstart t "$prog"
tpid=$VPID
attach_console c "$tpid" || finish
SCMD_WAIT=120 scmd hold $N || fail_later "hold $N: no answer"

# The copy's own memory while it is judged, sampled every 5 ms until it is gone.
kib() { awk -v k="$2:" '$1 == k { print $2 }' "$1" 2>/dev/null; }
console_send "leaks --json -o first.json"
copy= max=0
for _ in $(seq 24000); do
	c=$(children_of "$tpid" | tr -d ' ')
	if [ -n "$c" ]; then
		copy=$c
		pd=$(kib /proc/"$c"/smaps_rollup Private_Dirty)
		[ "${pd:-0}" -gt "$max" ] && max=$pd
	elif [ -n "$copy" ] || [ -s first.json ]; then
		break
	fi
	sleep 0.005
done
WAIT_SECONDS=120 wait_for valid_json first.json || fail_later "leaks --json -o first.json: no valid file"
rss=$(kib /proc/"$tpid"/status VmRSS)
if [ -z "$copy" ]; then
	fail_later "no copy of the victim was seen during the first leaks"
elif [ "$max" -gt $((rss / 10)) ]; then
	fail_later "the copy's private memory grew to $max KiB while judged: over a tenth of the victim's $rss KiB"
fi
note "the copy's Private_Dirty: at most $max KiB (the victim's RSS $rss KiB)"

console_send "leaks --json -o big.json"
# The copy shows as a child of the victim's control thread; looked for
# every 5 ms, for up to 120 s (an ASan build under load is slow to get there).
copy=
for _ in $(seq 24000); do
	copy=$(children_of "$tpid" | tr -d ' ')
	[ -n "$copy" ] && break
	[ -s big.json ] && break
	sleep 0.005
done
if [ -z "$copy" ]; then
	fail_later "no copy of the victim was seen during leaks (scan: $(jq -c .scan big.json 2>/dev/null))"
else
	kill -KILL "$MT_PID"
	console_wait 30
	[ ! -s big.json ] || note "the scan ended before memtrace was killed"
	WAIT_SECONDS=30 wait_for no_children "$tpid" ||
		fail_later "memtrace killed during the scan: the copy is left ($(children_of "$tpid"), state $(state_of "$copy"))"
fi
sworks "after memtrace was killed during a scan"
attach_console c2 "$tpid" || finish
rm -f after.json
console_send "leaks --json -o after.json"
WAIT_SECONDS=120 wait_for valid_json after.json || fail_later "a new session's leaks: no valid file"
[ "$(jq -r .scan.snapshot after.json)" = true ] ||
	fail_later "a new session's leaks did not judge a copy: $(jq -r .scan.snapshot_note after.json)"
mt_end c2 detach
WAIT_SECONDS=30 wait_for no_children "$tpid" || fail_later "after the new session: a child is left ($(children_of "$tpid"))"
sworks "after the new session"
SCMD_WAIT=120 scmd drop || fail_later "drop: no answer"
sstop t
expect_rc t 0 || fail_later "the victim's exit status after the sessions"
same_behaviour plain t || fail_later "the victim behaved differently traced"

# 2. A filter against new processes: judged stopped, and said why.
if [ "$(id -u)" != 0 ]; then
	note "the seccomp case is left out: reading a process's filter takes CAP_SYS_ADMIN (run as root)"
else
	sstart nf "$prog" no-fork
	grep -q '^Seccomp:[[:space:]]*2' "/proc/$VPID/status" ||
		skip "the seccomp filter did not install (kernel without seccomp filters?)"
	attach_console c3 "$VPID" || finish
	SCMD_WAIT=120 scmd hold $N || fail_later "no-fork: hold $N: no answer"
	rm -f nf.json
	console_send "leaks --json -o nf.json"
	WAIT_SECONDS=120 wait_for valid_json nf.json || fail_later "no-fork: leaks: no valid file"
	[ "$(jq -r .scan.snapshot nf.json)" = false ] || fail_later "no-fork: a copy was judged"
	jq -r .scan.snapshot_note nf.json | grep -q seccomp ||
		fail_later "no-fork: the note does not say seccomp: $(jq -r .scan.snapshot_note nf.json)"
	[ "$(jq -r .summary.still_reachable.blocks nf.json)" -ge $N ] ||
		fail_later "no-fork: $(jq -r .summary.still_reachable.blocks nf.json) reachable blocks, $N held at least"
	mt_end c3 detach
	sworks "no-fork, after the session"
	SCMD_WAIT=120 scmd drop || fail_later "no-fork: drop: no answer"
	sstop nf
	expect_rc nf 0 || fail_later "no-fork: the victim's exit status (SIGSYS kills with 159)"
	same_behaviour plain nf || fail_later "no-fork: the victim behaved differently traced"
fi
finish
