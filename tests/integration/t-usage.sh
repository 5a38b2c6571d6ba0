#!/bin/bash
# t-usage: the command line.  Bad usage (no PROG, unknown option, bad
# --unwind, depth outside 1..64 or not a number, missing option argument)
# exits 2 with a "memtrace: " message on stderr and does not run PROG;
# -h prints the options and exits 0; -V prints the version and exits 0;
# -d 1 and -d 64, the limits, are accepted.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

prog=$(victim exitcode)
n=0
bad_usage() { # WHAT ARGS...
	local what=$1 tag
	shift
	n=$((n + 1))
	tag=bad$n
	run_mt $tag "$@"
	expect_rc $tag 2 || { fail_later "$what ('memtrace $*'): not a usage error"; return; }
	has $tag.err '^memtrace: ' || { fail_later "$what: no 'memtrace: ' message on stderr"; show $tag.err; }
	! has $tag.out EXPECT || fail_later "$what: PROG ran anyway"
}

bad_usage "no PROG"
bad_usage "unknown option" --frobnicate "$prog" 0
bad_usage "unknown short option" -Z "$prog" 0
bad_usage "bad unwinder" --unwind bogus "$prog" 0
bad_usage "depth 0" -d 0 "$prog" 0
bad_usage "depth 65" -d 65 "$prog" 0
bad_usage "depth not a number" -d abc "$prog" 0
bad_usage "depth with trailing junk" --depth 8x "$prog" 0
bad_usage "-o without its argument" -o
bad_usage "timeout not a number" -t soon "$prog" 0

run_mt help -h
expect_rc help 0 || fail_later "-h: exit status"
for opt in --output --json --exec --agent --unwind --depth --timeout; do
	grep -q -e "$opt" help.out || fail_later "-h: does not mention $opt on stdout"
done

run_mt version -V
expect_rc version 0 || fail_later "-V: exit status"
ver=$(sed -n 's/^VERSION := //p' "$TOP/Makefile")
has version.out "${ver//./\\.}" || { fail_later "-V: does not print version $ver"; show version.out; }

for d in 1 64; do
	run_traced depth$d -d $d "$prog" 0
	expect_rc depth$d 0 || fail_later "-d $d refused"
done
finish
