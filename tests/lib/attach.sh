# shellcheck shell=bash
#
# attach.sh: helpers for the attach tests (tests/integration/t-attach-*.sh),
# sourced after common.sh.
#
# The victims (tests/victims/attach_*.c, protocol in tests/victims/attach.h)
# run in the background as `PROG DIR ARGS...`, with DIR = TAG.d:
#   vstart TAG PROG [ARGS...]   start, wait for DIR/ready; $VPID is its pid
#   vgo TAG [TEXT]              create DIR/go (TEXT in it)
#   vwait_file TAG NAME         wait for DIR/NAME (e.g. leaked)
#   vstop TAG                   create DIR/stop, wait for the end: TAG.rc
# Its stdout and stderr are TAG.out and TAG.err, as for run_plain, so
# same_behaviour compares a plain run with a traced one.  With
# $VICTIM_PRELOAD set, the victim (and only it: not memtrace) runs with it
# as LD_PRELOAD (an allocator: alloc_lib in common.sh).
#
# attach_console TAG PID [OPTIONS...]: memtrace -p PID with its console on a
# pipe (console_start), then `status`; returns once status has answered,
# which is when memtrace is attached.  mt_report TAG FILE: `report -c 0
# --json -o FILE` and wait for the file.
#
# attach_server (tests/victims/attach_server.c) is driven with
#   sstart TAG [PROG]   vstart, plus fd 8 open on its command FIFO
#   scmd CMD [ARG]      send a command, wait for its answer: in $ACK
#   sstop TAG           quit, wait for the end
#
# Tests that are slow under the AddressSanitizer build scale down when
# $MEMTRACE is it (asan_build) or through their own variable (header).

# The agent is stored under this name; a mapping of it in /proc/PID/maps
# means it was loaded.
AGENT_BASENAME=libmemtrace-agent.so

VPIDS=()

# Kill the victims a test leaves behind, and memtrace, when it ends.
cleanup_attach() {
	local p
	cleanup_mt
	for p in "${VPIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	[ -z "${ATTACH_CLEANUP_EXTRA:-}" ] || eval "$ATTACH_CLEANUP_EXTRA"
	return 0
}
trap cleanup_attach EXIT

asan_build() {
	case $MEMTRACE in *asan*) return 0 ;; esac
	return 1
}

# vstart TAG PROG [ARGS...]
vstart() {
	local tag=$1 prog=$2 n
	shift 2
	rm -rf "$tag.d"
	mkdir -p "$tag.d" || broken "mkdir $tag.d"
	if [ -n "${VICTIM_PRELOAD:-}" ]; then
		LD_PRELOAD=$VICTIM_PRELOAD "$prog" "$tag.d" "$@" </dev/null >"$tag.out" 2>"$tag.err" &
	else
		"$prog" "$tag.d" "$@" </dev/null >"$tag.out" 2>"$tag.err" &
	fi
	VPID=$!
	VPIDS+=("$VPID")
	eval "VPID_${tag//[^A-Za-z0-9_]/_}=$VPID"
	WAIT_SECONDS=${WAIT_SECONDS:-20} wait_for ready_or_gone "$tag" "$VPID"
	if [ ! -s "$tag.d/ready" ]; then
		show "$tag.err"
		broken "victim $(basename "$prog") did not get ready within ${WAIT_SECONDS:-20} s (state $(state_of "$VPID"))"
	fi
	n=$(cat "$tag.d/ready")
	[ "$n" = "$VPID" ] || broken "victim wrote pid $n to ready, it is $VPID"
}

ready_or_gone() {
	[ -s "$1.d/ready" ] || ! kill -0 "$2" 2>/dev/null
}

vpid_of() {
	local v="VPID_${1//[^A-Za-z0-9_]/_}"
	printf '%s\n' "${!v}"
}

vgo() {
	printf '%s\n' "${2:-}" >"$1.d/go.tmp" && mv "$1.d/go.tmp" "$1.d/go"
}

# vwait_file TAG NAME [SECONDS]
vwait_file() {
	WAIT_SECONDS=${3:-30} wait_for test -e "$1.d/$2"
}

# vstop TAG [SECONDS]: stop, wait for the victim to end, its status in TAG.rc.
vstop() {
	local tag=$1
	: >"$tag.d/stop"
	vwait_end "$tag" "${2:-30}"
}

# vwait_end TAG [SECONDS]: the victim ends; its status in TAG.rc (124 and
# killed if it did not end in time).
vwait_end() {
	local tag=$1 pid rc
	pid=$(vpid_of "$tag")
	if ! wait_pid_gone "$pid" "${2:-30}"; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		echo 124 >"$tag.rc"
		return 1
	fi
	wait "$pid"
	rc=$?
	echo $rc >"$tag.rc"
}

# victim_alive PID: exists, not a zombie, not stopped.
victim_alive() {
	local st
	st=$(sed -n 's/^.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null)
	case $st in
	'' | Z | X | x | T | t) return 1 ;;
	esac
}

# state_of PID: the state letter of /proc/PID/stat (R, S, T, t, Z...), or "gone".
state_of() {
	local st
	st=$(sed -n 's/^.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null)
	printf '%s\n' "${st:-gone}"
}

# tracers PID: the TracerPid of every thread, one per line, those not 0.
tracers() {
	local f
	for f in /proc/"$1"/task/*/status; do
		sed -n 's/^TracerPid:[[:space:]]*//p' "$f" 2>/dev/null
	done | grep -v '^0$' | sort -u
}

# no_tracer PID: no thread of PID is traced (for wait_for).
no_tracer() {
	[ -z "$(tracers "$1")" ]
}

# agent_loads PID: how many times the agent is mapped (mappings of its file
# at offset 0: one per dlopen that loaded it).
agent_loads() {
	grep -c "00000000 [0-9a-f:]* [0-9]* *[^ ]*/$AGENT_BASENAME\$" "/proc/$1/maps" 2>/dev/null
}

# untouched PID WHAT: the target runs, is traced by nobody, has no agent.
untouched() {
	local pid=$1 what=$2 ok=0 tr
	victim_alive "$pid" || { fail_later "$what: the target is not running (state $(state_of "$pid"))"; return 1; }
	tr=$(tracers "$pid")
	[ -z "$tr" ] || { fail_later "$what: the target is still traced by $tr"; ok=1; }
	[ "$(agent_loads "$pid")" = 0 ] || {
		fail_later "$what: the agent is mapped in the target:"
		grep "$AGENT_BASENAME" "/proc/$pid/maps" | sed 's/^/    /'
		ok=1
	}
	return $ok
}

# ---------------------------------------------------------------- memtrace -p

# attach_console TAG PID [OPTIONS...]: attached and answering once it returns 0.
attach_console() {
	local tag=$1 pid=$2
	shift 2
	console_start "$tag" -p "$pid" "$@"
	console_send status
	if ! WAIT_SECONDS=${ATTACH_WAIT:-30} wait_for has "$tag.out" '^ *in use: '; then
		fail_later "memtrace -p $pid: no answer to status within ${ATTACH_WAIT:-30} s (state of memtrace: $(state_of "$MT_PID"))"
		show "$tag.out"
		show "$tag.err"
		return 1
	fi
}

# mt_report TAG FILE: a full JSON report into FILE, through the console.
mt_report() {
	rm -f "$2"
	console_send "report -c 0 --json -o $2"
	WAIT_SECONDS=${3:-30} wait_for valid_json "$2" || {
		fail_later "report --json -o $2: no valid file within ${3:-30} s"
		show "$1.err"
		return 1
	}
}

# mt_end TAG WAY: end the console session by WAY (detach, quit, eof) and
# expect status 0.
mt_end() {
	local tag=$1 way=${2:-detach}
	case $way in
	detach | quit) console_send "$way" ;;
	esac
	console_end
	expect_rc "$tag" 0 || fail_later "memtrace -p, ended by $way: exit status"
}

# ---------------------------------------------------------------- reports

# report_groups_in REPORT MODULE...: "function blocks bytes", contexts grouped
# by their first frame in any of the MODULEs (a program and its plugins).
report_groups_in() {
	local report=$1
	shift
	jq -r --arg mods "$(printf '%s\n' "$@")" "$JQ_DEFS"'
		($mods | split("\n") | map(select(. != ""))) as $mods
		| [.contexts[] | (first(.frames[] | select(.module as $m | $mods | index($m))) // null) as $f
		   | select($f != null) | {name: ($f | fn), b: .live_blocks, y: .live_bytes}]
		| group_by(.name)[]
		| "\(.[0].name) \(map(.b) | add) \(map(.y) | add)"' "$report" | LC_ALL=C sort
}

# check_expect_in REPORT OUT MODULE...: check_expect over several modules;
# the functions named in $EXPECT_IGNORE are left out of the report's side,
# those in $EXPECT_SKIP out of the EXPECT lines' side (a leak the unwinder
# cannot attribute, e.g. through strdup under --unwind fp).
check_expect_in() {
	local report=$1 out=$2 exp got bad
	shift 2
	valid_json "$report" || return 1
	exp=$(expect_groups "$out" | awk -v skip=" ${EXPECT_SKIP:-} " 'index(skip, " " $1 " ") == 0')
	got=$(report_groups_in "$report" "$@" | awk -v ign=" ${EXPECT_IGNORE:-} " 'index(ign, " " $1 " ") == 0' |
		lost_callers "$out") || {
		printf 'could not read the contexts of %s\n' "$report"
		return 1
	}
	[ -n "$exp" ] || { printf 'broken victim: %s has no EXPECT line\n' "$out"; return 1; }
	bad=$(join_groups "$exp" "$got" |
		awk '$2 != $4 || $3 != $5')
	[ -z "$bad" ] && return 0
	printf 'report %s does not match the EXPECT lines of %s (modules %s):\n' "$report" "$out" "$*"
	printf '    %-28s %8s %10s | %8s %10s\n' function blocks bytes blocks bytes
	join_groups "$exp" "$got" |
		awk '{ printf "    %-28s %8s %10s | %8s %10s\n", $1, $2, $3, $4, $5 }'
	return 1
}

# check_attach_report REPORT TAG PROG [exact] [MODULE...]: a console report
# on victim TAG (its output TAG.out): the contract's shape, "since":
# "attach", the victim's pid, symbols of PROG, the EXPECT lines (grouped
# over PROG and the MODULEs), no pre-attach block; with "exact", also the
# summary's blocks and bytes in use are the EXPECT lines' sums (nothing else
# was recorded since the attach).  The unwinder and depth the report must
# name: $REPORT_UNWIND ($DEFAULT_UNWINDER), $REPORT_DEPTH (32).
check_attach_report() {
	local report=$1 tag=$2 prog=$3 exact='' bad ok=0 e g
	shift 3
	if [ "${1:-}" = exact ]; then
		exact=1
		shift
	fi
	check_report_sane "$report" "$prog" "${REPORT_UNWIND:-$DEFAULT_UNWINDER}" "${REPORT_DEPTH:-32}" || return 1
	jq -e '.since == "attach"' "$report" >/dev/null || {
		printf '%s: since is %s, expected "attach"\n' "$report" "$(jq -c .since "$report")"
		ok=1
	}
	jq -e --argjson pid "$(vpid_of "$tag")" '.pid == $pid' "$report" >/dev/null || {
		printf '%s: pid is %s, the victim is %s\n' "$report" "$(jq .pid "$report")" "$(vpid_of "$tag")"
		ok=1
	}
	check_symbols "$report" "$prog" || ok=1
	check_expect_in "$report" "$tag.out" "$prog" "$@" || ok=1
	bad=$(jq -r "$JQ_DEFS"'.contexts[] | select(any(.frames[]; (.symbol // "") | startswith("pre_attach_")))
		| "  context \(.id): \(.live_blocks) blocks \(.live_bytes) bytes under \([.frames[] | select((.symbol // "") | startswith("pre_attach_")) | fn][0])"' "$report")
	[ -z "$bad" ] || {
		printf '%s shows blocks allocated before the attach:\n%s\n' "$report" "$bad"
		ok=1
	}
	if [ -n "$exact" ]; then
		e=$(awk '$1 == "EXPECT" { b += $3; y += $4 } END { print b + 0, y + 0 }' "$tag.out")
		g=$(jq -r '"\(.summary.in_use_blocks) \(.summary.in_use_bytes)"' "$report")
		[ "$e" = "$g" ] || {
			printf '%s: the summary says %s blocks, bytes in use since attach; the EXPECT lines %s\n' "$report" "$g" "$e"
			ok=1
		}
	fi
	return $ok
}

# got_field FILE NAME: NAME=N of a GOT census line (attach.h at_got_state).
got_field() {
	sed -n "s/.*\\b$2=\\([0-9]*\\).*/\\1/p" "$1" | head -n 1
}

# check_got_hooked FILE WHAT: the census says the agent hooked every
# malloc-family slot of the program.
check_got_hooked() {
	local f=$1 what=$2 s h
	s=$(got_field "$f" own_slots)
	h=$(got_field "$f" own_hooked)
	if [ -z "$s" ] || [ "$s" = 0 ]; then
		fail_later "$what: the victim found no malloc-family GOT slot in itself ($(cat "$f" 2>/dev/null)): victim broken?"
		return 1
	fi
	[ "$h" = "$s" ] && return 0
	fail_later "$what: $h of the program's $s malloc-family GOT slots point into the agent while attached ($(cat "$f"))"
	return 1
}

# check_got_clean FILE WHAT: no slot points into the agent, none changed.
check_got_clean() {
	local f=$1 what=$2
	[ "$(got_field "$f" hooked)" = 0 ] && [ "$(got_field "$f" changed)" = 0 ] && return 0
	fail_later "$what: GOT slots not put back: $(cat "$f" 2>/dev/null || echo "no $f")"
	return 1
}

# ---------------------------------------------------------------- one run

# plain_run TAG PROG [ARGS...]: the victim without memtrace: ready, go,
# leaked, stop.  $BEFORE_GO, if set, is a function called as
# `$BEFORE_GO TAG` just before go; it may set $GO_TEXT, written into go.
plain_run() {
	local tag=$1
	shift
	GO_TEXT=
	vstart "$tag" "$@"
	[ -z "${BEFORE_GO:-}" ] || "$BEFORE_GO" "$tag"
	vgo "$tag" "$GO_TEXT"
	vwait_file "$tag" leaked || broken "$tag: $(basename "$1") did not say leaked within 30 s even without memtrace"
	vstop "$tag" || broken "$tag: $(basename "$1") did not end within 30 s of stop even without memtrace"
	expect_rc "$tag" 0 || { show "$tag.out"; broken "$tag: $(basename "$1") fails without memtrace"; }
	[ ! -s "$tag.err" ] || { show "$tag.err"; broken "$tag: $(basename "$1") writes to stderr without memtrace"; }
}

# traced_run TAG PROG [ARGS...] [-- MEMTRACE OPTIONS...]: the same with
# `memtrace -p` attached from ready on (its console TAG.mt): go once status
# answers; once leaked, the report into TAG.json; then the session ends by
# $END_WAY (detach: default, quit, eof) and only then stop, so that the
# victim's work after stop runs detached.
traced_run() {
	local tag=$1 args=() opts=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	[ $# -eq 0 ] || { shift; opts=("$@"); }
	GO_TEXT=
	vstart "$tag" "${args[@]}"
	if ! attach_console "$tag.mt" "$VPID" "${opts[@]}"; then
		console_end 5
		vgo "$tag"
		vstop "$tag" 10
		return 1
	fi
	[ -z "${BEFORE_GO:-}" ] || "$BEFORE_GO" "$tag"
	vgo "$tag" "$GO_TEXT"
	if vwait_file "$tag" leaked; then
		mt_report "$tag.mt" "$tag.json"
	else
		fail_later "$tag: the victim did not say leaked within 30 s of go under memtrace"
		show "$tag.out"
	fi
	mt_end "$tag.mt" "${END_WAY:-detach}"
	vstop "$tag" || fail_later "$tag: the victim did not end within 30 s of stop"
}

# attach_compare V CHECK PROG [ARGS...]: plain_run plainV and traced_run tV
# of PROG ARGS, then check_traced with CHECK (exact, or a MODULE whose leaks
# count as the program's).
attach_compare() {
	local v=$1 check=$2
	shift 2
	plain_run "plain$v" "$@"
	traced_run "t$v" "$@"
	check_traced "plain$v" "t$v" "$1" "$check"
}

# check_traced PLAIN TAG PROG [exact] [MODULE...]: after plain_run PLAIN
# and traced_run TAG: same output and status, nothing on the victim's
# stderr, the report right, the GOT hooked while attached and clean after
# the session ended.
check_traced() {
	local plain=$1 tag=$2 prog=$3
	shift 3
	same_behaviour "$plain" "$tag" || fail_later "$tag: the victim behaves differently under memtrace -p"
	[ ! -s "$tag.err" ] || { fail_later "$tag: the victim's stderr is not empty"; show "$tag.err"; }
	if [ -e "$tag.json" ]; then
		check_attach_report "$tag.json" "$tag" "$prog" "$@" || fail_later "$tag: the report is wrong"
	fi
	check_got_hooked "$tag.d/got.attached" "$tag"
	check_got_clean "$tag.d/got.stop" "$tag: after ${END_WAY:-detach}"
}

# mt_refused TAG STATUS PATTERN WHAT MEMTRACE-ARGS...: memtrace ARGS (output in
# TAG.*) ends with exit status STATUS and says PATTERN (grep -E) on stderr;
# a failure names WHAT.
mt_refused() {
	local tag=$1 status=$2 pattern=$3 what=$4
	shift 4
	run_mt "$tag" "$@"
	expect_rc "$tag" "$status" || fail_later "$what: exit status"
	has "$tag.err" "$pattern" || { fail_later "$what: the message does not match '$pattern'"; show "$tag.err"; }
}

# ---------------------------------------------------------------- attach_server

# sstart TAG [PROG [ARGS...]]: the server victim, with fd 8 on its command FIFO.
SSEQ=0
sstart() {
	local tag=$1 prog=${2:-}
	shift $(($# < 2 ? $# : 2))
	[ -n "$prog" ] || prog=$(victim attach_server) || exit 99
	vstart "$tag" "$prog" "$@"
	STAG=$tag
	exec 8<>"$tag.d/cmd" || broken "cannot open $tag.d/cmd"
}

# scmd CMD [ARG]: one command; its answer (without the sequence number) in
# $ACK; 1 if none came within $SCMD_WAIT (10) s.
scmd() {
	local cmd=$1 arg=${2:-} seq
	SSEQ=$((SSEQ + 1))
	seq=$SSEQ
	ACK=
	printf '%s %s%s\n' "$cmd" "$seq" "${arg:+ $arg}" >&8 || return 1
	if ! WAIT_SECONDS=${SCMD_WAIT:-10} wait_for ack_is "$STAG" "$seq"; then
		return 1
	fi
	ACK=$(cut -d' ' -f2- "$STAG.d/ack")
}

ack_is() {
	[ "$(cut -d' ' -f1 "$1.d/ack" 2>/dev/null)" = "$2" ]
}

# sping WHAT: the server answers; a failure names WHAT.
sping() {
	scmd ping && [ "$ACK" = pong ] && return 0
	fail_later "$1: the victim does not answer ping within ${SCMD_WAIT:-10} s (state $(state_of "$(vpid_of "$STAG")"))"
	return 1
}

# sloader WHAT: a new thread of the server can dlopen (the injection left
# the loader's lock free).
sloader() {
	scmd dl && [ "$ACK" = "dl ok" ] && return 0
	fail_later "$1: a thread of the victim cannot dlopen (${ACK:-no answer}): the loader's lock is left held"
	return 1
}

# sgot FILE: the server's GOT census into FILE.
sgot() {
	scmd got || { echo "no answer" >"$1"; return 1; }
	printf '%s\n' "$ACK" >"$1"
}

# heartbeat TAG: the churn count in the server's heartbeat file.
heartbeat() {
	cut -d' ' -f1 "$1.d/heartbeat" 2>/dev/null || echo 0
}

# beating WHAT: the server's churn thread runs on (heartbeat grows within 5 s)
# and has found no damaged block.
beating() {
	local a n=100 dmg
	a=$(heartbeat "$STAG")
	while [ "$(heartbeat "$STAG")" -le "$a" ] && [ $n -gt 0 ]; do
		sleep 0.05
		n=$((n - 1))
	done
	[ "$(heartbeat "$STAG")" -gt "$a" ] || {
		fail_later "$1: the victim's allocating thread has stopped (heartbeat stuck at $a, state $(state_of "$(vpid_of "$STAG")"))"
		return 1
	}
	dmg=$(cut -d' ' -f2 "$STAG.d/heartbeat" 2>/dev/null)
	[ "${dmg:-0}" = 0 ] || { fail_later "$1: the victim found $dmg damaged blocks"; return 1; }
}

# splain PROG [CMD...]: the untraced run of the server PROG, tagged plain:
# each CMD ("leak 2": a command and its argument) answered in turn, then a
# clean exit. The harness is broken otherwise.
splain() {
	local prog=$1 c
	shift
	sstart plain "$prog"
	for c in "$@"; do
		# shellcheck disable=SC2086 # CMD is a command and its argument
		scmd $c || broken "attach_server does not answer without memtrace"
	done
	sstop plain
	expect_rc plain 0 || broken "attach_server fails without memtrace"
}

# sworks WHAT: the server answers (sping), a new thread of it can dlopen
# (sloader) and its churn runs on (beating); a failure names WHAT.
sworks() {
	sping "$1"
	sloader "$1"
	beating "$1"
}

# sunharmed PID WHAT: after a refused or failed attach the server PID is
# untouched (untouched) and works on (sworks).
sunharmed() {
	untouched "$1" "$2"
	sworks "$2"
}

# sleak_seen PROG PID N WHAT: a session attached to the server PID (program
# PROG) sees the N blocks of `leak N` made in it (40 bytes each, from
# leak_on_request), then detaches; a failure names WHAT.
sleak_seen() {
	local prog=$1 pid=$2 n=$3 what=$4 got
	attach_console ok "$pid"
	scmd leak "$n" || fail_later "$what: leak $n in the session"
	if mt_report ok ok.json; then
		got=$(group_of ok.json "$prog" leak_on_request)
		[ "$got" = "$n $((n * 40))" ] ||
			fail_later "$what: leak_on_request '${got:-nothing}', expected '$n $((n * 40))'"
	fi
	mt_end ok detach
}

# sstop TAG: quit the server, wait for it to end (status in TAG.rc).
sstop() {
	local tag=$1
	scmd quit || fail_later "the victim does not answer quit"
	exec 8>&-
	vwait_end "$tag" 30 || fail_later "the victim did not end after quit"
}
