#!/bin/bash
#
# capture.sh: (re)capture the GDB/MI fixtures in this directory from the
# real gdb on this machine (README.md describes the file format).
#
#   tests/mi-fixtures/capture.sh [BUILD] [NAME...]
#
# Needs gdb, gdbserver and $BUILD/tests/victims/mi_victim (make test-bins).
# Every case runs in a fresh gdb: the setup commands first (their output is
# not kept), then the command of the case, whose output is recorded byte
# for byte up to the prompt after its result record; "stop" cases end at
# the point where both the result and a *stopped have come (in either
# order), "eof" cases when gdb closes its output. NAMEs limit the run to
# those cases.

set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(readlink -f "${1:-$top/build}")
shift || true
only=" $* "
victim=$build/tests/victims/mi_victim
work=$(mktemp -d "${TMPDIR:-/tmp}/mi-capture.XXXXXX") || exit 1
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT

die() {
	echo "capture.sh: $*" >&2
	exit 1
}

[ -x "$victim" ] || die "$victim is missing: run make test-bins"
command -v gdb >/dev/null || die "gdb is not installed"
command -v gdbserver >/dev/null || die "gdbserver is not installed"
version=$(gdb -nx -q -batch -ex 'show version' | head -n 1)

# start_victim ARGS...: run the victim in $work, set $vpid once it is ready.
start_victim() {
	(cd "$work" && exec "$victim" "$@" >"$work/victim.out") &
	pids+=($!)
	vpid=$!
	for _ in $(seq 100); do
		grep -q '^ready' "$work/victim.out" 2>/dev/null && return 0
		sleep 0.05
	done
	die "the victim did not start"
}

# A core of the victim, 3 levels deep, and one 200 levels deep.
make_core() { # NAME ARGS...
	local name=$1
	shift
	start_victim -b 1 "$@"
	gdb -nx -q -batch -p "$vpid" -ex "gcore $work/$name" >/dev/null 2>&1 ||
		die "gcore failed"
	kill -9 "$vpid"
	wait "$vpid" 2>/dev/null
}
make_core core
make_core core-deep -d 200
prog=$victim
core=$work/core

# capture NAME INTERP WAIT ABOUT SETUP... COMMAND
#   WAIT: "" (up to the prompt after the result), stop, eof, startup
capture() {
	local name=$1 interp=$2 wait=$3 about=$4
	shift 4
	local cmds=("$@") out="$here/$name.mi" body="$work/$name.body"
	local n=${#cmds[@]} tok line last got_result got_prompt got_stop i

	case $only in "  " | *" $name "*) ;; *) return 0 ;; esac
	: >"$body"
	coproc GDB { exec gdb -nx -q --interpreter="$interp" 2>/dev/null; }
	# bash drops the coproc's fds and pid when it ends: keep copies.
	local in outfd gpid=$GDB_PID
	exec {in}>&"${GDB[1]}" {outfd}<&"${GDB[0]}"
	# Up to the first prompt: the startup output.
	while IFS= read -r -t 30 line <&"$outfd"; do
		[ "$wait" = startup ] && printf '%s\n' "$line" >>"$body"
		[ "$line" = "(gdb) " ] && break
	done
	if [ "$wait" != startup ]; then
		for ((i = 0; i < n; i++)); do
			tok=$((i + 1))
			printf '%s%s\n' "$tok" "${cmds[$i]}" >&"$in"
			last=0
			[ $i -eq $((n - 1)) ] && last=1
			got_result=0
			got_prompt=0
			got_stop=0
			while IFS= read -r -t 30 line <&"$outfd"; do
				[ $last = 1 ] && printf '%s\n' "$line" >>"$body"
				case $line in "$tok^"*) got_result=1 ;; "*stopped"*) got_stop=1 ;; esac
				[ "$line" = "(gdb) " ] && [ $got_result = 1 ] && got_prompt=1
				# With mi-async on, gdb prints no prompt after attaching.
				if [ $last = 1 ] && [ "$wait" = stop ]; then
					[ $got_result = 1 ] && [ $got_stop = 1 ] && break
				elif [ $got_prompt = 1 ] || { [ $got_result = 1 ] && [ $got_stop = 1 ]; }; then
					break
				fi
			done
			[ $got_result = 1 ] || die "$name: no answer to ${cmds[$i]}"
		done
		if [ "$wait" = eof ]; then
			while IFS= read -r -t 30 line <&"$outfd"; do printf '%s\n' "$line" >>"$body"; done
		else
			printf '%s-gdb-exit\n' "$((n + 1))" >&"$in"
		fi
	else
		printf '1-gdb-exit\n' >&"$in"
	fi
	exec {in}>&- {outfd}<&-
	wait "$gpid" 2>/dev/null
	{
		echo "# gdb: $version"
		echo "# interpreter: $interp"
		if [ "$wait" = startup ]; then
			echo "# command: (none: what gdb prints before the first prompt)"
		else
			for ((i = 0; i < n - 1; i++)); do
				echo "# setup: $((i + 1))${cmds[$i]}" | sed -e "s|$work/|WORK/|g" -e "s|$top/|TOP/|g"
			done
			echo "# command: ${n}${cmds[$((n - 1))]}" | sed -e "s|$work/|WORK/|g" -e "s|$top/|TOP/|g"
			echo "# token: $n"
		fi
		echo "# wait: ${wait:-result}"
		echo "# about: $about"
		echo "# captured: tests/mi-fixtures/capture.sh (mi_victim from tests/victims/mi_victim.c)"
		echo
		cat "$body"
	} >"$out"
	echo "  $name.mi: $(($(wc -l <"$body"))) lines"
}

load=("-file-exec-and-symbols $prog")
opencore=("${load[@]}" "-target-select core $core")

capture startup mi3 startup "gdb's first output: a notify record and the prompt"
capture list-features mi3 "" "a list of c-string values" -list-features
capture gdb-version mi3 "" "console stream records with \\n and \\\" escapes" -gdb-version
capture gdb-set mi3 "" "a result record without results" "-gdb-set width 0"
capture error-undefined mi3 "" "^error with msg and code" -no-such-command
capture error-utf8 mi3 "" "^error whose msg holds UTF-8 as three-digit octal escapes" \
	"-file-exec-and-symbols /nonexistent/fichier-été"
capture file-exec mi3 "" "loading a program: ^done" "${load[@]}"
capture core-open mi3 "" "opening a core: notify records, long =library-loaded lines, ^connected with a frame" \
	"${load[@]}" "-target-select core $core"
capture stack-list-frames mi3 "" "a list of results: stack=[frame={...},...]" \
	"${opencore[@]}" -stack-list-frames
capture stack-list-frames-deep mi3 "" "a deep stack: 200 recursive frames" \
	"${load[@]}" "-target-select core $work/core-deep" -stack-list-frames
capture stack-list-frames-nodebug mi3 "" "frames without debug info: from= instead of file=" \
	"-gdb-set debug-file-directory /nonexistent" "${opencore[@]}" "-stack-list-frames 0 1"
capture stack-list-variables mi3 "" "a list of tuples: mi_hold's arguments and locals" \
	"${opencore[@]}" "-stack-list-variables --thread 1 --frame 2 --simple-values"
capture stack-list-locals mi3 "" "a list of results with c-string values: locals=[name=...,name=...]" \
	"${opencore[@]}" "-stack-list-locals --thread 1 --frame 2 --no-values"
capture thread-info mi3 "" "threads with nested frame tuples and a list of args" \
	"${opencore[@]}" -thread-info
capture data-read-memory-bytes mi3 "" "32 bytes of mi_bytes as hex" \
	"${opencore[@]}" "-data-read-memory-bytes mi_bytes 32"
capture data-read-memory-error mi3 "" "memory that cannot be read" \
	"${opencore[@]}" "-data-read-memory-bytes 0 16"
capture evaluate-bytes mi3 "" "a value escaped twice: a C literal inside a c-string" \
	"${opencore[@]}" "-data-evaluate-expression mi_bytes"
capture evaluate-struct mi3 "" "a struct value with a pointer and its string" \
	"${opencore[@]}" "-data-evaluate-expression mi_pair_global"
capture evaluate-repeats mi3 "" "a C literal with a <repeats N times> segment" \
	"-data-evaluate-expression \"\\\"ab\\\" \\\"cccccccccccccccccccc\\\" \\\"\\\\001d\\\"\""
capture evaluate-truncated mi3 "" "a C literal cut short by print elements: ..." \
	"-gdb-set print elements 4" "-data-evaluate-expression \"\\\"abcdefgh\\\"\""
capture console-print mi3 "" "CLI output in console records, the value escaped twice" \
	"${opencore[@]}" "-interpreter-exec console \"print mi_bytes\""
capture break-insert mi3 "" "a breakpoint with one location" \
	"${load[@]}" "-break-insert mi_target_fn"
capture break-insert-pending mi3 "" "a pending breakpoint" \
	"${load[@]}" "-break-insert -f no_such_function"
capture break-insert-multi-mi3 mi3 "" "MI3: several locations in locations=[...]" \
	"${opencore[@]}" "-break-insert malloc"
capture break-insert-multi-mi2 mi2 "" "MI2: several locations as nameless tuples after bkpt={...}" \
	"${opencore[@]}" "-break-insert malloc"
capture gdb-exit mi3 eof "^exit, then notify records after it" \
	"${opencore[@]}" -gdb-exit

# Live cases: a running victim, attached and stopped.
start_victim -b 1
capture attach mi3 stop "attaching: notify, stream and *stopped records around ^done" \
	"${load[@]}" "-target-attach $vpid"
capture exec-continue mi3 stop "running to a breakpoint: ^running, *running, then *stopped with reason" \
	"${load[@]}" "-target-attach $vpid" "-break-insert mi_target_fn" -exec-continue
capture exec-interrupt mi3 stop "mi-async: -exec-interrupt stops the running program (signal-received)" \
	"-gdb-set mi-async on" "${load[@]}" "-target-attach $vpid" -exec-continue -exec-interrupt
capture target-remote-pipe mi3 stop "gdbserver on a pipe: its stderr as log records, *stopped before ^connected" \
	"-gdb-set sysroot /" "-target-select remote | gdbserver - --attach $vpid"
echo "captured with: $version"
