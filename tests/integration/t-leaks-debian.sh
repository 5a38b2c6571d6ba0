#!/bin/bash
# t-leaks-debian: `memtrace --leaks` (start mode: the verdicts at the
# program's end) against valgrind 3.19's memcheck at exit (--leak-check=full
# --show-leak-kinds=all --run-libc-freeres=no --run-cxx-freeres=no), on
# Debian's own programs, as a fresh Debian 12 has them (coreutils, grep,
# sed, gzip, findutils, diffutils, mawk, tar, dash). Most free what they
# must and keep the rest reachable; expr, tr, sort and date lose blocks
# (definitely, and for expr and tr indirectly lost too); grep and sed hold
# some only through interior pointers (possibly lost); dash leaves through
# _exit (the agent's _exit hook holds it there, as a destructor holds the
# others). For each program:
#   - the four categories agree exactly, blocks and bytes (the summary);
#   - and per loss record: memcheck groups the blocks of one kind by their
#     callstack, memtrace by context (its callstack): the lists of
#     "KIND BLOCKS BYTES" are the same (memcheck's definitely lost record
#     counts its direct bytes; its indirect blocks have their own record);
#   - the program behaves alike in the three runs (output, exit status,
#     which the exit report says too).
# Why exactly: both judge after every atexit handler and destructor of the
# program has run (memtrace in the agent's destructor, the last to run in
# start mode, or in _exit; memcheck at the final exit_group), and between
# the two points glibc frees nothing without __libc_freeres; memcheck's
# allocator has no tcache, whose per-thread struct memtrace judges but does
# not count (nor the agent's own memory). The one difference of the runs
# is made to vanish: valgrind adds variables to PROG's environment
# (LD_PRELOAD, LD_LIBRARY_PATH, GLIBCXX_FORCE_NEW, GLIBCPP_FORCE_NEW), and
# dash copies each variable into a heap block, so the other runs get the
# same variables (LD_PRELOAD under another name: memtrace's agent takes
# LD_PRELOAD's place and removes itself from it).
# Also: without --leaks the report has no "leaks"; text mode prints the
# verdicts after the exit report, in the same -o file; a program killed by
# a signal (the victim sigdie: dash puts SIG_DFL back over the agent's
# handler, so it sends no report at all) gets no verdicts ("leaks": null,
# said on stderr) and keeps its status.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/valgrind.sh
. "$(dirname "$0")/../lib/valgrind.sh"

have_valgrind || skip "valgrind is not installed: scripts/deps.sh installs it"
export LC_ALL=C TZ=UTC

# What valgrind adds to the environment: given to the plain and memtrace
# runs (exported around them: valgrind's run must not have them twice).
env | LC_ALL=C sort >env.plain
timeout -k 5 "$((MT_TIMEOUT * 3))" valgrind -q env </dev/null | LC_ALL=C sort >env.vg ||
	broken "valgrind env did not run"
vg_env=()
while IFS= read -r kv; do
	name=${kv%%=*}
	[ "$name" != LD_PRELOAD ] || name=MT_TEST_STANDIN_LD_PRELOAD
	vg_env+=("$name=${kv#*=}")
	note "valgrind adds $kv: given to the other runs (as $name)"
done < <(comm -13 env.plain env.vg | grep -v '^_=')
[ ${#vg_env[@]} -gt 0 ] || broken "valgrind adds nothing to the environment? (env.vg)"
like_vg() {
	local kv
	for kv in "${vg_env[@]}"; do export "${kv?}"; done
	"$@"
	for kv in "${vg_env[@]}"; do unset "${kv%%=*}"; done
}

# Deterministic inputs.
printf 'b\na\nc\n' >in.txt
printf 'b\nx\nc\n' >in2.txt
seq 1 2000 >nums.txt
gzip -c nums.txt >nums.gz
mkdir -p tree/a/b tree/c && touch -d @0 tree/a/b/f1 tree/c/f2 in.txt in2.txt nums.txt
tar -cf t.tar tree

# NAME|COMMAND (run by bash's word splitting: no quoting inside).
progs=(
	"ls|ls -l tree"
	"sort|sort in.txt"
	"grep|grep -c 1 nums.txt"
	"grep-E|grep -E a|b in.txt"
	"sed|sed s/1/x/ nums.txt"
	"gzip|gzip -dc nums.gz"
	"find|find tree"
	"diff|diff in.txt in2.txt"
	"mawk|mawk {s+=\$1}END{print(s)} nums.txt"
	"tar|tar -tf t.tar"
	"expr|expr 1 + 1"
	"tr|tr a b"
	"date|date -d @0"
	"dash|sh -c exit\ 3"
)

# KIND BLOCKS BYTES for the four kinds, from memcheck's summary.
vg_summary() {
	if vg_log "$1" | grep -q 'All heap blocks were freed'; then
		printf '%s 0 0\n' definite indirect possible reachable
		return
	fi
	vg_log "$1" | awk '
		/definitely lost:/ { k = "definite" }
		/indirectly lost:/ { k = "indirect" }
		/possibly lost:/ { k = "possible" }
		/still reachable:/ { k = "reachable" }
		k != "" { gsub(",", ""); print k, $(NF - 1), $(NF - 4); k = "" }'
}

JQ_KINDS='{"definitely_lost": "definite", "indirectly_lost": "indirect",
	   "possibly_lost": "possible", "still_reachable": "reachable"}'

mt_summary() {
	jq -r --argjson k "$JQ_KINDS" '.leaks.summary | to_entries[] |
		"\($k[.key]) \(.value.blocks) \(.value.bytes)"' "$1"
}

# One "KIND BLOCKS BYTES" line per loss record / per context and kind.
vg_records_of() {
	vg_verdicts "$1" | awk -F '\t' '{ print $1, $2, $3 }' | LC_ALL=C sort
}

mt_records_of() {
	jq -r --argjson k "$JQ_KINDS" '.leaks.contexts[] | to_entries[] |
		select(($k[.key] != null) and .value.blocks > 0) |
		"\($k[.key]) \(.value.blocks) \(.value.bytes)"' "$1" | LC_ALL=C sort
}

lost_somewhere=0
for entry in "${progs[@]}"; do
	name=${entry%%|*}
	# shellcheck disable=SC2206 # the words of the command, as listed
	cmd=(${entry#*|})
	[ "$name" != dash ] || cmd=(sh -c 'exit 3')
	like_vg run_plain "$name.plain" "${cmd[@]}"
	run_valgrind "$name.vg" "${cmd[@]}"
	like_vg run_mt "$name" --leaks=all --json -o "$name.json" "${cmd[@]}"
	same_behaviour "$name.plain" "$name.vg" || broken "$name behaves differently under valgrind"
	if [ -z "$(vg_summary "$name.vg")" ]; then
		show "$name.vg"
		broken "no leak summary from valgrind for $name"
	fi
	same_behaviour "$name.plain" "$name" || { fail_later "$name: behaves differently under memtrace"; continue; }
	valid_json "$name.json" || { fail_later "$name: no JSON exit report"; continue; }
	code=$(jq -r '.exit.code' "$name.json")
	[ "$code" = "$(rc_of "$name.plain")" ] ||
		fail_later "$name: the exit report says code $code, the program exited with $(rc_of "$name.plain")"
	if ! jq -e '.leaks.summary' "$name.json" >/dev/null; then
		show "$name.err"
		fail_later "$name: no leak verdicts in the exit report"
		continue
	fi
	vg_summary "$name.vg" | LC_ALL=C sort >"$name.want"
	mt_summary "$name.json" | LC_ALL=C sort >"$name.got"
	if ! cmp -s "$name.want" "$name.got"; then
		fail_later "$name: memtrace's verdicts differ from memcheck's (< memcheck, > memtrace)"
		diff "$name.want" "$name.got" | sed 's/^/    /'
	fi
	vg_records_of "$name.vg" >"$name.rwant"
	mt_records_of "$name.json" >"$name.rgot"
	if ! cmp -s "$name.rwant" "$name.rgot"; then
		fail_later "$name: memtrace's contexts differ from memcheck's loss records (< memcheck, > memtrace)"
		diff "$name.rwant" "$name.rgot" | sed 's/^/    /'
	fi
	grep -q '^definite [1-9]' "$name.want" && lost_somewhere=$((lost_somewhere + 1))
	note "$name: $(tr '\n' ' ' <"$name.got")"
done
# The leakers must leak, or this proves less than it says.
for name in expr tr; do
	grep -q '^definite [1-9]' "$name.want" && grep -q '^indirect [1-9]' "$name.want" ||
		broken "memcheck finds no definitely and indirectly lost blocks in $name any more: pick another leaker"
done
note "$lost_somewhere programs lose blocks definitely"

# Without --leaks: nothing asked of the agent, no "leaks".
run_mt none --json -o none.json expr 1 + 1
valid_json none.json && ! jq -e 'has("leaks")' none.json >/dev/null ||
	fail_later "without --leaks the exit report has a \"leaks\" member"

# Text: the exit report, then the verdicts, in the one -o file.
run_mt text --leaks -o text.txt expr 1 + 1
same_behaviour expr.plain text || fail_later "expr behaves differently under memtrace --leaks (text)"
want=$(awk '$1 == "definite" { print $3 " bytes in " $2 " blocks" }' expr.want)
if ! grep -q '^memtrace exit report\|^== memtrace exit report' text.txt ||
	! grep -q "^definitely lost  $want\$" text.txt ||
	[ "$(grep -n 'exit report' text.txt | head -n 1 | cut -d: -f1)" -gt \
		"$(grep -n '^== memtrace leaks' text.txt | head -n 1 | cut -d: -f1)" ]; then
	show text.txt
	fail_later "text.txt: not the exit report followed by 'definitely lost  $want'"
fi

# Killed by a signal (sigdie raises SIGTERM): no verdicts, the status kept.
sigdie=$(victim sigdie) || exit 99
run_plain killed.plain "$sigdie" TERM
run_mt killed --leaks --json -o killed.json "$sigdie" TERM
same_behaviour killed.plain killed || fail_later "a program killed by SIGTERM ends otherwise under memtrace --leaks"
jq -e '.leaks == null and .exit.signal == 15' killed.json >/dev/null ||
	fail_later "killed by SIGTERM: expected \"leaks\": null and signal 15, got $(jq -c '{leaks, exit}' killed.json)"
grep -q 'no leak verdicts: the program was killed by signal 15' killed.err ||
	{ show killed.err; fail_later "killed by SIGTERM: memtrace does not say why there are no verdicts"; }
finish
