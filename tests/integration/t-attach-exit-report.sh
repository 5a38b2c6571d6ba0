#!/bin/bash
# t-attach-exit-report: a process that ends while memtrace -p is attached
# leaves its exit report, as in start mode.  attach_exit
# (tests/victims/attach_exit.c) leaks 6 blocks after the attach, then ends
# in each way a process ends: main returns 5, exit(5), _exit(5) (no
# destructor runs), SIGTERM and SIGSEGV at their default action.  For each
# way:
#   - with --json -o FILE and an -x list still sleeping: memtrace exits 1
#     (the process ended while attached) and FILE holds the report: the
#     contract's shape, since "attach", exactly the EXPECT lines' blocks (no
#     pre-attach block), and "exit": {"code": 5} or {"signal": N};
#   - with the console open on a pipe, text on standard output: the title
#     says how the process ended, and the contexts grouped by their first
#     frame in the program are the EXPECT lines;
#   - the victim's output and status are those of an untraced run.
# SIGKILL leaves no report: memtrace says so, exits 1, and -o FILE holds
# the document saying so ("exit": {"report": false}).
# Under emulation (MEMTRACE_TEST_QUICK, the ARM VMs) the text runs are
# done for _exit and TERM only.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/attach.sh
. "$(dirname "$0")/../lib/attach.sh"

prog=$(victim attach_exit) || exit 99
ways=(return exit _exit TERM SEGV)
text_ways=" return exit _exit TERM SEGV "
[ "${MEMTRACE_TEST_QUICK:-0}" = 0 ] || text_ways=" _exit TERM "

# status_of WAY: the victim's exit status ending that way.
status_of() {
	case $1 in
	TERM) echo 143 ;;
	SEGV) echo 139 ;;
	*) echo 5 ;;
	esac
}

# exit_json WAY: the report's "exit" member ending that way.
# musl has no on_exit: a return from main reaches exit inside libc, where
# the agent sees no status (docs/user-guide.md, "On a musl system").
exit_json() {
	case $1 in
	TERM) echo '{"signal":15}' ;;
	SEGV) echo '{"signal":11}' ;;
	return) [ $VICTIM_LIBC = musl ] && echo '{"code":null}' || echo '{"code":5}' ;;
	*) echo '{"code":5}' ;;
	esac
}

# title_of WAY: how the text report's title says it ended.
title_of() {
	case $1 in
	TERM) echo 'was killed by signal 15 \(Terminated\)' ;;
	SEGV) echo 'was killed by signal 11 \(Segmentation fault\)' ;;
	return) [ $VICTIM_LIBC = musl ] && echo 'ended \(how, memtrace cannot tell\)' || echo 'exited with code 5' ;;
	*) echo 'exited with code 5' ;;
	esac
}

# text_groups OUT: "function blocks bytes" of a text report, contexts
# grouped by their first frame in the program (frames print as
# "#N  ADDR  function+0xOFF  (module+0xOFF)").
text_groups() {
	awk -v prog="$prog" '
		/^context [0-9]+: / { blocks = $6; bytes = $3; want = 1; next }
		want && /^    #[0-9]+ / {
			if (index($0, "(" prog "+0x")) {
				f = $3; sub(/\+0x[0-9a-f]+$/, "", f)
				b[f] += blocks; y[f] += bytes; want = 0
			}
			next
		}
		/^$/ { want = 0 }
		END { for (f in b) print f, b[f], y[f] }' "$1" | LC_ALL=C sort
}

# traced TAG WAY MODE: one traced run; MODE json (-x, --json -o) or text
# (console on a pipe).  Waits for memtrace's end.
traced() {
	local tag=$1 way=$2 mode=$3
	vstart "$tag" "$prog" "$way" 5
	if [ "$mode" = json ]; then
		rm -f "$tag.json"
		bg_start "$tag.mt" -p "$VPID" --json -o "$tag.json" -x status -x 'sleep 120'
		WAIT_SECONDS=30 wait_for has "$tag.mt.out" '^ *in use: ' || fail_later "$tag: memtrace -p -x: no status"
	else
		attach_console "$tag.mt" "$VPID" || { console_end 5; vgo "$tag"; vstop "$tag" 10; return 1; }
	fi
	vgo "$tag"
	vwait_file "$tag" leaked || fail_later "$tag: the victim did not say leaked within 30 s"
	vstop "$tag" || fail_later "$tag: the victim did not end within 30 s of stop"
	console_wait 30
	[ "$mode" = json ] || console_close
	expect_rc "$tag.mt" 1 || fail_later "$tag: memtrace -p when the process ended ($way) while attached: exit status"
}

for way in "${ways[@]}"; do
	plain_run_way() {
		vstart "p_$1" "$prog" "$1" 5
		vgo "p_$1"
		vwait_file "p_$1" leaked || broken "attach_exit $1 did not say leaked without memtrace"
		vstop "p_$1" || broken "attach_exit $1 did not end without memtrace"
		expect_rc "p_$1" "$(status_of "$1")" || broken "attach_exit $1: status without memtrace"
	}
	plain_run_way "$way"

	traced "j_$way" "$way" json
	same_behaviour "p_$way" "j_$way" || fail_later "$way (json): the victim behaves differently under memtrace -p"
	if valid_json "j_$way.json"; then
		check_attach_report "j_$way.json" "j_$way" "$prog" exact ||
			fail_later "$way: the exit report (--json -o) is wrong"
		got=$(jq -c .exit "j_$way.json")
		[ "$got" = "$(exit_json "$way")" ] ||
			fail_later "$way: the report's exit is $got, expected $(exit_json "$way")"
	else
		fail_later "$way: no exit report in j_$way.json"
		show "j_$way.mt.err"
	fi
	[ ! -s "j_$way.mt.out" ] || ! has "j_$way.mt.out" 'exit report' ||
		fail_later "$way: with -o FILE the exit report went to standard output too"

	case $text_ways in *" $way "*) ;; *) continue ;; esac
	traced "t_$way" "$way" text
	same_behaviour "p_$way" "t_$way" || fail_later "$way (text): the victim behaves differently under memtrace -p"
	has "t_$way.mt.out" "^== memtrace exit report \\(the program $(title_of "$way")\\): pid $(vpid_of "t_$way"), " ||
		{ fail_later "$way: no text exit report titled '$(title_of "$way")'"; show "t_$way.mt.out"; }
	exp=$(expect_groups "t_$way.out")
	got=$(text_groups "t_$way.mt.out")
	[ "$exp" = "$got" ] || {
		fail_later "$way: the text exit report's contexts are not the EXPECT lines"
		printf '%s\n' "expected:" "$exp" "got:" "$got" | sed 's/^/    /'
	}
done

# SIGKILL: nothing can report; memtrace says so and -o gets the document.
vstart k "$prog" return 5
rm -f k.json
bg_start k.mt -p "$VPID" --json -o k.json -x status -x 'sleep 120'
WAIT_SECONDS=30 wait_for has k.mt.out '^ *in use: ' || fail_later "KILL: memtrace -p -x: no status"
vgo k
vwait_file k leaked || fail_later "KILL: the victim did not say leaked"
kill -KILL "$VPID"
vwait_end k 10
console_wait 30
expect_rc k.mt 1 || fail_later "KILL: memtrace -p when the process was killed by SIGKILL: exit status"
has k.mt.err 'no exit report: .*SIGKILL' || { fail_later "KILL: memtrace does not say why there is no report"; show k.mt.err; }
if valid_json k.json; then
	jq -e '.exit.report == false and .version == 1' k.json >/dev/null ||
		fail_later "KILL: -o FILE should say there was no report: $(jq -c . k.json)"
else
	fail_later "KILL: -o FILE not written"
fi
finish
