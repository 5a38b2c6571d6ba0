#!/bin/bash
# t-gdbinit-core: the gdb commands of gdbinit/memtrace.gdb on a core, with a
# STRIPPED agent (only its dynamic symbols).  gdb_leaky
# (tests/victims/gdb_leaky.c) runs under memtrace -L agent.so (a stripped
# copy), leaks 300 small contexts besides its named ones and keeps still;
# memtrace takes `report -c 0` and `report -c 20`, gdb's gcore writes a core
# of that moment, the victim ends.  Then, on the core alone:
#   memtrace-report 0 and 20   the contexts of the two reports, in their
#                              order, figures, frame addresses and functions;
#   memtrace-status            the report's summary;
#   memtrace-blocks            leak_small's 50 live blocks;
#   memtrace-whoalloc          an interior pointer names leak_medium's context;
#   memtrace-break             refused: a core has no process to stop.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh disable=SC2016
. "$(dirname "$0")/../lib/common.sh"
# shellcheck source=../lib/gdbinit.sh
. "$(dirname "$0")/../lib/gdbinit.sh"

strip -o agent.so "$BUILD/libmemtrace-agent.so" || broken "strip $BUILD/libmemtrace-agent.so"
[ -z "$(nm agent.so 2>/dev/null)" ] || broken "strip left a symbol table in agent.so"
prog=$(victim gdb_leaky)
console_start s --json -o s.json -L "$PWD/agent.so" "$prog" -m 300 -f stop -s 60
wait_for test -s gdb_leaky.started || fail "gdb_leaky did not start"
pid=$(sed -n 1p gdb_leaky.started)
medium=$((0x$(sed -n 2p gdb_leaky.started)))
grep -q "$PWD/agent.so" "/proc/$pid/maps" || fail "gdb_leaky does not have the stripped agent loaded"
console_send 'report -c 0 --json -o r.json'
console_send 'report -c 20 --json -o r20.json'
wait_for valid_json r20.json || fail "report -c 20 --json -o r20.json: no valid file"
valid_json r.json || fail "report -c 0 --json -o r.json: no valid file"

# gdb's own gcore, without the script: the core of this moment
note "gdb -batch -p $pid -ex 'gcore core'"
timeout -k 5 "$GDB_TIMEOUT" gdb -batch -nx -q -p "$pid" -ex 'gcore core' </dev/null >gcore.out 2>&1
[ -s core ] || {
	show gcore.out
	fail "gcore wrote no core"
}
touch stop
console_end "$MT_TIMEOUT"
expect_rc s 0 || fail_later "exit status"
check_victim_run s "$prog" "$DEFAULT_UNWINDER" || fail_later "exit report after gcore"

med=$(jq -r --arg m "$prog" "$JQ_DEFS"'.contexts[] | select(own($m) | fn == "leak_medium") | .id' r.json)
small=$(jq -r --arg m "$prog" "$JQ_DEFS"'.contexts[] | select(own($m) | fn == "leak_small") | .id' r.json)
{ [ -n "$med" ] && [ -n "$small" ]; } || fail "no context for leak_medium or leak_small in r.json"

gdb_run all "$prog" core -ex 'memtrace-report 0'
check_gdb_report all.out r.json "$prog" || fail_later "core: memtrace-report 0 differs from report -c 0"
gdb_run top "$prog" core -ex 'set $memtrace_lines = 0' -ex 'memtrace-report 20'
check_gdb_report top.out r20.json "$prog" || fail_later "core: memtrace-report 20 differs from report -c 20"
gdb_run st "$prog" core -ex memtrace-status -ex "memtrace-blocks $small" \
	-ex "memtrace-whoalloc $((medium + 999))" -ex "memtrace-whoalloc $((medium + 1000))"
check_gdb_status st.out r.json || fail_later "core: memtrace-status differs from the report's summary"
has st.out "^context $small: 50 blocks, 800 bytes$" || fail_later "core: memtrace-blocks $small: not leak_small's 50 blocks"
[ "$(grep -c '^  0x[0-9a-f]* 16 [0-9]*$' st.out)" = 50 ] || fail_later "core: memtrace-blocks $small does not list 50 blocks of 16 bytes"
hex=$(printf '0x%x' "$medium")
has st.out "is 999 bytes into the block at $hex of 1000 bytes \(seq [0-9]+\), context $med:" ||
	fail_later "core: memtrace-whoalloc $hex+999 does not name the block at $hex of context $med"
has st.out "$(printf '0x%x' $((medium + 1000))) is (in no live block|[0-9]+ bytes into the block at (0x[0-9a-f]+) )" ||
	fail_later "core: memtrace-whoalloc $hex+1000 printed nothing"
has st.out "$(printf '0x%x' $((medium + 1000))) is [0-9]+ bytes into the block at $hex " &&
	fail_later "core: memtrace-whoalloc $hex+1000, one past the end, was put in the block at $hex"
[ "$FAILURES" -eq 0 ] || show st.out

gdb_run brk "$prog" core -ex 'memtrace-break 3'
has brk.out 'memtrace: armed' && fail_later "core: memtrace-break armed on a core"
grep -q 'Cannot access memory' brk.out brk.err || fail_later "core: memtrace-break was not refused"
note "memtrace-report on the core: all $(cat all.ms) ms, top 20 $(cat top.ms) ms"
finish
