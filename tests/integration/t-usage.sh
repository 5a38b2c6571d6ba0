#!/bin/bash
# t-usage: the command line.  Bad usage (no PROG, unknown option, bad
# --unwind, depth outside 1..64 or not a number, missing option argument)
# exits 2 with a "memtrace: " message on stderr and does not run PROG;
# -h prints the options and exits 0; -V prints the version and exits 0;
# -d 1 and -d 64, the limits, are accepted.  The link to memtrace-server:
# bad --connect/--listen/--multicast values (port 0 or over 65535, an
# unclosed '[', empty, no host, not a multicast group), two of them, a token
# without a link, an empty token, a token file that is not there: exit 2
# with a message naming the option; --listen ADDR:0 is accepted and says
# the port it got.
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

# bad_link WHAT REGEX ARGS...: bad usage whose message matches REGEX.
bad_link() {
	local what=$1 re=$2
	shift 2
	bad_usage "$what" "$@"
	has bad$n.err "$re" || { fail_later "$what: the message does not match /$re/"; show bad$n.err; }
}
bad_link "--connect port 0" "--connect '127\.0\.0\.1:0': the port must be a number from 1 to 65535" \
	--connect 127.0.0.1:0 "$prog" 0
bad_link "--connect port 99999" "port must be a number from 1 to 65535, not '99999'" --connect host:99999 "$prog" 0
bad_link "--connect [::1" "a '\[' without its '\]'" --connect '[::1' "$prog" 0
bad_link "--connect empty" "--connect: an empty address" --connect '' "$prog" 0
bad_link "--connect without a host" "--connect ':3002': which host" --connect :3002 "$prog" 0
bad_link "--connect without its argument" "option '--connect' needs a value" --connect
bad_link "--listen port 99999" "--listen '127\.0\.0\.1:99999': the port" --listen 127.0.0.1:99999 "$prog" 0
bad_link "--connect and --listen" "--connect and --listen: give one of" --connect h --listen 127.0.0.1:3002 "$prog" 0
bad_link "--multicast and --connect" "--multicast and --connect: give one of" --multicast --connect h "$prog" 0
bad_link "--listen twice" "--listen given twice" --listen 127.0.0.1:1 --listen 127.0.0.1:2 "$prog" 0
bad_link "--multicast not a group" "GROUP must be an IPv4 multicast address" --multicast=10.1.2.3 "$prog" 0
bad_link "--multicast port 0" "--multicast '239\.255\.42\.3:0': the port" --multicast=239.255.42.3:0 "$prog" 0
bad_link "--token without a link" "a token is for the link" --token abc "$prog" 0
bad_link "--token empty" "--token: the token is empty" --connect h --token '' "$prog" 0
bad_link "--token-file missing" "--token-file no-such-file: No such file" --connect h --token-file no-such-file "$prog" 0
bad_link "two tokens" "one token" --connect h --token a --token-file no-such-file "$prog" 0

run_mt l0 --listen 127.0.0.1:0 "$prog" 0
expect_rc l0 0 || fail_later "--listen 127.0.0.1:0 refused"
has l0.err '^memtrace: listening on 127\.0\.0\.1:[1-9][0-9]* for memtrace-server' ||
	{ fail_later "--listen 127.0.0.1:0 does not say the port it got"; show l0.err; }

run_mt help -h
expect_rc help 0 || fail_later "-h: exit status"
for opt in --output --json --exec --agent --unwind --depth --timeout --connect --multicast --listen --token \
	--token-file; do
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
