# shellcheck shell=bash
#
# valgrind.sh: valgrind's memcheck as an oracle for exit reports, sourced
# after common.sh by the tests that compare memtrace's verdict with it.
#
#   have_valgrind               0 if valgrind is installed (the ARM VMs have none)
#   run_valgrind TAG PROG ARGS  PROG under memcheck: TAG.out, TAG.err, TAG.rc as
#                               run_plain, memcheck's log in TAG.vg
#   vg_oracle TAG PROG ARGS     run_valgrind, and the harness is broken unless
#                               PROG ran to the end as in its plain run (plain.*)
#   vg_in_use TAG               "BYTES BLOCKS" in use at exit
#   vg_totals TAG               "ALLOCS FREES BYTES" of the whole run
#   vg_records TAG              one line per loss record:
#                               BYTES<tab>BLOCKS<tab>CALLER<tab>STACK (BYTES
#                               as in vg_verdicts)
#   vg_verdicts TAG             one line per loss record of a memcheck log or of
#                               vgdb's leak_check output (TAG.vg):
#                               KIND<tab>BLOCKS<tab>BYTES<tab>STACK, KIND one of
#                               definite indirect possible reachable, BYTES the
#                               record's own (a definitely lost record's
#                               "direct" part: its indirect blocks have their
#                               own records)
#
# CALLER is the first frame under the allocator (what memtrace's frames[0]
# names), STACK every frame under it joined by " < ", each "function (where)"
# as memcheck prints it.  Blocks still in use at exit are the program's own:
# memcheck is told not to free libc's and libstdc++'s internal memory at exit
# (--run-libc-freeres=no --run-cxx-freeres=no), which memtrace's report
# does not do either.

have_valgrind() {
	command -v valgrind >/dev/null 2>&1
}

run_valgrind() {
	local tag=$1
	shift
	note "valgrind $*"
	# Generous: memcheck runs a program some 20-50 times slower.
	timeout -k 5 $((MT_TIMEOUT * 3)) valgrind --log-file="$tag.vg" --leak-check=full \
		--show-leak-kinds=all --run-libc-freeres=no --run-cxx-freeres=no --num-callers=40 \
		--show-error-list=no -- "$@" <"${RUN_STDIN:-/dev/null}" >"$tag.out" 2>"$tag.err"
	echo $? >"$tag.rc"
}

vg_oracle() {
	local tag=$1 name
	name=$(basename "$2")
	run_valgrind "$@"
	if [ "$(rc_of "$tag")" != 0 ] || [ -z "$(vg_in_use "$tag")" ]; then
		show "$tag.vg"
		broken "valgrind did not run $name to the end"
	fi
	same_behaviour plain "$tag" || broken "$name behaves differently under valgrind"
}

# memcheck's log lines without the "==PID== " prefix.
vg_log() {
	sed -E 's/^==[0-9]+== ?//' "$1.vg"
}

vg_in_use() {
	vg_log "$1" | awk '/in use at exit:/ { gsub(",", ""); print $5, $8; exit }'
}

vg_totals() {
	vg_log "$1" | awk '/total heap usage:/ { gsub(",", ""); print $4, $6, $8; exit }'
}

vg_records() {
	vg_verdicts "$1" | awk -F '\t' '{
		stack = $4
		i = index(stack, " < ")
		stack = i ? substr(stack, i + 3) : ""	# the allocator ("at") goes
		caller = stack
		sub(/ < .*/, "", caller)
		sub(/ \([^()]*\)$/, "", caller)
		print $3 "\t" $2 "\t" caller "\t" stack
	}'
}

vg_verdicts() {
	# vgdb's leak_check adds the change since the last check to each
	# number ("24 (+24) bytes"): dropped first.
	vg_log "$1" | sed -E 's/ \([+-][0-9,]+\)//g' | awk '
		function flush() {
			if (kind != "") print kind "\t" blocks "\t" bytes "\t" stack
			kind = ""
		}
		/ bytes in [0-9,]+ blocks are .* in loss record / {
			flush()
			line = $0
			gsub(",", "", line)
			kind = "reachable"
			if (line ~ /are definitely lost/) kind = "definite"
			if (line ~ /are indirectly lost/) kind = "indirect"
			if (line ~ /are possibly lost/) kind = "possible"
			if (match(line, /\([0-9]+ direct /))
				bytes = substr(line, RSTART + 1, RLENGTH - 9)
			else
				bytes = substr(line, 1, index(line, " ") - 1)
			sub(/.* bytes in /, "", line)
			blocks = substr(line, 1, index(line, " ") - 1)
			stack = ""
			next
		}
		kind != "" && /^ *(at|by) 0x[0-9A-Fa-f]+: / {
			f = $0
			sub(/^ *(at|by) 0x[0-9A-Fa-f]+: /, "", f)
			stack = stack == "" ? f : stack " < " f
			next
		}
		kind != "" { flush() }
		END { flush() }'
}
