#!/bin/bash
# t-output-file: where the exit report goes.  -o FILE puts it in FILE (text
# or --json) and stdout holds only PROG's output, byte for byte.  --json
# without -o puts the JSON report on stdout after PROG's output.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim demo_leaky)
run_plain plain "$prog"

run_mt text -o report.txt "$prog"
same_behaviour plain text || fail_later "-o report.txt: stdout is not PROG's output alone"
[ -s report.txt ] || fail_later "-o report.txt: file missing or empty"
grep -qw entry_new report.txt || fail_later "-o report.txt: report does not name entry_new"

run_mt json --json -o report.json "$prog"
same_behaviour plain json || fail_later "--json -o report.json: stdout is not PROG's output alone"
check_expect report.json json.out "$prog" || fail_later "--json -o report.json: report"

run_mt long --json --output=long.json "$prog"
same_behaviour plain long || fail_later "--output=FILE: stdout is not PROG's output alone"
valid_json long.json || fail_later "--output=FILE: no JSON report"

run_mt stdout --json "$prog"
expect_rc stdout 0 || fail_later "--json to stdout: exit status"
size=$(wc -c <plain.out)
head -c "$size" stdout.out | cmp -s - plain.out || fail_later "--json to stdout: stdout does not start with PROG's output"
tail -c +$((size + 1)) stdout.out >stdout.json
check_expect stdout.json plain.out "$prog" || fail_later "--json to stdout: what follows PROG's output is not the report"
finish
