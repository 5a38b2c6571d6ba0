#!/bin/bash
# t-attach-reattach-opts: each memtrace -p that finds the agent already
# loaded records with its own --unwind and --depth, not with the first
# session's.  On attach_server (tests/victims/attach_server.c), three
# sessions in a row, each leaking 2 blocks from leak_on_request (whose
# stack is leak_on_request <- command <- main <- libc ...):
#   1. --unwind fp -d 2 (libunwind on 32-bit ARM, which has no fp):
#      `status` says that unwinder and depth 2, and the report's
#      leak_on_request context has exactly 2 frames, truncated;
#   2. -d 3, default unwinder (the tables): status and report say so, and
#      the context has 3 frames (leak_on_request, command, main);
#   3. no option: the tables, depth 32, more than 3 frames, not truncated.
# Session 2 also gives --no-signal-report: its signal dispositions stay as
# they were (SigCgt in /proc/PID/status), while sessions 1 and 3 catch the
# deadly signals attach_server leaves at their default (the exit report's
# handler); after every detach SigCgt is as before the first attach.
# Every report holds only its session's 2 blocks under leak_on_request
# with its own settings; the agent is mapped once (no new injection).
# After every session the GOT is clean; at the end the victim answers,
# churns, can dlopen, and behaves as an untraced run.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_server) || exit 99
u1=fp
[ $HAVE_FP = 1 ] || u1=libunwind

splain "$prog" "leak 2" "leak 2" "leak 2"

# session TAG UNWIND DEPTH FRAMES [OPTIONS...]: a session with OPTIONS
# must record with UNWIND and DEPTH; FRAMES is the leak_on_request
# context's frame count: a number, or "more" (above 3, not truncated).
session() {
	local tag=$1 unw=$2 depth=$3 frames=$4 got caught
	shift 4
	attach_console "$tag" "$pid" "$@" || return 1
	caught=$(sigcgt "$pid")
	case " $* " in
	*" --no-signal-report "*)
		[ "$caught" = "$sigcgt0" ] ||
			fail_later "$tag (memtrace -p $*): the caught signals changed while attached ($sigcgt0 -> $caught)"
		;;
	*)
		[ "$caught" != "$sigcgt0" ] ||
			fail_later "$tag (memtrace -p $*): no handler for the deadly signals while attached (SigCgt $caught)"
		;;
	esac
	has "$tag.out" "^stacks: unwinder $unw, depth $depth \(recording since attach\)$" ||
		fail_later "$tag (memtrace -p $*): status does not say 'unwinder $unw, depth $depth': $(grep '^stacks:' "$tag.out")"
	scmd leak 2 || fail_later "$tag: leak"
	if mt_report "$tag" "$tag.json"; then
		jq -e --arg u "$unw" --argjson d "$depth" '.unwinder == $u and .depth == $d' "$tag.json" >/dev/null ||
			fail_later "$tag (memtrace -p $*): the report says unwinder $(jq -c .unwinder "$tag.json") depth $(jq -c .depth "$tag.json"), expected $unw $depth"
		got=$(group_of "$tag.json" "$prog" leak_on_request)
		[ "$got" = "2 80" ] || fail_later "$tag: leak_on_request in the report: '${got:-nothing}', expected '2 80' (this session's leaks only)"
		# The context of leak_on_request: its frame count and truncation.
		got=$(jq -r "$JQ_DEFS"'[.contexts[] | select((.frames[0] | fn) == "leak_on_request")][0]
			| "\(.frames | length) \(.truncated) \([.frames[] | fn] | join(" <- "))"' "$tag.json")
		case $frames in
		more)
			[ "${got%% *}" -gt 3 ] 2>/dev/null && [ "$(echo "$got" | cut -d' ' -f2)" = false ] ||
				fail_later "$tag: leak_on_request's stack should be complete (more than 3 frames, not truncated) at depth $depth: $got"
			;;
		2)
			[ "${got%% *}" = 2 ] && [ "$(echo "$got" | cut -d' ' -f2)" = true ] ||
				fail_later "$tag: leak_on_request's stack should be 2 frames, truncated, at depth 2: $got"
			;;
		*)
			[ "${got%% *}" = "$frames" ] ||
				fail_later "$tag: leak_on_request's stack should be $frames frames at depth $depth: $got"
			;;
		esac
		echo "$got" | grep -q "^[0-9]* [a-z]* leak_on_request <- command" ||
			fail_later "$tag: leak_on_request's stack does not start leak_on_request <- command: $got"
	fi
	mt_end "$tag" detach
	sgot "$tag.after"
	check_got_clean "$tag.after" "after $tag"
	[ "$(sigcgt "$pid")" = "$sigcgt0" ] ||
		fail_later "after $tag: the caught signals are $(sigcgt "$pid"), before the first attach $sigcgt0"
}

# sigcgt PID: the mask of signals the process catches.
sigcgt() {
	sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status"
}

sstart t "$prog"
pid=$VPID
sigcgt0=$(sigcgt "$pid")
session s1 "$u1" 2 2 --unwind "$u1" -d 2
session s2 "$DEFAULT_UNWINDER" 3 3 -d 3 --no-signal-report
session s3 "$DEFAULT_UNWINDER" 32 more
[ "$(agent_loads "$pid")" = 1 ] || fail_later "the agent is mapped $(agent_loads "$pid") times after three sessions, expected once"

sworks "after three sessions"
sstop t
same_behaviour plain t || fail_later "the victim behaves differently for having been attached"
finish
